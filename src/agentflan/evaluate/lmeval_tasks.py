"""Any lm-evaluation-harness task on our backends' models, scored by lm-eval itself (suite ``lm-eval``).

``tasks`` names lm-eval tasks (``gsm8k``, ``humaneval``, ``arc_easy``... or tasks in
``include_path``). Their definitions are lm-eval's own, read from the installed package; with
``data``, a task's documents come from local files instead of the hub (``gsm8k=test.jsonl``
gives its test split, ``gsm8k:train=train.jsonl`` another split: GSM8K draws its five shots
from ``train``; the files hold the fields the task reads: GSM8K ``question``/``answer``,
HumanEval the ``HumanEval.jsonl`` rows ``task_id``/``prompt``/``test``/``entry_point``...).

Tasks that execute model-written code (HumanEval, MBPP: lm-eval's ``unsafe_code``) run only
with ``confirm_run_unsafe_code``, lm-eval's own opt-in, passed through; run them in a sandbox.
HumanEval's pass@k is lm-eval's ``code_eval`` metric from Hugging Face ``evaluate``, which
loads from the hub once and from its cache after that.

Per item, ``results.jsonl`` holds lm-eval's per-filter metrics and filtered responses; the
summary holds lm-eval's task results, as percentages, under lm-eval's own metric keys. On a server,
an item with a request that still fails after the retries is listed in ``failed.jsonl`` and left out of
those results, and a rerun asks only the requests not answered before
(:mod:`agentflan.evaluate.lmeval_requests`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TextIO

from agentflan.errors import ConfigError
from agentflan.evaluate.base import EvalItem, ItemResult, Suite
from agentflan.evaluate.lmeval_run import failed_docs, lm_eval_version, lm_run, simple_evaluate, write_outcome
from agentflan.evaluate.registry import split_specs, suite_options
from agentflan.evaluate.runner import RunOutcome
from agentflan.generation.base import Backend
from agentflan.options import option

_SPLIT_KEYS = ("training_split", "validation_split", "test_split", "fewshot_split")
_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass(slots=True)
class LMEvalOptions:
    tasks: list[str] | str | None = option(None, "lm-eval task names, e.g. gsm8k,humaneval (or tasks defined in --include-path)", none="none; required", metavar="A,B")
    data: list[str] | str | None = option(
        None, "local files for a task's splits: TASK=FILE (its test split) or TASK:SPLIT=FILE (.json/.jsonl/.csv/.parquet)",
        none="lm-eval's own dataset (from the hub or its cache)", metavar="T=F,T:S=F",
    )
    include_path: str | None = option(None, "folder of extra lm-eval task YAMLs", none="lm-eval's own tasks only", metavar="DIR")
    num_fewshot: int | None = option(None, "few-shot examples per prompt", none="each task's own", metavar="N")
    confirm_run_unsafe_code: bool = option(
        False, "allow tasks that execute model-written code (humaneval, mbpp): lm-eval's confirm_run_unsafe_code; use a sandbox"
    )
    tokenizer: str | None = option(
        None, "openai backend: the served model's Hugging Face tokenizer folder (lm-eval counts prompt tokens with it)",
        none="the served model name", metavar="DIR",
    )


class LMEvalSuite(Suite):
    """Runs whole through lm-eval (:func:`run_lm_eval`): lm-eval builds, generates and scores the items."""

    name: ClassVar[str] = "lm-eval"

    def __init__(self, options: LMEvalOptions):
        self.options = options
        self.tasks = split_specs(options.tasks)
        if not self.tasks:
            raise ConfigError("lm-eval needs tasks= (lm-eval task names, e.g. gsm8k,humaneval)")
        self.files = _data_files(split_specs(options.data))
        unknown = sorted(set(self.files) - set(self.tasks))
        if unknown:
            raise ConfigError(f"data= names task(s) {', '.join(unknown)} that are not in tasks= ({', '.join(self.tasks)})")

    def describe(self) -> dict[str, Any]:
        return {"suite": self.name, **asdict(self.options)}

    def items(self) -> Iterator[EvalItem]:
        raise ConfigError("the lm-eval suite's items are lm-eval's own: run it with `agentflan eval lm-eval`, not `eval score`")

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        return {"n": sum(1 for _ in results)}

    def task_specs(self, work_dir: Path) -> tuple[list[str], Any]:
        """What ``simple_evaluate`` gets: a task's name, or for a task with local files a YAML written to
        ``work_dir`` that includes lm-eval's own definition and changes only where the documents come from."""
        import yaml

        manager = task_manager(self.options.include_path)
        specs: list[str] = []
        for task in self.tasks:
            if task not in self.files:
                specs.append(task)
                continue
            source = self.task_yaml(task, manager)
            override = _local(task, read_task_yaml(source), self.files[task], self.options.num_fewshot)
            work_dir.mkdir(parents=True, exist_ok=True)
            path = work_dir / f"{task}.yaml"
            path.write_text(yaml.safe_dump({"include": str(source), **override}, sort_keys=False), encoding="utf-8")
            specs.append(str(path))
        return specs, manager

    def task_yaml(self, task: str, manager: Any) -> Path:
        entry = manager.task_index.get(task)
        if entry is None or getattr(entry, "yaml_path", None) is None:
            raise ConfigError(f"lm-eval knows no task {task!r} defined in YAML (lm-eval {lm_eval_version()}; add one with include_path=)")
        return Path(entry.yaml_path)

    def check_unsafe_code(self) -> None:
        """lm-eval's own opt-in for tasks that execute model-written code, checked before any model loads."""
        manager = task_manager(self.options.include_path)
        unsafe = [t for t in self.tasks if read_task_yaml(self.task_yaml(t, manager)).get("unsafe_code")]
        if unsafe and not self.options.confirm_run_unsafe_code:
            raise ConfigError(
                f"{', '.join(unsafe)} execute(s) the model's code to score it: pass confirm_run_unsafe_code "
                "(--confirm-run-unsafe-code, lm-eval's own opt-in), preferably in a sandbox"
            )


@cache
def task_manager(include_path: str | None) -> Any:
    """lm-eval's task index (built once per process: it reads every task YAML lm-eval ships)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_path)


def read_task_yaml(path: Path) -> dict[str, Any]:
    """An lm-eval task YAML with its includes merged, read by lm-eval's own loader (``!function`` left unimported)."""
    try:
        from lm_eval.tasks._yaml_loader import load_yaml
    except ImportError:  # lm-eval before 0.4.10
        from lm_eval.utils import load_yaml_config

        config: dict[str, Any] = load_yaml_config(str(path), mode="simple")
        return config
    return load_yaml(path, resolve_func=False)


def _data_files(specs: list[str]) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = {}
    for spec in specs:
        key, eq, path = spec.partition("=")
        task, _, split = key.partition(":")
        if not eq or not task or not path:
            raise ConfigError(f"data= entries are TASK=FILE or TASK:SPLIT=FILE, got {spec!r}")
        if Path(path).suffix not in _BUILDERS:
            raise ConfigError(f"{path}: lm-eval reads local {', '.join(_BUILDERS)} files")
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file (data= for task {task})")
        files.setdefault(task, {})[split] = path  # "": the split the task is scored on
    return files


def _local(task: str, config: dict[str, Any], files: dict[str, str], num_fewshot: int | None) -> dict[str, Any]:
    """What changes in ``config`` to read ``files`` (split -> path): splits not given are dropped, shots need theirs."""
    builders = {_BUILDERS[Path(p).suffix] for p in files.values()}
    if len(builders) > 1:
        raise ConfigError(f"data= for task {task}: give every split in one file type")
    scored = config.get("test_split") or config.get("validation_split") or "test"
    files = {split or scored: path for split, path in files.items()}
    override: dict[str, Any] = {"task": task, "dataset_path": builders.pop(), "dataset_name": None, "dataset_kwargs": {"data_files": files}}
    for key in _SPLIT_KEYS:
        if config.get(key) is not None and config[key] not in files:
            override[key] = None
    splits = {k: override.get(k, config.get(k)) for k in _SPLIT_KEYS}
    shots = num_fewshot if num_fewshot is not None else int(config.get("num_fewshot") or 0)
    if shots and not (splits["fewshot_split"] or splits["training_split"] or splits["validation_split"]):
        raise ConfigError(
            f"task {task} takes {shots} few-shot examples from a split not given: add data= {task}:SPLIT=FILE "
            f"(lm-eval's {task} reads them from {config.get('fewshot_split')!r}) or num_fewshot=0"
        )
    return override


def run_lm_eval(suite: LMEvalSuite, backend: Backend, out_dir: str | Path, *, limit: int | None = None, fresh: bool = False,
                console: TextIO | None = None) -> RunOutcome:
    """lm-eval's ``simple_evaluate`` on ``backend``'s model (``limit``: the first N items per task); its per-item
    samples and task results written as every suite's. Items with a request the server failed are listed in
    ``failed.jsonl``, and the task results are lm-eval's aggregations over the other items."""
    suite.check_unsafe_code()
    specs, manager = suite.task_specs(Path(out_dir) / suite.name / "tasks")
    needs_loglik = any(read_task_yaml(suite.task_yaml(t, manager)).get("output_type") != "generate_until" for t in suite.tasks)
    o = suite.options
    with lm_run(suite.name, {"suite": suite.describe()}, backend, out_dir, fresh=fresh, tokenizer=o.tokenizer,
                loglikelihood=needs_loglik) as lm:
        out = simple_evaluate(lm, specs, task_manager=manager, num_fewshot=o.num_fewshot, limit=limit,
                              confirm_run_unsafe_code=o.confirm_run_unsafe_code)
        failed = failed_docs(lm)
    results = [_item(task, sample) for task in sorted(out["samples"]) for sample in _by_doc(out["samples"][task])]
    task_results = _answered(out, set(failed), manager, specs) if failed else out["results"]
    metrics: dict[str, Any] = {task: _task_metrics(values) for task, values in sorted(task_results.items())}
    metrics |= {"scorer": f"lm-eval {lm_eval_version()}", "n_shot": out.get("n-shot", {})}
    why = {f"{task}/{doc}": reason for (task, doc), reason in sorted(failed.items())}
    return write_outcome(suite.name, backend, [r for r in results if r.id not in why], metrics, out_dir, console, list(why.items()))


def _answered(out: dict[str, Any], failed: set[tuple[str, int]], manager: Any, specs: list[str]) -> dict[str, Any]:
    """lm-eval's task and group results over the documents not in ``failed``: each task's own aggregation of its
    samples' metric values (the tasks loaded again only for their aggregation functions, as lm-eval applies them)."""
    from lm_eval.api.metrics import mean

    loaded = manager.load(specs)
    results: dict[str, Any] = {}
    for name, task in loaded["tasks"].items():
        values: dict[tuple[str, str], list[Any]] = {}
        for s in out["samples"].get(name, []):
            if (name, int(s["doc_id"])) not in failed:
                for metric in s["metrics"]:
                    values.setdefault((metric, s["filter"]), []).append(s[metric])
        aggregation = task.aggregation()
        results[name] = {f"{m},{f}": aggregation.get(m, mean)(v) for (m, f), v in values.items()}
        results[name]["sample_len"] = max(map(len, values.values()), default=0)
    for name, group in loaded["groups"].items():
        results[name] = group.aggregate(results)
    return results


def _by_doc(samples: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """lm-eval logs one sample per document and filter; one item per document, filters side by side."""
    docs: dict[int, list[dict[str, Any]]] = {}
    for s in samples:
        docs.setdefault(int(s["doc_id"]), []).append(s)
    return [docs[d] for d in sorted(docs)]


def _item(task: str, samples: list[dict[str, Any]]) -> ItemResult:
    scores: dict[str, Any] = {}
    for s in samples:
        metrics = {m: s[m] for m in s.get("metrics", []) if m in s}
        scores[str(s.get("filter", "none"))] = {**metrics, "response": _json_safe(s.get("filtered_resps"))}
    first = samples[0]
    response = first.get("resps", [[""]])
    text = response[0][0] if response and isinstance(response[0], list) and response[0] and isinstance(response[0][0], str) else ""
    return ItemResult(f"{task}/{first['doc_id']}", text, scores, {"task": task})


def _task_metrics(values: dict[str, Any]) -> dict[str, Any]:
    """lm-eval's task result, each metric (``name,filter``) as a percentage; stderr (not bootstrapped) and counts left out."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if "," not in key or "_stderr" in key or not isinstance(value, int | float):
            continue
        out[key] = round(100.0 * float(value), 2)
    return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def make_suite(**options: Any) -> LMEvalSuite:
    """Options: ``tasks``, ``data``, ``include_path``, ``num_fewshot``, ``confirm_run_unsafe_code``, ``tokenizer``."""
    return LMEvalSuite(suite_options(LMEvalOptions, "lm-eval", options))
