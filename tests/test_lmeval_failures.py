"""`eval mmlu` and `eval lm-eval` on a real server on 127.0.0.1 that fails some requests: the failed items are listed
with why, the rest scored, exit status 1, and a rerun asks the server only what it did not answer before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentflan.cli import main
from agentflan.errors import InputError
from agentflan.evaluate.lmeval_requests import RequestStore
from agentflan.evaluate.mmlu_lmeval import OFFLINE_ENV
from conftest import shared_path

# anatomy test question 2 (of the real MMLU CSV): every request of that item fails while `down` is set
NEEDLE = "collects urine"


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _prompt_text(body: dict[str, Any], tokenizer: Any) -> str:
    """A completions request's prompt as text (lm-eval sends a batch of token-id lists)."""
    prompt = body["prompt"]
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], list):
        (prompt,) = prompt
    return prompt if isinstance(prompt, str) else str(tokenizer.decode(prompt))


def _summary(out: Path, suite: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / suite / "summary.json").read_text(encoding="utf-8"))
    return summary


def test_the_request_file_keeps_whole_lines_and_refuses_a_corrupt_middle(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    store = RequestStore(path)
    store.add("a", [-1.5, True])
    store.add("b", "text")
    store.close()
    with path.open("ab") as fh:
        fh.write(b'{"key": "c", "ans')  # a line torn by a kill
    again = RequestStore(path)
    assert again.answers == {"a": [-1.5, True], "b": "text"}
    again.add("c", "after the tear")
    again.close()
    assert RequestStore(path).answers["c"] == "after the tear"
    path.write_bytes(b'{"key": "a", "answer": 1}\nnot json\n{"key": "b", "answer": 2}\n')
    with pytest.raises(InputError, match=r"requests.jsonl:2: not an answered request"):
        RequestStore(path)


def _mmlu(root: Path, out: Path, url: str, tiny: Path, *extra: str) -> list[str]:
    return ["eval", "mmlu", "--data", str(root), "--subjects", "anatomy", "--per-subject", "6", "--shots", "1", "--out", str(out),
            "--backend", "openai", "--base-url", url, "--model", "tiny", "--tokenizer", str(tiny), "--max-retries", "1", *extra]


@pytest.mark.slow
def test_mmlu_on_a_failing_server_scores_the_rest_and_a_rerun_asks_only_the_failed(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from model_completions import ModelCompletions
    from openai_stub import StubServer

    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    root = shared_path("mmlu")
    model = ModelCompletions(tiny_llama_dir)
    state = {"down": "needle"}

    def text(body: dict[str, Any]) -> str:
        return _prompt_text(body, model.tokenizer)

    def fault(body: dict[str, Any], attempt: int) -> Any:
        if state["down"] == "all" and body.get("max_tokens") == 1 and "capital of France" not in text(body):
            return 500
        return 500 if state["down"] == "needle" and NEEDLE in text(body) else "ok"

    out = tmp_path / "api"
    with StubServer(complete=model, fault=fault) as server:
        assert main(_mmlu(root, out, server.url, tiny_llama_dir, "--concurrency", "1")) == 1
        first = [text(b) for b in server.bodies]
        assert capsys.readouterr().out.count("1 of 6 items failed after the backend's retries") == 1
        failed = _read(out / "mmlu" / "failed.jsonl")
        assert [f["id"] for f in failed] == ["anatomy/2"] and "500" in failed[0]["error"]
        rows = {r["id"]: r["scores"] for r in _read(out / "mmlu" / "results.jsonl")}
        summary = _summary(out, "mmlu")
        assert sorted(rows) == ["anatomy/0", "anatomy/1", "anatomy/3", "anatomy/4", "anatomy/5"]
        assert (summary["n_items"], summary["n_failed"], summary["n_scored"]) == (6, 1, 5)
        assert summary["metrics"]["accuracy"] == round(100 * sum(bool(s["correct"]) for s in rows.values()) / 5, 2)
        # lm-eval's call stops at the item's first request (asked twice: one retry); then its four requests are asked alone
        assert sum(NEEDLE in t for t in first) == 2 + 4 * 2

        state["down"] = "none"
        server.bodies.clear()
        assert main(_mmlu(root, out, server.url, tiny_llama_dir, "--concurrency", "1")) == 0
        asked = [text(b) for b in server.bodies if "capital of France" not in text(b)]  # the log-prob probe aside
        assert len(asked) == 4 and all(NEEDLE in t for t in asked)
        assert not (out / "mmlu" / "failed.jsonl").exists() and _summary(out, "mmlu")["n_failed"] == 0
        resumed = {r["id"]: r["scores"] for r in _read(out / "mmlu" / "results.jsonl")}

        # the same run on a healthy server into a fresh folder: the kept answers are the server's answers
        assert main(_mmlu(root, tmp_path / "clean", server.url, tiny_llama_dir, "--concurrency", "2")) == 0
        clean = {r["id"]: r["scores"] for r in _read(tmp_path / "clean" / "mmlu" / "results.jsonl")}
        assert resumed.keys() == clean.keys() and len(clean) == 6
        for key, scores in clean.items():
            assert resumed[key]["choice"] == scores["choice"]
            assert resumed[key]["loglikelihoods"] == pytest.approx(scores["loglikelihoods"], abs=1e-4)
            if key in rows:
                assert rows[key]["loglikelihoods"] == pytest.approx(scores["loglikelihoods"], abs=1e-4)
        assert _summary(out, "mmlu")["metrics"] == _summary(tmp_path / "clean", "mmlu")["metrics"]

        # a server that answers nothing stops the run after a few requests instead of failing every item
        state["down"] = "all"
        server.bodies.clear()
        capsys.readouterr()
        assert main(_mmlu(root, tmp_path / "down", server.url, tiny_llama_dir, "--concurrency", "2", "--max-retries", "0")) != 0
        assert "none of the last 8 requests could be answered, so the run stops" in capsys.readouterr().err
        assert len(server.bodies) <= 1 + 24 + 8  # the probe, lm-eval's one call, then eight asked alone


@pytest.mark.slow
def test_gsm8k_on_a_failing_server_scores_the_rest_and_a_rerun_asks_only_the_failed(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generation requests, lm-eval's concurrent path: lm-eval's own aggregation over the answered items."""
    from model_completions import ModelCompletions
    from openai_stub import StubServer
    from test_lmeval_tasks import PROBLEMS, offline_gsm8k

    test, train, tasks_dir = offline_gsm8k(tmp_path, monkeypatch)
    model = ModelCompletions(tiny_llama_dir)
    needle = PROBLEMS[1][0]  # the second test problem; the shots come from the train file
    state = {"down": True}

    def text(body: dict[str, Any]) -> str:
        return _prompt_text(body, model.tokenizer)

    def fault(body: dict[str, Any], attempt: int) -> Any:
        return 503 if state["down"] and needle in text(body) else "ok"

    def args(url: str, out: Path) -> list[str]:
        return ["eval", "lm-eval", "--backend", "openai", "--base-url", url, "--model", "tiny", "--tokenizer", str(tiny_llama_dir),
                "--concurrency", "2", "--max-retries", "1", "--timeout", "600", "--tasks", "gsm8k_short", "--include-path",
                str(tasks_dir), "--data", f"gsm8k_short={test},gsm8k_short:train={train}", "--out", str(out)]

    out = tmp_path / "out"
    with StubServer(complete=model, fault=fault) as server:
        assert main(args(server.url, out)) == 1
        failed = _read(out / "lm-eval" / "failed.jsonl")
        assert [f["id"] for f in failed] == ["gsm8k_short/1"] and "503" in failed[0]["error"]
        rows = _read(out / "lm-eval" / "results.jsonl")
        assert [r["id"] for r in rows] == ["gsm8k_short/0", "gsm8k_short/2"]
        summary = _summary(out, "lm-eval")
        assert (summary["n_items"], summary["n_failed"], summary["n_scored"]) == (3, 1, 2)
        for flt in ("strict-match", "flexible-extract"):  # lm-eval's mean over the two answered items, not the three
            assert summary["metrics"]["gsm8k_short"][f"exact_match,{flt}"] == round(100 * sum(r["scores"][flt]["exact_match"] for r in rows) / 2, 2)

        state["down"] = False
        server.bodies.clear()
        assert main(args(server.url, out)) == 0
        assert [needle in text(b) for b in server.bodies] == [True]  # only the failed item's request; no log-prob probe
        server.bodies.clear()
        assert main(args(server.url, tmp_path / "clean")) == 0
        assert len({text(b) for b in server.bodies}) == 3
    resumed, clean = _read(out / "lm-eval" / "results.jsonl"), _read(tmp_path / "clean" / "lm-eval" / "results.jsonl")
    assert [(r["id"], r["response"], r["scores"]) for r in resumed] == [(r["id"], r["response"], r["scores"]) for r in clean]
    assert _summary(out, "lm-eval")["metrics"] == _summary(tmp_path / "clean", "lm-eval")["metrics"]
    assert [r["response"] for r in rows] == [r["response"] for r in clean if r["id"] != "gsm8k_short/1"]
