"""``agentflan quickstart``: the whole method on the embedded demo data, in minutes, on a CPU.

build (the demo recipe) -> train (a tiny model from scratch, or a given model) -> evaluate
(Agent-H, tool-need and tool-steps, built from held-out demo trajectories and the demo
questions) -> report (one HTML page). An ablation builds and trains two arms from the same tiny
model and compares them on one page: ``negatives`` (with / without the negative samples),
``format`` (the Agent-FLAN mix / every trajectory in ReAct, no format-following rows),
``balance`` (with / without capability balancing).

Every stage is a library call (recipe, train, evaluate, report); this module only wires them
and decides where the outputs go:

    OUT/quickstart.json        options, status, timings, paths
    OUT/data/                  the demo world's files for the seed (training data, held-out suites)
    OUT/tiny-model/            the untrained tiny model and its tokenizer (no --model)
    OUT/build, OUT/train, OUT/eval          (or OUT/<run>/... for each ablation run)
    OUT/report.html
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from agentflan.conversation import Conversation
from agentflan.demo import HELDOUT, QUESTIONS
from agentflan.errors import ConfigError
from agentflan.generation.gguf import resolve_model
from agentflan.io import write_json

if TYPE_CHECKING:
    from agentflan.recipe.manifest import Manifest

MARKER = "quickstart.json"
DEFAULT_OUT = Path("agentflan-out") / "quickstart"
#: Each ablation's two arms: (run name, recipe variant); see :func:`arm_recipe`.
ABLATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "negatives": (("with-negatives", "full"), ("without-negatives", "no-negatives")),
    "format": (("agent-flan-mix", "full"), ("react-only", "react-only")),
    "balance": (("balanced", "full"), ("unbalanced", "no-balance")),
}
DEFAULT_STEPS = 2400


@dataclass(slots=True)
class QuickstartOptions:
    out: Path = DEFAULT_OUT
    steps: int = DEFAULT_STEPS
    model: str | None = None
    ablation: Literal["negatives", "format", "balance"] | None = None
    seed: int = 0
    #: Score only the first N items of each suite (a smoke run); None: all of them.
    eval_limit: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.steps < 1:
            raise ConfigError(f"--steps must be at least 1, got {self.steps}")
        if self.ablation is not None and self.ablation not in ABLATIONS:
            raise ConfigError(f"unknown ablation {self.ablation!r}; choose one of {', '.join(sorted(ABLATIONS))}")
        if self.eval_limit is not None and self.eval_limit < 1:
            raise ConfigError(f"the evaluation limit must be at least 1, got {self.eval_limit}")


@dataclass(slots=True)
class RunResult:
    """One trained-and-evaluated variant (``main``, or an ablation arm)."""

    name: str
    build: Path
    train: Path
    model: Path
    eval: Path
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class QuickstartResult:
    out: Path
    report: Path
    runs: list[RunResult]
    seconds: dict[str, float]


# --------------------------------------------------------------------------- package data


def settings() -> dict[str, Any]:
    text = (resources.files("agentflan") / "data" / "quickstart" / "settings.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def demo_recipe_path() -> Path:
    """The demo recipe shipped inside the package (a copy of ``recipes/demo.yaml``)."""
    path = Path(str(resources.files("agentflan") / "data" / "recipes" / "demo.yaml"))
    if not path.is_file():
        raise ConfigError(f"the demo recipe is missing from the package ({path}); reinstall agentflan")
    return path


# --------------------------------------------------------------------------- stages


def prepare_out(out: Path) -> None:
    """Use ``out`` only if it is new, empty, or an earlier quickstart's output (replaced)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ConfigError(f"--out {out} is not empty and holds no earlier quickstart ({MARKER}); choose another folder")
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def generate_data(out: Path, seed: int) -> dict[str, Path]:
    """The demo world's files for this seed (:mod:`agentflan.demo.generate`): training data, and
    held-out trajectories and questions for the suites (argument values training never shows)."""
    from agentflan.demo.generate import generate

    return generate(out / "data", seed)


def load_demo_recipe(data: dict[str, Path], seed: int) -> Any:
    """The demo recipe with its demo sources pointed at the generated files."""
    from agentflan.recipe.config import load_recipe

    path = demo_recipe_path()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    overrides = {}
    for name, src in (raw.get("sources") or {}).items():
        spec = src.get("path") if isinstance(src, dict) else None
        if isinstance(spec, str) and Path(spec).name in data:
            overrides[name] = str(data[Path(spec).name])
    return load_recipe(path, sources=overrides, seed=seed)


def arm_recipe(recipe: Any, variant: str, s: dict[str, Any]) -> Any:
    """One ablation arm's recipe: ``full`` as is; ``no-negatives`` without the negatives splits
    (kind ``negatives`` and settings' ``negative_splits``); ``react-only`` with every trajectory
    in ReAct (one split) and no format-following splits (kind ``format_following`` and
    ``format_splits``); ``no-balance`` without capability balancing."""
    from agentflan.recipe.config import AgentSplit

    splits = list(recipe.splits)
    if variant == "no-negatives":
        splits = [x for x in splits if x.kind != "negatives" and x.name not in (s.get("negative_splits") or [])]
    elif variant == "react-only":
        agent = [x for x in splits if isinstance(x, AgentSplit)]
        sources = sorted({src for x in agent for src in x.sources})
        rest = [x for x in splits if x.kind not in ("agent", "format_following") and x.name not in (s.get("format_splits") or [])]
        splits = [AgentSplit(name="demo_react_all", sources=sources, style="react"), *rest]
    elif variant == "no-balance":
        splits = [x.model_copy(update={"balance": None}) if isinstance(x, AgentSplit) else x for x in splits]
    elif variant != "full":
        raise ConfigError(f"unknown recipe variant {variant!r}")
    if variant != "full" and [x.model_dump() for x in splits] == [x.model_dump() for x in recipe.splits]:
        raise ConfigError(f"the demo recipe has nothing that the {variant!r} arm removes; the ablation would compare a run with itself")
    return recipe.model_copy(update={"splits": splits, "name": f"{recipe.name}-{variant}"})


def build_corpus(recipe: Any, out: Path, progress: bool) -> Manifest:
    from agentflan.recipe.build import build
    from agentflan.report.datacard import write_datacard

    return build(
        recipe, out, progress=progress, recipe_path=demo_recipe_path(),
        finish=lambda built, folder: write_datacard(folder / "datacard.html", built),
    )


def corpus_files(build_dir: Path, manifest: Manifest) -> list[Path]:
    """The training files of a build, one per split: the ``native`` copy when the recipe wrote
    one (it keeps the capability spans, so training logs a loss per capability)."""
    files = []
    for name, split in manifest.splits.items():
        rel = split.files.get("native") or next(iter(split.files.values()), None)
        if rel is None:
            raise ConfigError(f"the build wrote no file for split {name!r}")
        files.append(build_dir / rel)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"the build lists {', '.join(str(m) for m in missing)} but did not write it")
    return files


def corpus_texts(files: Iterable[Path]) -> Iterable[str]:
    """Every message text of a built corpus (what the tiny tokenizer is trained on)."""
    from agentflan.sources import read

    for f in files:
        for conv in read(f):
            yield from _texts(conv)


def _texts(conv: Conversation) -> Iterable[str]:
    for m in conv.messages:
        if m.content:
            yield m.content


def init_tiny_model(out: Path, files: list[Path], cfg: dict[str, Any], seed: int) -> Path:
    from agentflan.train.tiny import save_tiny

    return save_tiny(out, list(corpus_texts(files)), arch=cfg.get("arch", "llama"), vocab_size=int(cfg["vocab_size"]),
                     hidden_size=int(cfg["hidden_size"]), layers=int(cfg["layers"]), seed=seed)


def train_model(model: str, files: list[Path], out: Path, options: QuickstartOptions, s: dict[str, Any],
                given: bool, say: Callable[[str], None]) -> dict[str, Any]:
    from agentflan.train.config import load_config
    from agentflan.train.run import run_training

    base = dict(s["train"])
    if given:
        base.update(s.get("train_given_model") or {})
    steps = options.steps
    base.update({
        "model": model,
        "data": [{"path": str(f)} for f in files],
        "output_dir": str(out),
        "max_steps": steps,
        "seed": options.seed,
        "logging_steps": max(1, steps // int(s.get("curve_points", 30))),
        "eval_steps": max(1, steps // 4),
        "save_steps": steps + 1,  # no intermediate checkpoints: the run is minutes long
        "cache_dir": str(out.parent / ".cache" / "tokenized"),
        "resume": False,
    })
    cfg = load_config(None, base=base)
    summary: dict[str, Any] = run_training(cfg, say=say)
    return summary


def evaluate_model(model: Path, out: Path, suites: list[str], data: dict[str, Path], options: QuickstartOptions,
                   s: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.runner import run_suite
    from agentflan.generation.backends import make_backend
    from agentflan.report.evalpage import write_eval_page

    heldout = data[HELDOUT]
    sources = {
        "agent-h": {"sources": [str(heldout)], "general_questions": [str(data[QUESTIONS])]},
        "tool-need": {"sources": [str(heldout)]},
        "tool-steps": {"sources": [str(heldout)]},
    }
    backend = make_backend("hf", str(model), **(s["eval"].get("backend") or {}))
    metrics: dict[str, dict[str, Any]] = {}
    try:
        for name in suites:
            suite_opts = {**(s["eval"]["suites"].get(name) or {}), **sources.get(name, {}), "seed": options.seed}
            suite = make_suite(name, **suite_opts)
            outcome = run_suite(suite, backend, out, limit=options.eval_limit, fresh=True, progress=options.progress)
            metrics[name] = outcome.summary.get("metrics") or {}
    finally:
        backend.close()
    write_eval_page(out)
    return metrics


# --------------------------------------------------------------------------- the whole run


def run_quickstart(options: QuickstartOptions, say: Callable[[str], None] = print) -> QuickstartResult:
    """Build, train, evaluate and report; returns where everything is."""
    from agentflan.report.html import write_report

    s = settings()
    out = options.out
    prepare_out(out)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    write_json(out / MARKER, {"status": "running", "options": _jsonable(asdict(options))})

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        say(f"[{time.perf_counter() - started:6.0f}s] {label}")
        value = fn()
        seconds[label] = round(time.perf_counter() - t0, 2)
        return value

    data = timed("generating the demo world's data", lambda: generate_data(out, options.seed))
    arms = list(ABLATIONS[options.ablation]) if options.ablation else [("main", "full")]
    suites = list(s["eval"]["ablation_suites"]) if options.ablation else list(s["eval"]["suites"])

    builds: dict[str, tuple[Path, list[Path]]] = {}
    for name, variant in arms:
        root = out if name == "main" else out / name
        recipe = arm_recipe(load_demo_recipe(data, options.seed), variant, s)
        manifest = timed(f"building the corpus ({name})", partial(build_corpus, recipe, root / "build", options.progress))
        builds[name] = (root, corpus_files(root / "build", manifest))

    given = options.model is not None
    if options.model is not None:
        init_model = resolve_model(options.model)  # a .gguf file: its converted folder
    else:
        # One tokenizer and one initialisation for every arm, so only the data differs.
        first_files = builds[arms[0][0]][1]
        init_model = str(timed("training the tokenizer and initialising the tiny model",
                               lambda: init_tiny_model(out / "tiny-model", first_files, s["tiny_model"], options.seed)))

    runs: list[RunResult] = []
    for name, _ in arms:
        root, files = builds[name]
        summary = timed(f"training ({name}, {options.steps} steps)",
                        partial(train_model, init_model, files, root / "train", options, s, given, say))
        model = Path(summary.get("merged") or summary["final"])
        metrics = timed(f"evaluating ({name}: {', '.join(suites)})",
                        partial(evaluate_model, model, root / "eval", suites, data, options, s))
        runs.append(RunResult(name, root / "build", root / "train", model, root / "eval", metrics))

    title = "agentflan quickstart" + (f" — {options.ablation} ablation: {' vs '.join(a for a, _ in arms)}" if options.ablation else "")
    report = timed("writing the report", lambda: write_report([out], out / "report.html", title=title))
    seconds["total"] = round(time.perf_counter() - started, 2)
    write_json(out / MARKER, {
        "status": "done",
        "options": _jsonable(asdict(options)),
        "seconds": seconds,
        "report": str(report),
        "runs": [_jsonable(asdict(r)) for r in runs],
    })
    return QuickstartResult(out=out, report=report, runs=runs, seconds=seconds)


def _jsonable(obj: Any) -> Any:
    """Paths and other values as JSON-ready text."""
    return json.loads(json.dumps(obj, default=str))


# --------------------------------------------------------------------------- what to print


def headline(metrics: dict[str, Any]) -> str:
    """The top-level numbers of a suite's summary, e.g. ``H 81.2 · H_ReAct 0.31``."""
    parts = [f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
             and not k.startswith("n")]
    return " · ".join(parts[:5]) or "no numeric metrics"


def describe(result: QuickstartResult) -> str:
    lines = [f"agentflan quickstart: done in {_duration(result.seconds['total'])}", ""]
    for run in result.runs:
        head = "" if run.name == "main" else f"[{run.name}]"
        if head:
            lines.append(head)
        lines += [
            f"  corpus      {run.build}  (data card: {run.build / 'datacard.html'})",
            f"  training    {run.train}  (loss curves: {run.train / 'metrics.csv'})",
            f"  model       {run.model}",
            f"  evaluation  {run.eval}",
        ]
        lines += [f"    {suite:<11} {headline(m)}" for suite, m in run.metrics.items()]
    lines += ["", f"  report      {result.report}", "",
              f"Open the report in a browser; talk to the model with: agentflan chat --model {result.runs[0].model}"]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
