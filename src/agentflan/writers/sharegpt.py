"""ShareGPT with tools in LLaMA-Factory's ``sharegpt`` columns: ``conversations`` of
``human|gpt|function_call|observation`` turns, ``system``, ``tools`` (a JSON string), plus ``id``.

LLaMA-Factory drops rows whose turns do not alternate (human/observation, then
gpt/function_call) or that end on a human/observation turn, so this writer checks the same:

- trailing user/tool turns are left off (nothing after them is trained; FireAct's final
  "Observation: Episode finished" is one);
- a turn sequence that does not alternate, or a system turn after the start, is an error
  (``--on-error skip`` sets such conversations aside);
- a ``function_call`` carries only the calls (one object, or a list for parallel calls); text
  beside them cannot be expressed and is dropped, with a warning counting such turns;
- consecutive tool results become one observation, joined by newlines.

Beside the data, the matching entry is merged into ``dataset_info.json`` (see
:func:`dataset_info_entry`), so the folder works as LLaMA-Factory's ``dataset_dir`` as is. The
entry declares ``system`` and ``tools`` only when some row has them: LLaMA-Factory looks a
declared column up in every row and fails (``KeyError``) when the file has no such column.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.batch import Rejects
from agentflan.conversation import Conversation, Message
from agentflan.io import write_json
from agentflan.jsonutil import dumps, loads
from agentflan.writers.base import RecordWriter, conversation_error, register

log = logging.getLogger(__name__)

USER_SIDE = ("human", "observation")
ASSISTANT_SIDE = ("gpt", "function_call")
DATASET_INFO = "dataset_info.json"


OPTIONAL_COLUMNS = ("system", "tools")


def dataset_info_entry(path: str | Path, columns: Iterable[str] = OPTIONAL_COLUMNS) -> dict[str, Any]:
    """LLaMA-Factory's ``dataset_info.json`` entry for a file this writer wrote, declaring
    the optional ``columns`` (of ``system``, ``tools``) that its rows have."""
    present = set(columns)
    return {
        "file_name": Path(path).name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", **{c: c for c in OPTIONAL_COLUMNS if c in present}},
        "tags": {
            "role_tag": "from",
            "content_tag": "value",
            "user_tag": "human",
            "assistant_tag": "gpt",
            "observation_tag": "observation",
            "function_tag": "function_call",
            "system_tag": "system",
        },
    }


def update_dataset_info(path: Path, columns: Iterable[str]) -> Path:
    """Merge this file's entry (named after its stem) into ``dataset_info.json`` beside it."""
    info_path = path.parent / DATASET_INFO
    info = loads(info_path.read_bytes()) if info_path.is_file() else {}
    info[path.stem] = dataset_info_entry(path, columns)
    write_json(info_path, info)
    return info_path


@register
class ShareGPTWriter(RecordWriter):
    name = "sharegpt-tools"
    carries_turn_loss = False
    description = (
        "LLaMA-Factory sharegpt columns: conversations (human/gpt/function_call/observation), system, tools"
    )
    default_container = "json"

    def __init__(self) -> None:
        self.dropped_thoughts = 0
        self.columns: set[str] = set()

    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        self.dropped_thoughts = 0
        self.columns = set()
        count = super().write(conversations, path, rejects)
        update_dataset_info(path, self.columns)
        if self.dropped_thoughts:
            log.warning(
                "%d assistant turns had text beside their tool calls; LLaMA-Factory's function_call turn cannot carry it, so it was left out",
                self.dropped_thoughts,
            )
        return count

    def encode(self, conv: Conversation) -> dict[str, Any]:
        messages = list(conv.messages)
        system = messages.pop(0).content if messages and messages[0].role == "system" else None
        while messages and messages[-1].role != "assistant":
            messages.pop()
        if not messages:
            raise conversation_error(conv, "no assistant turn to train on", "messages")
        turns: list[dict[str, str]] = []
        i = 0
        while i < len(messages):
            m = messages[i]
            where = f"messages[{i + (1 if system is not None else 0)}]"
            if m.role == "tool":
                j = i
                while j < len(messages) and messages[j].role == "tool":
                    j += 1
                turns.append({"from": "observation", "value": "\n".join(t.content for t in messages[i:j])})
                i = j
                continue
            turns.append(self._turn(m, conv, where))
            i += 1
        for k, turn in enumerate(turns):
            if turn["from"] not in (USER_SIDE if k % 2 == 0 else ASSISTANT_SIDE):
                expected = " or ".join(USER_SIDE if k % 2 == 0 else ASSISTANT_SIDE)
                raise conversation_error(
                    conv,
                    f"turn {k} is {turn['from']!r} but LLaMA-Factory expects {expected} there (turns must alternate)",
                    "messages",
                )
        record: dict[str, Any] = {"id": conv.id, "conversations": turns}
        if system is not None:
            record["system"] = system
        if conv.tools:
            record["tools"] = dumps([t.to_dict() for t in conv.tools])
        self.columns.update(c for c in OPTIONAL_COLUMNS if c in record)
        return record

    def _turn(self, m: Message, conv: Conversation, where: str) -> dict[str, str]:
        if m.role == "user":
            return {"from": "human", "value": m.content}
        if m.role == "assistant":
            if m.protocol is not None or not m.tool_calls:
                return {"from": "gpt", "value": m.content}
            if m.content.strip():
                self.dropped_thoughts += 1
            calls = [
                {"name": c.name, "arguments": c.arguments if c.arguments_ok else c.arguments_text()}
                for c in m.tool_calls
            ]
            return {"from": "function_call", "value": dumps(calls[0] if len(calls) == 1 else calls)}
        if m.role == "system":
            raise conversation_error(
                conv, "LLaMA-Factory takes a system prompt only at the start", f"{where}.role"
            )
        raise conversation_error(conv, f"role {m.role!r} has no ShareGPT equivalent", f"{where}.role")
