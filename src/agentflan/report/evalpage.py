"""The evaluation page: ``OUT/index.html`` with every suite under OUT, its metric table and the
charts any suite gets from its per-item scores (the report reuses those charts)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from agentflan.evaluate.base import ItemResult
from agentflan.evaluate.results import RESULTS_FILE, RUN_FILE, SUMMARY_FILE, flatten, format_value, read_cache
from agentflan.io import atomic_open
from agentflan.report.plots import bar_chart, histogram

HTML_FILE = "index.html"
CHART_BARS = 20


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def item_charts(suite: str, results: Sequence[ItemResult], max_categories: int = 60) -> list[str]:
    """Charts any suite gets from its per-item scores: yes/no scores as % of items (overall and
    by each categorical meta field), numeric scores as histograms."""
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


def _failed(summary: dict[str, Any]) -> str:
    """Items the backend could not answer are counted beside the total: the metrics leave them out."""
    n = summary.get("n_failed")
    if not n:
        return ""
    return f" · <strong>{int(n)} failed</strong> (not in the metrics; why in failed.jsonl; a rerun retries them)"


def write_eval_page(out_dir: Path) -> Path:
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
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(format_value(v))}</td></tr>" for k, v in flatten(summary.get("metrics") or {})
        )
        charts = "".join(f"<figure>{svg}</figure>" for svg in item_charts(str(summary.get("suite")), results))
        sections.append(
            f"<section><h2>{html.escape(str(summary.get('suite')))}</h2>"
            f"<p>model <code>{html.escape(str(summary.get('model')))}</code> · backend {html.escape(str(summary.get('backend')))}"
            f" · {summary.get('n_items')} items{_failed(summary)}</p>"
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
