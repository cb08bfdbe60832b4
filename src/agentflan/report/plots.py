"""Plots as inline SVG strings, so every HTML page we write is self-contained (no network).

Every plot takes a title and axis labels with units; the report tests check that none is
missing. All text is drawn literally (no TeX from a ``$`` in data). matplotlib runs headless (Agg) and the SVG text is stable for equal inputs.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

# Labels come from data (subjects, tool names, item metadata): with math parsing on, a ``$``
# in one would be read as TeX and could crash the page, so every text is drawn as written.
_RC: Any = {"svg.hashsalt": "agentflan", "svg.fonttype": "none", "font.size": 9, "text.parse_math": False}


def _svg(fig: plt.Figure) -> str:
    # Named groups let the report (and its tests) find each plot's title and axis labels.
    for ax in fig.axes:
        ax.title.set_gid("plot-title")
        ax.xaxis.label.set_gid("plot-xlabel")
        ax.yaxis.label.set_gid("plot-ylabel")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def bar_chart(
    values: Mapping[str, float] | Mapping[str, Mapping[str, float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
) -> str:
    """Bars per category; a mapping of mappings draws grouped bars (one group per outer key)."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        first = next(iter(values.values()), None)
        if isinstance(first, Mapping):
            groups = list(values)
            cats = sorted({c for g in values.values() for c in g})  # type: ignore[union-attr]
            width = 0.8 / max(len(groups), 1)
            for gi, g in enumerate(groups):
                series = values[g]
                assert isinstance(series, Mapping)
                xs = [i + gi * width for i in range(len(cats))]
                ys = [float(series.get(c, 0.0)) for c in cats]
                (ax.barh if horizontal else ax.bar)(xs, ys, width, label=g)
            ticks = [i + width * (len(groups) - 1) / 2 for i in range(len(cats))]
            (ax.set_yticks if horizontal else ax.set_xticks)(ticks, cats)
            ax.legend(fontsize=7)
        else:
            cats = list(values)
            ys = [float(v) for v in values.values()]  # type: ignore[arg-type]
            (ax.barh if horizontal else ax.bar)(cats, ys)
        if not horizontal:
            plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        return _svg(fig)


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
) -> str:
    """One line per named series of ``(xs, ys)`` (e.g. loss per capability over steps)."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for name, (xs, ys) in series.items():
            ax.plot(list(xs), list(ys), label=name, marker="." if len(xs) < 30 else None)
        if logy:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if len(series) > 1:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        return _svg(fig)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "count (rows)",
    bins: int = 20,
) -> str:
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.hist(list(values), bins=bins)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        return _svg(fig)
