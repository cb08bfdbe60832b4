"""The runner's cache: resume, torn lines, refusing mixed runs, and the output layout."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from agentflan.errors import ConfigError, InputError
from agentflan.evaluate.registry import make_suite
from agentflan.evaluate.results import read_cache
from agentflan.evaluate.runner import run_suite
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.report.evalpage import write_eval_page
from conftest import shared_path


class LetterBackend(Backend):
    """Answers every question with the same letter; can fail after some calls like a killed process."""

    name: ClassVar[str] = "letter"

    def __init__(self, letter: str = "A", model: str = "letter-model", fail_after_calls: int | None = None):
        self.letter = letter
        self.model = model
        self.fail_after_calls = fail_after_calls
        self.asked: list[str] = []
        self.calls = 0

    @property
    def batch_size(self) -> int:
        return 4

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt
        self.calls += 1
        self.asked += [r.messages[-1].content for r in requests]
        return [self.letter] * len(requests)


def _suite(**kw: Any) -> Any:
    return make_suite("mmlu", data=str(shared_path("mmlu")), subjects="anatomy,astronomy,virology", per_subject=5, mode="generative", **kw)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_layout_summary_and_table(tmp_path: Path) -> None:
    console = io.StringIO()
    outcome = run_suite(_suite(), LetterBackend("B"), tmp_path, progress=False, console=console)
    d = tmp_path / "mmlu"
    summary = orjson.loads((d / "summary.json").read_bytes())
    assert set(summary) == {"suite", "model", "backend", "metrics", "n_items", "n_failed", "versions"}
    assert summary["n_failed"] == 0 and not (d / "failed.jsonl").exists()
    assert (summary["suite"], summary["model"], summary["backend"], summary["n_items"]) == ("mmlu", "letter-model", "letter", 15)
    assert "python" in summary["versions"] and "agentflan" in summary["versions"]
    assert summary == outcome.summary
    rows = _lines(d / "results.jsonl")
    assert len(rows) == 15 and all(set(r) == {"id", "response", "scores", "meta"} for r in rows)
    # accuracy equals the share of B answers among the gold letters
    gold = [r for r in rows if r["scores"]["correct"]]
    assert summary["metrics"]["accuracy"] == round(100 * len(gold) / 15, 2)
    assert "accuracy" in console.getvalue() and "per_subject.anatomy" in console.getvalue()
    page = write_eval_page(tmp_path).read_text(encoding="utf-8")
    assert "<svg" in page and "mmlu" in page and "correct by subject" in page


def test_interrupted_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    suite = _suite()
    items = list(suite.items())
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, LetterBackend(fail_after_calls=2), tmp_path, progress=False)
    d = tmp_path / "mmlu"
    assert [r["id"] for r in _lines(d / "results.jsonl")] == [it.id for it in items[:8]]  # two batches of 4 kept

    again = LetterBackend()
    outcome = run_suite(suite, again, tmp_path, progress=False)
    assert (outcome.cached, outcome.new) == (8, 7)
    assert again.asked == [it.messages[-1].content for it in items[8:]]
    ids = [r["id"] for r in _lines(d / "results.jsonl")]
    assert sorted(ids) == sorted(it.id for it in items) and len(ids) == len(set(ids))

    third = LetterBackend()
    assert run_suite(suite, third, tmp_path, progress=False).new == 0 and third.calls == 0


def test_a_torn_last_line_is_redone_and_a_corrupt_middle_line_is_reported(tmp_path: Path) -> None:
    suite = _suite()
    run_suite(suite, LetterBackend(), tmp_path, progress=False, limit=6)
    path = tmp_path / "mmlu" / "results.jsonl"
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last_start + 20])  # the kill came halfway through the sixth row
    cache = read_cache(path)
    assert cache.torn_tail and len(cache.results) == 5

    backend = LetterBackend()
    outcome = run_suite(suite, backend, tmp_path, progress=False, limit=6)
    assert outcome.new == 1 and len(backend.asked) == 1
    assert len(_lines(path)) == 6  # the torn text is gone, not glued to the next row

    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"id": "broken\n'
    path.write_bytes(b"".join(lines))
    with pytest.raises(InputError, match=r"results.jsonl:3"):
        run_suite(suite, LetterBackend(), tmp_path, progress=False, limit=6)


def test_results_of_another_model_or_setting_are_not_mixed_in(tmp_path: Path) -> None:
    run_suite(_suite(), LetterBackend(model="first"), tmp_path, progress=False, limit=4)
    with pytest.raises(ConfigError, match="model: 'first' then, 'second' now"):
        run_suite(_suite(), LetterBackend(model="second"), tmp_path, progress=False, limit=4)
    with pytest.raises(ConfigError, match="shots"):
        run_suite(_suite(shots=3), LetterBackend(model="first"), tmp_path, progress=False, limit=4)
    outcome = run_suite(_suite(), LetterBackend(model="second"), tmp_path, progress=False, limit=4, fresh=True)
    assert outcome.new == 4 and outcome.summary["model"] == "second"


def test_same_inputs_give_byte_identical_outputs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run_suite(_suite(), LetterBackend("C"), tmp_path / name, progress=False)
    for f in ("results.jsonl", "summary.json"):
        assert (tmp_path / "a" / "mmlu" / f).read_bytes() == (tmp_path / "b" / "mmlu" / f).read_bytes()


def test_a_suite_must_score_each_item_exactly_once(tmp_path: Path) -> None:
    from agentflan.errors import AgentflanError

    suite = _suite()
    original = suite.run_batch
    suite.run_batch = lambda items, backend: original(items, backend)[:-1]
    with pytest.raises(AgentflanError, match="one result per item"):
        run_suite(suite, LetterBackend(), tmp_path, progress=False)
