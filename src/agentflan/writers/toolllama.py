"""The ToolLLaMA training format, as ToolBench's preprocessing writes it (a JSON array of
``{"id", "conversations": [{"from", "value"}]}``).

- rows always open with a system turn: the conversation's opening system prompt with
  ToolBench's format hint (after its anchor sentence, when present) and the tools as ``repr``
  of their schemas after the fixed API-list prefix; without a prompt, a turn holding only that
  list (or nothing), which the reader reads back as no prompt;
- a structured assistant call is written in ToolBench's step layout (``\\nThought: ...\\nAction:
  ...\\nAction Input: ...``, which the ``react`` protocol parses), one ToolLLaMA turn per call;
  a turn already in a protocol is written as it is;
- a plain assistant reply becomes a ``Finish`` call with ``give_answer`` (ToolLLaMA answers only
  through Finish); tool results become ``function`` turns.

The array is streamed, one element at a time: memory stays flat on any input size.
"""

from __future__ import annotations

import operator
from typing import Any

from agentflan.conversation import FINISH_TOOL, Conversation, Message, Tool
from agentflan.formats.toolllama import FROM_OF, toolllama_text
from agentflan.jsonutil import dumps
from agentflan.writers.base import RecordWriter, conversation_error, register


def system_value(content: str, tools: list[Tool]) -> str:
    """ToolBench's system prompt: the format hint inserted, the API list appended."""
    if not tools:
        return content
    text = toolllama_text()
    if text.format_hint_anchor in content and text.format_hint_anchor + text.format_hint not in content:
        content = content.replace(text.format_hint_anchor, text.format_hint_anchor + text.format_hint, 1)
    # repr() is the format: ToolBench writes the Python list of schema dicts, not JSON.
    return content + text.api_list_prefix + repr([t.to_dict() for t in tools])


class _LastSystem:
    """The last system value built: the steps of one trajectory share their prompt and Tool
    objects, and repr of a large schema list would otherwise dominate the writer's time."""

    def __init__(self) -> None:
        self._content = ""
        self._tools: list[Tool] = []
        self._value = ""

    def __call__(self, content: str, tools: list[Tool]) -> str:
        same = content == self._content and len(tools) == len(self._tools) and all(map(operator.is_, tools, self._tools))
        if not same:
            self._content, self._tools, self._value = content, list(tools), system_value(content, tools)
        return self._value


@register
class ToolLlamaWriter(RecordWriter):
    name = "toolllama"
    carries_turn_loss = False
    description = "ToolLLaMA format (ToolBench preprocessing output): id + conversations from system|user|assistant|function"
    default_container = "json"

    def __init__(self) -> None:
        self._system = _LastSystem()
        self._step = toolllama_text().assistant_step
        self._finish = FINISH_TOOL

    def encode(self, conv: Conversation) -> dict[str, Any]:
        # ToolLLaMA rows open with a system turn listing the tools; an empty one stands for no prompt.
        opening = conv.messages[0].content if conv.messages and conv.messages[0].role == "system" else None
        turns = [{"from": "system", "value": self._system(opening or "", conv.tools)}]
        start = 0 if opening is None else 1
        for i, m in enumerate(conv.messages[start:], start=start):
            role = FROM_OF.get(m.role)
            if role is None:
                raise conversation_error(conv, f"role {m.role!r} has no ToolLLaMA equivalent", f"messages[{i}].role")
            if role == "assistant" and m.protocol is None:
                turns.extend({"from": "assistant", "value": v} for v in self._assistant_values(m))
            else:
                turns.append({"from": role, "value": m.content})
        return {"id": conv.id, "conversations": turns}

    def _assistant_values(self, m: Message) -> list[str]:
        if not m.tool_calls:
            return [self._step.format(thought="", name=self._finish, arguments=_finish_arguments(m.content))]
        return [
            self._step.format(
                thought=m.content if k == 0 else "",
                name=call.name,
                arguments=call.raw_arguments if call.raw_arguments is not None else dumps(call.arguments),
            )
            for k, call in enumerate(m.tool_calls)
        ]


def _finish_arguments(answer: str) -> str:
    return dumps({"return_type": "give_answer", "final_answer": answer}, indent=True)


__all__ = ["ToolLlamaWriter", "system_value"]
