"""Capability balancing: keep each capability's supervised spans at a configured ratio.

Ratios are the share of a capability's tagged spans that keep their loss (the paper's final
mix is reasoning 1.0 / retrieval 0.25 / understanding 0.75; the release's file name
``r10r5u7`` reads 1.0 / 0.5 / 0.7). Two modes:

- ``mask`` (default): an unsampled span keeps its place in the context and gets
  ``loss: false``; a turn whose spans are all unsampled gets ``loss: false`` itself, so
  turn-level formats (Agent-FLAN JSONL) carry the decision. Conversations stay coherent.
- ``drop``: the sample is the unit: each conversation is kept or dropped whole, drawn at the
  ratio of its main capability (the one with the most supervised tokens).

Counting (``count``): the manifest's per-capability tokens are always the supervised span tokens
(what the loss sees). ``count: samples`` also counts whole samples with their context (each
supervised span stands for a sample holding everything before it, as ToolBench's ToolLLaMA
preprocessing lays a trajectory out: one sample per step), the reading of the paper's
"37.3M -> 18.1M tokens" that counts what a trainer processes, not only what it supervises.

Sampling is without replacement in small blocks (an urn per capability): every block of
``BLOCK`` spans keeps exactly its quota, at random positions within the block, so measured
ratios sit within a few spans of the target at any size, which independent coin flips would
not give (at 1,000 spans and ratio 0.25 a coin's standard deviation is already 1.4 %).
Decisions depend on the order of the stream, so a build balances in one sequential pass.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from agentflan.conversation import CAPABILITIES, Conversation
from agentflan.recipe.tags import CapabilityStats, Unit, iter_spans
from agentflan.recipe.tokens import TokenCounter, approx_tokens

Mode = Literal["mask", "drop"]
BLOCK = 10

PAPER = {"reasoning": 1.0, "retrieval": 0.25, "understanding": 0.75, "instruction": 1.0}
PRESETS: dict[str, dict[str, float]] = {
    "paper": PAPER,
    "r10r5u7": {"reasoning": 1.0, "retrieval": 0.5, "understanding": 0.7, "instruction": 1.0},
}


class Urn:
    """Seeded sampling at rate ``p``: exactly round-robin quotas per block, random within it."""

    def __init__(self, p: float, rng: random.Random, block: int = BLOCK):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a keep ratio must lie in [0, 1], got {p}")
        self.p = p
        self.rng = rng
        self.block = block
        self.offset = rng.random()
        self.seen = 0
        self._quota = 0
        self._kept = 0

    def _block_quota(self, b: int) -> int:
        size = self.block * self.p
        return math.floor((b + 1) * size + self.offset) - math.floor(b * size + self.offset)

    def draw(self) -> bool:
        j = self.seen % self.block
        if j == 0:
            self._quota = self._block_quota(self.seen // self.block)
            self._kept = 0
        keep = self.rng.random() * (self.block - j) < self._quota - self._kept
        self._kept += keep
        self.seen += 1
        return keep


class Balancer:
    """A stateful, seeded pass over a stream; :attr:`stats` holds tagged vs supervised counts."""

    def __init__(
        self,
        ratios: Mapping[str, float],
        *,
        mode: Mode = "mask",
        seed: int | str = 0,
        count: TokenCounter = approx_tokens,
        unit: Unit = "spans",
    ):
        unknown = set(ratios) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capability {', '.join(sorted(unknown))}; known: {', '.join(CAPABILITIES)}")
        self.ratios = {c: float(ratios.get(c, 1.0)) for c in CAPABILITIES}
        self.mode = mode
        self.count = count
        self.urns = {c: Urn(self.ratios[c], random.Random(f"{seed}|balance|{c}")) for c in CAPABILITIES}
        self.stats = CapabilityStats()
        #: the same counts in whole samples with context (``unit="samples"``), else None
        self.sample_stats = CapabilityStats(unit="samples") if unit == "samples" else None
        self.dropped = 0

    def __call__(self, conv: Conversation) -> Conversation | None:
        """``conv`` with unsampled spans masked (``mask``), or None when it is dropped (``drop``)."""
        counted = [c for c in (self.stats, self.sample_stats) if c is not None]
        for stats in counted:
            stats.add_before(conv, self.count)
        if self.mode == "drop":
            main = self._main_capability(conv)
            if main is not None and not self.urns[main].draw():
                self.dropped += 1
                return None
        else:
            for _, s in list(iter_spans(conv)):
                if s.loss is not False and not self.urns[s.capability.value].draw():
                    s.loss = False
            for m in conv.messages:
                if m.role == "assistant" and m.spans and all(s.loss is False for s in m.spans):
                    m.loss = False
                    for s in m.spans:
                        s.loss = None
        for stats in counted:
            stats.add_after(conv, self.count)
        return conv

    def _main_capability(self, conv: Conversation) -> str | None:
        tokens = dict.fromkeys(CAPABILITIES, 0)
        for m, s in iter_spans(conv):
            if s.loss is not False:
                tokens[s.capability.value] += self.count(m.content[s.start : s.end])
        best = max(CAPABILITIES, key=lambda c: tokens[c])
        return best if tokens[best] else None


def balance(
    convs: Iterable[Conversation],
    ratios: Mapping[str, float] | str = "paper",
    *,
    mode: Mode = "mask",
    seed: int | str = 0,
    count: TokenCounter = approx_tokens,
) -> Iterator[Conversation]:
    """The stream balanced to ``ratios`` (a mapping or a preset name: ``paper``, ``r10r5u7``)."""
    balancer = Balancer(PRESETS[ratios] if isinstance(ratios, str) else ratios, mode=mode, seed=seed, count=count)
    for conv in convs:
        out = balancer(conv)
        if out is not None:
            yield out


def whole_turn_masks_only(conv: Conversation) -> bool:
    """Whether every loss decision in ``conv`` sits on whole turns (what turn-level formats can hold)."""
    return all(s.loss is None for m in conv.messages for s in m.spans)


__all__ = ["BLOCK", "PAPER", "PRESETS", "Balancer", "Mode", "Urn", "balance", "whole_turn_masks_only"]
