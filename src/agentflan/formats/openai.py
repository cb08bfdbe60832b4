"""The one conversion of the conversation model to OpenAI-shaped ``messages`` and ``tools``.

The same dicts feed the ``openai`` and ``arrow`` writers (TRL's conversational datasets), the
chat templates (training and the ``hf``/``vllm`` prompts) and the chat-completions request of
the ``openai`` backend, so a conversation reaches a model in the same shape it was trained in.

- a turn written in a protocol (``protocol`` set) keeps its text only: its calls are in that text;
  out-of-band calls go as ``tool_calls`` ``[{"id"?, "type": "function", "function": {"name",
  "arguments"}}]``;
- ``name`` and ``tool_call_id`` go whenever the message has them;
- tools: ``[{"type": "function", "function": {name, description, parameters}}]``, the
  parameters exactly as the conversation holds them.

Two choices depend on the reader, and are the only ones: the arguments as a JSON object (TRL,
chat templates; arguments that are not a JSON object keep their source text) or always as text
(the HTTP API; Arrow, whose column holds one type), and whether the dicts are a chat-completions
request (every call gets the ``id`` the API requires, and training's ``weight`` is left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from agentflan.conversation import Message, Tool, ToolCall

Arguments = Literal["object", "text"]


def openai_messages(
    messages: Iterable[Message], *, arguments: Arguments = "object", request: bool = False
) -> list[dict[str, Any]]:
    """Messages as OpenAI chat dicts. ``request``: the form a chat-completions request takes (no
    ``weight``; a call without an id gets ``call_<i>``, its position in the turn)."""
    return [openai_message(m, arguments=arguments, request=request) for m in messages]


def openai_message(m: Message, *, arguments: Arguments = "object", request: bool = False) -> dict[str, Any]:
    """One message as an OpenAI chat dict; an assistant turn with ``loss`` set gets OpenAI's
    fine-tuning ``weight`` (0: do not train) unless the dict is a request."""
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        d["name"] = m.name
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.role == "assistant" and m.loss is not None and not request:
        d["weight"] = int(m.loss)
    if m.tool_calls and m.protocol is None:
        d["tool_calls"] = [
            openai_call(c, arguments=arguments, default_id=f"call_{i}" if request else None) for i, c in enumerate(m.tool_calls)
        ]
    return d


def openai_call(call: ToolCall, *, arguments: Arguments = "object", default_id: str | None = None) -> dict[str, Any]:
    """One call as an OpenAI ``tool_calls`` entry."""
    value: Any = call.arguments if call.arguments_ok and arguments == "object" else call.arguments_text()
    d: dict[str, Any] = {"type": "function", "function": {"name": call.name, "arguments": value}}
    call_id = call.id if call.id is not None else default_id
    return d if call_id is None else {"id": call_id, **d}


def openai_tools(tools: Iterable[Tool]) -> list[dict[str, Any]]:
    """Tools as OpenAI function schemas."""
    return [{"type": "function", "function": t.to_dict()} for t in tools]
