"""The evaluation contract: suites build items and score responses.

A :class:`Suite` yields :class:`EvalItem` objects, turns one item plus a backend
(:mod:`agentflan.generation`) into a scored result (single-turn suites generate once; agent
suites such as HotpotQA loop), and summarises results. The runner owns caching and resume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentflan.conversation import Message, Tool
from agentflan.generation.base import Backend, GenerationRequest, Sampling


@dataclass(slots=True)
class EvalItem:
    """One test case: the conversation so far, tools offered, and what the scorer needs (``expected``)."""

    id: str
    messages: list[Message]
    tools: list[Tool] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ItemResult:
    """A scored item: the response(s) and the scorer's fields (all JSON-serialisable)."""

    id: str
    response: str
    scores: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "response": self.response, "scores": self.scores, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ItemResult:
        return cls(id=str(d["id"]), response=str(d["response"]), scores=dict(d["scores"]), meta=dict(d.get("meta") or {}))


class Suite(ABC):
    """A benchmark. Single-turn suites implement :meth:`score`; agent suites override :meth:`run_batch`."""

    name: ClassVar[str]

    @abstractmethod
    def items(self) -> Iterator[EvalItem]:
        """Every item of the suite, in a fixed (seeded) order with stable ids."""

    def request(self, item: EvalItem) -> GenerationRequest:
        """The single generation request for an item (single-turn suites)."""
        return GenerationRequest(messages=item.messages, tools=item.tools, sampling=self.sampling())

    def sampling(self) -> Sampling:
        return Sampling()

    def describe(self) -> dict[str, Any]:
        """What makes two runs comparable (data, protocol, shots...); the runner refuses to resume
        into a folder whose results came from a different description."""
        return {"suite": self.name}

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        """The scorer's fields for one response."""
        raise NotImplementedError

    def score_responses(self, items: Sequence[EvalItem], responses: Sequence[str]) -> list[dict[str, Any]]:
        """Score responses generated elsewhere (``agentflan eval score``); suites that score a batch
        at once (one embedding pass) override this. Agent suites cannot: :meth:`score` raises."""
        return [self.score(it, resp) for it, resp in zip(items, responses, strict=True)]

    def run_batch(self, items: Sequence[EvalItem], backend: Backend) -> list[ItemResult]:
        """Generate and score a batch; the default is one generation per item."""
        responses = backend.generate([self.request(it) for it in items])
        return [
            ItemResult(id=it.id, response=resp, scores=self.score(it, resp), meta=dict(it.meta))
            for it, resp in zip(items, responses, strict=True)
        ]

    @abstractmethod
    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        """Aggregate metrics (the summary JSON and the terminal table are made from this)."""
