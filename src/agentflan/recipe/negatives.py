"""Negative samples: rows that teach a model when not to call a tool. Each is (system, user, assistant):

- ``no_tools``: a request that needs a tool, with none offered; the reply helps without
  calling anything and says what it cannot do;
- ``chat_with_tools``: ordinary chat while tools are offered; the reply answers directly.

Replies come from a generator :class:`~agentflan.evaluate.base.Backend` when one is given
(any OpenAI-compatible endpoint or a local transformers model), else from offline sources:
the chat data's own answers for ``chat_with_tools``, seeded reply templates for ``no_tools``.
Every reply is checked with :func:`agentflan.protocols.detect_calls`: one that calls a tool in
any convention is never used. Each row records what produced its reply (``meta["producer"]``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentflan.conversation import Capability, Conversation, Message, Tool
from agentflan.protocols import detect_calls
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.tags import whole_turn
from agentflan.recipe.trajectory import Event

if TYPE_CHECKING:
    from agentflan.generation.base import Backend, Sampling

NO_TOOLS = "no_tools"
CHAT_WITH_TOOLS = "chat_with_tools"
TEMPLATE = "template"
CHAT_DATA = "chat-data"

_BEGIN = re.compile(r"\s*Begin!\s*\Z")
_FOR_TOOL = re.compile(r".*_for_")


@dataclass(slots=True)
class ToolQuery:
    """A request from a tool-using trajectory, and the tools it called."""

    key: str
    origin: str
    request: str
    called: tuple[str, ...]
    source: str = ""


@dataclass(slots=True)
class ChatPair:
    """The opening exchange of an ordinary chat."""

    key: str
    origin: str
    user: str
    reply: str
    source: str = ""


@dataclass(slots=True)
class ToolSet:
    key: str
    tools: list[Tool]


def tool_query(conv: Conversation, evs: list[Event], key: str) -> ToolQuery | None:
    """The first request of a trajectory that calls a tool (ToolBench's "Begin!" dropped)."""
    first = next((e for e in evs if e.kind == "user"), None)
    called = tuple(dict.fromkeys(c.name for e in evs if e.step is not None for c in e.step.tool_calls))
    if first is None or not called or not first.text.strip():
        return None
    return ToolQuery(key, conv.id, _BEGIN.sub("", first.text).strip(), called)


def chat_pair(conv: Conversation, key: str) -> ChatPair | None:
    """The first user turn and the plain reply to it, from a conversation that offers no tool
    (a reply written beside tools tends to talk about them)."""
    if conv.tools or any(True for _ in conv.iter_tool_calls()):
        return None
    for i, m in enumerate(conv.messages[:-1]):
        nxt = conv.messages[i + 1]
        if m.role == "user" and nxt.role == "assistant" and m.content.strip() and nxt.content.strip():
            if contains_tool_call(nxt.content):
                return None
            return ChatPair(key, conv.id, m.content.strip(), nxt.content.strip())
    return None


def contains_tool_call(text: str) -> bool:
    """Whether ``text`` calls a tool in any convention (even in a malformed step): such a reply teaches a call."""
    return bool(detect_calls(text))


def describe_need(called: Sequence[str]) -> str:
    """What a request needs, from the tools it called: "a tool such as weather" (ToolBench's
    ``weather.get_forecast_for_weather`` and ``get_forecast_for_weather`` both name the tool ``weather``)."""
    names = []
    for name in called:
        short = name.split(".", 1)[0] if "." in name else _FOR_TOOL.sub("", name)
        if short and short not in names:
            names.append(short)
    if not names:
        return "an external tool"
    if len(names) == 1:
        return f"a tool such as {names[0]}"
    return f"tools such as {', '.join(names[:-1])} and {names[-1]}"


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@dataclass(slots=True)
class Negative:
    conversation: Conversation
    kind: str
    producer: str


@dataclass(slots=True)
class _Pending:
    conv: Conversation
    offline: str
    generator_system: str


def negatives(
    queries: Sequence[ToolQuery],
    chats: Sequence[ChatPair],
    toolsets: Sequence[ToolSet],
    phrasings: Phrasings,
    seed: int | str,
    *,
    n_no_tools: int,
    n_chat: int,
    generator: Backend | None = None,
    sampling: Sampling | None = None,
) -> Iterator[Negative]:
    """Up to ``n_no_tools`` rows of kind (a), then up to ``n_chat`` of kind (b), from candidates
    in seeded order. A generator, if given, answers each kind in its own batches."""
    from agentflan.recipe.align import describe_tools

    rows_a: list[_Pending] = []
    for q in queries[:n_no_tools]:
        rng = random.Random(f"{seed}|negative|{q.key}")
        conv = Conversation(
            id=q.key,
            messages=[
                Message(role="system", content=phrasings.fill(rng, "negatives.no_tools_system")),
                Message(role="user", content=q.request),
            ],
            meta={"origin_id": q.origin, "negative": NO_TOOLS, "recipe_source": q.source},
        )
        offline = phrasings.fill(rng, "negatives.no_tools_reply", need=describe_need(q.called), request=_shorten(q.request))
        rows_a.append(_Pending(conv, offline, phrasings.fill(rng, "negatives.no_tools_generator_system")))
    rows_b: list[_Pending] = []
    for c in chats[:n_chat] if toolsets else ():
        rng = random.Random(f"{seed}|negative|{c.key}")
        tools = rng.choice(toolsets).tools
        system = phrasings.fill(rng, "negatives.chat_system", tools=describe_tools(tools, phrasings, rng))
        conv = Conversation(
            id=c.key,
            messages=[Message(role="system", content=system), Message(role="user", content=c.user)],
            tools=list(tools),
            meta={"origin_id": c.origin, "negative": CHAT_WITH_TOOLS, "recipe_source": c.source},
        )
        rows_b.append(_Pending(conv, c.reply, phrasings.fill(rng, "negatives.chat_generator_system")))
    for kind, rows, fallback in ((NO_TOOLS, rows_a, TEMPLATE), (CHAT_WITH_TOOLS, rows_b, CHAT_DATA)):
        replies: list[str | None] = _generate(rows, generator, sampling) if generator is not None else [None] * len(rows)
        for row, generated in zip(rows, replies, strict=True):
            if generator is not None and generated is not None and generated.strip() and not contains_tool_call(generated):
                reply, producer = generated.strip(), f"generator:{generator.name}:{generator.model}"
            else:
                reply, producer = row.offline, fallback if generator is None else f"{fallback} (generator reply unusable)"
            if contains_tool_call(reply):
                continue
            row.conv.messages.append(whole_turn(reply, Capability.REASONING, meta={"part": "reply"}))
            row.conv.meta["producer"] = producer
            yield Negative(row.conv, kind, producer)


def _generate(rows: list[_Pending], generator: Backend, sampling: Sampling | None) -> list[str | None]:
    from agentflan.generation.base import GenerationRequest, Sampling

    requests = [
        GenerationRequest(
            messages=[Message(role="system", content=row.generator_system), row.conv.messages[1]],
            sampling=sampling or Sampling(),
        )
        for row in rows
    ]
    out: list[str | None] = []
    size = max(1, generator.batch_size)
    for i in range(0, len(requests), size):
        out.extend(generator.generate(requests[i : i + size]))
    return out
