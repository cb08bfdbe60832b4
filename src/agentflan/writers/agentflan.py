"""The released Agent-FLAN schema, exactly: ``{"conversation": [{"role", "content", "loss"}], "id"}``.

The schema has three roles and text only, so:

- ``loss`` is written on every message: system and user turns ``false``, assistant turns
  ``true`` unless their ``loss`` is false (per-span loss overrides cannot be expressed);
- assistant turns already in a protocol (``Message.protocol`` set) are written as they are;
- structured tool calls (``protocol`` None) are rendered in the ``react`` protocol (the
  release's own ReAct rows use Thought/Action/Action Input), and in such a conversation the
  plain replies become ``Final Answer:`` steps, tool results become ``Observation:`` user turns
  and the ``react`` tool instruction is added to the system prompt (the schema has no tools
  field, so a model trained on the rows would otherwise never see the tools);
- tool results otherwise become plain user turns (Agent-FLAN treats tool returns as the user).
"""

from __future__ import annotations

from typing import Any

from agentflan.conversation import Conversation, Message
from agentflan.protocols.base import AgentProtocol, AgentStep, get_protocol
from agentflan.writers.base import RecordWriter, conversation_error, register

PROTOCOL = "react"


@register
class AgentFlanWriter(RecordWriter):
    name = "agentflan"
    description = 'Agent-FLAN release JSONL: {"conversation": [{"role", "content", "loss"}], "id"}'

    def encode(self, conv: Conversation) -> dict[str, Any]:
        react = get_protocol(PROTOCOL)
        renders = any(m.role == "assistant" and m.protocol is None and m.tool_calls for m in conv.messages)
        turns: list[dict[str, Any]] = []
        for i, m in enumerate(conv.messages):
            if m.role == "assistant":
                content = _render(react, m, conv, i) if renders and m.protocol is None else m.content
                turns.append({"role": "assistant", "content": content, "loss": m.loss is not False})
            elif m.role in ("system", "user"):
                turns.append({"role": m.role, "content": m.content, "loss": bool(m.loss)})
            elif m.role == "tool":
                content = react.render_observation(m.content) if renders else m.content
                turns.append({"role": "user", "content": content, "loss": False})
            else:
                raise conversation_error(conv, f"role {m.role!r} has no Agent-FLAN equivalent", f"messages[{i}].role")
        if renders and conv.tools:
            instruction = react.format_instruction(conv.tools)
            if turns and turns[0]["role"] == "system":
                turns[0]["content"] = f"{turns[0]['content']}\n\n{instruction}" if turns[0]["content"] else instruction
            else:
                turns.insert(0, {"role": "system", "content": instruction, "loss": False})
        return {"conversation": turns, "id": conv.id}


def _render(react: AgentProtocol, m: Message, conv: Conversation, i: int) -> str:
    if len(m.tool_calls) > 1:
        raise conversation_error(conv, f"{PROTOCOL} writes one call per turn; this turn has {len(m.tool_calls)}", f"messages[{i}].tool_calls")
    step = AgentStep(thought=m.content, tool_calls=list(m.tool_calls)) if m.tool_calls else AgentStep(final_answer=m.content)
    return react.render(step).text
