"""Agent-H, tool-need and tool steps run end to end on a tiny random model through the runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.evaluate.registry import make_suite
from agentflan.evaluate.runner import run_suite
from agentflan.generation.backends import make_backend
from conftest import shared_path


@pytest.mark.slow
def test_suites_run_and_resume_on_a_tiny_model(tiny_llama_dir: Path, tmp_path: Path) -> None:
    backend = make_backend("hf", str(tiny_llama_dir), device="cpu", batch_size=8)
    answers = str(shared_path("toolbench", "answers"))
    suites = {
        "agent-h": {"size": 4, "tool_need_size": 2, "max_new_tokens": 12},
        "tool-need": {"sources": answers, "builtin": False, "size": 2, "max_new_tokens": 12},
        "tool-steps": {"sources": answers, "max_per_dimension": 1, "similarity": "lexical", "max_new_tokens": 12},
    }
    for name, options in suites.items():
        suite = make_suite(name, **options)
        outcome = run_suite(suite, backend, tmp_path, progress=False)
        n = len(list(suite.items()))
        assert outcome.new == n and outcome.cached == 0
        rows = [json.loads(line) for line in (tmp_path / name / "results.jsonl").read_text().splitlines()]
        assert len(rows) == n and all(isinstance(r["response"], str) for r in rows)
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["suite"] == name and summary["n_items"] == n
        again = run_suite(make_suite(name, **options), backend, tmp_path, progress=False)
        assert again.new == 0 and again.cached == n and again.summary["metrics"] == outcome.summary["metrics"]
    metrics = json.loads((tmp_path / "agent-h" / "summary.json").read_text())["metrics"]
    assert 0.0 <= metrics["H"] <= 100.0 and "tool_need" in metrics
    steps = json.loads((tmp_path / "tool-steps" / "summary.json").read_text())["metrics"]
    assert steps["similarity"] == ["lexical:token-f1"] and set(steps["per_format"]) == {"json", "str"}
