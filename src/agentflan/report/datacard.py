"""The data card of a build: one self-contained HTML page made from the manifest alone.

Plots (inline SVG from :mod:`agentflan.report.plots`): rows per split and source, supervised
tokens per capability before and after balancing, and turns per row. Tables: inputs with
their checksums, splits, capability ratios. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

from agentflan.conversation import CAPABILITIES
from agentflan.io import atomic_open
from agentflan.recipe.manifest import Manifest

MAX_BARS = 30

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{font-size:90%}.note{color:#8a5a00}
figure{margin:1em 0}svg{max-width:100%;height:auto}
"""


def write_datacard(path: str | Path, manifest: Manifest) -> None:
    with atomic_open(path) as fh:
        fh.write(render_datacard(manifest))


def render_datacard(manifest: Manifest) -> str:
    from agentflan.report.plots import bar_chart

    splits = manifest.splits
    caps = manifest.capabilities
    composition = {name: {src: float(n) for src, n in s.by_source.items()} for name, s in splits.items()}
    sources = sorted({src for s in splits.values() for src in s.by_source})
    by_source = {src: {name: composition[name].get(src, 0.0) for name in splits} for src in sources}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Data card: {_e(manifest.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Data card: {_e(manifest.name)}</h1>",
        f"<p>{manifest.rows} rows in {len(splits)} splits; seed {manifest.seed}; token counts: "
        f"{_e(manifest.token_counter)}; built by agentflan {_e(manifest.versions['agentflan'])}.</p>",
        "<h2>Splits</h2>",
        _table(
            ["split", "kind", "rows", "sources", "files"],
            [
                [name, s.kind, s.rows, ", ".join(f"{k}: {v}" for k, v in s.by_source.items()), " ".join(s.files.values())]
                for name, s in splits.items()
            ],
        ),
    ]
    notes = [(name, n) for name, s in splits.items() for n in s.notes]
    if notes:
        parts.append("<ul>" + "".join(f"<li class='note'>{_e(name)}: {_e(n)}</li>" for name, n in notes) + "</ul>")
    if any(composition.values()):
        parts.append(
            _figure(
                bar_chart(
                    by_source if len(sources) > 1 else {name: sum(v.values()) for name, v in composition.items()},
                    title="Split composition: rows per split" + (" and source" if len(sources) > 1 else ""),
                    xlabel="split",
                    ylabel="rows (count)",
                )
            )
        )
    parts.append("<h2>Capabilities</h2>")
    parts.append(
        "<p>Supervised spans and tokens per capability before and after balancing (a span is supervised "
        "when its assistant turn trains and the span is not masked).</p>"
    )
    parts.append(
        _table(
            ["capability", "spans before", "spans after", "kept span ratio", "tokens before", "tokens after"],
            [
                [
                    c,
                    caps.before[c].spans,
                    caps.after[c].spans,
                    "-" if caps.kept_span_ratio[c] is None else f"{caps.kept_span_ratio[c]:.3f}",
                    caps.before[c].tokens,
                    caps.after[c].tokens,
                ]
                for c in CAPABILITIES
            ],
        )
    )
    parts.append(f"<p>Supervised tokens in untagged turns (general chat): {caps.untagged_supervised_tokens}.</p>")
    parts.append(_token_reduction(manifest))
    parts.append(
        _figure(
            bar_chart(
                {
                    "before balancing": {c: float(caps.before[c].tokens) for c in CAPABILITIES},
                    "after balancing": {c: float(caps.after[c].tokens) for c in CAPABILITIES},
                },
                title="Supervised tokens per capability",
                xlabel="capability",
                ylabel=f"supervised tokens ({_unit(manifest.token_counter)})",
            )
        )
    )
    turns: Counter[int] = Counter()
    for s in splits.values():
        turns.update(s.turns_per_row)
    if turns:
        parts.append("<h2>Turns per row</h2>")
        parts.append(
            _figure(
                bar_chart(
                    _binned(turns),
                    title="Turns per row (all splits)",
                    xlabel="turns per row (messages)",
                    ylabel="rows (count)",
                )
            )
        )
    parts.append("<h2>Inputs</h2>")
    parts.append(
        _table(
            ["source", "files", "MB", "conversations", "kept", "filtered", "rejected", "sha256 of file list"],
            [
                [
                    name,
                    i.files,
                    f"{i.bytes / 1e6:.2f}",
                    i.conversations,
                    i.kept,
                    ", ".join(f"{k}: {v}" for k, v in i.filtered.items()) or "-",
                    i.rejected,
                    i.sha256_of_listing[:16] + "…",
                ]
                for name, i in manifest.inputs.items()
            ],
        )
    )
    parts.append(
        "<p>Every file's sha256 is in <code>manifest.json</code>; same inputs and seed rebuild these "
        "files byte for byte.</p></body></html>\n"
    )
    return "\n".join(parts)


def _binned(counts: Counter[int]) -> dict[str, float]:
    """Turn counts as at most ``MAX_BARS`` bars of equal width."""
    lo, hi = min(counts), max(counts)
    width = max(1, -(-(hi - lo + 1) // MAX_BARS))
    bars: dict[str, float] = {}
    for start in range(lo, hi + 1, width):
        end = min(hi, start + width - 1)
        label = str(start) if start == end else f"{start}-{end}"
        bars[label] = float(sum(counts.get(k, 0) for k in range(start, end + 1)))
    return bars


def _unit(counter: str) -> str:
    return "approximate count" if counter.startswith("approx") else "count"


def _figure(svg: str) -> str:
    return f"<figure>{svg}</figure>"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _token_reduction(manifest: Manifest) -> str:
    """Our supervised-token reduction next to the paper's, and how each is counted: the two are not
    the same measure, and a reader comparing them should know."""
    rows = []
    for name, split in manifest.splits.items():
        caps = split.capabilities
        before = sum(caps.before[c].tokens for c in CAPABILITIES)
        after = sum(caps.after[c].tokens for c in CAPABILITIES)
        if after < before:
            reasoning = caps.after["reasoning"].tokens / after if after else 0.0
            rows.append(f"{_e(name)}: {before:,} &rarr; {after:,} ({(after - before) / before:+.1%}; reasoning is {reasoning:.0%} of what remains)")
    ours = "; ".join(rows) if rows else "no split was balanced"
    return (
        "<h3>Token reduction</h3><p>Ours, per balanced split: " + ours + ". Counted as the supervised tokens of "
        f"capability spans ({_e(manifest.token_counter)}); a down-sampled span keeps its place in the context with "
        "<code>loss: false</code> and reasoning (ratio 1.0) is never down-sampled, so the reduction is bounded by the "
        "share of retrieval and understanding tokens. The paper reports 37.3M &rarr; 18.1M supervised tokens (&minus;51 %) "
        "without saying how it counted. No count of keep rates reaches that while reasoning is kept whole: at "
        "1 : 0.25 : 0.75 the reduction is 0.75 &times; retrieval's share + 0.25 &times; understanding's share of the "
        "counted tokens (retrieval would have to be over half of them), and at the release's 1 : 0.5 : 0.7 it cannot "
        "pass 50 % at all. <code>balance: {count: samples}</code> also counts whole samples with their context (one "
        "sample per supervised step, as ToolBench's ToolLLaMA preprocessing lays data out); that figure is in the "
        "split's note; <code>mode: drop</code> drops whole conversations instead of masking.</p>"
    )
