"""MMLU scored as lm-evaluation-harness scores it: log-likelihood of " A" ... " D" after the plain prompt.

The task is lm-eval's own MMLU definition (``lm_eval/tasks/mmlu/default/_default_template_yaml``:
its prompt, first-n few-shot sampler and ``acc`` metric, read from the installed package, never
copied), with one change: the documents come from the local CSVs that :class:`MMLUSuite` reads
and checks (a bad row is a located error), handed to lm-eval as a ready dataset, so nothing is
downloaded. The model is the ``hf`` backend's loaded model and tokenizer, wrapped in lm-eval's
``HFLM``. The same ``results.jsonl`` and ``summary.json`` as any suite are written; per item
the four log-likelihoods, the chosen letter and whether it is right.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from agentflan.errors import ConfigError
from agentflan.evaluate.base import ItemResult
from agentflan.evaluate.mmlu import LETTERS, MMLUSuite, Question, read_questions
from agentflan.evaluate.results import (
    RESULTS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    append_results,
    format_table,
    versions,
    write_summary,
)
from agentflan.evaluate.runner import RunOutcome
from agentflan.generation.base import Backend
from agentflan.io import atomic_open

#: lm-eval reads these before it touches the hub; every input here is local.
OFFLINE_ENV = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
TASK_PREFIX = "agentflan_mmlu_"


def lm_eval_template() -> dict[str, Any]:
    """lm-eval's own MMLU task template, from the installed package."""
    import yaml

    try:
        text = resources.files("lm_eval.tasks.mmlu.default").joinpath("_default_template_yaml").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError(f"MMLU's log-likelihood mode needs lm-evaluation-harness: pip install 'agentflan[eval]' ({exc})") from None
    template: dict[str, Any] = yaml.safe_load(text)
    return template


def task_config(subject: str, questions: Sequence[Question], shots: Sequence[Question]) -> dict[str, Any]:
    """lm-eval's MMLU task for one subject, its documents given as a ready dataset."""
    config = lm_eval_template()
    for key in ("dataset_path", "dataset_name"):
        config.pop(key, None)
    config.update(
        task=TASK_PREFIX + subject,
        description=f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n",
        custom_dataset=_dataset(subject, questions, shots),
        test_split="test",
        fewshot_split="dev",
    )
    return config


def _dataset(subject: str, questions: Sequence[Question], shots: Sequence[Question]) -> Callable[..., Any]:
    def build(**_: Any) -> Any:
        import datasets

        def rows(qs: Sequence[Question]) -> list[dict[str, Any]]:
            return [{"question": q.question, "subject": subject, "choices": list(q.choices), "answer": LETTERS.index(q.answer)} for q in qs]

        return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows(questions)), "dev": datasets.Dataset.from_list(rows(shots))})

    return build


def run_mmlu_loglikelihood(
    suite: MMLUSuite, backend: Backend, out_dir: str | Path, *, limit: int | None = None, console: TextIO | None = None
) -> RunOutcome:
    """Score ``suite``'s questions with lm-eval on the ``hf`` backend's model; ``limit`` caps questions per subject."""
    from agentflan.generation.backends.hf import HFBackend

    if not isinstance(backend, HFBackend):
        raise ConfigError(
            f"MMLU's default mode compares log-likelihoods and needs the local model (--backend hf); backend "
            f"{backend.name!r} gives text only: use --mode generative (scored by the first A-D letter, not comparable "
            "to lm-eval's numbers)"
        )
    os.environ.update(OFFLINE_ENV)
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    # the generative mode's questions, ``--limit`` included: the first N of the subjects' round-robin
    wanted = {item.id for item in itertools.islice(suite.items(), limit)}
    chosen = {s: [q for q in qs if f"{s}/{q.index}" in wanted] for s, qs in suite.questions().items()}
    chosen = {s: qs for s, qs in chosen.items() if qs}
    tasks = [task_config(s, qs, _dev(suite, s)) for s, qs in chosen.items()]
    lm = HFLM(pretrained=backend.lm, tokenizer=backend.tokenizer, batch_size=backend.batch_size, max_length=backend.max_length)
    out = lm_eval.simple_evaluate(
        model=lm, tasks=tasks, num_fewshot=suite.options.shots, log_samples=True, bootstrap_iters=0, verbosity="WARNING",
    )
    if out is None:
        raise ConfigError("lm-eval returned no results")
    results = [_item(s, qs, sample) for s, qs in chosen.items() for sample in out["samples"][TASK_PREFIX + s]]
    directory = Path(out_dir) / suite.name
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_open(directory / RESULTS_FILE, "wb") as fh:
        append_results(fh, results)
    (directory / RUN_FILE).unlink(missing_ok=True)  # no per-item cache: lm-eval scores the whole set at once
    metrics = {**suite.summarize(results), "mode": "loglikelihood", "scorer": f"lm-eval {lm_eval.__version__} (acc)"}
    summary = {"suite": suite.name, "model": backend.model, "backend": backend.name, "metrics": metrics,
               "n_items": len(results), "versions": versions()}
    write_summary(directory / SUMMARY_FILE, summary)
    if console is not None:
        console.write(format_table(summary))
        console.flush()
    return RunOutcome(suite=suite.name, directory=directory, summary=summary, new=len(results), cached=0)


def _dev(suite: MMLUSuite, subject: str) -> list[Question]:
    if not suite.options.shots:
        return []
    dev = read_questions(suite.root / "dev" / f"{subject}_dev.csv", subject)
    if len(dev) < suite.options.shots:
        raise ConfigError(f"{subject} has {len(dev)} dev questions, fewer than shots={suite.options.shots}")
    return dev


def _item(subject: str, questions: Sequence[Question], sample: dict[str, Any]) -> ItemResult:
    loglik = [float(r[0]) for r in sample["filtered_resps"]]
    choice = LETTERS[max(range(len(loglik)), key=loglik.__getitem__)]
    scores = {"choice": choice, "correct": sample["acc"] == 1.0, "loglikelihoods": loglik}
    return ItemResult(f"{subject}/{questions[sample['doc_id']].index}", choice, scores, {"subject": subject})
