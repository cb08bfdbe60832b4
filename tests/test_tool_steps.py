"""Tool steps (T-Eval style): items from real ToolBench trajectories, every metric, T-Eval's own files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.conversation import ToolCall
from agentflan.errors import ConfigError, InputError
from agentflan.evaluate.base import EvalItem, ItemResult
from agentflan.evaluate.similarity import LexicalSimilarity
from agentflan.evaluate.teval_data import read_teval
from agentflan.evaluate.tool_steps import make_suite, plan_scores, score_items, summarize_steps
from agentflan.evaluate.tool_steps_build import (
    DIMENSIONS,
    build_tool_steps,
    read_trajectories,
    tool_succeeded,
)
from agentflan.generation.base import GenerationRequest
from agentflan.jsonutil import dumps
from agentflan.protocols import get_protocol
from agentflan.protocols.base import AgentStep
from conftest import shared_path

SIM = LexicalSimilarity()


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return build_tool_steps(read_trajectories([shared_path("toolbench", "answers")]))


def perfect(item: EvalItem) -> str:
    """The reference answer, written as the item asks."""
    e = item.expected
    dim = e["dimension"]
    if dim in ("rru", "instruct"):
        thought = e.get("thought") or None
        return get_protocol(e["protocol"]).render(AgentStep(thought, [ToolCall(e["name"], e["args"])])).text
    if dim == "plan":
        if e["format"] == "json":
            return dumps([{"id": i, "name": s["name"], "args": s["args"]} for i, s in enumerate(e["plan"])])
        return "\n".join(f"Use {s['name']} with {dumps(s['args'])}" for s in e["plan"])
    if e["format"] == "json":
        return dumps({"thought": "judged", "is_success": e["success"]})
    return "Answer: A" if e["success"] else "Answer: B"


def _results(items: list[EvalItem], responses: list[str]) -> list[ItemResult]:
    scores = score_items(items, responses, SIM)
    return [ItemResult(it.id, r, s, dict(it.meta)) for it, r, s in zip(items, responses, scores, strict=True)]


def test_items_from_real_trajectories(items: list[EvalItem]) -> None:
    counts = Counter((it.meta["dimension"], it.meta["protocol"]) for it in items)
    # 13 valid ToolBench trajectories, 36 calls to offered tools (32 distinct)
    assert counts == {
        (dim, proto): n
        for proto in ("json", "react")
        for dim, n in (("rru", 36), ("instruct", 32), ("plan", 13), ("review", 36))
    }
    assert len({it.id for it in items}) == len(items)
    rru = [it for it in items if it.meta["dimension"] == "rru" and it.meta["protocol"] == "react"]
    assert sum(bool(it.expected["thought"]) for it in rru) >= 10  # thoughts ToolBench keeps beside calls
    later = next(it for it in rru if len(it.messages) > 3)
    assert later.messages[3].content.startswith("Observation: ")  # tool results come back as user turns
    assert later.messages[2].protocol == "react" and later.messages[2].tool_calls
    reviews = Counter(it.expected["success"] for it in items if it.meta["dimension"] == "review")
    assert reviews[True] > 0 and reviews[False] > 0
    again = build_tool_steps(read_trajectories([shared_path("toolbench", "answers")]))
    assert [(it.id, it.messages) for it in again] == [(it.id, it.messages) for it in items]


def test_perfect_responses_score_one_everywhere(items: list[EvalItem]) -> None:
    results = _results(items, [perfect(it) for it in items])
    for r in results:
        for dim in DIMENSIONS:
            if r.scores.get(dim) is not None:
                assert r.scores[dim] == pytest.approx(1.0), (r.id, dim, r.scores)
        assert r.scores["parse_ok"]
    m = summarize_steps(results)
    assert m["overall"] == 100.0
    assert all(m[d] == 100.0 for d in DIMENSIONS)
    assert set(m["per_format"]) == {"json", "str"} and m["similarity"] == ["lexical:token-f1"]


def test_wrong_tool_scores_zero_on_retrieve(items: list[EvalItem]) -> None:
    rru = [it for it in items if it.meta["dimension"] == "rru"]
    responses = []
    for it in rru:
        e = it.expected
        wrong = next(t.name for t in it.tools if t.name != e["name"])
        responses.append(get_protocol(e["protocol"]).render(AgentStep("t", [ToolCall(wrong, e["args"])])).text)
    for r in _results(rru, responses):
        assert r.scores["retrieve"] == 0.0 and r.scores["understand"] == 1.0


def test_broken_and_partial_responses(items: list[EvalItem]) -> None:
    instruct = next(it for it in items if it.meta["dimension"] == "instruct" and it.expected["args"] and it.meta["protocol"] == "json")
    e = instruct.expected
    half = dict(e["args"])
    half[next(iter(half))] = "something else"
    text = get_protocol("json").render(AgentStep(None, [ToolCall(e["name"], half)])).text
    [s] = score_items([instruct], [text], SIM)
    n = len(e["args"])
    assert s["format"] == 1.0 and s["args_em"] == pytest.approx(n / (n + 1))
    [s] = score_items([instruct], ["I would call " + e["name"]], SIM)
    assert (s["format"], s["instruct"], s["parse_ok"]) == (0.0, 0.0, False)
    rru = next(it for it in items if it.meta["dimension"] == "rru" and it.meta["protocol"] == "json")
    [s] = score_items([rru], ["not json at all"], SIM)
    assert (s["retrieve"], s["understand"], s["parse_ok"]) == (0.0, 0.0, False)
    review = next(it for it in items if it.meta["dimension"] == "review" and it.meta["protocol"] == "react")
    [s] = score_items([review], ["I think it went fine."], SIM)
    assert (s["review"], s["parse_ok"]) == (0.0, False)


def test_plan_metric_counts_ordered_matches() -> None:
    ref = [("a_tool", '{"q":"x"}'), ("b_tool", '{"q":"y"}'), ("c_tool", "{}")]
    assert plan_scores(ref, ref, SIM, 0.8)["plan"] == 1.0
    missing = plan_scores(ref[:2], ref, SIM, 0.8)
    assert missing["precision"] == 1.0 and missing["recall"] == pytest.approx(2 / 3)
    reversed_order = plan_scores(ref[::-1], ref, SIM, 0.8)
    assert reversed_order["plan"] == pytest.approx(1 / 3)  # only one step can keep its place
    assert plan_scores([], ref, SIM, 0.8)["plan"] == 0.0


def test_review_labels_from_tool_results() -> None:
    assert tool_succeeded('{"error": "", "response": "{\'name\': \'Yun Express\', \'code\': \'yunexpress\'}"}')
    assert not tool_succeeded('{"error": "Timeout error...", "response": ""}')
    assert not tool_succeeded('{"error": "", "response": ""}')
    assert not tool_succeeded('{"error": "", "response": "{\'message\': \\"Endpoint \'/x\' does not exist\\"}"}')
    assert not tool_succeeded('{"error": "", "response": "{\'results\': [], \'ts\': 1.2}"}')
    assert tool_succeeded('{"recipes": [{"name": "Stir fry"}]}')


class _Oracle:
    """A backend that answers each request with the reference answer of its item."""

    name = "oracle"

    def __init__(self, by_prompt: dict[str, str]):
        self.by_prompt = by_prompt

    def generate(self, requests: list[GenerationRequest]) -> list[str]:
        return [self.by_prompt[dumps([m.to_dict() for m in r.messages])] for r in requests]


def test_suite_end_to_end_with_a_perfect_backend() -> None:
    suite = make_suite(sources=str(shared_path("toolbench", "answers")), similarity="lexical", max_per_dimension=6, seed=2)
    items = list(suite.items())
    assert Counter(it.meta["dimension"] for it in items) == {"rru": 12, "instruct": 12, "plan": 12, "review": 12}
    oracle = _Oracle({dumps([m.to_dict() for m in it.messages]): perfect(it) for it in items})
    m = suite.summarize(suite.run_batch(items, oracle))  # type: ignore[arg-type]
    assert m["overall"] == 100.0
    with pytest.raises(ConfigError, match="sources="):
        make_suite()
    with pytest.raises(ConfigError, match="unknown tool-step dimension"):
        make_suite(sources="x", dimensions="plan,dreams")


def _teval_files(tmp_path: Path) -> dict[str, Path]:
    """Small files in T-Eval's layout (its entries abridged, values made up)."""
    sys_msg = {"role": "system", "content": "You have access to the following API: ..."}
    user = {"role": "user", "content": "Find properties in Berlin."}
    plan_gt = [
        {"id": 0, "prev": [], "name": "AirbnbSearch.search_property_by_place", "args": {"place": "Berlin"}},
        {"id": 1, "prev": [0], "name": "AirbnbSearch.get_property_details", "args": {"propertyId": 1}},
        {"id": 2, "prev": [1], "name": "FinishAction", "args": {}},
    ]
    step_gt = {"thought": "I should search Berlin first.", "name": "AirbnbSearch.search_property_by_place", "args": {"place": "Berlin"}}
    files = {
        "instruct_v2.json": {
            "j": {"origin_prompt": [sys_msg, user], "ground_truth": {"action": "Weather.get", "args": {"city": "Oslo"}},
                  "meta_data": {"response_format": "json"}, "template": {"thought": "thought", "action": "name", "args": "args"}},
            "s": {"origin_prompt": [sys_msg, user], "ground_truth": {"action": "Weather.get", "args": {"city": "Oslo"}},
                  "meta_data": {"response_format": "str"},
                  "template": {"thought_start": "Thought:", "thought_end": "\n", "action_start": "Action:", "action_end": "\n",
                               "args_start": "Action Input:", "args_end": "\n"}},
        },
        "plan_json_v2.json": {"p": {"origin_prompt": [sys_msg, user], "ground_truth": plan_gt, "meta": {"prompt_type": "json"}}},
        "plan_str_v2.json": {"p": {"origin_prompt": [sys_msg, user], "ground_truth": plan_gt, "meta": {
            "prompt_type": "str", "API_list": ["AirbnbSearch.search_property_by_place", "AirbnbSearch.get_property_details"]}}},
        "rru_json_v2.json": {"r": {"origin_prompt": [sys_msg, user, {"role": "function", "content": "{}"}], "ground_truth": step_gt,
                                   "meta_data": {"response_format": "json"}}},
        "reason_str_v2.json": {"r": {"origin_prompt": [sys_msg, user], "ground_truth": json.dumps(step_gt), "meta_data": {"response_format": "str"}}},
        "retrieve_str_v2.json": {"r": {"origin_prompt": [sys_msg, user], "ground_truth": step_gt, "meta_data": {"response_format": "str"}}},
        "understand_str_v2.json": {"r": {"origin_prompt": [sys_msg, user], "ground_truth": step_gt, "meta_data": {"response_format": "str"}}},
        "review_str_v2.json": {"v": {"origin_prompt": [sys_msg, user], "ground_truth": {"answer": "B", "thought": "internal error"},
                                     "meta_data": {"response_format": "str"}, "template": ""}},
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / name
        out[name].write_text(json.dumps(data), encoding="utf-8")
    return out


TEVAL_RIGHT: dict[str, list[str]] = {
    "instruct_v2.json": ['{"thought": "t", "name": "Weather.get", "args": {"city": "Oslo"}}',
                         "Thought: t\nAction: Weather.get\nAction Input: {'city': 'Oslo'}\n"],
    "plan_json_v2.json": ['[{"id": 0, "name": "AirbnbSearch.search_property_by_place", "args": {"place": "Berlin"}}, '
                          '{"id": 1, "name": "AirbnbSearch.get_property_details", "args": {"propertyId": 1}}]'],
    "plan_str_v2.json": ["Use AirbnbSearch.search_property_by_place to find places in Berlin (place Berlin)\n"
                         "Use AirbnbSearch.get_property_details to get property 1 (propertyId 1)"],
    "rru_json_v2.json": ['{"thought": "I should search Berlin first.", "name": "AirbnbSearch.search_property_by_place", "args": {"place": "Berlin"}}'],
    "reason_str_v2.json": ["I should search Berlin first."],
    "retrieve_str_v2.json": ["AirbnbSearch.search_property_by_place"],
    "understand_str_v2.json": ["{'place': 'Berlin'}"],
    "review_str_v2.json": ["Answer: B"],
}


def test_teval_files_read_and_score_like_teval(tmp_path: Path) -> None:
    files = _teval_files(tmp_path)
    for name, path in files.items():
        teval_items = read_teval(path)
        assert [it.expected["style"] for it in teval_items] == ["teval"] * len(teval_items)
        results = _results(teval_items, TEVAL_RIGHT[name])
        for r in results:
            got = [r.scores[d] for d in DIMENSIONS if r.scores.get(d) is not None]
            assert got and all(v == pytest.approx(1.0, abs=1e-4) for v in got), (name, r.scores)
    rru = read_teval(files["rru_json_v2.json"])[0]
    assert [m.role for m in rru.messages] == ["system", "user", "user"]
    [wrong] = score_items([rru], ['{"thought": "x", "name": "AirbnbSearch.get_property_details", "args": {}}'], SIM)
    assert wrong["retrieve"] == 0.0 and wrong["understand"] == 0.0
    retrieve = read_teval(files["retrieve_str_v2.json"])[0]
    [both] = score_items([retrieve], ["AirbnbSearch.search_property_by_place or AirbnbSearch.get_property_details"], SIM)
    assert both["retrieve"] == 0.0  # naming two tools is not an answer
    review = read_teval(files["review_str_v2.json"])[0]
    assert score_items([review], ["Answer: A"], SIM)[0]["review"] == 0.0
    suite = make_suite(teval=",".join(str(p) for p in files.values()), similarity="lexical")
    assert len(list(suite.items())) == 9
    # data= takes trajectories and T-Eval files alike, told apart by T-Eval's file names
    mixed = make_suite(data=f"{files['review_str_v2.json']},{shared_path('toolbench', 'answers')}", dimensions="review")
    assert Counter(it.expected["style"] for it in mixed.items()) == {"teval": 1, "agentflan": 72}


def test_teval_reader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "rru_json_v2.json"
    bad.write_text(json.dumps({"q1": {"ground_truth": {}}}), encoding="utf-8")
    with pytest.raises(InputError, match=r"rru_json_v2\.json \(id q1\).*origin_prompt"):
        read_teval(bad)
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="entries keyed by id"):
        read_teval(bad)
    other = tmp_path / "mydata.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="not a T-Eval file name"):
        read_teval(other)
    assert read_teval(other, dimension="review") == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300), st.integers(0, 10_000))
def test_scoring_garbage_never_raises(items: list[EvalItem], text: str, pick: int) -> None:
    item = items[pick % len(items)]
    [s] = score_items([item], [text], SIM)
    for dim in DIMENSIONS:
        v: Any = s.get(dim)
        assert v is None or 0.0 <= v <= 1.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["origin_prompt", "ground_truth", "meta_data", "role", "content", "template", "q1"]), inner, max_size=4),
        max_leaves=12,
    )
)
def test_teval_reader_garbage_is_an_input_error(tmp_path: Path, value: Any) -> None:
    path = tmp_path / "plan_json_v2.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    try:
        items = read_teval(path)
    except InputError as exc:
        assert "plan_json_v2.json" in str(exc)
    else:
        for item in items:  # whatever reads is scorable
            score_items([item], ["[]"], SIM)
