"""Capability spans: building tagged text, and measuring what is supervised per capability.

Every supervised assistant span of an agent row carries one :class:`Capability`: a decomposed
(``tflan``) turn is one span over the whole turn; a ``react``/``json``/``cot`` turn holds
several spans inside the turn (thought, tool name, arguments, and the protocol's own syntax
as instruction following). A span is supervised when its turn trains and its own ``loss``
is not ``False``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from agentflan.conversation import CAPABILITIES, Capability, Conversation, Message, Span
from agentflan.recipe.tokens import TokenCounter


class TaggedText:
    """Text assembled piece by piece; content pieces get their capability, syntax pieces are
    instruction following, and neighbouring pieces of one capability merge into one span."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self._pos = 0

    def add(self, text: str, capability: Capability = Capability.INSTRUCTION) -> TaggedText:
        if not text:
            return self
        end = self._pos + len(text)
        last = self._spans[-1] if self._spans else None
        if last is not None and last.capability is capability and last.end == self._pos:
            last.end = end
        else:
            self._spans.append(Span(self._pos, end, capability))
        self._parts.append(text)
        self._pos = end
        return self

    @property
    def length(self) -> int:
        return self._pos

    def message(self, **kwargs: object) -> Message:
        return Message(role="assistant", content="".join(self._parts), spans=list(self._spans), **kwargs)  # type: ignore[arg-type]


def whole_turn(text: str, capability: Capability, **kwargs: object) -> Message:
    """A decomposed assistant turn: one span over all of it."""
    return Message(role="assistant", content=text, spans=[Span(0, len(text), capability)], **kwargs)  # type: ignore[arg-type]


def iter_spans(conv: Conversation) -> Iterator[tuple[Message, Span]]:
    """Every span of every assistant turn that trains, in order."""
    for m in conv.messages:
        if m.role == "assistant" and m.trains:
            for s in m.spans:
                yield m, s


#: how a capability's tokens are counted: ``spans``, the tokens the loss sees (each supervised
#: span's own); ``samples``, whole samples with their context (each supervised span stands for a
#: training sample holding everything before it in the conversation, as ToolBench's own ToolLLaMA
#: preprocessing lays trajectories out, one sample per step): masking a span drops its sample.
Unit = Literal["spans", "samples"]


def span_tokens(conv: Conversation, count: TokenCounter, unit: Unit = "spans") -> Iterator[tuple[Span, int]]:
    """Each span of a training assistant turn with its tokens in ``unit``."""
    before = 0  # tokens of the conversation before the current message
    for m in conv.messages:
        if m.role == "assistant" and m.trains:
            for s in m.spans:
                own = count(m.content[s.start : s.end])
                yield s, own if unit == "spans" else before + count(m.content[: s.start]) + own
        if unit == "samples":
            before += count(m.content)


@dataclass(slots=True)
class CapabilityCount:
    spans: int = 0
    tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"spans": self.spans, "tokens": self.tokens}


@dataclass(slots=True)
class CapabilityStats:
    """Tagged spans and their tokens per capability: how many there are, and how many still train."""

    tagged: dict[str, CapabilityCount] = field(default_factory=lambda: {c: CapabilityCount() for c in CAPABILITIES})
    supervised: dict[str, CapabilityCount] = field(default_factory=lambda: {c: CapabilityCount() for c in CAPABILITIES})
    untagged_tokens: int = 0
    #: what a token count means (:data:`Unit`)
    unit: Unit = "spans"

    def add_before(self, conv: Conversation, count: TokenCounter) -> None:
        """Count the supervised spans of ``conv`` before a transform (balancing) changes them."""
        self._add(self.tagged, conv, count)

    def add_after(self, conv: Conversation, count: TokenCounter) -> None:
        """Count what ``conv`` supervises now."""
        for m in conv.messages:
            if m.role == "assistant" and m.trains and not m.spans:
                self.untagged_tokens += count(m.content)
        self._add(self.supervised, conv, count)

    def add_unchanged(self, conv: Conversation, count: TokenCounter) -> None:
        """:meth:`add_before` and :meth:`add_after` of a row no transform changes, counted once."""
        for m in conv.messages:
            if m.role == "assistant" and m.trains and not m.spans:
                self.untagged_tokens += count(m.content)
        self._add(self.tagged, conv, count, self.supervised)

    def _add(
        self, side: dict[str, CapabilityCount], conv: Conversation, count: TokenCounter, also: dict[str, CapabilityCount] | None = None
    ) -> None:
        targets = (side,) if also is None else (side, also)
        if self.unit == "spans":  # inlined span_tokens: this loop runs for every span of every row
            for m in conv.messages:
                if m.role != "assistant" or m.loss is False:
                    continue
                content = m.content
                for s in m.spans:
                    if s.loss is not False:
                        tokens = count(content[s.start : s.end])
                        cap = s.capability._value_  # .value without the enum descriptor
                        for target in targets:
                            c = target[cap]
                            c.spans += 1
                            c.tokens += tokens
            return
        for s, tokens in span_tokens(conv, count, self.unit):
            if s.loss is not False:
                cap = s.capability._value_
                for target in targets:
                    c = target[cap]
                    c.spans += 1
                    c.tokens += tokens

    def merge(self, other: CapabilityStats) -> None:
        for cap in CAPABILITIES:
            for mine, theirs in ((self.tagged[cap], other.tagged[cap]), (self.supervised[cap], other.supervised[cap])):
                mine.spans += theirs.spans
                mine.tokens += theirs.tokens
        self.untagged_tokens += other.untagged_tokens

    def kept_ratio(self, capability: str) -> float | None:
        """Supervised spans / tagged spans (None when there are none)."""
        tagged = self.tagged[capability].spans
        return None if tagged == 0 else self.supervised[capability].spans / tagged

    def to_dict(self) -> dict[str, object]:
        return {
            "before": {c: v.to_dict() for c, v in self.tagged.items()},
            "after": {c: v.to_dict() for c, v in self.supervised.items()},
            "kept_span_ratio": {c: _round(self.kept_ratio(c)) for c in CAPABILITIES},
            "untagged_supervised_tokens": self.untagged_tokens,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
