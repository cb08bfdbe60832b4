"""One self-contained HTML page from collected build, training and evaluation outputs.

No network is needed to view it: CSS is inline, every plot is an inline SVG from
:mod:`agentflan.report.plots`, and there is no script. Everything that comes from data (labels,
metric names, configs) is HTML-escaped by the template (Jinja2 autoescaping); only our own SVG
is inserted raw. The page has no timestamp, so the same outputs give the same bytes.
"""

from __future__ import annotations

import functools
import html
import itertools
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agentflan import __version__
from agentflan.conversation import CAPABILITIES
from agentflan.io import atomic_open
from agentflan.jsonutil import dumps
from agentflan.recipe.manifest import Count
from agentflan.report import headline, plots
from agentflan.report.collect import BuildOutput, Collected, EvalOutput, SuiteOutput, TrainOutput, collect
from agentflan.report.evalpage import item_charts

LOSS_UNIT = "loss (nats per supervised token)"
STEP_UNIT = "step (optimizer steps)"
CAPABILITY_COLUMNS = [f"loss_{c}" for c in (*CAPABILITIES, "untagged")]
#: breakdowns with more categories than this (per item, per sample) stay in the tables
ITEM_CHART_CATEGORIES = 8


@dataclass(slots=True)
class Figure:
    title: str
    xlabel: str
    ylabel: str
    svg: str
    #: the axis the values run along ("x" for horizontal bars), where the unit belongs
    value_axis: str = "y"


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(slots=True)
class Block:
    """One output (or one comparison): its figures, tables, notes and the configs that made it."""

    heading: str
    path: str = ""
    notes: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    #: long tables, shown collapsed
    details: list[Table] = field(default_factory=list)
    configs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Section:
    id: str
    heading: str
    intro: str
    blocks: list[Block]


class _Plotter:
    """Calls the shared plot helpers and gives every SVG its own id prefix (several inline SVGs
    in one page must not share ids such as ``clip path`` references)."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def _wrap(self, svg: str, title: str, xlabel: str, ylabel: str, value_axis: str = "y") -> Figure:
        prefix = f"f{next(self._n)}-"
        svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
        svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
        return Figure(title=title, xlabel=xlabel, ylabel=ylabel, svg=svg, value_axis=value_axis)

    def bar(self, values: Mapping[str, Any], *, title: str, xlabel: str, ylabel: str, horizontal: bool = False) -> Figure:
        clean: dict[str, Any] = {
            str(k): ({str(c): float(x) for c, x in v.items()} if isinstance(v, Mapping) else float(v)) for k, v in values.items()
        }
        if horizontal:  # the categories run up the y axis and the values along x
            xlabel, ylabel = ylabel, xlabel
        svg = plots.bar_chart(clean, title=title, xlabel=xlabel, ylabel=ylabel, horizontal=horizontal)
        return self._wrap(svg, title, xlabel, ylabel, "x" if horizontal else "y")

    def line(self, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str, xlabel: str, ylabel: str) -> Figure:
        svg = plots.line_chart(dict(series), title=title, xlabel=xlabel, ylabel=ylabel)
        return self._wrap(svg, title, xlabel, ylabel)

    def raw(self, svg: str) -> Figure:
        """An SVG made elsewhere with the shared helpers (e.g. the evaluator's per-item charts)."""
        return self._wrap(svg, _group_text(svg, "plot-title"), _group_text(svg, "plot-xlabel"), _group_text(svg, "plot-ylabel"))


def _group_text(svg: str, gid: str) -> str:
    m = re.search(rf'<g id="{gid}">\s*<text[^>]*>(.*?)</text>', svg, flags=re.S)
    return html.unescape(m.group(1)) if m else ""


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _pretty(obj: Any) -> str:
    return dumps(obj, indent=True, sort_keys=True)


def _flatten(metrics: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _is_count(name: str) -> bool:
    """Item counts (``n``, ``n_samples``, ``items``) are not scores, whatever their range."""
    low = name.lower()
    return low in ("n", "items", "n_items") or low.startswith("n_") or low.endswith(("_n", "_count"))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------- build (data card)


def _capability_counts(side: Mapping[str, Count], what: str) -> dict[str, float]:
    """Spans or tokens per capability on one side (before/after balancing) of a build."""
    return {c: float(getattr(v, what)) for c, v in side.items()}


def build_block(build: BuildOutput, plot: _Plotter) -> Block:
    """The data card from ``manifest.json``: split composition, capabilities, supervision, inputs."""
    m = build.manifest
    block = Block(heading=f"Data: {build.label}", path=str(build.path))
    splits = m.splits
    counter = m.token_counter or "tokens"
    token_unit = f"supervised tokens (count, {counter})"
    if splits:
        rows = {name: float(s.rows) for name, s in splits.items()}
        block.figures.append(plot.bar(rows, title="Split composition", xlabel="split", ylabel="rows (conversations)",
                                      horizontal=len(rows) > 8))
        turns: Counter[int] = Counter()
        for s in splits.values():
            turns.update(s.turns_per_row)
        if turns:
            block.figures.append(plot.bar({str(k): turns[k] for k in sorted(turns)}, title="Turns per conversation",
                                          xlabel="turns in a conversation (messages)", ylabel="rows (conversations)"))
        block.tables.append(Table(
            columns=["split", "kind", "rows", "by source"],
            rows=[[name, s.kind, _fmt(s.rows), ", ".join(f"{k} {_fmt(v)}" for k, v in s.by_source.items())]
                  for name, s in splits.items()],
            caption="Splits"))
    caps = m.capabilities
    spans = {w: _capability_counts(side, "spans") for side, w in ((caps.before, "before balancing"), (caps.after, "after balancing"))}
    if any(spans.values()):
        block.figures.append(plot.bar(spans, title="Supervised spans per capability", xlabel="capability",
                                      ylabel="supervised spans (count)"))
    tokens = {w: _capability_counts(side, "tokens") for side, w in ((caps.before, "before balancing"), (caps.after, "after balancing"))}
    if any(tokens.values()):
        block.figures.append(plot.bar(tokens, title="Supervised tokens per capability", xlabel="capability", ylabel=token_unit))
        cap_rows = [[c, _fmt(int(tokens["before balancing"].get(c, 0))), _fmt(int(tokens["after balancing"].get(c, 0)))]
                    for c in tokens["before balancing"]]
        cap_rows.append(["untagged", "", _fmt(caps.untagged_supervised_tokens)])
        block.tables.append(Table(columns=["capability", "tokens before", "tokens after"], rows=cap_rows,
                                  caption=f"Supervised tokens ({counter})"))
    if m.inputs:
        block.tables.append(Table(
            columns=["source", "format", "read", "kept", "rejected"],
            rows=[[name, i.format or "detected", _fmt(i.conversations), _fmt(i.kept), _fmt(i.rejected)]
                  for name, i in m.inputs.items()],
            caption="Inputs"))
    if build.split_files:
        block.notes.append("Split files: " + ", ".join(p.name for p in build.split_files.values()))
    if not (splits or any(tokens.values())):
        block.notes.append("This manifest has no split or capability counts.")
    block.configs.append(("manifest.json (recipe, inputs, seeds, versions)", _pretty(m.to_dict())))
    return block


# --------------------------------------------------------------------------- training


def train_block(train: TrainOutput, plot: _Plotter) -> Block:
    block = Block(heading=f"Training: {train.label}", path=str(train.path))
    if train.rows:
        curves = {f"{split} loss": train.series("loss", split) for split in ("train", "eval")}
        curves = {k: v for k, v in curves.items() if v[0]}
        if curves:
            block.figures.append(plot.line(curves, title="Training loss", xlabel=STEP_UNIT, ylabel=LOSS_UNIT))
        for split in ("train", "eval"):
            caps = {c.removeprefix("loss_"): train.series(c, split) for c in CAPABILITY_COLUMNS}
            caps = {k: v for k, v in caps.items() if v[0]}
            if caps:
                block.figures.append(plot.line(caps, title=f"Loss per capability ({split} split)", xlabel=STEP_UNIT,
                                               ylabel=LOSS_UNIT))
        lr = train.series("learning_rate")
        if lr[0]:
            block.figures.append(plot.line({"learning rate": lr}, title="Learning-rate schedule", xlabel=STEP_UNIT,
                                           ylabel="learning rate (per step)"))
        block.tables.append(Table(columns=["quantity", "value"], rows=_train_summary(train), caption="Final values"))
    else:
        block.notes.append("No metrics.csv rows yet.")
    if train.config:
        block.configs.append(("train_config.json", _pretty(train.config)))
    return block


def _train_summary(train: TrainOutput) -> list[list[str]]:
    rows: list[list[str]] = []
    steps = [r["step"] for r in train.rows if _is_number(r.get("step"))]
    if steps:
        rows.append(["last step", _fmt(int(max(steps)))])
    for split in ("train", "eval"):
        for col in ("loss", *CAPABILITY_COLUMNS):
            ys = train.series(col, split)[1]
            if ys:
                rows.append([f"{split} {col} (last)", _fmt(ys[-1])])
    tokens = [r["tokens"] for r in train.rows if _is_number(r.get("tokens"))]
    if tokens:
        rows.append(["tokens (last logged)", _fmt(int(tokens[-1]))])
    return rows


# --------------------------------------------------------------------------- evaluation


def eval_block(ev: EvalOutput, plot: _Plotter) -> Block:
    block = Block(heading=f"Evaluation: {ev.label}", path=str(ev.path))
    for s in ev.suites:
        summary = s.summary
        metrics = summary.get("metrics") or {}
        head = [[k, _fmt(v)] for k, v in metrics.items() if not isinstance(v, Mapping)]
        block.tables.append(Table(columns=["metric", "value"], rows=head,
                                  caption=f"{s.suite}: {summary.get('model')} ({summary.get('backend')}), {summary.get('n_items')} items"))
        block.figures.extend(_breakdown_charts(s.suite, metrics, plot))
        block.figures.extend(plot.raw(svg) for svg in item_charts(s.suite, s.results, max_categories=ITEM_CHART_CATEGORIES))
        block.details.append(Table(columns=["metric", "value"], rows=[[k, _fmt(v)] for k, v in _flatten(metrics)],
                                   caption=f"{s.suite}: every metric of summary.json"))
        block.configs.append((f"{s.suite}: run.json and versions", _pretty({"run": _run_without_ids(s.run),
                                                                             "versions": summary.get("versions")})))
    return block


def _breakdown_charts(suite: str, metrics: Mapping[str, Any], plot: _Plotter) -> list[Figure]:
    """Grouped bars for each breakdown in a summary shaped ``{group: {metric: rate}}`` (e.g.
    ``per_prompt``): one bar group per metric, one colour per group; rates only (0 to 1)."""
    figures = []
    hundred = hundred_scale(suite)
    for key, value in metrics.items():
        if not isinstance(value, Mapping) or not value or not all(isinstance(g, Mapping) for g in value.values()):
            continue
        top, scale, ylabel = (100.0, 1.0, "score (0–100 points)") if key in hundred else (1.0, 100.0, "rate (% of items)")
        groups = {str(g): {m: scale * float(x) for m, x in inner.items() if _is_number(x) and 0.0 <= x <= top and not _is_count(m)}
                  for g, inner in value.items()}
        groups = {g: v for g, v in groups.items() if v}
        if groups and len(groups) <= ITEM_CHART_CATEGORIES:
            figures.append(plot.bar(groups, title=f"{suite}: {key.replace('_', ' ')}", xlabel="metric", ylabel=ylabel))
    return figures


@functools.cache
def _scales() -> dict[str, list[str]]:
    text = (resources.files("agentflan") / "data" / "report" / "scales.yaml").read_text(encoding="utf-8")
    loaded: dict[str, list[str]] = yaml.safe_load(text) or {}
    return loaded


def hundred_scale(suite: str) -> set[str]:
    """The metrics a suite reports on a 0-100 scale (``data/report/scales.yaml``)."""
    return set(_scales().get(suite) or ())


def _run_without_ids(run: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in run.items() if k != "item_ids"}
    if isinstance(run.get("item_ids"), list):
        out["items"] = len(run["item_ids"])
    return out


# --------------------------------------------------------------------------- comparisons


def compare_evals(evals: Sequence[EvalOutput], plot: _Plotter) -> list[Block]:
    """Per suite run more than once: top-level metrics side by side (grouped bars per run)."""
    by_suite: dict[str, list[tuple[str, SuiteOutput]]] = defaultdict(list)
    for ev in evals:
        for s in ev.suites:
            by_suite[s.suite].append((ev.label, s))
    blocks = []
    for suite, runs in by_suite.items():
        if len(runs) < 2:
            continue
        block = Block(heading=f"Compare {suite}")
        metrics = {label: {k: v for k, v in (s.summary.get("metrics") or {}).items() if _is_number(v)} for label, s in runs}
        names = list(dict.fromkeys(k for m in metrics.values() for k in m))
        hundred = hundred_scale(suite)
        rates = [k for k in names if k not in hundred and all(0.0 <= m.get(k, 0.0) <= 1.0 for m in metrics.values())]
        scores = [k for k in names if k in hundred or (k not in rates and not _is_count(k)
                  and all(0.0 <= m.get(k, 0.0) <= 100.0 for m in metrics.values()))]
        if any(m.get(k) for m in metrics.values() for k in rates):  # no chart of all-zero bars
            block.figures.append(plot.bar({lab: {k: 100.0 * m.get(k, 0.0) for k in rates} for lab, m in metrics.items()},
                                          title=f"{suite}: rates per run", xlabel="metric", ylabel="rate (% of items)"))
        if any(m.get(k) for m in metrics.values() for k in scores):
            block.figures.append(plot.bar({lab: {k: m.get(k, 0.0) for k in scores} for lab, m in metrics.items()},
                                          title=f"{suite}: scores per run", xlabel="metric", ylabel="score (0–100 points)"))
        top = {label: {k: v for k, v in (s.summary.get("metrics") or {}).items() if not isinstance(v, Mapping)} for label, s in runs}
        top_names = list(dict.fromkeys(k for m in top.values() for k in m))
        block.tables.append(Table(columns=["metric", *top], rows=[[k, *[_fmt(m.get(k)) for m in top.values()]] for k in top_names],
                                  caption=f"{suite}: headline metrics, one column per run"))
        all_names = list(dict.fromkeys(k for _, s in runs for k, _ in _flatten(s.summary.get("metrics") or {})))
        flat = {label: dict(_flatten(s.summary.get("metrics") or {})) for label, s in runs}
        block.details.append(Table(columns=["metric", *flat], rows=[[k, *[_fmt(f.get(k)) for f in flat.values()]] for k in all_names],
                                   caption=f"{suite}: every metric, one column per run"))
        blocks.append(block)
    return blocks


def compare_trains(trains: Sequence[TrainOutput], plot: _Plotter) -> list[Block]:
    runs = [t for t in trains if t.rows]
    if len(runs) < 2:
        return []
    block = Block(heading="Compare training runs")
    block.figures.append(plot.line({t.label: t.series("loss") for t in runs if t.series("loss")[0]},
                                   title="Training loss per run", xlabel=STEP_UNIT, ylabel=LOSS_UNIT))
    last: dict[str, dict[str, float]] = {}
    for t in runs:
        vals = {c.removeprefix("loss_"): t.series(c)[1][-1] for c in CAPABILITY_COLUMNS if t.series(c)[1]}
        if vals:
            last[t.label] = vals
    if last:
        block.figures.append(plot.bar(last, title="Last logged training loss per capability", xlabel="capability",
                                      ylabel=LOSS_UNIT))
    return [block]


def compare_builds(builds: Sequence[BuildOutput], plot: _Plotter) -> list[Block]:
    if len(builds) < 2:
        return []
    block = Block(heading="Compare builds")
    rows = {b.label: {n: float(s.rows) for n, s in b.manifest.splits.items()} for b in builds}
    if any(rows.values()):
        block.figures.append(plot.bar(rows, title="Rows per split per build", xlabel="split", ylabel="rows (conversations)"))
    tokens = {b.label: _capability_counts(b.manifest.capabilities.after, "tokens") for b in builds}
    if any(tokens.values()):
        block.figures.append(plot.bar(tokens, title="Supervised tokens per capability per build", xlabel="capability",
                                      ylabel="supervised tokens (count)"))
    return [block] if block.figures else []


# --------------------------------------------------------------------------- page


def headline_section(found: Collected) -> Section | None:
    """Per run side by side: Agent-H, tool-need, tool steps, supervised tokens; warnings; replies."""
    values = headline.headline_values(found)
    columns, rows = headline.headline_rows(values)
    samples = Table(["run", "suite", "item", "right?", "model reply"], headline.sample_replies(found), "Sample model replies")
    block = Block(heading="The scores that matter", notes=headline.warnings(values), details=[samples] if samples.rows else [],
                  tables=[Table(columns=columns, rows=[[_fmt(c) for c in r] for r in rows], caption="one column per run")])
    return None if not rows else Section("headline", "Headline", "What the tuned model does, per run.", [block])


def sections(found: Collected) -> list[Section]:
    plot = _Plotter()
    top = headline_section(found)
    out = [top] if top is not None else []
    comparisons = compare_evals(found.evals, plot) + compare_trains(found.trains, plot) + compare_builds(found.builds, plot)
    if comparisons:
        out.append(Section("compare", "Side by side", "Outputs of the same kind next to each other.", comparisons))
    if found.builds:
        out.append(Section("data", "Data card", "What the built corpus holds: splits, capabilities, supervision.",
                           [build_block(b, plot) for b in found.builds]))
    if found.trains:
        out.append(Section("training", "Training", "Loss curves from metrics.csv, total and per capability.",
                           [train_block(t, plot) for t in found.trains]))
    if found.evals:
        out.append(Section("evaluation", "Evaluation", "Metrics from each suite's summary.json and per-item charts.",
                           [eval_block(e, plot) for e in found.evals]))
    return out


def render(found: Collected, title: str = "agentflan report", base: Path | None = None) -> str:
    """The page; paths are shown relative to ``base`` (the report's folder) when given."""
    import jinja2

    def shown(path: str | Path) -> str:
        return os.path.relpath(Path(path).resolve(), base.resolve()) if base is not None and str(path) else str(path)

    parts = sections(found)
    for block in (b for section in parts for b in section.blocks):
        block.path = shown(block.path)

    template_text = (resources.files("agentflan") / "data" / "report" / "report.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(template_text).render(
        title=title,
        version=__version__,
        # the page's own folder reads as its name ("qs/"), not as "."
        roots=[shown(r) if shown(r) != "." else f"{Path(r).resolve().name}/" for r in found.roots],
        sections=parts,
    )


def write_report(dirs: Sequence[str | Path], out: str | Path, title: str = "agentflan report") -> Path:
    """Collect the outputs under ``dirs`` and write the page to ``out`` atomically."""
    target = Path(out)
    page = render(collect(dirs), title=title, base=target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(target) as fh:
        fh.write(page)
    return target
