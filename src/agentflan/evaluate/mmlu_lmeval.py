"""MMLU scored as lm-evaluation-harness scores it: log-likelihood of " A" ... " D" after the plain prompt.

The task is lm-eval's own MMLU definition (``lm_eval/tasks/mmlu/default/_default_template_yaml``:
its prompt, first-n few-shot sampler and ``acc`` metric, read from the installed package, never
copied), with one change: the documents come from the local CSVs that :class:`MMLUSuite` reads
and checks (a bad row is a located error), handed to lm-eval as a ready dataset, so nothing is
downloaded. The model is lm-eval's own model class for the backend
(:func:`agentflan.evaluate.lmeval_run.lm_eval_model`: ``HFLM`` around the ``hf`` backend's loaded
model, ``local-completions`` on an OpenAI-compatible server that returns prompt log-probs). The
same ``results.jsonl``, ``summary.json`` and ``failed.jsonl`` as any suite are written; per item the four
log-likelihoods, the chosen letter and whether it is right. On a server, a question whose request still
fails after the retries is left out of the scores and listed, and a rerun asks only what was not answered
(:mod:`agentflan.evaluate.lmeval_requests`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from agentflan.errors import ConfigError
from agentflan.evaluate.base import ItemResult
from agentflan.evaluate.lmeval_run import (
    OFFLINE_ENV,
    failed_docs,
    lm_eval_version,
    lm_run,
    simple_evaluate,
    write_outcome,
)
from agentflan.evaluate.mmlu import LETTERS, MMLUSuite, Question, read_questions
from agentflan.evaluate.runner import RunOutcome
from agentflan.generation.base import Backend

__all__ = ["OFFLINE_ENV", "lm_eval_template", "run_mmlu_loglikelihood", "task_config"]
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
    suite: MMLUSuite, backend: Backend, out_dir: str | Path, *, limit: int | None = None, fresh: bool = False,
    console: TextIO | None = None,
) -> RunOutcome:
    """Score ``suite``'s questions with lm-eval on ``backend``'s model; ``limit``: the first N questions (as the
    generative mode takes them). A question the server failed is listed in ``failed.jsonl`` and left out of the scores."""
    from agentflan.generation.backends.hf import HFBackend
    from agentflan.generation.backends.openai_backend import OpenAIBackend

    if not isinstance(backend, HFBackend | OpenAIBackend):
        raise ConfigError(
            f"MMLU's default mode compares log-likelihoods, which the {backend.name!r} backend does not give: use --backend hf "
            "or openai (a server returning prompt log-probs), or --mode generative (scored by the first A-D letter, not "
            "comparable to lm-eval's numbers)"
        )
    # the generative mode's questions, ``--limit`` included: the first N of the subjects' round-robin
    order = [item.id for item in itertools.islice(suite.items(), limit)]
    wanted = set(order)
    chosen = {s: [q for q in qs if f"{s}/{q.index}" in wanted] for s, qs in suite.questions().items()}
    chosen = {s: qs for s, qs in chosen.items() if qs}
    tasks = [task_config(s, qs, _dev(suite, s)) for s, qs in chosen.items()]
    with lm_run(suite.name, {"suite": suite.describe()}, backend, out_dir, fresh=fresh, tokenizer=suite.options.tokenizer) as lm:
        out = simple_evaluate(lm, tasks, num_fewshot=suite.options.shots)
        failed = {f"{task.removeprefix(TASK_PREFIX)}/{chosen[task.removeprefix(TASK_PREFIX)][doc].index}": why
                  for (task, doc), why in failed_docs(lm).items()}
    results = [_item(s, qs, sample) for s, qs in chosen.items() for sample in out["samples"][TASK_PREFIX + s]]
    results = [r for r in results if r.id not in failed]
    metrics = {**suite.summarize(results), "mode": "loglikelihood", "scorer": f"lm-eval {lm_eval_version()} (acc)"}
    return write_outcome(suite.name, backend, results, metrics, out_dir, console, [(i, failed[i]) for i in order if i in failed])


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
