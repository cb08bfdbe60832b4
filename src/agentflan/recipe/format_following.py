"""The format-following set (the release's ``toolbench_instruct_j1s1_3k``): rows that teach a
model to answer in exactly the format its system prompt asks for.

Each row is (system, user, assistant): the system prompt gives one API and a format spec,
the user gives the goal and the call in words, and the assistant writes that call in the
format, JSON (``{"Tool", "Param", "goal"}``, the ``json-goal`` protocol) or string (ReAct,
the ``react`` protocol), half and half. Calls come from real trajectories: a step's thought
is the goal, its call the answer, the called API the one in the system prompt.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from agentflan.conversation import Conversation, Message, Span, Tool, ToolCall
from agentflan.jsonutil import dumps
from agentflan.protocols.base import AgentStep, get_protocol
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.trajectory import Event, offered_tools, qualified_names

PROTOCOL = {"json": "json-goal", "string": "react"}


@dataclass(slots=True)
class CallExample:
    """One real call with its thought and the schema of the API it calls."""

    key: str
    origin: str
    tool: Tool
    goal: str
    call: ToolCall
    #: the recipe source it came from (set by the build)
    source: str = ""
    #: the API's name in the system prompt when it differs from the called name (the release's
    #: j1s1 rows list ``api`` while the user turn and the answer call ``tool.api``)
    listed_name: str | None = None


def call_examples(
    conv: Conversation, evs: list[Event], key: str, *, qualify: bool = False, list_original: bool = False
) -> Iterator[CallExample]:
    """The calls of a trajectory usable as format-following answers: a thought, one call to an
    offered tool, arguments that are a JSON object. ``qualify`` calls ToolBench APIs ``tool.api``;
    ``list_original`` then lists the API in the system prompt under its own name, as the release does."""
    tools = {t.name: t for t in offered_tools(conv)}
    names = qualified_names(tools.values()) if qualify else {}
    for i, e in enumerate(evs):
        step = e.step
        if step is None or not step.thought or len(step.tool_calls) != 1:
            continue
        call = step.tool_calls[0]
        tool = tools.get(call.name)
        if tool is None or not call.arguments_ok:
            continue
        name = names.get(call.name, call.name)
        yield CallExample(
            key=f"{key}:{i}",
            origin=conv.id,
            tool=Tool(name, tool.description, tool.parameters),
            goal=step.thought.strip(),
            call=ToolCall(name, dict(call.arguments)),
            listed_name=call.name if list_original and name != call.name else None,
        )


def format_following_rows(
    examples: Iterable[CallExample],
    phrasings: Phrasings,
    seed: int | str,
    *,
    json_share: float = 0.5,
) -> Iterator[Conversation]:
    """One row per example (already sampled, in a seeded order): the first ``json_share`` of
    them in JSON, the rest in ReAct string form."""
    pool = list(examples)
    n_json = round(len(pool) * json_share)
    for i, ex in enumerate(pool):
        kind = "json" if i < n_json else "string"
        yield format_following_row(ex, kind, phrasings, random.Random(f"{seed}|format_following|{ex.key}"))


def format_following_row(ex: CallExample, kind: str, phrasings: Phrasings, rng: random.Random) -> Conversation:
    protocol = get_protocol(PROTOCOL[kind])
    listed = ex.tool.to_dict()
    if ex.listed_name is not None:
        listed["name"] = ex.listed_name
    api = repr(listed)
    system = phrasings.fill(rng, "format_following.system", api=api, format=phrasings.fill(rng, f"format_following.format.{kind}"))
    if ex.call.arguments:
        params = repr([f"'{k}' is '{v if isinstance(v, str) else dumps(v)}'" for k, v in ex.call.arguments.items()])
        user = phrasings.fill(rng, f"format_following.user.{kind}", goal=ex.goal, tool=ex.tool.name, params=params)
    else:
        user = phrasings.fill(rng, f"format_following.user_no_params.{kind}", goal=ex.goal, tool=ex.tool.name)
    rendered = protocol.render(AgentStep(thought=ex.goal, tool_calls=[ex.call]))
    # the react rendering opens with ToolLLaMA's newline; a prompt that says "nothing else" gets none
    lead = len(rendered.text) - len(rendered.text.lstrip("\n"))
    answer = Message(
        role="assistant",
        content=rendered.text[lead:],
        tool_calls=[ex.call],
        spans=[Span(max(0, s.start - lead), s.end - lead, s.capability, s.loss) for s in rendered.spans if s.end > lead],
        protocol=protocol.name,
    )
    return Conversation(
        id=ex.key,
        messages=[Message(role="system", content=system), Message(role="user", content=user), answer],
        tools=[ex.tool],
        meta={"origin_id": ex.origin, "format": kind, "recipe_source": ex.source},
    )
