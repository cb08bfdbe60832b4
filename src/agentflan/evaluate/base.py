"""The evaluation contract: backends generate, suites build items and score responses.

A :class:`Backend` turns batches of chat requests into texts (a local transformers model,
an OpenAI-compatible server, vLLM). A :class:`Suite` yields :class:`EvalItem` objects, turns
one item plus a backend into a scored result (single-turn suites generate once; agent
suites such as HotpotQA loop), and summarises results. The runner owns caching and resume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentflan.conversation import Message, Tool


@dataclass(slots=True)
class Sampling:
    """Decoding settings; greedy by default so evaluation is reproducible."""

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int = 0


@dataclass(slots=True)
class GenerationRequest:
    messages: list[Message]
    tools: list[Tool] = field(default_factory=list)
    sampling: Sampling = field(default_factory=Sampling)


class Backend(ABC):
    """Something that answers chat requests; ``generate`` is batched and keeps the order."""

    name: ClassVar[str]
    #: The model as the user named it (a path, a hub id, a server's model name); goes into summaries.
    model: str = ""

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """One completion text per request, in order."""

    @property
    def batch_size(self) -> int:
        """How many requests the runner should hand over per call (enough to keep the backend busy)."""
        return 8

    def describe(self) -> dict[str, Any]:
        """The backend's identity and options for summaries and resume checks; never holds secrets."""
        return {"backend": self.name, "model": self.model}

    def close(self) -> None:
        """Release connections or GPU memory (nothing to release by default)."""
        return None


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
