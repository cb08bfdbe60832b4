"""Seeded, order-free splits and samples: disjoint parts, mergeable samples, content keys."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.recipe.split import BottomK, assign, sample, split, trajectory_key, unit_hash
from agentflan.recipe.trajectory import full_trajectories


def conv(i: int, cid: str | None = None) -> Conversation:
    return Conversation(id=cid or f"id{i}", messages=[Message("user", f"question {i}"), Message("assistant", f"answer {i}")])


def test_split_is_disjoint_complete_and_close_to_the_fractions() -> None:
    rows = [conv(i) for i in range(5000)]
    parts = split(rows, [0.1, 0.6, 0.3], seed=0)
    ids = [{c.id for c in p} for p in parts]
    assert sum(len(p) for p in ids) == 5000 and len(set().union(*ids)) == 5000
    for got, want in zip(parts, [0.1, 0.6, 0.3], strict=True):
        assert abs(len(got) / 5000 - want) < 0.02


@settings(max_examples=50, deadline=None)
@given(order=st.permutations(list(range(60))), seed=st.integers(0, 1000))
def test_assignment_ignores_order_and_ids(order: list[int], seed: int) -> None:
    base = {trajectory_key(conv(i)): assign(trajectory_key(conv(i)), [0.2, 0.5], seed) for i in range(60)}
    for i in order:
        renamed = conv(i, cid=f"other-{i}")
        assert assign(trajectory_key(renamed), [0.2, 0.5], seed) == base[trajectory_key(conv(i))]


def test_parts_past_the_fractions_fall_out() -> None:
    parts = split([conv(i) for i in range(1000)], [0.25], seed=1)
    assert 200 < len(parts[0]) < 300


def test_content_key_sees_calls_and_ignores_ids() -> None:
    a = conv(1)
    b = conv(1, cid="another")
    assert trajectory_key(a) == trajectory_key(b)
    c = conv(1)
    c.messages[1].tool_calls = [ToolCall("search", {"q": "x"})]
    assert trajectory_key(c) != trajectory_key(a)
    assert 0.0 <= unit_hash(0, "x") < 1.0 and unit_hash(0, "x") != unit_hash(1, "x")


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.text(max_size=6), max_size=80), k=st.integers(0, 20), cut=st.integers(0, 80), seed=st.integers())
def test_bottom_k_is_order_free_and_mergeable(keys: list[str], k: int, cut: int, seed: int) -> None:
    whole: BottomK[str] = BottomK(k, seed)
    for key in keys:
        whole.offer(key, key)
    left: BottomK[str] = BottomK(k, seed)
    right: BottomK[str] = BottomK(k, seed)
    for key in keys[:cut]:
        left.offer(key, key)
    for key in keys[cut:]:
        right.offer(key, key)
    left.merge(right)
    assert left.items() == whole.items()
    assert left.offered == len(keys)
    shuffled = list(keys)
    random.Random(seed).shuffle(shuffled)
    assert sorted(sample(((x, x) for x in shuffled), k, seed)) == sorted(whole.items())
    assert len(whole) == min(k, len(keys))


def test_toolbench_step_prefixes_collapse_to_the_whole_trajectory() -> None:
    def step(n: int, traj: str) -> Conversation:
        return Conversation(id=f"Step {n}", messages=[Message("user", "q")] * n, meta={"trajectory": traj})

    items = [step(2, "a"), step(4, "a"), step(6, "a"), conv(0), step(3, "b"), step(5, "b")]
    out = list(full_trajectories(items))
    assert [(c.id, c.meta.get("trajectory")) for c in out] == [("Step 6", "a"), ("id0", None), ("Step 5", "b")]
