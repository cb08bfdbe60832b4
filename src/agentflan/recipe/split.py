"""Seeded, order-free choices: the disjoint split of trajectories into parts (ToolBench's
react 10 % / tflan 60 % / cot 30 %), and fixed-size samples of a stream.

Both hash a stable key of each item with the seed instead of drawing from a shared random
generator, so a decision never depends on where an item sits in the stream or which worker
saw it: ``--workers N`` gives the same split and the same sample as one process, and a
trajectory lands in the same part however the inputs are ordered or globbed.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agentflan.conversation import Conversation
from agentflan.jsonutil import dumps_bytes

T = TypeVar("T")


def unit_hash(seed: int | str, key: str) -> float:
    """A uniform number in [0, 1) from (seed, key), stable across runs, machines and processes."""
    digest = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def trajectory_key(conv: Conversation) -> str:
    """A content key of a conversation (its turns and calls): equal trajectories share it whatever
    file, path or id they came with, so copies can never straddle two splits."""
    h = hashlib.blake2b(digest_size=16)
    for m in conv.messages:
        h.update(dumps_bytes([m.role, m.content, [[c.name, c.arguments_text()] for c in m.tool_calls]]))
    return h.hexdigest()


def assign(key: str, fractions: Sequence[float], seed: int | str) -> int | None:
    """The index of the part ``key`` falls into (parts take ``fractions`` of [0, 1) in order),
    or None when it falls past their sum (a split that uses less than everything)."""
    u = unit_hash(seed, key)
    edge = 0.0
    for i, f in enumerate(fractions):
        edge += f
        if u < edge:
            return i
    return None


def split(convs: Iterable[Conversation], fractions: Sequence[float], seed: int | str) -> list[list[Conversation]]:
    """The conversations in disjoint parts (in memory; the build streams the same assignment)."""
    parts: list[list[Conversation]] = [[] for _ in fractions]
    for conv in convs:
        i = assign(trajectory_key(conv), fractions, seed)
        if i is not None:
            parts[i].append(conv)
    return parts


@dataclass(slots=True)
class BottomK(Generic[T]):
    """A uniform sample of ``k`` items from a stream: the ``k`` smallest hashes of their keys.

    Order-free and mergeable (the sample of a union is the sample of the parts' samples), so
    workers sample their own files and the build merges them; memory is O(k)."""

    k: int
    seed: int | str
    _heap: list[tuple[float, str, int, T]] = field(default_factory=list)
    _n: int = 0
    offered: int = 0

    def offer(self, key: str, item: T) -> None:
        self.offered += 1
        self._push(-unit_hash(self.seed, key), key, item)

    def _push(self, neg: float, key: str, item: T) -> None:
        if self.k <= 0:
            return
        self._n += 1
        entry = (neg, key, -self._n, item)  # ties (equal keys) resolve by arrival, never by comparing items
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        elif entry[:3] > self._heap[0][:3]:
            heapq.heapreplace(self._heap, entry)

    def merge(self, other: BottomK[T]) -> None:
        self.offered += other.offered
        for neg, key, _, item in sorted(other._heap, key=lambda e: e[:3], reverse=True):
            self._push(neg, key, item)

    def items(self) -> list[T]:
        """The sample, in hash order (itself a seeded shuffle)."""
        return [e[3] for e in sorted(self._heap, key=lambda e: (-e[0], e[1]))]

    def __len__(self) -> int:
        return len(self._heap)


def sample(items: Iterable[tuple[str, T]], k: int, seed: int | str) -> list[T]:
    """``k`` of the ``(key, item)`` pairs, uniformly and reproducibly."""
    bk: BottomK[T] = BottomK(k, seed)
    for key, item in items:
        bk.offer(key, item)
    return bk.items()
