"""The training corpus: read each data source, tokenise it (or load it from the cache), split off
evaluation rows and apply the mix weights.

Mixing and splitting happen on cached token rows, so changing a weight or the eval fraction never
tokenises again. The eval split is decided by a hash of each conversation id (stable across runs
and weights); weights pick rows with a generator seeded by the run seed and the source's position.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentflan.batch import OnError, Rejects
from agentflan.generation.templates import Template
from agentflan.train.cache import (
    cache_key,
    cache_path,
    data_fingerprint,
    load_encoded,
    save_encoded,
    template_fingerprint,
    tokenizer_fingerprint,
)
from agentflan.train.config import DataSource
from agentflan.train.tokenize import Encoded, encode

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SourceLoad:
    """One source after tokenisation, and whether it came from the cache."""

    source: DataSource
    encoded: Encoded
    cache_hit: bool
    path: Path


def load_source(
    source: DataSource,
    tokenizer: Any,
    template: Template,
    max_length: int,
    cache_dir: Path,
    *,
    on_error: str = "fail",
    rejects_path: Path | None = None,
) -> SourceLoad:
    """Tokenised rows of one source: from the cache when its key matches, else read and tokenised now."""
    key = cache_key(
        data_fingerprint(source.path, source.format),
        tokenizer_fingerprint(tokenizer),
        template_fingerprint(template),
        max_length,
        on_error,
    )
    target = cache_path(cache_dir, key)
    cached = load_encoded(target)
    if cached is not None:
        log.info("tokenised %s: cache hit (%s)", source.path, target)
        return SourceLoad(source, cached, True, target)
    from agentflan.sources import read

    with Rejects(rejects_path, OnError(on_error)) as rejects:
        conversations = read(source.path, source.format, on_error=on_error, rejects=rejects)
        encoded = encode(conversations, tokenizer, template, max_length, rejects=rejects, origin=source.path)
    save_encoded(encoded, target)
    log.info("tokenised %s: %d rows, %d tokens -> %s", source.path, encoded.stats.rows, encoded.stats.tokens, target)
    return SourceLoad(source, encoded, False, target)


@dataclass(slots=True)
class RowIndex:
    """Rows picked from several encoded sources: ``(source, row)`` pairs in training order."""

    sources: list[Encoded]
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.row)

    def lengths(self) -> np.ndarray:
        out = np.zeros(len(self.row), dtype=np.int64)
        for s, enc in enumerate(self.sources):
            pick = self.source == s
            out[pick] = enc.lengths[self.row[pick]]
        return out

    def get(self, i: int) -> dict[str, np.ndarray]:
        return self.sources[int(self.source[i])].row(int(self.row[i]))


def in_eval(conv_id: str, fraction: float) -> bool:
    """Whether a conversation id falls in the eval split (a hash, so stable across runs and machines)."""
    digest = hashlib.sha256(conv_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def mix(
    loads: Sequence[SourceLoad],
    seed: int,
    eval_fraction: float = 0.0,
) -> tuple[RowIndex, RowIndex]:
    """Training rows (weighted) and eval rows (unweighted) from the loaded sources."""
    encs = [ld.encoded for ld in loads]
    train_src: list[np.ndarray] = []
    train_row: list[np.ndarray] = []
    eval_src: list[np.ndarray] = []
    eval_row: list[np.ndarray] = []
    for s, ld in enumerate(loads):
        rows = np.arange(len(ld.encoded), dtype=np.int64)
        if eval_fraction > 0:
            held = np.fromiter((in_eval(i, eval_fraction) for i in ld.encoded.ids), dtype=bool, count=len(rows))
            eval_row.append(rows[held])
            eval_src.append(np.full(int(held.sum()), s, dtype=np.int32))
            rows = rows[~held]
        picked = weighted_rows(rows, ld.source.weight, np.random.default_rng([seed, s]))
        train_row.append(picked)
        train_src.append(np.full(len(picked), s, dtype=np.int32))
    train = RowIndex(encs, _cat(train_src, np.int32), _cat(train_row, np.int64))
    evaluation = RowIndex(encs, _cat(eval_src, np.int32), _cat(eval_row, np.int64))
    return train, evaluation


def weighted_rows(rows: np.ndarray, weight: float, rng: np.random.Generator) -> np.ndarray:
    """``weight`` times the rows: whole repeats, then a seeded sample without replacement for the rest."""
    n = len(rows)
    if n == 0:
        return rows
    target = round(weight * n)
    repeats, rest = divmod(target, n)
    extra = np.sort(rng.choice(n, size=rest, replace=False)) if rest else np.zeros(0, dtype=np.int64)
    return np.concatenate([np.tile(rows, repeats), rows[extra]])


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
