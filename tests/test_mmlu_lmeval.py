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
