"""The lm-eval suite: any lm-eval task on our model equals lm-eval's own simple_evaluate (GSM8K on local files),
and tasks that run model-written code (HumanEval) need the explicit opt-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentflan.cli import main
from agentflan.errors import ConfigError
from agentflan.evaluate.lmeval_run import OFFLINE_ENV
from agentflan.evaluate.lmeval_tasks import LMEvalSuite, read_task_yaml
from agentflan.evaluate.registry import make_suite

# GSM8K-format problems written for this test (question, worked answer ending "#### N")
PROBLEMS = [
    ("Tom has 3 apples and buys 4 more. How many apples does he have?", "Tom has 3 + 4 = <<3+4=7>>7 apples.\n#### 7"),
    ("A box holds 6 pens. How many pens are in 5 boxes?", "5 boxes hold 5 * 6 = <<5*6=30>>30 pens.\n#### 30"),
    ("Sara reads 12 pages a day. How many pages does she read in 3 days?", "She reads 12 * 3 = <<12*3=36>>36 pages.\n#### 36"),
    ("A bus has 40 seats and 15 are taken. How many are free?", "40 - 15 = <<40-15=25>>25 seats are free.\n#### 25"),
    ("Ben splits 18 sweets among 3 friends. How many does each get?", "Each gets 18 / 3 = <<18/3=6>>6 sweets.\n#### 6"),
    ("A shop sells 9 cakes in the morning and 11 after noon. How many cakes in all?", "9 + 11 = <<9+11=20>>20 cakes.\n#### 20"),
    ("Lena has 50 dollars and spends 20. How much is left?", "50 - 20 = <<50-20=30>>30 dollars.\n#### 30"),
    ("A garden has 4 rows of 7 plants. How many plants?", "4 * 7 = <<4*7=28>>28 plants.\n#### 28"),
]
N_TEST = 3
# lm-eval's own GSM8K definition pointed at local files, as an lm-eval user writes it
TASK_YAML = """\
include: {template}
task: local_gsm8k
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files:
    test: {test}
    train: {train}
generation_kwargs:
  until: ["Question:", "</s>", "<|im_end|>"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: 24
"""


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _gsm8k_files(tmp_path: Path) -> tuple[Path, Path]:
    rows = [{"question": q, "answer": a} for q, a in PROBLEMS]
    return _write_jsonl(tmp_path / "test.jsonl", rows[:N_TEST]), _write_jsonl(tmp_path / "train.jsonl", rows[N_TEST:])


def _suite(**options: Any) -> LMEvalSuite:
    suite = make_suite("lm-eval", **options)
    assert isinstance(suite, LMEvalSuite)
    return suite


def test_local_files_replace_the_hub_dataset_and_shots_need_their_split(tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    test, train = _gsm8k_files(tmp_path)
    (spec,), _ = _suite(tasks="gsm8k", data=f"gsm8k={test},gsm8k:train={train}").task_specs(tmp_path / "w")
    written = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
    assert written["include"].endswith("gsm8k/gsm8k.yaml")  # lm-eval's own definition; only the documents' source changes
    assert written["dataset_path"] == "json" and written["dataset_kwargs"] == {"data_files": {"test": str(test), "train": str(train)}}
    merged = read_task_yaml(Path(spec))
    assert merged["doc_to_text"] == "Question: {{question}}\nAnswer:" and merged["fewshot_split"] == "train"
    with pytest.raises(ConfigError, match=r"gsm8k takes 5 few-shot examples .* gsm8k:SPLIT=FILE"):
        _suite(tasks="gsm8k", data=f"gsm8k={test}").task_specs(tmp_path / "w")
    (zero,), _ = _suite(tasks="gsm8k", data=f"gsm8k={test}", num_fewshot=0).task_specs(tmp_path / "w0")
    assert read_task_yaml(Path(zero))["fewshot_split"] is None
    with pytest.raises(ConfigError, match="not in tasks="):
        _suite(tasks="gsm8k", data=f"mmlu={test}")
    with pytest.raises(ConfigError, match="no such file"):
        _suite(tasks="gsm8k", data=f"gsm8k={tmp_path / 'missing.jsonl'}")
    with pytest.raises(ConfigError, match="knows no task 'gsm9k'"):
        _suite(tasks="gsm9k", data=f"gsm9k={test}").task_specs(tmp_path / "w")


def _lm_eval_alone(tiny: Path, test: Path, train: Path, tasks_dir: Path) -> dict[str, Any]:
    import lm_eval
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    template = Path(lm_eval.tasks.__file__).parent / "gsm8k" / "gsm8k.yaml"
    (tasks_dir / "local_gsm8k.yaml").write_text(TASK_YAML.format(template=template, test=test, train=train), encoding="utf-8")
    out = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={tiny},dtype=float32", tasks=["local_gsm8k"], batch_size=2,
                                  device="cpu", log_samples=True, task_manager=TaskManager(include_path=str(tasks_dir)), bootstrap_iters=0)
    assert out is not None
    return out


def offline_gsm8k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """Hub access off on both sides, the GSM8K files written, and a tasks folder holding
    ``gsm8k_short``: (test file, train file, tasks folder)."""
    for key, value in OFFLINE_ENV.items():  # nothing may come from the hub on either side
        monkeypatch.setenv(key, value)
    test, train = _gsm8k_files(tmp_path)
    tasks_dir = tmp_path / "tasks"
    tasks_dir.mkdir()
    _short_gsm8k(tasks_dir)
    return test, train, tasks_dir


def _short_gsm8k(tasks_dir: Path) -> None:
    """lm-eval's GSM8K with the generation budget of TASK_YAML (its default 256 tokens is slow on 2 cores)."""
    (tasks_dir / "gsm8k_short.yaml").write_text(
        f"include: {Path(__import__('lm_eval.tasks', fromlist=['x']).__file__).parent / 'gsm8k' / 'gsm8k.yaml'}\n"
        "task: gsm8k_short\ngeneration_kwargs:\n  until: [\"Question:\", \"</s>\", \"<|im_end|>\"]\n  do_sample: false\n"
        "  temperature: 0.0\n  max_gen_toks: 24\n", encoding="utf-8")


@pytest.mark.slow
def test_gsm8k_equals_lm_eval_simple_evaluate(tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lm_eval")
    test, train, tasks_dir = offline_gsm8k(tmp_path, monkeypatch)
    assert main(["eval", "lm-eval", "--model", str(tiny_llama_dir), "--device", "cpu", "--batch-size", "2", "--tasks", "gsm8k_short",
                 "--include-path", str(tasks_dir), "--data", f"gsm8k_short={test},gsm8k_short:train={train}",
                 "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "lm-eval" / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "lm-eval" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    alone = _lm_eval_alone(tiny_llama_dir, test, train, tasks_dir)
    assert summary["n_items"] == len(rows) == N_TEST and summary["metrics"]["n_shot"] == {"gsm8k_short": 5}
    for key in ("exact_match,strict-match", "exact_match,flexible-extract"):
        assert summary["metrics"]["gsm8k_short"][key] == round(100 * alone["results"]["local_gsm8k"][key], 2)
    theirs = {(s["doc_id"], s["filter"]): s for s in alone["samples"]["local_gsm8k"]}
    for r in rows:
        doc = int(r["id"].rsplit("/", 1)[1])
        assert r["response"] == theirs[(doc, "strict-match")]["resps"][0][0]  # the same prompt, shots and greedy text
        for flt in ("strict-match", "flexible-extract"):
            assert r["scores"][flt]["response"] == theirs[(doc, flt)]["filtered_resps"]
            assert r["scores"][flt]["exact_match"] == theirs[(doc, flt)]["exact_match"]
    assert all(r["response"] for r in rows)  # the model's own text (a random model repeats itself: the same on both sides)
    assert set(summary["metrics"]["gsm8k_short"]) == {"exact_match,strict-match", "exact_match,flexible-extract"}


def test_code_executing_tasks_need_the_explicit_opt_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """HumanEval runs model-written code: without confirm_run_unsafe_code it is refused before any model loads."""
    pytest.importorskip("lm_eval")
    rows = [{"task_id": "T/0", "prompt": "def add(a, b):\n", "canonical_solution": "    return a + b\n",
             "test": "def check(f):\n    assert f(2, 3) == 5\n", "entry_point": "add"}]
    data = _write_jsonl(tmp_path / "HumanEval.jsonl", rows)
    with pytest.raises(ConfigError, match=r"humaneval execute.*--confirm-run-unsafe-code"):
        _suite(tasks="humaneval", data=f"humaneval={data}").check_unsafe_code()
    # the command refuses before it touches a model or server (nothing listens on port 9)
    assert main(["eval", "lm-eval", "--model", "m", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                 "--tasks", "humaneval", "--data", f"humaneval={data}", "--out", str(tmp_path / "out")]) != 0
    assert "--confirm-run-unsafe-code" in capsys.readouterr().err
    _suite(tasks="humaneval", data=f"humaneval={data}", confirm_run_unsafe_code=True).check_unsafe_code()
    _suite(tasks="gsm8k").check_unsafe_code()  # nothing to confirm
    (spec,), _ = _suite(tasks="humaneval", data=f"humaneval={data}", confirm_run_unsafe_code=True).task_specs(tmp_path / "w")
    assert read_task_yaml(Path(spec))["doc_to_text"] == "{{prompt}}"  # lm-eval's HumanEval on the local rows


@pytest.mark.slow
def test_gsm8k_over_an_openai_server_equals_lm_evals_own_local_completions(tiny_llama_dir: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval lm-eval --tasks gsm8k --backend openai` against a real HTTP server on 127.0.0.1 whose /v1/completions
    generates with the tiny model: the same prompts reach the server, and the same generations, filtered answers
    and exact-match scores come back as from lm-eval's own `local-completions` run with the same model args."""
    pytest.importorskip("lm_eval")
    import lm_eval
    from lm_eval.tasks import TaskManager

    from model_completions import ModelCompletions
    from openai_stub import StubServer

    test, train, tasks_dir = offline_gsm8k(tmp_path, monkeypatch)
    template = Path(lm_eval.tasks.__file__).parent / "gsm8k" / "gsm8k.yaml"
    (tasks_dir / "local_gsm8k.yaml").write_text(TASK_YAML.format(template=template, test=test, train=train), encoding="utf-8")

    def asked(bodies: list[dict[str, Any]]) -> list[str]:
        """Each distinct request (a request retried after a client timeout on a loaded machine counts once)."""
        return sorted({json.dumps({k: b[k] for k in ("prompt", "stop", "max_tokens", "temperature")}, sort_keys=True) for b in bodies})

    with StubServer(complete=ModelCompletions(tiny_llama_dir)) as server:
        assert main(["eval", "lm-eval", "--backend", "openai", "--base-url", server.url, "--model", "tiny", "--tokenizer", str(tiny_llama_dir),
                     "--concurrency", "2", "--timeout", "600", "--tasks", "gsm8k_short", "--include-path", str(tasks_dir),
                     "--data", f"gsm8k_short={test},gsm8k_short:train={train}", "--out", str(tmp_path / "out")]) == 0
        ours = asked(server.bodies)
        server.bodies.clear()
        alone = lm_eval.simple_evaluate(
            model="local-completions", model_args=f"base_url={server.url}/completions,model=tiny,tokenizer={tiny_llama_dir},"
            "tokenizer_backend=huggingface,num_concurrent=2,timeout=600", tasks=["local_gsm8k"], log_samples=True,
            task_manager=TaskManager(include_path=str(tasks_dir)), bootstrap_iters=0)
        theirs_asked = asked(server.bodies)
    assert alone is not None
    assert len(ours) == N_TEST and ours == theirs_asked  # generation only (no log-prob probe), the same few-shot prompts
    summary = json.loads((tmp_path / "out" / "lm-eval" / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "lm-eval" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary["backend"] == "openai" and summary["n_items"] == len(rows) == N_TEST
    for key in ("exact_match,strict-match", "exact_match,flexible-extract"):
        assert summary["metrics"]["gsm8k_short"][key] == round(100 * alone["results"]["local_gsm8k"][key], 2)
    theirs = {(s["doc_id"], s["filter"]): s for s in alone["samples"]["local_gsm8k"]}
    for r in rows:
        doc = int(r["id"].rsplit("/", 1)[1])
        assert r["response"] and r["response"] == theirs[(doc, "strict-match")]["resps"][0][0]
        for flt in ("strict-match", "flexible-extract"):
            assert r["scores"][flt]["response"] == theirs[(doc, flt)]["filtered_resps"]
            assert r["scores"][flt]["exact_match"] == theirs[(doc, flt)]["exact_match"]
