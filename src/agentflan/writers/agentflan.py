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
- tool results otherwise become plain user turns (Agent-FLAN treats tool returns as the user);
- any other conversation with tools its system prompt does not name gets them listed there
  (:func:`show_tools`): a reply such as "I can only create invoices" must not name a tool the
  trained model was never shown.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agentflan.conversation import Conversation, Message
from agentflan.protocols import tool_prompt
from agentflan.protocols.base import AgentProtocol, AgentStep, get_protocol
from agentflan.writers.base import RecordWriter, conversation_error, register

PROTOCOL = "react"
#: The tool prompt :func:`show_tools` lists tools with: the ``agentflan`` chat template's (its
#: ``tool_prompt`` in ``data/templates/templates.yaml``), so a native row and its JSONL row render alike.
TOOL_PROMPT = "call-lines"


@register
class AgentFlanWriter(RecordWriter):
    name = "agentflan"
    description = 'Agent-FLAN release JSONL: {"conversation": [{"role", "content", "loss"}], "id"}'

    def encode(self, conv: Conversation) -> dict[str, Any]:
        react = get_protocol(PROTOCOL)
        renders = renders_calls(conv)
        if not renders:  # with_tools_shown(conv), without asking renders_calls twice
            conv = show_tools(conv)
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


def renders_calls(conv: Conversation) -> bool:
    """Whether the writer renders structured tool calls in ReAct (and adds the ReAct tool instruction)."""
    return any(m.role == "assistant" and m.protocol is None and m.tool_calls for m in conv.messages)


def with_tools_shown(conv: Conversation) -> Conversation:
    """What this writer writes before its ReAct rendering: ``conv`` with :func:`show_tools` applied
    unless the ReAct instruction will list the tools. A build applies it to every format alike, so a
    row trains on the same prompt whatever format it is read from."""
    return conv if renders_calls(conv) else show_tools(conv)


def tools_shown(conv: Conversation) -> bool:
    """Whether the system prompt names every tool the conversation offers (the test the chat
    templates make before appending their own tool list)."""
    system = conv.messages[0].content if conv.messages and conv.messages[0].role == "system" else ""
    return all(t.name in system for t in conv.tools)


def show_tools(conv: Conversation) -> Conversation:
    """``conv`` with its tools listed in the system prompt unless it already names them all;
    the same conversation object when nothing is missing."""
    if tools_shown(conv):
        return conv
    listing = tool_prompt(TOOL_PROMPT, conv.tools)
    messages = list(conv.messages)
    if messages and messages[0].role == "system":
        first = messages[0]
        content = f"{first.content}\n\n{listing}" if first.content else listing
        messages[0] = dataclasses.replace(first, content=content)
    else:
        messages.insert(0, Message(role="system", content=listing))
    return dataclasses.replace(conv, messages=messages)
