"""Tool-step items (T-Eval's six dimensions) from tool-calling trajectories.

A trajectory is a conversation that offers tools and calls them (ToolBench answer files are
the intended source; any reader format with structured calls works). From each one:

- ``rru`` (reason + retrieve + understand, as T-Eval's ``rru_json``): for every assistant turn
  that calls a tool, the conversation up to it, rendered in the protocol under test (earlier
  steps as that protocol's text, tool results as its observations, sent as user turns); the
  reference is the turn's thought, tool and arguments;
- ``instruct``: every distinct call, given in words; the model must write it in the protocol;
- ``plan``: the query alone; the reference is the trajectory's calls in order;
- ``review``: every tool result, shown as T-Eval shows it (goal, name, args, response); the
  reference verdict (success / failure) is a heuristic over the result text (ToolBench records
  no verdict): its ``error`` field, an empty body, or ``review_failure_patterns.txt``.

Each item exists once per protocol: ``json`` (T-Eval's JSON format) and ``react`` (its string
format). ToolBench's ``Finish`` call ends a trajectory and is not a step to predict.
"""

from __future__ import annotations

import os
import random
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agentflan.conversation import FINISH_TOOL, Conversation, Message, Tool, ToolCall
from agentflan.errors import ConfigError
from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.tool_corpus import data_file
from agentflan.jsonutil import dumps
from agentflan.protocols.base import AgentStep, get_protocol
from agentflan.protocols.calls import is_answer_action

DIMENSIONS = ("instruct", "plan", "reason", "retrieve", "understand", "review")
#: protocol under test -> T-Eval's name for the response format
FORMATS = {"json": "json", "react": "str"}
_ERROR_FIELD = re.compile(r'^\s*\{"error":\s*"((?:[^"\\]|\\.)*)",\s*"response":\s*(.*)\Z', re.S)
_BEGIN = re.compile(r"\s*Begin!\s*$")


@dataclass(slots=True)
class Trajectory:
    id: str
    query: str
    tools: list[Tool]
    messages: list[Message] = field(default_factory=list)  # after the query

    def calls(self) -> list[tuple[int, ToolCall]]:
        """(message index, call) of each step that calls an offered tool (a call to a name the
        trajectory does not offer is a mistake of its author, not a reference to score against)."""
        offered = {t.name for t in self.tools}
        return [(i, c) for i, m in enumerate(self.messages) if m.role == "assistant" for c in m.tool_calls[:1] if c.name in offered]


def thought_of(message: Message) -> str:
    """A step's thought; ToolBench keeps the text written beside a call in ``toolbench_dropped_content``."""
    return (message.content or str(message.meta.get("toolbench_dropped_content") or "")).strip()


@cache
def tool_step_prompts() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(data_file("tool_steps", "prompts.yaml").read_text(encoding="utf-8"))
    return loaded


@cache
def failure_patterns() -> tuple[re.Pattern[str], ...]:
    lines = data_file("tool_steps", "review_failure_patterns.txt").read_text(encoding="utf-8").splitlines()
    return tuple(re.compile(line, re.I) for line in lines if line.strip() and not line.startswith("#"))


def tool_succeeded(result: str) -> bool:
    """The heuristic verdict on a tool result (see the module docstring)."""
    m = _ERROR_FIELD.match(result)
    if m:
        if m.group(1).strip():
            return False
        body = m.group(2).rstrip().removesuffix("}")
    else:
        body = result
    if body.strip().strip("\"'").strip() in ("", "[]", "{}", "None", "null"):
        return False
    return not any(p.search(body) for p in failure_patterns())


def trajectories(conversations: Iterable[Conversation]) -> list[Trajectory]:
    """One trajectory per source trajectory (ToolBench's step-wise copies collapse into the
    longest), keeping conversations that offer tools and call at least one."""
    best: dict[str, Conversation] = {}
    order: list[str] = []
    for conv in conversations:
        key = str(conv.meta.get("trajectory") or conv.id)
        if key not in best:
            order.append(key)
            best[key] = conv
        elif len(conv.messages) > len(best[key].messages):
            best[key] = conv
    out = []
    for key in order:
        t = _trajectory(key, best[key])
        if t is not None and t.calls():
            out.append(t)
    return out


def _trajectory(key: str, conv: Conversation) -> Trajectory | None:
    tools = [t for t in conv.tools if t.name != FINISH_TOOL]
    first_user = next((i for i, m in enumerate(conv.messages) if m.role == "user" and m.content.strip()), None)
    if not tools or first_user is None:
        return None
    query = _BEGIN.sub("", conv.messages[first_user].content).strip()
    return Trajectory(key, query, tools, [m for m in conv.messages[first_user + 1 :] if m.role != "system"])


@dataclass(slots=True)
class StepBuildOptions:
    protocols: tuple[str, ...] = ("json", "react")
    dimensions: tuple[str, ...] = DIMENSIONS
    seed: int = 0
    #: At most this many items per dimension group (rru, instruct, plan, review) and protocol.
    max_per_dimension: int | None = None


def build_tool_steps(convs: Iterable[Conversation], options: StepBuildOptions | None = None) -> list[EvalItem]:
    """Items for the requested dimensions and protocols, in a seeded order with stable ids."""
    o = options or StepBuildOptions()
    trajs = trajectories(convs)
    wanted = set(o.dimensions)
    groups: list[tuple[str, Any]] = []
    if wanted & {"reason", "retrieve", "understand"}:
        groups.append(("rru", _rru_items))
    for name, fn in (("instruct", _instruct_items), ("plan", _plan_items), ("review", _review_items)):
        if name in wanted:
            groups.append((name, fn))
    items: list[EvalItem] = []
    for protocol in o.protocols:
        if protocol not in FORMATS:
            raise ConfigError(f"tool-step protocols are {', '.join(FORMATS)}, got {protocol!r}")
        for name, fn in groups:
            made = [it for t in trajs for it in fn(t, protocol, o.seed)]
            if o.max_per_dimension is not None and len(made) > o.max_per_dimension:
                made = random.Random(f"{o.seed}/{name}/{protocol}").sample(made, o.max_per_dimension)
                made.sort(key=lambda it: it.id)
            items.extend(made)
    return items


def _expected(dimension: str, protocol: str, **fields: Any) -> dict[str, Any]:
    return {"style": "agentflan", "dimension": dimension, "protocol": protocol, "format": FORMATS[protocol], **fields}


def _meta(dimension: str, protocol: str, traj: Trajectory) -> dict[str, Any]:
    return {"dimension": dimension, "protocol": protocol, "format": FORMATS[protocol], "trajectory": traj.id}


def _system(protocol: str, tools: list[Tool]) -> Message:
    text = string.Template(tool_step_prompts()["step_system"]).substitute(
        format_instruction=get_protocol(protocol).format_instruction(tools)
    )
    return Message("system", text)


def _rendered(protocol: str, messages: Sequence[Message]) -> list[Message]:
    """Earlier turns as the protocol writes them; tool results go back as user turns."""
    proto = get_protocol(protocol)
    out = []
    for m in messages:
        if m.role == "assistant":
            calls = [c for c in m.tool_calls[:1]]
            thought = thought_of(m) or None
            if calls and is_answer_action(calls[0].name):
                step = AgentStep(thought, final_answer=str(calls[0].arguments.get("final_answer", "")))
            elif calls:
                step = AgentStep(thought, calls)
            else:
                step = AgentStep(None, final_answer=m.content)
            out.append(Message("assistant", proto.render(step).text, protocol=protocol, tool_calls=list(step.tool_calls)))
        elif m.role == "tool":
            out.append(Message("user", proto.render_observation(m.content)))
        elif m.role == "user":
            out.append(Message("user", m.content))
    return out


def _rru_items(t: Trajectory, protocol: str, seed: int) -> list[EvalItem]:
    items = []
    for n, (i, call) in enumerate(t.calls()):
        thought = thought_of(t.messages[i])
        messages = [_system(protocol, t.tools), Message("user", t.query), *_rendered(protocol, t.messages[:i])]
        items.append(
            EvalItem(
                id=f"rru/{protocol}/{t.id}/{n}",
                messages=messages,
                tools=list(t.tools),
                expected=_expected("rru", protocol, thought=thought, name=call.name, args=call.arguments),
                meta=_meta("rru", protocol, t),
            )
        )
    return items


def _instruct_items(t: Trajectory, protocol: str, seed: int) -> list[EvalItem]:
    phrasings = tool_step_prompts()["instruct_user"]
    items = []
    seen: set[str] = set()
    for n, (_, call) in enumerate(t.calls()):
        key = dumps({"name": call.name, "arguments": call.arguments}, sort_keys=True)
        if key in seen or not call.arguments_ok:
            continue
        seen.add(key)
        phrase = random.Random(f"{seed}/instruct/{t.id}/{n}").choice(phrasings)
        user = string.Template(phrase).substitute(name=call.name, arguments=dumps(call.arguments))
        items.append(
            EvalItem(
                id=f"instruct/{protocol}/{t.id}/{n}",
                messages=[_system(protocol, t.tools), Message("user", user)],
                tools=list(t.tools),
                expected=_expected("instruct", protocol, name=call.name, args=call.arguments),
                meta=_meta("instruct", protocol, t),
            )
        )
    return items


def _plan_items(t: Trajectory, protocol: str, seed: int) -> list[EvalItem]:
    fmt = FORMATS[protocol]
    listing = "\n".join(dumps(tool.to_dict()) for tool in t.tools)
    system = string.Template(tool_step_prompts()["plan_system"][fmt]).substitute(tools=listing)
    plan = [{"name": c.name, "args": c.arguments} for _, c in t.calls()]
    return [
        EvalItem(
            id=f"plan/{protocol}/{t.id}",
            messages=[Message("system", system), Message("user", t.query)],
            tools=list(t.tools),
            expected=_expected("plan", protocol, plan=plan, tool_names=[tool.name for tool in t.tools]),
            meta=_meta("plan", protocol, t),
        )
    ]


def _review_items(t: Trajectory, protocol: str, seed: int) -> list[EvalItem]:
    fmt = FORMATS[protocol]
    p = tool_step_prompts()
    items = []
    for n, (i, call) in enumerate(t.calls()):
        result = next((m for m in t.messages[i + 1 : i + 2] if m.role == "tool"), None)
        if result is None:
            continue
        goal = thought_of(t.messages[i]) or t.query
        user = string.Template(p["review_user"]).substitute(
            goal=goal, name=call.name, arguments=call.arguments_text(), response=result.content
        )
        items.append(
            EvalItem(
                id=f"review/{protocol}/{t.id}/{n}",
                messages=[Message("system", p["review_system"][fmt]), Message("user", user)],
                expected=_expected("review", protocol, success=tool_succeeded(result.content)),
                meta=_meta("review", protocol, t),
            )
        )
    return items


def read_trajectories(sources: Sequence[str | os.PathLike[str]], **read_options: Any) -> list[Conversation]:
    """Conversations from any reader format (``agentflan.sources.read``), in input order."""
    from agentflan.sources import read

    return [conv for spec in sources for conv in read(str(spec), **read_options)]
