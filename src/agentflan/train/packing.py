"""Packing several conversations into one training sequence, without attention across them.

Rows are grouped into bins of at most ``max_length`` tokens by best-fit decreasing. A batch of bins
goes through transformers' :class:`~transformers.DataCollatorWithFlattening`: every conversation
gets position ids that restart at 0 and its first label set to -100, and no attention mask is
passed. From those position ids transformers builds a block-diagonal causal mask (eager and SDPA
attention) or variable-length kernels (FlashAttention), so no token sees another conversation.
Plain padding (one conversation per row, right-padded with an attention mask) is the alternative.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import DataCollatorWithFlattening

from agentflan.train.data import RowIndex
from agentflan.train.tokenize import IGNORE_INDEX, NO_CAPABILITY


def best_fit_decreasing(lengths: Sequence[int] | np.ndarray, capacity: int) -> list[list[int]]:
    """Bins of row indices whose lengths sum to at most ``capacity``: longest rows first, each into the
    fullest bin it still fits (deterministic: ties go to the lowest index and the oldest bin)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and int(lengths.max()) > capacity:
        raise ValueError(f"a row of {int(lengths.max())} tokens does not fit a bin of {capacity}")
    order = np.argsort(-lengths, kind="stable")
    bins: list[list[int]] = []
    free_keys: list[int] = []  # sorted distinct free capacities
    by_free: dict[int, deque[int]] = {}  # free capacity -> bins with it (oldest first)
    for i in order.tolist():
        need = int(lengths[i])
        at = bisect.bisect_left(free_keys, need)
        if at < len(free_keys):
            free = free_keys[at]
            b = by_free[free].popleft()
            if not by_free[free]:
                del by_free[free]
                free_keys.pop(at)
        else:
            b, free = len(bins), capacity
            bins.append([])
        bins[b].append(i)
        left = free - need
        if left not in by_free:
            bisect.insort(free_keys, left)
            by_free[left] = deque()
        by_free[left].append(b)
    return bins


def packing_efficiency(lengths: Sequence[int] | np.ndarray, bins: Sequence[Sequence[int]], capacity: int) -> float:
    """Real tokens over the token slots the bins offer (``len(bins) * capacity``)."""
    if not bins:
        return 1.0
    return float(np.asarray(lengths, dtype=np.int64).sum()) / (len(bins) * capacity)


class BinDataset(Dataset):
    """Item ``i`` is the list of rows (``input_ids``, ``labels``, ``capability``) of bin ``i``.
    With ``train_on_prompt`` every token is a target (labels = input ids), not only the trained
    spans: the prompt's tokens add gradient, e.g. to a tiny model learned from scratch."""

    def __init__(self, rows: RowIndex, bins: list[list[int]], train_on_prompt: bool = False):
        self.rows = rows
        self.bins = bins
        self.train_on_prompt = train_on_prompt

    def __len__(self) -> int:
        return len(self.bins)

    def __getitem__(self, i: int) -> list[dict[str, np.ndarray]]:
        rows = [self.rows.get(j) for j in self.bins[i]]
        if self.train_on_prompt:
            rows = [{**r, "labels": r["input_ids"]} for r in rows]
        return rows


def make_dataset(rows: RowIndex, max_length: int, packing: bool, train_on_prompt: bool = False) -> tuple[BinDataset, float]:
    """Bins for training (packed, or one row per bin) and the packing efficiency they reach."""
    lengths = rows.lengths()
    if packing:
        bins = best_fit_decreasing(lengths, max_length)
        return BinDataset(rows, bins, train_on_prompt), packing_efficiency(lengths, bins, max_length)
    return BinDataset(rows, [[i] for i in range(len(rows))], train_on_prompt), 1.0


class PackedCollator(DataCollatorWithFlattening):
    """Flattens every row of every bin in the batch into one sequence (transformers' padding-free
    layout), and carries the per-token capability ids beside it."""

    def __init__(self, flash_attention: bool = False):
        super().__init__(return_position_ids=True, separator_id=IGNORE_INDEX, return_flash_attn_kwargs=flash_attention)

    def __call__(  # type: ignore[override]  # a batch of bins, not of rows
        self, features: list[list[dict[str, np.ndarray]]], return_tensors: Any = None, separator_id: Any = None
    ) -> dict[str, Any]:
        rows = [r for bin_ in features for r in bin_]
        batch = super().__call__(rows, return_tensors="pt")
        capability = np.concatenate([r["capability"] for r in rows]).astype(np.int64)
        capability[np.cumsum([0] + [len(r["capability"]) for r in rows[:-1]])] = NO_CAPABILITY
        batch["capability"] = torch.from_numpy(capability).unsqueeze(0)
        return dict(batch)


class PaddingCollator:
    """One conversation per row, right-padded to the longest in the batch, with an attention mask."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[list[dict[str, np.ndarray]]]) -> dict[str, torch.Tensor]:
        rows = [r for bin_ in features for r in bin_]
        width = max(len(r["input_ids"]) for r in rows)
        out = {
            "input_ids": torch.full((len(rows), width), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(rows), width), dtype=torch.long),
            "labels": torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long),
            "capability": torch.full((len(rows), width), NO_CAPABILITY, dtype=torch.long),
        }
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            out["input_ids"][i, :n] = torch.from_numpy(r["input_ids"].astype(np.int64))
            out["attention_mask"][i, :n] = 1
            out["labels"][i, :n] = torch.from_numpy(r["labels"].astype(np.int64))
            out["capability"][i, :n] = torch.from_numpy(r["capability"].astype(np.int64))
        return out
