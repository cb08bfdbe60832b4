"""T-Eval's semantics per dimension on hand-made entries of its layouts, quirks included.

Each expectation below is what T-Eval's official evaluators (open-compass/T-Eval,
teval/evaluators) give for the same entry and response; corrected variants sit beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.errors import InputError
from agentflan.evaluate.similarity import LexicalSimilarity
from agentflan.evaluate.teval_data import read_teval, teval_kind
from agentflan.evaluate.teval_load import fill_template, lenient_load
from agentflan.evaluate.teval_plan import PlanStep, match_plans
from agentflan.evaluate.teval_scorers import (
    InstructExpectation,
    PlanExpectation,
    ReviewExpectation,
    StepExpectation,
    read_plan,
    review_verdict,
    score_instruct,
    score_plan,
    score_review,
    score_step,
)

SIM = LexicalSimilarity()
STR_TEMPLATE = {"thought_start": "Thought:", "thought_end": "\n", "action_start": "Action:", "action_end": "\n",
                "args_start": "Action Input:", "args_end": ""}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("instruct_v1.json", ("instruct", None)),
        ("instruct_v2_subset.json", ("instruct", None)),
        ("instruct_v2_zh.json", ("instruct", None)),
        ("plan_json_v2_subset_zh.json", ("plan", "json")),
        ("plan_str_v1_sample.json", ("plan", "str")),
        ("reason_retrieve_understand_json_v2.json", ("rru", "json")),
        ("reason_retrieve_understand_json_v2_subset.json", ("rru", "json")),
        ("rru_json_v1.json", ("rru", "json")),
        ("reason_str_v2_zh.json", ("reason", "str")),
        ("retrieve_str_v2_subset.json", ("retrieve", "str")),
        ("understand_str_v1.json", ("understand", "str")),
        ("review_str_v2_subset_zh.json", ("review", "str")),
    ],
)
def test_every_official_file_name_is_read(name: str, kind: tuple[str, str | None]) -> None:
    assert teval_kind(name) == kind


def test_lenient_load_reads_what_teval_reads() -> None:
    assert lenient_load("[{'a': 1,},]", "[", "]") == [{"a": 1}]  # a Python literal, trailing commas too
    assert lenient_load('Plan:\n```json\n[{"a": true}]\n```', "[", "]") == [{"a": True}]
    assert lenient_load("{'a': 'it'}") == {"a": "it"}
    assert lenient_load('{"a": null}') == {"a": None}
    assert lenient_load('[{"a": 1}', "[", "]") is None
    assert lenient_load([1]) == [1]  # already read


@given(st.text(max_size=200))
def test_lenient_load_never_raises(text: str) -> None:
    lenient_load(text, "{", "}")
    fill_template("A:{x}B{y}", text)


def test_instruct_json_and_string() -> None:
    gt_args = {"city": "Oslo", "days": 3}
    j = InstructExpectation("json", "Weather.get", gt_args, {"thought": "thought", "action": "name", "args": "args"})
    ok = score_instruct(j, '{"thought": "t", "name": "Weather.get", "args": {"city": "Oslo", "days": 3.0}}')
    assert ok["format"] == 1.0 and ok["args_em"] == 1.0 and ok["instruct"] == 1.0  # Python ==: 3 == 3.0
    half = score_instruct(j, '{"thought": "t", "name": "Weather.get", "args": {"city": "oslo", "days": "3"}}')
    assert half["args_em"] == pytest.approx(1 / 3) and half["instruct"] == pytest.approx(2 / 3)
    # read whole, not cut to the braces; all three template keys needed
    assert score_instruct(j, 'Sure: {"thought": "t", "name": "Weather.get", "args": {}}')["format"] == 0.0
    assert score_instruct(j, '{"name": "Weather.get", "args": {}}')["instruct"] == 0.0
    s = InstructExpectation("str", "Weather.get", gt_args, STR_TEMPLATE)
    got = score_instruct(s, "Thought: go\nAction: Weather.get \nAction Input: {'city': 'Oslo', 'days': 3}")
    assert got["args_em"] == 1.0
    bad_args = score_instruct(s, "Thought: go\nAction: Weather.get\nAction Input: city=Oslo")
    assert bad_args["format"] == 1.0 and bad_args["args_em"] == pytest.approx(1 / 3)  # args unreadable: {}
    assert score_instruct(s, "Weather.get(city='Oslo')")["format"] == 0.0


def test_plan_official_quirks_and_corrected_variant() -> None:
    ref = [PlanStep(0, "A.search", "{'q': 'x'}"), PlanStep(1, "A.detail", "{'id': 1}"), PlanStep(2, "FinishAction", "{}")]
    assert match_plans(ref, ref, SIM).f1 == 1.0
    unrelated = [PlanStep(0, "zzz", "qqq"), PlanStep(1, "yyy", "www")]
    m = match_plans(unrelated, ref, SIM)
    assert m.f1 == pytest.approx(0.5) and m.f1_matched_only == 0.0  # T-Eval counts one step even with no match
    exp = PlanExpectation("json", tuple(ref), ())
    assert score_plan(exp, '[{"name": "A.search", "args": {}}]', SIM)["parse_ok"] is False  # no id: unread
    swapped = score_plan(exp, '[{"id": 1, "name": "A.detail", "args": "{\'id\': 1}"}, {"id": 0, "name": "A.search", "args": "{\'q\': \'x\'}"}]', SIM)
    assert swapped["plan"] == 1.0  # T-Eval orders by id, not by position
    assert read_plan('[{"id": "2", "name": "A", "args": {"k": 1}}]') == [PlanStep(2, "A", "{'k': 1}")]


def test_plan_string_lines_compare_whole_lines() -> None:
    ref = (PlanStep(0, "A.search", "{'q': 'x'}"), PlanStep(1, "A.stop", "{}"))
    exp = PlanExpectation("str", ref, ("A.search", "A.stop"))
    got = score_plan(exp, "First use A.search with q x. Then A.stop", SIM)
    assert got["parse_ok"] and 0.0 < got["plan"] <= 1.0
    assert score_plan(exp, "use a.search", SIM)["parse_ok"] is False  # names are case-sensitive


def test_rru_json_and_single_string_files() -> None:
    rru = StepExpectation("rru", "json", "json", "search first", "A.search", {"q": "x"})
    s, pair = score_step(rru, 'Here: {"thought": "search first", "name": "A.search", "args": {"q": "x"}} done')
    assert s["retrieve"] == 1.0 and s["understand"] == pytest.approx(1 / (1 + 1e-5)) and pair == ("search first", "search first")
    s, pair = score_step(rru, "no json here")
    assert s == {"parse_ok": False, "reason": 0.0, "retrieve": 0.0, "understand": 0.0} and pair is None
    empty = StepExpectation("rru", "json", "json", "", "FinishAction", {})
    assert score_step(empty, '{"name": "FinishAction", "args": {}}')[0]["understand"] == 1.0
    assert score_step(empty, '{"name": "FinishAction", "args": {"a": 1}}')[0]["understand"] == 0.0
    retrieve = StepExpectation("retrieve", "str", "str", "t", "A.search", "{'q': 'x'}")
    assert score_step(retrieve, "I would call A.search now")[0] == {"parse_ok": True, "retrieve": 1.0}
    assert score_step(retrieve, "A.search or B.other")[0]["retrieve"] == 0.0
    understand = StepExpectation("understand", "str", "str", "t", "A.search", "{'q': 'x'}")
    assert score_step(understand, "\"{'q': 'x'}\"")[0]["understand"] == 1.0  # outer quotes stripped
    assert score_step(understand, '{"q": "x"}')[0]["understand"] == 0.0  # the Python repr, exactly
    reason = StepExpectation("reason", "str", "str", "search first", "A.search", "{}")
    assert score_step(reason, "whatever text")[1] == ("whatever text", "search first")


def test_review_string_and_json() -> None:
    assert [review_verdict(t) for t in ("Answer: B", "B", "answer: C", "Answer: (B)", "Thought: x\nAnswer: B", "Answer: b")] == [
        "B", "B", "C", None, None, None]
    exp = ReviewExpectation("str", "B")
    assert score_review(exp, "The best choice is: B because")["review"] == 1.0
    j = ReviewExpectation("json", True)
    got = score_review(j, '{"is_finished": true}')
    assert got["parse_ok"] and got["review"] == 0.0 and got["review_json_fixed"] == 1.0  # T-Eval's bug, fixed beside


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_reader_takes_official_layouts_and_names_bad_entries(tmp_path: Path) -> None:
    prompt = [{"role": "system", "content": "工具"}, {"role": "user", "content": "查询"}]
    instruct = _write(tmp_path, "instruct_v2_zh.json", {
        "a": {"origin_prompt": prompt, "ground_truth": {"action": "A.b", "args": {}}, "meta_data": {"response_format": "string"},
              "template": STR_TEMPLATE},
        "b": {"origin_prompt": prompt, "ground_truth": {"action": "A.b", "args": {}}, "meta_data": {"response_format": "json"},
              "template": {"thought": "thought", "action": "name", "args": "args"}},
    })
    items = read_teval(instruct)
    assert [it.meta["format"] for it in items] == ["str", "json"]
    rru = _write(tmp_path, "reason_retrieve_understand_json_v2_subset.json", {
        "q": {"origin_prompt": prompt, "ground_truth": {"thought": "t", "name": "A.b", "args": {}}, "meta_data": {"response_format": "json"}}})
    assert read_teval(rru)[0].expected["dimension"] == "rru"
    bad = _write(tmp_path, "instruct_v2.json", {"x": {"origin_prompt": prompt, "ground_truth": {"action": "A"}, "template": {}}})
    with pytest.raises(InputError, match=r"instruct_v2\.json \(id x\): field 'ground_truth'"):
        read_teval(bad)


@pytest.mark.shared_data
def test_eval_score_scores_predictions_like_a_run(tmp_path: Path) -> None:
    from agentflan.cli import main
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.score_predictions import score_predictions
    from conftest import shared_path

    data = shared_path("teval", "review_str_v1_sample.json")
    keys = list(json.loads(data.read_text(encoding="utf-8")))
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": k, "response": "Answer: A"}) + "\n" for k in keys), encoding="utf-8")
    assert main(["eval", "score", "tool-steps", "--data", str(data), "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "tool-steps" / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "tool-steps" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    answers = {k: v["ground_truth"]["answer"] for k, v in json.loads(data.read_text(encoding="utf-8")).items()}
    assert [r["scores"]["review"] for r in rows] == [float(answers[k] == "A") for k in keys]
    assert summary["backend"] == "predictions" and summary["metrics"]["plan_threshold"] == 0.8
    assert summary["metrics"]["review"] == round(100 * sum(a == "A" for a in answers.values()) / len(keys), 2)
    preds.write_text(json.dumps({"id": keys[0], "response": "B"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="have no prediction"):
        score_predictions(make_suite("tool-steps", data=str(data)), preds, tmp_path / "o2")
    preds.write_text('{"id": "nope", "response": "B"}\n{"id": 1}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"preds\.jsonl:2: field 'response'"):
        score_predictions(make_suite("tool-steps", data=str(data)), preds, tmp_path / "o3")


@pytest.mark.shared_data
def test_chinese_files_are_scored_with_their_own_model_or_say_so(tmp_path: Path) -> None:
    """Items of a ``_zh`` file get the Chinese similarity; the summary names it, and a fallback is recorded."""
    from agentflan.evaluate.base import ItemResult
    from agentflan.evaluate.registry import make_suite
    from conftest import shared_path

    en = shared_path("teval", "plan_json_v1_sample.json")
    entries = dict(list(json.loads(en.read_text(encoding="utf-8")).items())[:3])
    zh = _write(tmp_path, "plan_json_v1_zh.json", entries)
    suite = make_suite("tool-steps", teval=f"{en},{zh}", similarity="lexical")
    items = list(suite.items())
    assert {it.meta["language"] for it in items if "_zh" in it.id} == {"zh"} and items[0].meta["language"] == "en"
    golds = [json.dumps(it.expected["entry"]["ground_truth"]) for it in items]
    scores = suite.score_responses(items, golds)
    by_id = {it.id: s for it, s in zip(items, scores, strict=True)}
    for key in entries:  # the same item and answer score alike in either file, in item order
        assert by_id[f"teval/plan_json_v1_zh/{key}"]["plan"] == by_id[f"teval/plan_json_v1_sample/{key}"]["plan"]
    summary = suite.summarize([ItemResult(it.id, g, s, dict(it.meta)) for it, g, s in zip(items, golds, scores, strict=True)])
    assert summary["similarity_model"] == summary["similarity_model_zh"] == "lexical:token-f1"
    assert "thenlper/gte-large-zh" in summary["similarity_note"]
    only_en = suite.summarize([ItemResult(it.id, g, s, dict(it.meta)) for it, g, s in zip(items, golds, scores, strict=True) if "_zh" not in it.id])
    assert "similarity_model_zh" not in only_en and "similarity_note" not in only_en
