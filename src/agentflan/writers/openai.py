"""OpenAI chat ``messages`` + ``tools``, as TRL's conversational tool-calling datasets hold them.

- ``tool_calls``: ``[{"id"?, "type": "function", "function": {"name", "arguments"}}]`` with the
  arguments as a JSON object (what TRL and the transformers chat templates expect); arguments
  that are not a JSON object keep their source text as a string;
- tools: ``[{"type": "function", "function": {name, description, parameters}}]``;
- an assistant turn with ``loss`` set gets OpenAI's fine-tuning ``weight`` (0: do not train);
- a turn already written in a protocol keeps its text only (its calls are in that text);
- ``id`` is kept; spans and meta are not part of the format.
"""

from __future__ import annotations

from typing import Any

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.writers.base import RecordWriter, register


def message_record(m: Message, *, arguments_as_text: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        d["name"] = m.name
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.role == "assistant" and m.loss is not None:
        d["weight"] = int(m.loss)
    if m.tool_calls and m.protocol is None:
        d["tool_calls"] = [call_record(c, arguments_as_text=arguments_as_text) for c in m.tool_calls]
    return d


def call_record(call: ToolCall, *, arguments_as_text: bool = False) -> dict[str, Any]:
    arguments: Any = call.arguments if call.arguments_ok and not arguments_as_text else call.arguments_text()
    d: dict[str, Any] = {"type": "function", "function": {"name": call.name, "arguments": arguments}}
    if call.id is not None:
        d = {"id": call.id, **d}
    return d


def tool_records(conv: Conversation) -> list[dict[str, Any]]:
    return [{"type": "function", "function": t.to_dict()} for t in conv.tools]


@register
class OpenAIWriter(RecordWriter):
    name = "openai"
    description = "OpenAI/TRL chat JSONL: messages with tool_calls and tool results, tools"

    def encode(self, conv: Conversation) -> dict[str, Any]:
        record: dict[str, Any] = {"id": conv.id, "messages": [message_record(m) for m in conv.messages]}
        if conv.tools:
            record["tools"] = tool_records(conv)
        return record
