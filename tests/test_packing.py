"""Packing: bins that respect the length, high efficiency on real data, and no attention or loss
crossing from one packed conversation into another."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.generation.templates import get_template
from agentflan.train.packing import (
    PackedCollator,
    PaddingCollator,
    best_fit_decreasing,
    make_dataset,
    packing_efficiency,
)
from agentflan.train.tokenize import IGNORE_INDEX, NO_CAPABILITY, encode
from train_rows import fireact


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 64), max_size=80), st.integers(64, 200))
def test_bins_hold_every_row_once_and_never_overflow(lengths: list[int], capacity: int) -> None:
    bins = best_fit_decreasing(lengths, capacity)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= capacity for b in bins)
    assert bins == best_fit_decreasing(lengths, capacity)  # deterministic
    # best fit never leaves two bins that could have been one
    loads = sorted(sum(lengths[i] for i in b) for b in bins)
    assert len(loads) < 2 or loads[0] + loads[1] > capacity


def test_overlong_row_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        best_fit_decreasing([5, 11], 10)


@pytest.mark.shared_data
def test_packing_efficiency_on_real_trajectories(tiny_llama_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    convs = fireact(2063, "multitask_multimethod_gpt.jsonl", tagged=False)
    encoded = encode(convs, tok, get_template("agentflan", tok), max_length=4096)
    bins = best_fit_decreasing(encoded.lengths, 4096)
    assert packing_efficiency(encoded.lengths, bins, 4096) >= 0.98


def _rows(lengths: tuple[int, ...], seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    rows = []
    for n in lengths:
        ids = rng.integers(10, 1000, n).astype(np.int32)
        labels = np.where(rng.random(n) < 0.6, ids, IGNORE_INDEX).astype(np.int32)
        caps = np.where(labels != IGNORE_INDEX, rng.integers(0, 5, n), NO_CAPABILITY).astype(np.int8)
        rows.append({"input_ids": ids, "labels": labels, "capability": caps})
    return rows


def test_collator_restarts_positions_and_separates_labels() -> None:
    rows = _rows((5, 3, 4))
    batch = PackedCollator()([rows[:2], rows[2:]])
    assert batch["input_ids"].shape == (1, 12) and "attention_mask" not in batch
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3]
    starts = [0, 5, 8]
    assert all(batch["labels"][0, s] == IGNORE_INDEX and batch["capability"][0, s] == NO_CAPABILITY for s in starts)
    padded = PaddingCollator(pad_token_id=3)([[r] for r in rows])
    assert padded["input_ids"].shape == (3, 5)
    assert padded["attention_mask"].sum(1).tolist() == [5, 3, 4]
    assert (padded["labels"][1, 3:] == IGNORE_INDEX).all() and (padded["input_ids"][1, 3:] == 3).all()


def test_train_on_prompt_makes_every_token_a_target_and_keeps_conversations_apart(tiny_llama_dir: Path) -> None:
    from transformers import AutoTokenizer

    from agentflan.demo import TRAJECTORIES, demo_file
    from agentflan.sources import read
    from agentflan.train.data import RowIndex

    tok = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    convs = [c for _, c in zip(range(6), read(demo_file(TRAJECTORIES)), strict=False)]
    encoded = encode(convs, tok, get_template("agentflan", tok), max_length=4096)
    rows = RowIndex([encoded], np.zeros(6, dtype=np.int32), np.arange(6, dtype=np.int64))
    replies_only = PackedCollator()([make_dataset(rows, 16384, packing=True)[0][0]])
    everything = PackedCollator()([make_dataset(rows, 16384, packing=True, train_on_prompt=True)[0][0]])
    assert torch.equal(replies_only["input_ids"], everything["input_ids"])
    starts = (everything["position_ids"][0] == 0).nonzero().flatten().tolist()
    assert len(starts) == 6
    targets = everything["labels"][0] != IGNORE_INDEX
    assert (~targets).nonzero().flatten().tolist() == starts  # all but each conversation's first token
    assert torch.equal(everything["labels"][0][targets], everything["input_ids"][0][targets])
    trained = replies_only["labels"][0] != IGNORE_INDEX
    assert 0 < int(trained.sum()) < int(targets.sum()) // 3  # the prompts are most of the tokens
    assert torch.equal(replies_only["labels"][0][trained], everything["labels"][0][trained])
    assert torch.equal(replies_only["capability"], everything["capability"])  # curves stay per capability


@pytest.mark.slow
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("model_dir", ["tiny_llama_dir", "tiny_qwen2_dir"])
def test_packed_logits_equal_separate_logits(model_dir: str, attn: str, request: pytest.FixtureRequest) -> None:
    """No token attends to another conversation of its pack: logits match running each alone."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(request.getfixturevalue(model_dir)), attn_implementation=attn).eval()
    rows = _rows((7, 13, 5))
    batch = PackedCollator()([rows])
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = torch.cat([model(input_ids=torch.tensor(r["input_ids"][None], dtype=torch.long), use_cache=False).logits[0] for r in rows])
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    assert torch.allclose(packed, alone, atol=1e-5)
    assert not torch.allclose(leaky, alone, atol=1e-3)  # the check can fail: one long sequence does leak
