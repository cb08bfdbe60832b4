"""Find and load every build, training and evaluation output under some folders.

The report accepts any folder: a quickstart output, one ``agentflan train`` folder, a tree of
experiments. Outputs are recognised by their fixed files (the team-wide layouts):

- build: ``manifest.json`` (+ ``<split>.jsonl`` beside it);
- training: ``metrics.csv`` and/or ``train_config.json``;
- evaluation: ``<suite>/summary.json`` (+ ``results.jsonl``, ``run.json``).

Each output gets a short label (its path relative to the folders given, with the parts all
outputs of that kind share removed), which names it in tables, legends and comparisons.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agentflan.errors import InputError, Location
from agentflan.evaluate.base import ItemResult
from agentflan.evaluate.results import read_cache
from agentflan.recipe.manifest import Manifest

MANIFEST = "manifest.json"
METRICS = "metrics.csv"
TRAIN_CONFIG = "train_config.json"
SUMMARY = "summary.json"
RESULTS = "results.jsonl"
RUN = "run.json"

# Folders that hold weights, logs or copies, never outputs of their own: not walked into.
_SKIP_DIRS = {"final", "merged", "runs", "native", "__pycache__", "node_modules"}


@dataclass(slots=True)
class BuildOutput:
    path: Path
    manifest: Manifest
    split_files: dict[str, Path]
    label: str = ""


@dataclass(slots=True)
class TrainOutput:
    path: Path
    rows: list[dict[str, Any]]
    config: dict[str, Any]
    label: str = ""

    def series(self, column: str, split: str = "train") -> tuple[list[float], list[float]]:
        """``(steps, values)`` of one column for the rows of one split where it has a value."""
        pts = [(r["step"], r[column]) for r in self.rows if r.get("split", "train") == split
               and isinstance(r.get(column), float) and isinstance(r.get("step"), float)]
        return [p[0] for p in pts], [p[1] for p in pts]


@dataclass(slots=True)
class SuiteOutput:
    suite: str
    path: Path
    summary: dict[str, Any]
    results: list[ItemResult]
    run: dict[str, Any]


@dataclass(slots=True)
class EvalOutput:
    path: Path
    suites: list[SuiteOutput]
    label: str = ""


@dataclass(slots=True)
class Collected:
    roots: list[Path]
    builds: list[BuildOutput] = field(default_factory=list)
    trains: list[TrainOutput] = field(default_factory=list)
    evals: list[EvalOutput] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.builds or self.trains or self.evals)


def collect(dirs: Sequence[str | os.PathLike[str]]) -> Collected:
    """Every output under ``dirs``; a folder holding none is an error naming what was looked for."""
    roots = [Path(d) for d in dirs]
    found = Collected(roots=roots)
    seen: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            raise InputError(str(root), "not a folder")
        before = (len(found.builds), len(found.trains), len(found.evals))
        for folder in _walk(root):
            key = folder.resolve()
            if key in seen:
                continue
            seen.add(key)
            _load_folder(folder, found, is_root=folder == root)
        if before == (len(found.builds), len(found.trains), len(found.evals)):
            raise InputError(
                str(root),
                f"no build, training or evaluation outputs found (looked for {MANIFEST}, {METRICS}, {TRAIN_CONFIG} "
                f"and <suite>/{SUMMARY})",
            )
    _label(found)
    return found


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith((".", "checkpoint-")))
        yield Path(dirpath)


def _load_folder(folder: Path, found: Collected, is_root: bool) -> None:
    if (folder / MANIFEST).is_file():
        found.builds.append(load_build(folder))
    if (folder / METRICS).is_file() or (folder / TRAIN_CONFIG).is_file():
        found.trains.append(load_train(folder))
    suite_dirs = sorted(p.parent for p in folder.glob(f"*/{SUMMARY}"))
    if is_root and (folder / SUMMARY).is_file():
        suite_dirs = [folder]  # a suite folder given directly (``agentflan report out/eval/agent-h``)
    loaded = [load_suite(s) for s in suite_dirs if _is_summary(s / SUMMARY)]
    if loaded:
        found.evals.append(EvalOutput(path=folder, suites=loaded))


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON: {exc}") from None


def _is_summary(path: Path) -> bool:
    data = _read_json(path)
    return isinstance(data, dict) and "suite" in data and isinstance(data.get("metrics"), dict)


def load_build(folder: Path) -> BuildOutput:
    manifest = Manifest.read(folder / MANIFEST)
    splits = {p.stem: p for p in sorted(folder.glob("*.jsonl"))}
    return BuildOutput(path=folder, manifest=manifest, split_files=splits)


def load_train(folder: Path) -> TrainOutput:
    rows: list[dict[str, Any]] = []
    metrics = folder / METRICS
    if metrics.is_file():
        with metrics.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "step" not in reader.fieldnames:
                raise InputError(str(metrics), "not a training metrics file (no 'step' column)", "step")
            for lineno, raw in enumerate(reader, start=2):
                rows.append({k: _cell(v, Location(str(metrics), line=lineno), k) for k, v in raw.items() if k is not None})
    config_path = folder / TRAIN_CONFIG
    config = _read_json(config_path) if config_path.is_file() else {}
    if not isinstance(config, dict):
        raise InputError(str(config_path), "expected a JSON object")
    return TrainOutput(path=folder, rows=rows, config=config)


def _cell(text: str | None, where: Location, column: str) -> Any:
    """Numbers as floats, empty cells as None, the split name as text."""
    if text is None or text == "":
        return None
    if column == "split":
        return text
    try:
        return float(text)
    except ValueError:
        raise InputError(where, f"not a number: {text!r}", column) from None


def load_suite(folder: Path) -> SuiteOutput:
    summary = _read_json(folder / SUMMARY)
    run = _read_json(folder / RUN) if (folder / RUN).is_file() else {}
    # The evaluator's own reader: a torn last line (a killed run) is skipped, other bad lines raise.
    results = read_cache(folder / RESULTS).results
    ids = run.get("item_ids") if isinstance(run, dict) else None
    ordered = [results[i] for i in ids if i in results] if isinstance(ids, list) else list(results.values())
    return SuiteOutput(suite=str(summary.get("suite")), path=folder, summary=summary, results=ordered,
                       run=run if isinstance(run, dict) else {})


# --------------------------------------------------------------------------- labels


def _label(found: Collected) -> None:
    base = _common_parent(found.roots)
    groups: tuple[Sequence[BuildOutput | TrainOutput | EvalOutput], ...] = (found.builds, found.trains, found.evals)
    for group in groups:
        labels = short_labels([_rel(o.path, base) for o in group])
        for o, lab in zip(group, labels, strict=True):
            o.label = lab


def _common_parent(roots: Sequence[Path]) -> Path:
    resolved = [r.resolve() for r in roots]
    if len(resolved) == 1:
        return resolved[0].parent
    return Path(os.path.commonpath([str(r) for r in resolved]))


def _rel(path: Path, base: Path) -> tuple[str, ...]:
    try:
        return path.resolve().relative_to(base).parts
    except ValueError:
        return path.resolve().parts


def short_labels(paths: Sequence[tuple[str, ...]]) -> list[str]:
    """Drop the leading and trailing path parts every path shares, keeping at least one part:
    ``a/with/eval`` and ``a/without/eval`` become ``with`` and ``without``."""
    if not paths:
        return []
    if len(paths) == 1:
        return ["/".join(paths[0][-2:]) or "."]
    parts = [list(p) for p in paths]
    while all(len(p) > 1 for p in parts) and len({p[0] for p in parts}) == 1:
        for p in parts:
            p.pop(0)
    while all(len(p) > 1 for p in parts) and len({p[-1] for p in parts}) == 1:
        for p in parts:
            p.pop()
    labels = ["/".join(p) or "." for p in parts]
    if len(set(labels)) < len(labels):  # e.g. one path is a prefix of another: fall back to full paths
        labels = ["/".join(p) or "." for p in paths]
    return labels
