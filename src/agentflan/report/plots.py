"""Plots as inline SVG strings, so every HTML page we write is self-contained (no network).

Every plot takes a title and axis labels with units; the report tests check that none is
missing, and each sits in a named group (``plot-title``, ``plot-xlabel``, ``plot-ylabel``).
Bar charts are drawn as SVG directly: they are all a data card has, and a build should not pay
for importing matplotlib to draw rectangles. Lines and histograms use matplotlib, headless
(Agg), imported on first use. All text is drawn literally (no TeX from a ``$`` in data). The SVG text is stable for
equal inputs.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

# Labels come from data (subjects, tool names, item metadata): with math parsing on, a ``$``
# in one would be read as TeX and could crash the page, so every text is drawn as written.
_RC: Any = {"svg.hashsalt": "agentflan", "svg.fonttype": "none", "font.size": 9, "text.parse_math": False}
#: matplotlib's default colour cycle, so bar charts match the line charts beside them
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, HEIGHT = 640, 320
#: the widest a character of the 9-pixel labels runs (DejaVu Sans), for the room a label needs
CHAR_WIDTH = 6.0


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    # Named groups let the report (and its tests) find each plot's title and axis labels.
    for ax in fig.axes:
        ax.title.set_gid("plot-title")
        ax.xaxis.label.set_gid("plot-xlabel")
        ax.yaxis.label.set_gid("plot-ylabel")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _pyplot().close(fig)
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
    """Bars per category; a mapping of mappings draws grouped bars (one group per outer key).

    ``xlabel`` names the category axis and ``ylabel`` the value axis, except with
    ``horizontal`` (categories up the side), where ``xlabel`` is drawn along the bottom
    (the values) and ``ylabel`` up the side, as matplotlib's ``barh`` labels them."""
    first = next(iter(values.values()), None)
    if isinstance(first, Mapping):
        groups = {str(g): {str(c): float(v) for c, v in series.items()} for g, series in values.items()}  # type: ignore[union-attr]
        cats = sorted({c for series in groups.values() for c in series})
    else:
        groups = {"": {str(c): float(v) for c, v in values.items()}}  # type: ignore[arg-type]
        cats = list(groups[""])
    top = _nice_max(max((v for series in groups.values() for v in series.values()), default=0.0))
    ticks = [top * i / 5 for i in range(6)]
    legend = len(groups) > 1
    # horizontal: room for the longest category name beside the axis, right of the axis label
    left = min(WIDTH // 2, 30 + round(CHAR_WIDTH * max(map(len, cats), default=0))) if horizontal else 64
    right, y0, bottom = (150 if legend else 16), 30, (44 if horizontal else 96)
    pw, ph = WIDTH - left - right, HEIGHT - y0 - bottom
    n, k = max(len(cats), 1), len(groups)
    band = (ph if horizontal else pw) / n
    bar = band * 0.8 / k
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="9">',
        f'<rect x="{left}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#000" stroke-width="0.8"/>',
    ]
    for t in ticks:  # value axis
        if horizontal:
            x = left + pw * (t / top if top else 0)
            out.append(f'<line x1="{x:.1f}" y1="{y0 + ph}" x2="{x:.1f}" y2="{y0 + ph + 4}" stroke="#000"/>')
            out.append(f'<text x="{x:.1f}" y="{y0 + ph + 14}" text-anchor="middle">{_e(_num(t))}</text>')
        else:
            y = y0 + ph - ph * (t / top if top else 0)
            out.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="#000"/>')
            out.append(f'<text x="{left - 6}" y="{y + 3:.1f}" text-anchor="end">{_e(_num(t))}</text>')
    for ci, cat in enumerate(cats):
        mid = band * (ci + 0.5)
        if horizontal:
            y = y0 + mid
            out.append(f'<text x="{left - 6}" y="{y + 3:.1f}" text-anchor="end">{_e(cat)}</text>')
        else:
            x = left + mid
            out.append(f'<text x="{x:.1f}" y="{y0 + ph + 12}" text-anchor="end" transform="rotate(-30 {x:.1f} {y0 + ph + 12})">{_e(cat)}</text>')
        for gi, series in enumerate(groups.values()):
            v = series.get(cat, 0.0)
            size = (pw if horizontal else ph) * (v / top if top else 0)
            start = band * ci + band * 0.1 + bar * gi
            colour = COLOURS[gi % len(COLOURS)]
            if horizontal:
                rect = f'x="{left}" y="{y0 + start:.1f}" width="{size:.1f}" height="{bar:.1f}"'
            else:
                rect = f'x="{left + start:.1f}" y="{y0 + ph - size:.1f}" width="{bar:.1f}" height="{size:.1f}"'
            out.append(f'<rect {rect} fill="{colour}"><title>{_e(cat)}: {_e(_num(v))}</title></rect>')
    if legend:
        for gi, name in enumerate(groups):
            y = y0 + 8 + gi * 14
            out.append(f'<rect x="{WIDTH - right + 10}" y="{y}" width="10" height="8" fill="{COLOURS[gi % len(COLOURS)]}"/>')
            out.append(f'<text x="{WIDTH - right + 24}" y="{y + 7}">{_e(name)}</text>')
    out.append(f'<g id="plot-title"><text x="{left + pw / 2:.1f}" y="{y0 - 10}" text-anchor="middle" font-size="11">{_e(title)}</text></g>')
    out.append(f'<g id="plot-xlabel"><text x="{left + pw / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{_e(xlabel)}</text></g>')
    yx, yy = 12, y0 + ph / 2
    out.append(f'<g id="plot-ylabel"><text x="{yx}" y="{yy:.1f}" text-anchor="middle" transform="rotate(-90 {yx} {yy:.1f})">{_e(ylabel)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def _nice_max(value: float) -> float:
    """The top of a value axis: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.3g}"


def _e(text: str) -> str:
    return html.escape(str(text))


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
) -> str:
    """One line per named series of ``(xs, ys)`` (e.g. loss per capability over steps)."""
    plt = _pyplot()
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
    plt = _pyplot()
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.hist(list(values), bins=bins)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        return _svg(fig)
