"""Negative samples: rows that teach a model when not to call a tool. Each is (system, user, assistant):

- ``no_tools``: a request that needs a tool, with none offered; the reply helps without
  calling anything: a plain answer where the request is answerable without a tool (a
  computation: the trajectory's own final answer, real data), else an honest "I can't do that
  here" that never names a tool the row does not show;
- ``chat_with_tools``: ordinary chat while tools are offered; the reply answers directly.

Replies come from a generator :class:`~agentflan.evaluate.base.Backend` when one is given
(any OpenAI-compatible endpoint or a local transformers model), else from offline sources:
the chat data's own answers for ``chat_with_tools``; for ``no_tools`` the trajectory's final answer
when every tool it called only computes (``negatives.answerable_tools`` patterns), else seeded
reply templates.
Every reply is checked with :func:`agentflan.protocols.detect_calls`: one that calls a tool in
any convention is never used. Each row records what produced its reply (``meta["producer"]``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from agentflan.conversation import Capability, Conversation, Message, Tool
from agentflan.protocols import describe_tools, detect_calls
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.tags import whole_turn
from agentflan.recipe.trajectory import Event
from agentflan.sources.tool_queries import ToolQuery

if TYPE_CHECKING:
    from agentflan.generation.base import Backend, Sampling

NO_TOOLS = "no_tools"
CHAT_WITH_TOOLS = "chat_with_tools"
_C = TypeVar("_C")
TEMPLATE = "template"
CHAT_DATA = "chat-data"
CORPUS_ANSWER = "corpus-answer"

_BEGIN = re.compile(r"\s*Begin!\s*\Z")


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
    # an answer counts only when the first request alone led to the call (no details asked for later)
    observed = next((i for i, e in enumerate(evs) if e.kind == "observation"), len(evs))
    alone = sum(e.kind == "user" for e in evs[:observed]) == 1
    answer = next((e.step.final_answer for e in evs[observed:] if e.step is not None and e.step.final_answer), None) if alone else None
    return ToolQuery(conv.id, _BEGIN.sub("", first.text).strip(), [], "", list(called), key=key, answer=(answer or "").strip())


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


def answerable(query: ToolQuery, phrasings: Phrasings) -> bool:
    """Whether a model can answer the request itself: every tool the trajectory called only computes
    (its name matches a ``negatives.answerable_tools`` pattern) and the trajectory has a final answer
    that calls nothing and names none of its tools."""
    patterns = [re.compile(t.template) for t in phrasings.pools["negatives.answerable_tools"]]
    bare = [n.rsplit(".", 1)[-1] for n in query.acceptable]
    return (
        bool(query.answer)
        and all(any(p.search(n) for p in patterns) for n in bare)
        and not any(n in query.answer for n in (*query.acceptable, *bare))
        and not contains_tool_call(query.answer)
    )


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
    #: what produced ``offline``
    fallback: str


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
    rows_a: list[_Pending] = []
    for q in _distinct(queries, n_no_tools, lambda q: q.query):
        rng = random.Random(f"{seed}|negative|{q.key}")
        conv = Conversation(
            id=q.key,
            messages=[
                Message(role="system", content=phrasings.fill(rng, "negatives.no_tools_system")),
                Message(role="user", content=q.query),
            ],
            meta={"origin_id": q.id, "negative": NO_TOOLS, "recipe_source": q.source},
        )
        if answerable(q, phrasings):
            offline, fallback = q.answer, CORPUS_ANSWER
        else:
            offline, fallback = phrasings.fill(rng, "negatives.no_tools_reply", request=_shorten(q.query)), TEMPLATE
        rows_a.append(_Pending(conv, offline, phrasings.fill(rng, "negatives.no_tools_generator_system"), fallback))
    rows_b: list[_Pending] = []
    for c in distinct_chats(chats, n_chat) if toolsets else ():
        rng = random.Random(f"{seed}|negative|{c.key}")
        tools = rng.choice(toolsets).tools
        system = phrasings.fill(rng, "negatives.chat_system", tools=describe_tools(tools))
        conv = Conversation(
            id=c.key,
            messages=[Message(role="system", content=system), Message(role="user", content=c.user)],
            tools=list(tools),
            meta={"origin_id": c.origin, "negative": CHAT_WITH_TOOLS, "recipe_source": c.source, "trajectory_key": c.key},
        )
        rows_b.append(_Pending(conv, c.reply, phrasings.fill(rng, "negatives.chat_generator_system"), CHAT_DATA))
    for kind, rows in ((NO_TOOLS, rows_a), (CHAT_WITH_TOOLS, rows_b)):
        replies: list[str | None] = _generate(rows, generator, sampling) if generator is not None else [None] * len(rows)
        for row, generated in zip(rows, replies, strict=True):
            if generator is not None and generated is not None and generated.strip() and not contains_tool_call(generated):
                reply, producer = generated.strip(), f"generator:{generator.name}:{generator.model}"
            else:
                reply, producer = row.offline, row.fallback if generator is None else f"{row.fallback} (generator reply unusable)"
            if contains_tool_call(reply):
                continue
            row.conv.messages.append(whole_turn(reply, Capability.REASONING, meta={"part": "reply"}))
            row.conv.meta["producer"] = producer
            yield Negative(row.conv, kind, producer)


def planned(queries: Sequence[ToolQuery], chats: Sequence[ChatPair], has_tools: bool, *, n_no_tools: int, n_chat: int) -> int:
    """The rows :func:`negatives` makes offline from these candidates (for a dry run)."""
    rows_b = len(distinct_chats(chats, n_chat)) if has_tools else 0
    return len(_distinct(queries, n_no_tools, lambda q: q.query)) + rows_b


def distinct_chats(chats: Sequence[ChatPair], n: int) -> list[ChatPair]:
    """The chats that become ``chat_with_tools`` rows (when tools are offered)."""
    return _distinct(chats, n, lambda c: c.user)


def _distinct(candidates: Sequence[_C], n: int, text: Callable[[_C], str]) -> list[_C]:
    """The first ``n`` candidates whose text (whitespace and case aside) no earlier one has: corpora
    repeat requests, and a repeated negative teaches one reply many times."""
    seen: set[str] = set()
    out: list[_C] = []
    for c in candidates:
        if len(out) == n:
            break
        norm = " ".join(text(c).lower().split())
        if norm not in seen:
            seen.add(norm)
            out.append(c)
    return out


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
