"""Agent-H's scorer: every label on hand-written responses, real FireAct turns, the summary formula."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.evaluate.agent_h import classify, make_suite, summarize_agent_h
from agentflan.evaluate.base import ItemResult
from agentflan.protocols import detect_calls
from agentflan.sources import read
from conftest import shared_path

OFFERED = ["get_stock_price"]

# (response, protocol, expected label, expected detail) under the protocol prompt
PROTOCOL_CASES = [
    ("Thought: No tool is needed.\nFinal Answer: Paris is the capital of France.", "react", "plain", "final_answer"),
    ('Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "Paris"}', "react", "plain", "finish_call"),
    ("Paris is the capital of France.", "react", "format", "bare"),
    (".", "react", "format", "degenerate"),
    ("Thought: x\nFinal Answer: ...", "react", "format", "degenerate"),
    ("Thought: No tool fits.\nAction: None\nAction Input: {}", "react", "format", "no_action"),
    ("Thought: No tool fits.\nAction: N/A", "react", "format", "no_action"),
    ('{"thought": "no tool fits", "action": "None", "action_input": {}}', "json", "format", "no_action"),
    # react's prompt asks for Final Answer after the thought; fireact's think step is a whole step
    ("Thought: I can answer this without tools.", "react", "format", "missing_field"),
    ("Thought: I can answer this without tools.", "fireact", "plain", "thought_only"),
    ('{"thought": "easy", "action": "Final Answer", "action_input": "Paris"}', "json", "plain", "final_answer"),
    ('{"goal": "answer", "Tool": "FinishAction", "Param": {"response": "Paris"}}', "json-goal", "plain", "final_answer"),
    ("Thought: I know this one.", "react", "format", "missing_field"),
    ("Thought: x\nFinal Answer: Paris\nObservation: the user is happy", "react", "format", "extra_text"),
    ("   \n", "react", "format", "empty"),
    ('{"thought": "easy", "action": "Final Answer"', "json", "format", "malformed"),
    ('Thought: look it up\nAction: get_weather\nAction Input: {"city": "Paris"}', "react", "action", "unoffered"),
    ('Thought: check\nAction: get_stock_price\nAction Input: {"ticker": "AAPL"}', "react", "action", "unneeded"),
    ("Thought: look it up\nAction: get_weather\nAction Input: {city: Paris", "react", "action", "unoffered"),
    ('{"name": "get_weather", "arguments": {"city": "Paris"}}', "react", "action", "unoffered"),
    ('{"thought": "t", "action": "get_stock_price", "action_input": {"ticker": "X"}}', "json", "action", "unneeded"),
    ('{"goal": "g", "Tool": "get_weather", "Param": {"city": "Oslo"}}', "json-goal", "action", "unoffered"),
]

GENERAL_CASES = [
    ("Paris is the capital of France.", "plain", "reply"),
    ("Thought: easy.\nFinal Answer: Paris.", "plain", "reply"),
    ("", "format", "empty"),
    (".", "format", "degenerate"),
    ("?!", "format", "degenerate"),
    ("Thought: I can answer this without tools.", "plain", "reply"),
    ("Thought: nothing to call\nAction: None", "format", "no_action"),
    ('<tool_call>\n{"name": "get_stock_price", "arguments": {"ticker": "AAPL"}}\n</tool_call>', "action", "unneeded"),
    ('<functioncall> {"name": "get_weather", "arguments": \'{"city": "Oslo"}\'}', "action", "unoffered"),
    ('{"name": "get_weather", "parameters": {"city": "Oslo"}}', "action", "unoffered"),
    ('{"name": "get_stock_price", "arguments": {"n": 123456789012345678901234567890}}', "action", "unneeded"),
    ('Let me check.\nAction: get_weather\nAction Input: {"city": "Oslo"}', "action", "unoffered"),
]


@pytest.mark.parametrize(("text", "protocol", "label", "detail"), PROTOCOL_CASES)
def test_protocol_prompt_labels(text: str, protocol: str, label: str, detail: str) -> None:
    v = classify(text, prompt="react", protocol=protocol, offered=OFFERED)
    assert (v.label, v.detail) == (label, detail)


@pytest.mark.parametrize(("text", "label", "detail"), GENERAL_CASES)
def test_general_prompt_labels(text: str, label: str, detail: str) -> None:
    v = classify(text, prompt="general", offered=OFFERED)
    assert (v.label, v.detail) == (label, detail)


def test_no_tools_offered_makes_every_call_unoffered() -> None:
    v = classify('Thought: t\nAction: get_stock_price\nAction Input: {"ticker": "X"}', prompt="react", offered=[])
    assert (v.label, v.detail, v.calls) == ("action", "unoffered", ["get_stock_price"])


def test_bare_reply_breaks_the_protocol_but_not_the_lenient_reading() -> None:
    text = "Sure, here is a short poem about the sea."
    strict = classify(text, prompt="react")
    assert (strict.label, strict.detail, strict.bare) == ("format", "bare", True)
    # a reply that uses the protocol's words is never "bare", so the lenient reading keeps it a format error
    assert classify("Thought: sure", prompt="react").bare is False
    assert classify(text, prompt="general").label == "plain"


def test_fireact_assistant_turns_are_valid_react() -> None:
    """Real FireAct trajectories: 0 format errors; search/lookup calls are actions, finish is plain."""
    path = shared_path("fireact", "hotpotqa_react_gpt.jsonl")
    labels: dict[str, int] = {}
    for conv in read(str(path)):
        for m in conv.messages:
            if m.role == "assistant":
                v = classify(m.content, prompt="react", protocol="fireact", offered=["search", "lookup"])
                labels[v.label] = labels.get(v.label, 0) + 1
                assert v.label != "format", m.content
                assert v.label == "plain" or v.detail == "unneeded"
    assert labels["plain"] == 500  # one finish per trajectory
    assert labels["action"] > 500


def test_real_turn_calling_an_unoffered_tool_is_action_level() -> None:
    path = shared_path("fireact", "hotpotqa_react_gpt.jsonl")
    conv = next(iter(read(str(path))))
    turn = next(m.content for m in conv.messages if m.role == "assistant" and "Action: search[" in m.content)
    # the same turn, offered only lookup: search is not offered
    v = classify(turn, prompt="react", protocol="fireact", offered=["lookup"])
    assert (v.label, v.detail) == ("action", "unoffered")
    # a tool FireAct does not know, written in its own syntax
    wiki = turn.replace("Action: search[", "Action: wikipedia[")
    v = classify(wiki, prompt="react", protocol="fireact", offered=["search", "lookup"])
    assert (v.label, v.detail, v.calls) == ("action", "unoffered", ["wikipedia"])


def _result(sample: str, prompt: str, kind: str, text: str) -> ItemResult:
    v = classify(text, prompt=prompt, offered=OFFERED)
    return ItemResult(f"{sample}/{prompt}", text, v.scores(), {"sample": sample, "prompt": prompt, "kind": kind})


def test_summary_formula_and_breakdowns() -> None:
    good_react = "Thought: easy\nFinal Answer: 4"
    call = 'Thought: t\nAction: get_weather\nAction Input: {"city": "X"}'
    results = [
        _result("h1", "react", "general/with_tools", good_react),
        _result("h2", "react", "general/with_tools", call),
        _result("h3", "react", "tool_query/no_tools", "just prose"),
        _result("h4", "react", "tool_query/no_tools", "Thought: hmm"),
        _result("h1", "general", "general/with_tools", "4"),
        _result("h2", "general", "general/with_tools", "4"),
        _result("h3", "general", "tool_query/no_tools", call),
        _result("h4", "general", "tool_query/no_tools", "I cannot check that."),
    ]
    m = summarize_agent_h(results)
    assert m["H_ReAct"] == 0.75  # the call, the bare reply and the half-followed thought
    assert m["H_General"] == 0.25
    assert m["H"] == pytest.approx(0.5 * ((1 - 0.75) + (1 - 0.25)) * 100)
    assert m["H_ReAct_lenient"] == 0.5  # the lenient reading forgives the bare reply only
    assert m["H_lenient"] == pytest.approx(0.5 * ((1 - 0.5) + (1 - 0.25)) * 100)
    assert m["per_prompt"]["react"]["format"] == 0.5
    assert m["per_prompt"]["react"]["bare"] == 0.25
    assert m["per_prompt"]["react"]["action_unoffered"] == 0.25
    assert m["per_kind"]["tool_query/no_tools"]["general"]["action"] == 0.5
    assert m["n_samples"] == 4
    assert "tool_need" not in m


class _Plain:
    """A backend that never calls a tool."""

    name = "plain"

    def generate(self, requests: list[object]) -> list[str]:
        return ["Thought: I can answer directly.\nFinal Answer: Here you go."] * len(requests)


def test_a_model_that_never_calls_tools_wins_h_but_loses_tool_need() -> None:
    suite = make_suite(size=40, seed=3)
    items = list(suite.items())
    results = suite.run_batch(items, _Plain())  # type: ignore[arg-type]
    m = suite.summarize(results)
    assert m["H"] == 100.0 and m["H_ReAct"] == 0.0
    assert m["ToolNeed"] == 0.0 and m["tool_need"]["tool_need"] == 0.0
    assert list(m)[:2] == ["H", "ToolNeed"]
    assert m["tool_need"]["per_prompt"]["react"]["called"] == 0.0


class _Constant:
    """A backend that gives the same reply to every request."""

    name = "constant"

    def __init__(self, reply: str):
        self.reply = reply

    def generate(self, requests: list[object]) -> list[str]:
        return [self.reply] * len(requests)


@pytest.mark.parametrize("reply", [".", "", "...", "?"])
def test_a_degenerate_model_scores_zero(reply: str) -> None:
    """The gamed score of issue 12: "." to everything used to score H = 100."""
    suite = make_suite(size=40, seed=3)
    m = suite.summarize(suite.run_batch(list(suite.items()), _Constant(reply)))  # type: ignore[arg-type]
    assert m["H"] == 0.0 and m["H_lenient"] == 0.0
    assert m["H_ReAct"] == 1.0 and m["H_General"] == 1.0
    assert m["ToolNeed"] == 0.0


def test_a_bare_prose_model_loses_half_of_h() -> None:
    suite = make_suite(size=40, seed=3)
    m = suite.summarize(suite.run_batch(list(suite.items()), _Constant("Paris is the capital of France.")))  # type: ignore[arg-type]
    assert (m["H_ReAct"], m["H_General"], m["H"]) == (1.0, 0.0, 50.0)
    assert (m["H_ReAct_lenient"], m["H_lenient"]) == (0.0, 100.0)
    assert m["per_prompt"]["react"]["bare"] == 1.0


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=200), st.sampled_from(["react", "json", "json-goal", "fireact"]), st.sampled_from(["react", "general"]))
def test_classify_never_raises(text: str, protocol: str, prompt: str) -> None:
    v = classify(text, prompt=prompt, protocol=protocol, offered=OFFERED)
    assert v.label in ("plain", "format", "action")
    assert (v.label == "action") == bool(v.calls)


@FUZZ
@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(lambda n: n not in ("Finish", "finish")),
    st.dictionaries(st.text(max_size=8), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8), max_size=3),
    st.sampled_from(["{}", "<tool_call>\n{}\n</tool_call>", "Sure! {}", "<functioncall> {}"]),
)
def test_detect_calls_round_trip(name: str, arguments: dict[str, object], wrapper: str) -> None:
    """A call written as JSON in any wrapper comes back as exactly that call."""
    from agentflan.jsonutil import dumps

    text = wrapper.replace("{}", dumps({"name": name, "arguments": arguments}))
    calls = detect_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [(name, arguments)]
