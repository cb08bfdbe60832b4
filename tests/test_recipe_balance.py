"""Capability balancing: exact ratios, masking that keeps turns in place, dropping whole samples."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.conversation import Capability, Conversation, Message
from agentflan.recipe.balance import BLOCK, PRESETS, Balancer, Urn, balance, whole_turn_masks_only
from agentflan.recipe.tags import TaggedText, whole_turn


@settings(max_examples=300, deadline=None)
@given(p=st.floats(0.0, 1.0), n=st.integers(0, 3000), seed=st.integers(0, 2**32))
def test_an_urn_keeps_its_ratio_within_a_block_at_any_length(p: float, n: int, seed: int) -> None:
    urn = Urn(p, random.Random(seed))
    kept = sum(urn.draw() for _ in range(n))
    assert abs(kept - p * n) <= BLOCK / 2 + 1


def test_urn_extremes_and_bad_ratios() -> None:
    assert all(Urn(1.0, random.Random(0)).draw() for _ in range(100))
    assert not any(Urn(0.0, random.Random(0)).draw() for _ in range(100))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Urn(1.5, random.Random(0))


def decomposed(i: int) -> Conversation:
    """A tflan-shaped row: thought, tool, arguments, final answer (one span per turn)."""
    return Conversation(
        id=f"c{i}",
        messages=[
            Message("user", "question"),
            whole_turn(f"thinking about step {i}", Capability.REASONING),
            Message("user", "which tool?"),
            whole_turn("I will use search.", Capability.RETRIEVAL),
            Message("user", "arguments?"),
            whole_turn('{"q": "x"}', Capability.UNDERSTANDING),
            Message("user", "result"),
            whole_turn("the answer", Capability.REASONING),
        ],
    )


def test_mask_mode_keeps_every_turn_in_place_and_hits_the_preset() -> None:
    rows = [decomposed(i) for i in range(1000)]
    out = list(balance(rows, "r10r5u7", seed=7))
    assert len(out) == 1000
    assert all(len(c.messages) == 8 for c in out)
    kept = {c.value: 0 for c in Capability}
    for conv in out:
        for m in conv.messages:
            if m.role == "assistant" and m.trains:
                kept[m.spans[0].capability.value] += 1
            assert m.role == "assistant" or m.loss is None
    assert kept["reasoning"] == 2000
    assert abs(kept["retrieval"] / 1000 - 0.5) <= 0.01
    assert abs(kept["understanding"] / 1000 - 0.7) <= 0.01
    # whole-turn decisions sit on the turn's loss, so the Agent-FLAN format can carry them
    assert all(whole_turn_masks_only(c) for c in out)


def test_balancer_reports_tokens_before_and_after() -> None:
    balancer = Balancer(PRESETS["paper"], seed=0)
    for i in range(400):
        balancer(decomposed(i))
    before, after = balancer.stats.tagged, balancer.stats.supervised
    assert before["retrieval"].spans == 400 and after["retrieval"].spans == 100
    assert after["retrieval"].tokens == pytest.approx(before["retrieval"].tokens / 4, rel=0.02)
    assert after["reasoning"].tokens == before["reasoning"].tokens
    assert balancer.stats.kept_ratio("understanding") == 0.75
    assert balancer.stats.kept_ratio("instruction") is None


def test_span_level_masking_inside_a_protocol_turn() -> None:
    text = TaggedText().add("Thought: ").add("look it up", Capability.REASONING).add("\nAction: ").add("search", Capability.RETRIEVAL)
    rows = [Conversation(id=str(i), messages=[Message("user", "q"), text.message()]) for i in range(200)]
    out = list(balance(rows, {"retrieval": 0.0}, seed=1))
    for conv in out:
        m = conv.messages[1]
        assert m.trains  # the turn still trains on its thought and syntax
        assert [s.loss for s in m.spans if s.capability is Capability.RETRIEVAL] == [False]
        assert all(s.loss is None for s in m.spans if s.capability is not Capability.RETRIEVAL)
    assert not any(whole_turn_masks_only(c) for c in out)


def test_drop_mode_drops_whole_samples_by_their_main_capability() -> None:
    retrieval_only = [Conversation(id=str(i), messages=[Message("user", "q"), whole_turn("use search", Capability.RETRIEVAL)]) for i in range(400)]
    reasoning_rows = [Conversation(id=f"r{i}", messages=[Message("user", "q"), whole_turn("a long chain of thought", Capability.REASONING)]) for i in range(100)]
    balancer = Balancer(PRESETS["paper"], mode="drop", seed=3)
    kept = [c for c in (balancer(x) for x in [*retrieval_only, *reasoning_rows]) if c is not None]
    assert balancer.dropped == 300
    assert len(kept) == 200
    assert all(m.loss is None for c in kept for m in c.messages)  # kept samples are untouched


def test_same_seed_same_decisions() -> None:
    def decisions(seed: int) -> list[bool]:
        out = balance([decomposed(i) for i in range(50)], "paper", seed=seed)
        return [m.trains for c in out for m in c.messages if m.role == "assistant"]

    assert decisions(5) == decisions(5)
    assert decisions(5) != decisions(6)


def test_unknown_capability_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown capability"):
        Balancer({"planning": 0.5})


@pytest.mark.slow
def test_token_counts_are_approximate_by_default_and_real_with_a_tokenizer(tiny_llama_dir: object) -> None:
    from agentflan.recipe.tokens import APPROX, approx_tokens, make_counter

    assert make_counter(None) == (approx_tokens, APPROX)
    assert approx_tokens('Action Input: {"city": "Paris"}') == 12
    count, name = make_counter(str(tiny_llama_dir))
    assert name == f"tokenizer {tiny_llama_dir}"
    text = "Thought: I need the weather in Paris.\nAction: get_weather"
    assert 0 < count(text) != approx_tokens(text)
    balancer = Balancer(PRESETS["paper"], count=count)
    balancer(decomposed(0))
    assert balancer.stats.tagged["reasoning"].tokens == count("thinking about step 0") + count("the answer")


def test_mix_concatenates_or_samples_to_a_ratio() -> None:
    from agentflan.recipe.mix import mix

    agent = [decomposed(i) for i in range(10)]
    general = [Conversation(id=f"g{i}", messages=[Message("user", f"hi {i}"), Message("assistant", "hello")]) for i in range(30)]
    assert [c.id for c in mix(agent, general)] == [c.id for c in agent + general]
    sampled = mix(agent, general, ratio=0.5, seed=1)
    assert len(sampled) == 15 and sampled[:10] == agent
    assert sampled == mix(agent, general, ratio=0.5, seed=1) and sampled != mix(agent, general, ratio=0.5, seed=2)
