"""A conversation as the recipe sees it: context turns, user turns, agent steps, tool results.

Readers give conversations in two shapes: calls beside the text (OpenAI style, ``protocol``
None: the content is the thought) or protocol text (``protocol`` set: ReAct, bracket ReAct,
JSON). :func:`events` turns both into one sequence of :class:`Event`, each assistant turn an
:class:`~agentflan.protocols.base.AgentStep` parsed by its protocol, so every alignment style
renders from the same thing. ToolBench's ``Finish`` call becomes the step's final answer, and
the text ToolBench writes beside a call is the step's thought (as in the released rows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from agentflan.conversation import FINISH_TOOL, Conversation, Message, Tool
from agentflan.protocols.base import AgentStep, ParseFailure, parse_once

T = TypeVar("T")
EventKind = Literal["system", "user", "step", "observation", "context"]

#: where the ToolBench reader keeps the text written beside a call: ToolLLaMA's preprocessing
#: drops it, but it is the step's reasoning, and the released Agent-FLAN rows train on it
BESIDE_CALL = "toolbench_dropped_content"
_OBSERVATION_PREFIX = re.compile(r"\A\s*Observation:[ \t]*")
_SUBFUNCTION_OF = re.compile(r"""subfunction for tool ["']([^"']+)["']""")


class StepError(ValueError):
    """A turn the recipe cannot use; ``field`` names it (``messages[3]``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.reason = message


@dataclass(slots=True)
class Event:
    """One unit of a trajectory. ``step`` is set for agent steps; ``message`` for turns copied as is."""

    kind: EventKind
    text: str = ""
    step: AgentStep | None = None
    tool: str | None = None
    message: Message | None = None
    protocol: str | None = None
    #: why a Finish call gave no answer (ToolBench's give_up_and_restart): such a step cannot be rewritten
    gave_up: str | None = None
    index: int | None = None


def events(conv: Conversation, *, finish_tool: str = FINISH_TOOL) -> list[Event]:
    """The events of ``conv``. A step with parallel calls becomes one step per call, each followed
    by its result (when the results match the calls one to one); other consecutive tool results
    merge into one; turns after the last step (e.g. FireAct's closing "Episode finished"
    observation) are dropped."""
    out: list[Event] = []
    for i, m in enumerate(conv.messages):
        where = f"messages[{i}]"
        if m.role == "system":
            out.append(Event("system", m.content, message=m))
        elif m.role == "tool" or (m.role == "user" and m.meta.get("observation")):
            text = _OBSERVATION_PREFIX.sub("", m.content, count=1) if m.role == "user" else m.content
            out.append(Event("observation", text, tool=m.name, message=m))
        elif m.role == "user":
            out.append(Event("user", m.content, message=m))
        elif m.role == "assistant":
            if m.loss is False or m.meta.get("example"):
                out.append(Event("context", m.content, message=m))
            else:
                step, gave_up = _step(m, where, finish_tool)
                out.append(Event("step", m.content, step=step, message=m, protocol=m.protocol, gave_up=gave_up, index=i))
        else:
            raise StepError(f"{where}.role", f"unknown role {m.role!r}")
    last = max((i for i, e in enumerate(out) if e.kind == "step"), default=-1)
    if last < 0:
        raise StepError("messages", "no assistant turn to learn from")
    return _merge_observations(_interleave(out[: last + 1]))


def _interleave(evs: list[Event]) -> list[Event]:
    """``step(a, b), result(a), result(b)`` -> ``step(a), result(a), step(b), result(b)``."""
    out: list[Event] = []
    i = 0
    while i < len(evs):
        e = evs[i]
        calls = e.step.tool_calls if e.step is not None else []
        n = len(calls)
        results = evs[i + 1 : i + 1 + n]
        if n > 1 and len(results) == n and all(r.kind == "observation" for r in results):
            assert e.step is not None
            for k, (call, result) in enumerate(zip(calls, results, strict=True)):
                step = AgentStep(thought=e.step.thought if k == 0 else None, tool_calls=[call])
                out.append(Event("step", e.text, step=step, message=e.message, protocol=e.protocol))
                out.append(result)
            i += 1 + n
        else:
            out.append(e)
            i += 1
    return out


def _merge_observations(evs: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in evs:
        if e.kind == "observation" and out and out[-1].kind == "observation":
            out[-1] = Event("observation", out[-1].text + "\n" + e.text, tool=out[-1].tool, message=out[-1].message)
        else:
            out.append(e)
    return out


def _step(m: Message, where: str, finish_tool: str) -> tuple[AgentStep, str | None]:
    if m.protocol is not None:
        try:
            parsed = parse_once(m.protocol, m.content)
        except KeyError as exc:
            raise StepError(f"{where}.protocol", str(exc)) from None
        if isinstance(parsed, ParseFailure):
            raise StepError(f"{where}.content", f"does not parse as {m.protocol}: {parsed.kind.value}: {parsed.message}")
        step = AgentStep(thought=parsed.thought, tool_calls=list(parsed.tool_calls), final_answer=parsed.final_answer)
    elif m.tool_calls:
        step = AgentStep(thought=m.content or m.meta.get(BESIDE_CALL), tool_calls=list(m.tool_calls))
    else:
        step = AgentStep(final_answer=m.content)
    if step.thought is not None and not step.thought.strip():
        step.thought = None
    finishes = [c for c in step.tool_calls if c.name == finish_tool]
    if finishes:
        if len(step.tool_calls) > 1:
            raise StepError(f"{where}.tool_calls", f"{finish_tool} is called together with other tools")
        step.tool_calls = []
        args: dict[str, Any] = finishes[0].arguments
        answer = args.get("final_answer")
        if args.get("return_type", "give_answer") != "give_answer" or not isinstance(answer, str) or not answer.strip():
            return step, f"{finish_tool} without a final answer ({args.get('return_type', 'no final_answer')})"
        step.final_answer = answer
    return step, None


def check_usable(evs: list[Event]) -> None:
    """Raise :class:`StepError` when a step cannot be rewritten (a Finish that gave up)."""
    for e in evs:
        if e.gave_up is not None:
            raise StepError(f"messages[{e.index}]", f"{e.gave_up}; keep only answered trajectories with `filter: {{final_answer: true}}`")


def _identity(item: Any) -> Any:
    return item


def ends_with_answer(evs: list[Event]) -> bool:
    """Whether the trajectory's last step gives a final answer (ToolBench's give_answer)."""
    last = evs[-1].step
    return last is not None and last.final_answer is not None and bool(last.final_answer.strip())


def has_thoughts(evs: list[Event], which: str) -> bool:
    """Whether the steps that call a tool say why (a non-empty thought): at ``every_step``, or at
    every step ``after_first_step`` (ToolBench's first call usually comes with no text); ``any``
    asks nothing. A step without a thought becomes a training row with no reasoning in it."""
    steps = [e.step for e in evs if e.step is not None and e.step.tool_calls]
    if which == "after_first_step":
        steps = steps[1:]
    elif which != "every_step":
        return True
    return all(bool((s.thought or "").strip()) for s in steps)


def offered_tools(conv: Conversation, finish_tool: str = FINISH_TOOL) -> list[Tool]:
    """The tools a rewritten row offers: all but the ``Finish`` pseudo-tool (its answer is a plain reply now)."""
    return [t for t in conv.tools if t.name != finish_tool]


def qualified_names(tools: Iterable[Tool]) -> dict[str, str]:
    """ToolBench API name -> ``tool.api`` (as the released rows name them), from the
    "subfunction for tool X" line of each description; empty when any API lacks it."""
    names: dict[str, str] = {}
    for t in tools:
        m = _SUBFUNCTION_OF.search(t.description)
        if m is None:
            return {}
        names[t.name] = f"{m.group(1)}.{t.name}"
    return names


def full_trajectories(items: Iterable[T], conversation: Callable[[T], Conversation] = _identity) -> Iterator[T]:
    """Collapse the per-step prefixes a ToolBench answer file yields (same ``meta["trajectory"]``,
    in a row) into the longest one: the whole trajectory. Other conversations pass through.
    ``conversation`` gets the conversation out of an item (e.g. a located one)."""
    pending: T | None = None
    pending_key: Any = None
    for item in items:
        conv = conversation(item)
        key = conv.meta.get("trajectory")
        if pending is not None:
            if key is not None and pending_key == key:
                if len(conv.messages) >= len(conversation(pending).messages):
                    pending = item
                continue
            yield pending
            pending = None
        if key is None:
            yield item
        else:
            pending, pending_key = item, key
    if pending is not None:
        yield pending
