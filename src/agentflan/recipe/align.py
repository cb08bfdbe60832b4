"""Chat alignment: one agent trajectory rewritten in one of four styles.

- ``tflan``: fully decomposed chat. The thought is its own assistant turn; a short inserted
  user turn asks for the tool, answered in a sentence; another asks for the arguments,
  answered argument by argument and/or as JSON; tool results come back as user turns; the
  final answer is a plain reply. Each assistant turn is one capability span.
- ``cot``: thought and action in one assistant turn of prose that ends with the call as a
  Python dictionary (the released ``toolbench_tflan_cot_30p`` rows); spans inside the turn.
  In both chat styles an AgentInstruct trajectory loses its task's format instruction and
  in-context examples, and opens with a chat system prompt for its task instead
  (``phrasings/agentinstruct.yaml``): a chat answer under "Act: bash" would teach the model to
  ignore the format its prompt asks for.
- ``react`` / ``json``: the original protocols, rendered by the protocol classes (``react``
  keeps each turn's own protocol when it has one: FireAct's bracket ReAct, AgentInstruct's).

Inserted wording comes from the phrasing pools; ``rng`` (seeded per conversation by the
caller) picks it, so the rewrite is a pure function of (conversation, options, seed).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Literal

from agentflan.conversation import FINISH_TOOL, Capability, Conversation, Message, Tool, ToolCall
from agentflan.protocols import describe_tools
from agentflan.protocols.base import AgentProtocol, AgentStep, get_protocol
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.tags import TaggedText, whole_turn
from agentflan.recipe.trajectory import (
    Event,
    StepError,
    check_usable,
    events,
    offered_tools,
    qualified_names,
)

Style = Literal["tflan", "cot", "react", "json"]
STYLES: tuple[str, ...] = ("tflan", "cot", "react", "json")
ToolNames = Literal["original", "qualified"]

R, T, U = Capability.REASONING, Capability.RETRIEVAL, Capability.UNDERSTANDING


@dataclass(frozen=True, slots=True)
class AlignOptions:
    """``protocol``: for ``react``/``json``, the protocol to render in; None renders ``json`` in the
    ``json`` protocol and ``react`` in each turn's own protocol when it has one (else ``react``).
    ``tool_names="qualified"`` names ToolBench APIs ``tool.api`` as the released rows do."""

    style: Style
    protocol: str | None = None
    tool_names: ToolNames = "original"
    finish_tool: str = FINISH_TOOL


@dataclass(slots=True)
class _Out:
    messages: list[Message] = field(default_factory=list)

    @property
    def last_role(self) -> str | None:
        return self.messages[-1].role if self.messages else None

    def user(self, text: str) -> None:
        """A user turn; one right after another user turn joins it, so roles keep alternating
        (Llama-2-style chat templates refuse anything else)."""
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "user":
            last.content += "\n\n" + text
        else:
            self.messages.append(Message(role="user", content=text))

    def add(self, message: Message) -> None:
        self.messages.append(message)


def align(
    conv: Conversation, options: AlignOptions, phrasings: Phrasings, rng: random.Random, evs: list[Event] | None = None
) -> Conversation:
    """``conv`` rewritten in ``options.style``; raises :class:`StepError` for a turn it cannot use.
    ``evs``: its events when the caller parsed them already (the scan does, once per row; they
    are only read here)."""
    if evs is None:
        evs = events(conv, finish_tool=options.finish_tool)
    check_usable(evs)
    tools = offered_tools(conv, options.finish_tool)
    names = qualified_names(tools) if options.tool_names == "qualified" else {}
    tools = [Tool(names.get(t.name, t.name), t.description, t.parameters) for t in tools]
    out = _Out()
    if options.style in ("tflan", "cot"):
        task = f"agentinstruct.{conv.meta.get('task')}" if conv.source == "agentinstruct" else ""
        if task in phrasings.pools:
            evs = _without_preamble(evs)
            out.add(Message(role="system", content=phrasings.fill(rng, task)))
        else:
            _system(out, evs, tools, phrasings.fill(rng, f"system.{options.style}", tools=describe_tools(tools)) if tools else None)
        render = _tflan if options.style == "tflan" else _cot
        last_tool = ""
        for e in evs:
            if e.kind == "step":
                assert e.step is not None
                step = _renamed(e.step, names)
                render(out, step, phrasings, rng)
                last_tool = step.tool_calls[-1].name if step.tool_calls else last_tool
            elif e.kind == "observation":
                out.user(phrasings.fill(rng, "tflan.observation", observation=e.text, tool=last_tool))
            elif e.kind in ("user", "context"):
                _copy(out, e)
    else:
        protocol = _protocol_for(evs, options)
        own = options.style == "react" and options.protocol is None
        _system(out, evs, tools, protocol.format_instruction(tools) if tools else None)
        for e in evs:
            if e.kind == "step":
                assert e.step is not None
                p = get_protocol(e.protocol) if own and e.protocol else protocol
                out.add(_protocol_turn(p, _renamed(e.step, names)))
            elif e.kind == "observation":
                out.user(protocol.render_observation(e.text))
            elif e.kind in ("user", "context"):
                _copy(out, e)
    return Conversation(
        id=conv.id,
        messages=out.messages,
        tools=tools,
        source=conv.source,
        meta={**conv.meta, "style": options.style},
    )


# --------------------------------------------------------------------------- shared pieces


def _system(out: _Out, evs: list[Event], tools: list[Tool], prompt: str | None) -> None:
    """The new system prompt when the row offers tools; else the source's own system turns stay."""
    if prompt is not None:
        out.add(Message(role="system", content=prompt))
        return
    for e in evs:
        if e.kind == "system":
            _copy(out, e)


def _without_preamble(evs: list[Event]) -> list[Event]:
    """An AgentInstruct trajectory from its task on: the format instruction and the in-context
    examples before the first trained step (everything up to the last example turn) are dropped."""
    first = next(i for i, e in enumerate(evs) if e.kind == "step")
    last_example = max((i for i, e in enumerate(evs[:first]) if e.kind == "context"), default=-1)
    return [e for e in evs[last_example + 1 :] if e.kind != "system"]


def _copy(out: _Out, e: Event) -> None:
    assert e.message is not None
    m = e.message
    if m.role == "assistant":  # an in-context example or acknowledgement: kept, never trained
        out.add(Message(role="assistant", content=m.content, loss=False, meta=dict(m.meta)))
    elif m.role == "user":
        out.user(m.content.strip())
    else:
        out.add(Message(role=m.role, content=m.content))


def _renamed(step: AgentStep, names: dict[str, str]) -> AgentStep:
    if not names:
        return step
    calls = [ToolCall(names.get(c.name, c.name), c.arguments, c.raw_arguments, c.id, c.arguments_error) for c in step.tool_calls]
    return AgentStep(step.thought, calls, step.final_answer)


def _args_json(call: ToolCall) -> str:
    return json.dumps(call.arguments, ensure_ascii=False) if call.arguments_ok else call.arguments_text()


# --------------------------------------------------------------------------- tflan


def _tflan(out: _Out, step: AgentStep, ph: Phrasings, rng: random.Random) -> None:
    if step.thought:
        out.add(whole_turn(step.thought, R, meta={"part": "thought"}))
    for call in step.tool_calls:
        if out.last_role == "assistant":
            out.user(ph.fill(rng, "tflan.elicit_tool"))
        out.add(whole_turn(ph.fill(rng, "tflan.answer_tool", tool=call.name), T, meta={"part": "tool", "tool": call.name}))
        out.user(ph.fill(rng, "tflan.elicit_arguments", tool=call.name))
        out.add(whole_turn(_arguments_answer(call, ph, rng), U, meta={"part": "arguments", "tool": call.name}))
    if step.final_answer is not None:
        if out.last_role == "assistant":
            out.user(ph.fill(rng, "tflan.elicit_final"))
        out.add(whole_turn(step.final_answer, R, meta={"part": "final"}))


def _arguments_answer(call: ToolCall, ph: Phrasings, rng: random.Random) -> str:
    if call.arguments_ok and not call.arguments:
        return ph.fill(rng, "tflan.no_arguments")
    if call.arguments_ok:
        item = ph.pick(rng, "tflan.argument_item")
        items = "\n".join(item.substitute(name=k, value=json.dumps(v, ensure_ascii=False)) for k, v in call.arguments.items())
    else:
        items = call.arguments_text()
    return ph.fill(rng, "tflan.answer_arguments", items=items, json=_args_json(call))


# --------------------------------------------------------------------------- cot


def _cot(out: _Out, step: AgentStep, ph: Phrasings, rng: random.Random) -> None:
    text = TaggedText()
    if step.thought:
        text.add(step.thought, R)
    for call in step.tool_calls:
        if text.length:
            text.add(" ")
        before, _, after = ph.fill(rng, "cot.call", tool="\0").partition("\0")
        text.add(before).add(call.name, T).add(after)
        text.add(" " + ph.fill(rng, "cot.dictionary") + "\n```python\n{'name': ").add(repr(call.name), T)
        text.add(", 'parameters': ").add(repr(call.arguments) if call.arguments_ok else call.arguments_text(), U).add("}\n```")
    if step.final_answer is not None:
        # joined with no separator, as the release's cot rows join the last thought and the answer
        text.add(step.final_answer, R)
    if text.length:
        calls = [c.name for c in step.tool_calls]
        out.add(text.message(meta={"part": "step", "tools": calls} if calls else {"part": "final"}))


# --------------------------------------------------------------------------- react / json


def _protocol_for(evs: list[Event], options: AlignOptions) -> AgentProtocol:
    """The protocol of the system prompt and observations: the option; else for ``react`` the
    first step's own protocol (FireAct, AgentInstruct), for ``json`` the ``json`` protocol."""
    if options.protocol is not None:
        return get_protocol(options.protocol)
    own = next((e.protocol for e in evs if e.kind == "step" and e.protocol), None) if options.style == "react" else None
    return get_protocol(own or options.style)


def _protocol_turn(protocol: AgentProtocol, step: AgentStep) -> Message:
    try:
        rendered = protocol.render(step)
    except ValueError as exc:
        raise StepError("messages", f"cannot render a step in {protocol.name}: {exc}") from None
    return Message(role="assistant", content=rendered.text, tool_calls=list(step.tool_calls), spans=rendered.spans, protocol=protocol.name)
