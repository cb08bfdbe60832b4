"""The generation contract every consumer shares: a :class:`Backend` turns batches of chat
requests into texts (a local transformers model, an OpenAI-compatible server, vLLM).

Training's negatives generation, the evaluation suites, the agent runtime and ``agentflan chat``
all talk to a model through this one contract, so it sits below all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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

    @property
    def batches_in_flight(self) -> int:
        """How many batches the runner may have in ``generate`` at once: 1 unless the backend shares
        one bounded pool across calls (then the next batch fills the slots the current one frees)."""
        return 1

    def describe(self) -> dict[str, Any]:
        """The backend's identity and options for summaries and resume checks; never holds secrets."""
        return {"backend": self.name, "model": self.model}

    def close(self) -> None:
        """Release connections or GPU memory (nothing to release by default)."""
        return None
