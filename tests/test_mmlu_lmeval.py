"""MMLU's default mode is lm-evaluation-harness's scoring: `agentflan eval mmlu` equals lm-eval run on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.cli import main
from agentflan.evaluate.mmlu_lmeval import OFFLINE_ENV, lm_eval_template
from conftest import shared_path

SUBJECTS = ("anatomy", "virology")
PER_SUBJECT = 12

# lm-eval's own MMLU template, pointed at local CSVs the way an lm-eval user would write it.
TASK_YAML = """\
include: {template}
task: local_mmlu_{subject}
dataset_path: csv
dataset_name: null
dataset_kwargs:
  data_files:
    test: {root}/test/{subject}_test.csv
    dev: {root}/dev/{subject}_dev.csv
  header: null
  column_names: [question, a, b, c, d, letter]
process_docs: !function local_docs.process
description: "The following are multiple choice questions (with answers) about {title}.\\n\\n"
"""
PROCESS = """\
def process(dataset):
    return dataset.map(lambda r: {"choices": [r["a"], r["b"], r["c"], r["d"]], "answer": "ABCD".index(r["letter"].strip())})
"""


def _lm_eval_alone(tiny: Path, root: Path, tasks_dir: Path) -> dict[str, dict[str, object]]:
    """Accuracy and per-question picks of lm-eval's simple_evaluate, with its own HF loading and task files."""
    import lm_eval
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    template = Path(lm_eval.tasks.__file__).parent / "mmlu" / "default" / "_default_template_yaml"
    (tasks_dir / "local_docs.py").write_text(PROCESS, encoding="utf-8")
    for s in SUBJECTS:
        text = TASK_YAML.format(template=template, subject=s, root=root, title=s.replace("_", " "))
        (tasks_dir / f"local_mmlu_{s}.yaml").write_text(text, encoding="utf-8")
    out = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={tiny},dtype=float32", tasks=[f"local_mmlu_{s}" for s in SUBJECTS],
        num_fewshot=5, limit=PER_SUBJECT, batch_size=4, device="cpu", log_samples=True,
        task_manager=TaskManager(include_path=str(tasks_dir)), bootstrap_iters=0,
    )
    assert out is not None
    return {
        s: {"acc": out["results"][f"local_mmlu_{s}"]["acc,none"],
            "picks": {f"{s}/{x['doc_id']}": "ABCD"[max(range(4), key=lambda i: x["filtered_resps"][i][0])] for x in out["samples"][f"local_mmlu_{s}"]},
            "loglik": {f"{s}/{x['doc_id']}": [float(r[0]) for r in x["filtered_resps"]] for x in out["samples"][f"local_mmlu_{s}"]}}
        for s in SUBJECTS
    }


@pytest.mark.slow
def test_agentflan_mmlu_equals_lm_eval_simple_evaluate(tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in OFFLINE_ENV.items():  # nothing may come from the hub on either side
        monkeypatch.setenv(key, value)
    root = shared_path("mmlu")
    assert main(["eval", "mmlu", "--model", str(tiny_llama_dir), "--device", "cpu", "--batch-size", "4", "--data", str(root),
                 "--subjects", ",".join(SUBJECTS), "--per-subject", str(PER_SUBJECT), "--out", str(tmp_path / "out")]) == 0
    table = capsys.readouterr().out
    assert "accuracy" in table and "loglikelihood" in table
    summary = json.loads((tmp_path / "out" / "mmlu" / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "mmlu" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == summary["n_items"] == PER_SUBJECT * len(SUBJECTS)
    assert summary["metrics"]["mode"] == "loglikelihood" and summary["metrics"]["scorer"].startswith("lm-eval 0.4")

    tasks_dir = tmp_path / "tasks"
    tasks_dir.mkdir()
    alone = _lm_eval_alone(tiny_llama_dir, root, tasks_dir)
    ours = {r["id"]: r["scores"]["choice"] for r in rows}
    for s in SUBJECTS:
        assert summary["metrics"]["per_subject"][s] == round(100.0 * float(alone[s]["acc"]), 2)  # type: ignore[arg-type]
        assert {k: v for k, v in ours.items() if k.startswith(f"{s}/")} == alone[s]["picks"]
        for r in rows:
            if r["id"].startswith(f"{s}/"):
                assert r["scores"]["loglikelihoods"] == pytest.approx(alone[s]["loglik"][r["id"]], abs=1e-4)  # type: ignore[index]
    correct = sum(r["scores"]["correct"] for r in rows)
    assert summary["metrics"]["accuracy"] == round(100.0 * correct / len(rows), 2) and 0 < correct < len(rows)
    # the scores are the model's, not a constant: they differ from question to question
    assert len({tuple(r["scores"]["loglikelihoods"]) for r in rows}) == len(rows)


def test_the_task_is_lm_evals_own_template() -> None:
    template = lm_eval_template()
    assert template["doc_to_text"].endswith("Answer:") and template["doc_to_choice"] == ["A", "B", "C", "D"]
    assert template["fewshot_config"] == {"sampler": "first_n"} and template["output_type"] == "multiple_choice"


def _mmlu_args(root: Path, out: Path) -> list[str]:
    return ["eval", "mmlu", "--data", str(root), "--subjects", "anatomy", "--per-subject", "6", "--shots", "1", "--out", str(out)]


def _rows(out: Path) -> dict[str, dict[str, object]]:
    lines = (out / "mmlu" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r["scores"] for r in map(json.loads, lines)}


@pytest.mark.slow
def test_mmlu_on_an_openai_server_equals_the_local_model(tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lm-eval's local-completions on a real server (the tiny model's own log-probs over HTTP) scores as HFLM locally."""
    from model_completions import ModelCompletions
    from openai_stub import StubServer

    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    root = shared_path("mmlu")
    assert main([*_mmlu_args(root, tmp_path / "hf"), "--model", str(tiny_llama_dir), "--device", "cpu", "--batch-size", "4"]) == 0
    with StubServer(complete=ModelCompletions(tiny_llama_dir)) as server:
        assert main([*_mmlu_args(root, tmp_path / "api"), "--backend", "openai", "--base-url", server.url, "--model", "tiny",
                     "--tokenizer", str(tiny_llama_dir), "--concurrency", "1"]) == 0
    prompts = [b["prompt"] for b in server.bodies if b.get("echo")]
    assert prompts and all(b.get("logprobs") == 1 and b.get("max_tokens") == 1 for b in server.bodies if b.get("echo"))
    local, remote = _rows(tmp_path / "hf"), _rows(tmp_path / "api")
    assert local.keys() == remote.keys() and len(local) == 6
    for key, scores in local.items():
        assert remote[key]["choice"] == scores["choice"] and remote[key]["correct"] == scores["correct"]
        assert remote[key]["loglikelihoods"] == pytest.approx(scores["loglikelihoods"], abs=1e-3)
    summary = json.loads((tmp_path / "api" / "mmlu" / "summary.json").read_text(encoding="utf-8"))
    assert summary["backend"] == "openai" and summary["metrics"]["mode"] == "loglikelihood"
    assert summary["metrics"]["accuracy"] == json.loads((tmp_path / "hf" / "mmlu" / "summary.json").read_text(encoding="utf-8"))["metrics"]["accuracy"]


def test_a_server_without_prompt_logprobs_is_refused_with_the_reason(tiny_llama_dir: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from model_completions import ModelCompletions
    from openai_stub import StubServer

    root = shared_path("mmlu")
    with StubServer(complete=ModelCompletions(tiny_llama_dir, prompt_logprobs=False)) as server:
        code = main([*_mmlu_args(root, tmp_path / "api"), "--backend", "openai", "--base-url", server.url, "--model", "tiny",
                     "--tokenizer", str(tiny_llama_dir)])
    assert code != 0
    err = capsys.readouterr().err
    assert "needs a completions endpoint that returns the prompt's log-probs" in err and "--mode generative" in err
    assert len(server.bodies) == 1  # the probe only: nothing was scored
