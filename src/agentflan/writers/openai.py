"""OpenAI chat ``messages`` + ``tools``, as TRL's conversational tool-calling datasets hold them
(the conversion is :mod:`agentflan.formats.openai`, shared with the chat templates and the
``openai`` backend).

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

from agentflan.conversation import Conversation
from agentflan.formats.openai import openai_messages, openai_tools
from agentflan.writers.base import RecordWriter, register


@register
class OpenAIWriter(RecordWriter):
    name = "openai"
    description = "OpenAI/TRL chat JSONL: messages with tool_calls and tool results, tools"

    def encode(self, conv: Conversation) -> dict[str, Any]:
        record: dict[str, Any] = {"id": conv.id, "messages": openai_messages(conv.messages)}
        if conv.tools:
            record["tools"] = openai_tools(conv.tools)
        return record
