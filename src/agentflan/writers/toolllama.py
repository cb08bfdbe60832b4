"""The ToolLLaMA training format, as ToolBench's preprocessing writes it (a JSON array of
``{"id", "conversations": [{"from", "value"}]}``).

- the (first) system prompt gets ToolBench's format hint (after its anchor sentence, when present) and
  the tools as ``repr`` of their schemas after the fixed API-list prefix (a system turn holding
  only that list is added when the conversation has tools but no system prompt);
- a structured assistant call is rendered by the ``react`` protocol (``\\nThought: ...\\nAction:
  ...\\nAction Input: ...``), one ToolLLaMA turn per call; a turn already in a protocol is
  written as it is;
- a plain assistant reply becomes a ``Finish`` call with ``give_answer`` (ToolLLaMA answers only
  through Finish); tool results become ``function`` turns.

The array is streamed, one element at a time: memory stays flat on any input size.
"""

from __future__ import annotations

from typing import Any

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.jsonutil import dumps
from agentflan.protocols.base import AgentProtocol, AgentStep, get_protocol
from agentflan.sources.toolllama import FROM_OF, PROTOCOL, toolllama_text
from agentflan.writers.base import RecordWriter, conversation_error, register


def system_value(content: str, conv: Conversation) -> str:
    """ToolBench's system prompt: the format hint inserted, the API list appended."""
    if not conv.tools:
        return content
    text = toolllama_text()
    if text.format_hint_anchor in content and text.format_hint_anchor + text.format_hint not in content:
        content = content.replace(text.format_hint_anchor, text.format_hint_anchor + text.format_hint, 1)
    # repr() is the format: ToolBench writes the Python list of schema dicts, not JSON.
    return content + text.api_list_prefix + repr([t.to_dict() for t in conv.tools])


@register
class ToolLlamaWriter(RecordWriter):
    name = "toolllama"
    description = "ToolLLaMA format (ToolBench preprocessing output): id + conversations from system|user|assistant|function"
    default_container = "json"

    def encode(self, conv: Conversation) -> dict[str, Any]:
        react = get_protocol(PROTOCOL)
        turns: list[dict[str, str]] = []
        first_system = next((i for i, m in enumerate(conv.messages) if m.role == "system"), None)
        if conv.tools and first_system is None:
            turns.append({"from": "system", "value": system_value("", conv)})
        for i, m in enumerate(conv.messages):
            if m.role not in FROM_OF:
                raise conversation_error(conv, f"role {m.role!r} has no ToolLLaMA equivalent", f"messages[{i}].role")
            if i == first_system:  # the tools are listed once, in the first system prompt
                turns.append({"from": "system", "value": system_value(m.content, conv)})
            elif m.role == "assistant" and m.protocol is None:
                turns.extend({"from": "assistant", "value": v} for v in _assistant_values(react, m, conv, i))
            else:
                turns.append({"from": FROM_OF[m.role], "value": m.content})
        return {"id": conv.id, "conversations": turns}


def _assistant_values(react: AgentProtocol, m: Message, conv: Conversation, i: int) -> list[str]:
    calls = m.tool_calls or [_finish(m.content)]
    thought = m.content if m.tool_calls else ""
    values = []
    for k, call in enumerate(calls):
        try:
            values.append(react.render(AgentStep(thought=thought if k == 0 else "", tool_calls=[call])).text)
        except ValueError as exc:
            raise conversation_error(conv, f"cannot render in {PROTOCOL}: {exc}", f"messages[{i}].tool_calls[{k}]") from None
    return values


def _finish(answer: str) -> ToolCall:
    arguments = {"return_type": "give_answer", "final_answer": answer}
    return ToolCall(toolllama_text().finish_name, arguments, raw_arguments=dumps(arguments, indent=True))
