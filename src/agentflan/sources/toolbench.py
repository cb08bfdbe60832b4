"""ToolBench raw answer files (``*_ChatGPT_DFS_woFilter_w2.json``).

Each file's ``answer_generation.train_messages`` holds one OpenAI function-calling message list
per DFS step; each becomes one conversation, with the file's ``function`` list as its tools.
The semantics follow ToolBench's own ToolLLaMA preprocessing, so that writing ToolLLaMA
reproduces its output sample for sample:

- the id is ``"Step N: <query>"`` where N is the index of the step's last raw message;
- an assistant message holding only text is the thought of the call that follows it: the two
  become one assistant turn (content = thought, ``tool_calls`` = the call);
- a step whose last message is such a bare thought is the first half of the next step and
  yields nothing;
- text that the raw data puts beside a call (retry reflections) is not the thought ToolBench
  trains on; it is kept in the turn's ``meta["toolbench_dropped_content"]``;
- files with ``valid_data: false`` (no ``train_messages``) yield nothing.

Whatever yields nothing is counted by why (:meth:`SourceFormat.not_used`) and shown in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import orjson

from agentflan.conversation import Conversation, Message
from agentflan.errors import InputError, Location
from agentflan.sources._fields import expect_dict, expect_list, get_list, get_text, parse_call, parse_tools
from agentflan.sources.base import SourceFormat, register

SOURCE = "toolbench"


#: The fields of ``answer_generation`` that :meth:`ToolBenchFormat.convert` reads.
ANSWER_FIELDS = ("valid_data", "query", "function", "train_messages")
#: Until a reader has seen this many bytes, a full orjson parse costs less than importing msgspec
#: for the typed decode (~20 ms CPU, a tenth of a one-file convert; break-even at ~5 MB).
TYPED_DECODE_AFTER_BYTES = 4_000_000


@cache
def _typed_decoder() -> Callable[[bytes], Any]:
    """A msgspec decoder of ``answer_generation``'s read fields only. The DFS tree and candidates
    beside it are most of each file's bytes; the typed decode skips them without building Python
    objects (about 2.4x faster than a full parse). Values stay untyped so that a malformed one
    still gets convert's located error."""
    import msgspec

    answer_struct = msgspec.defstruct("Answer", [(f, Any, msgspec.UNSET) for f in ANSWER_FIELDS])
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(msgspec.defstruct("AnswerFile", [("answer_generation", answer_struct)]))

    def decode(data: bytes) -> Any:
        try:
            answer = decoder.decode(data).answer_generation
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return {f: v for f in ANSWER_FIELDS if (v := getattr(answer, f)) is not msgspec.UNSET}

    return decode


def _parsed(data: bytes) -> Any:
    """``answer_generation``'s read fields by a full orjson parse (the typed decode's result)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    answer = doc.get("answer_generation") if isinstance(doc, dict) else None
    if not isinstance(answer, dict):
        return None
    return {f: answer[f] for f in ANSWER_FIELDS if f in answer}


@register
class ToolBenchFormat(SourceFormat):
    name = "toolbench"
    description = "ToolBench raw answer files (answer_generation.train_messages + function)"
    _bytes_seen = 0

    def sniff(self, record: Any) -> bool:
        return isinstance(record, dict) and isinstance(record.get("answer_generation"), dict)

    def decode_file(self, data: bytes) -> Any | None:
        # None: not an answer file, or malformed; the generic path reads (and reports) it.
        if b'"answer_generation"' not in data:
            return None
        self._bytes_seen += len(data)
        decode = _typed_decoder() if self._bytes_seen > TYPED_DECODE_AFTER_BYTES else _parsed
        answer = decode(data)
        return None if answer is None else {"answer_generation": answer}

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record = expect_dict(record, location, "(record)")
        if "answer_generation" not in record:
            raise InputError(location, "missing", "answer_generation")
        answer = expect_dict(record["answer_generation"], location, "answer_generation")
        if answer.get("valid_data") is False or "train_messages" not in answer:
            self.not_used(f"{SOURCE} file without train_messages (valid_data false: the search found no answer)")
            return
        query = get_text(answer, "query", location, "answer_generation.query")
        tools = parse_tools(get_list(answer, "function", location, "answer_generation.function"), location, "answer_generation.function")
        trajectory = _trajectory(location.path)
        steps = get_list(answer, "train_messages", location, "answer_generation.train_messages")
        for index, raw_messages in enumerate(steps):
            field = f"answer_generation.train_messages[{index}]"
            raw = expect_list(raw_messages, location, field)
            conv_id = f"Step {len(raw) - 1}: {query}"
            loc = Location(location.path, location.line, location.index, conv_id)
            messages = _step_messages(raw, loc, field)
            if messages is None:
                self.not_used(f"{SOURCE} step ending on a thought, not a call (trained as part of the next step)")
                continue
            yield Conversation(
                id=conv_id,
                messages=messages,
                tools=list(tools),  # the steps share their Tool objects (writers cache per tool list)
                source=SOURCE,
                meta={"trajectory": trajectory, "train_index": index},
            )


def _trajectory(path: str) -> str:
    """``G1_answer/10_ChatGPT_DFS_woFilter_w2``: the answer file without its suffix, with its group folder."""
    stem = os.path.splitext(path)[0]
    return "/".join(stem.replace(os.sep, "/").split("/")[-2:])


def _step_messages(raw: list[Any], loc: Location, field: str) -> list[Message] | None:
    """The turns of one step, or None when the step ends on a bare thought (see module doc)."""
    messages: list[Message] = []
    thought = ""
    ends_on_call = False
    for i, d in enumerate(raw):
        # The hot loop of a corpus read: plain checks here, the located error helpers only on failure.
        role = d.get("role") if type(d) is dict else None
        content = d.get("content") if role is not None else None
        if type(role) is not str or not (content is None or type(content) is str):
            where = f"{field}[{i}]"
            d = expect_dict(d, loc, where)
            role = get_text(d, "role", loc, f"{where}.role")
            content = get_text(d, "content", loc, f"{where}.content", required=False)
        content = content or ""
        ends_on_call = False
        if role == "assistant":
            call = d.get("function_call")
            if call is None:
                thought = content
                continue
            where = f"{field}[{i}].function_call"
            if type(call) is not dict:
                expect_dict(call, loc, where)
            message = Message("assistant", thought, tool_calls=[parse_call(call.get("name"), call.get("arguments"), loc, where)])
            if content:
                message.meta["toolbench_dropped_content"] = content
            messages.append(message)
            thought = ""
            ends_on_call = True
        elif role == "function":
            name = d.get("name")
            if name is not None and type(name) is not str:
                raise InputError(loc, "expected a string", f"{field}[{i}].name")
            messages.append(Message("tool", content, name=name))
        else:
            messages.append(Message(role, content))
    return messages if ends_on_call else None

