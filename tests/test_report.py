"""``agentflan report``: one self-contained page from real build, training and evaluation outputs
(the shared quickstart ablation run), every plot titled and labelled, data escaped, runs compared."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agentflan.cli import main
from agentflan.errors import InputError
from agentflan.report.collect import collect, short_labels
from agentflan.report.html import render, write_report
from quickstart_run import shared_quickstart


@pytest.fixture(scope="module")
def ablation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_quickstart(tmp_path_factory)


@pytest.fixture(scope="module")
def page(ablation: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = write_report([ablation], tmp_path_factory.mktemp("report") / "report.html", title="ablation")
    return out.read_text(encoding="utf-8")


class _Figures(HTMLParser):
    """Each ``figure.plot``: its data attributes and the text of its SVG's title/axis-label groups."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str]] = []
        self._group: str | None = None
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "figure" and a.get("class") == "plot":
            self.figures.append({k: v or "" for k, v in a.items()})
        if tag == "g" and a.get("id"):
            m = re.fullmatch(r"f\d+-plot-(title|xlabel|ylabel)", a["id"] or "")
            self._group = m.group(1) if m else None

    def handle_data(self, data: str) -> None:
        if self._group and data.strip() and self.figures:
            self.figures[-1].setdefault(f"svg-{self._group}", data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "text":
            self._group = None


def _figures(html: str) -> _Figures:
    parser = _Figures()
    parser.feed(html)
    return parser


@pytest.mark.slow
def test_every_plot_has_a_title_and_axis_labels_with_units(page: str) -> None:
    figures = _figures(page).figures
    assert len(figures) >= 12
    assert page.count("<svg") == len(figures)
    for f in figures:
        for part in ("title", "xlabel", "ylabel"):
            assert f[f"data-{part}"].strip(), f
            assert f.get(f"svg-{part}") == f[f"data-{part}"], (part, f)
        value_label = f[f"data-{f['data-value-axis']}label"]  # horizontal bars carry their values along x
        assert re.search(r"\(.+\)$", value_label), f"no unit on the value axis of {f['data-title']!r}"


@pytest.mark.slow
def test_page_holds_data_card_training_and_evaluation(page: str, ablation: Path) -> None:
    titles = {f["data-title"] for f in _figures(page).figures}
    assert {"Split composition", "Supervised tokens per capability", "Training loss", "Loss per capability (train split)"} <= titles
    assert "Supervised spans per capability" in titles
    for heading in ("Data card", "Training", "Evaluation", "Side by side"):
        assert f">{heading}</h2>" in page
    assert "agent-h: " in page and "tool-need: " in page
    manifest = json.loads((ablation / "with-negatives" / "build" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["versions"]["agentflan"] in page  # configs and versions are on the page
    assert "train_config.json" in page


@pytest.mark.slow
def test_runs_are_compared_side_by_side(page: str) -> None:
    compare = page.split('<section id="compare">', 1)[1].split("</section>", 1)[0]
    titles = [f["data-title"] for f in _figures(compare).figures]
    assert any(t.startswith("agent-h: ") for t in titles)
    # tool-need is compared in its table always, in a chart only when some bar is not zero
    assert "tool-need: headline metrics, one column per run" in compare
    assert "Training loss per run" in titles and "Rows per split per build" in titles
    # Grouped bars and the table carry one entry per run.
    for label in ("with-negatives", "without-negatives"):
        assert compare.count(f">{label}<") >= 2, label


@pytest.mark.slow
def test_page_is_self_contained_and_deterministic(page: str, ablation: Path, tmp_path: Path) -> None:
    assert not _figures(page).tags & {"script", "img", "iframe", "object", "embed"}
    # Nothing is fetched: no attribute points outside the page (SVG namespace URIs are names, not fetches).
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    assert 'rel="stylesheet"' not in page
    again = write_report([ablation], tmp_path / "again.html", title="ablation").read_text(encoding="utf-8")
    assert again == page


def _synthetic_outputs(root: Path) -> Path:
    """Outputs whose names and values carry markup: everything from data must come out escaped."""
    run = root / "<script>alert('dir')</script>"
    (run / "eval" / "agent-h").mkdir(parents=True)
    (run / "eval" / "agent-h" / "summary.json").write_text(json.dumps({
        "suite": "agent-h", "model": "<img src=x onerror=alert(1)>", "backend": "hf",
        "metrics": {"H": 80.0, "<b>rate</b>": 0.25, "per_prompt": {"react": {"hallucination": 0.2}}},
        "n_items": 2, "versions": {"python": "3.11"}}), encoding="utf-8")
    (run / "train").mkdir()
    (run / "train" / "metrics.csv").write_text(
        "step,epoch,split,loss,loss_reasoning,loss_retrieval,loss_understanding,loss_instruction,loss_untagged,learning_rate,tokens\n"
        "1,0.5,train,2.0,2.1,,,,,0.001,100\n2,1.0,train,1.5,1.6,,,,,0.0005,200\n", encoding="utf-8")
    (run / "train" / "train_config.json").write_text(json.dumps({"model": "</pre><script>x()</script>"}), encoding="utf-8")
    return run


def test_everything_from_data_is_escaped(tmp_path: Path) -> None:
    _synthetic_outputs(tmp_path)
    html = render(collect([tmp_path]), title="T <i>&</i>")
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;" in html
    assert "T &lt;i&gt;&amp;&lt;/i&gt;" in html
    assert "&lt;b&gt;rate&lt;/b&gt;" in html


def test_folder_without_outputs_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no build, training or evaluation outputs"):
        collect([tmp_path / "empty"])
    bad = tmp_path / "bad" / "agent-h"
    bad.mkdir(parents=True)
    (bad / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"summary\.json"):
        collect([tmp_path / "bad"])


def test_cli_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _synthetic_outputs(tmp_path / "runs")
    out = tmp_path / "page.html"
    assert main(["report", str(run), "--out", str(out), "--title", "mine"]) == 0
    assert str(out) in capsys.readouterr().out
    assert "<title>mine</title>" in out.read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_short_labels_drop_what_all_paths_share() -> None:
    assert short_labels([("q", "with", "eval"), ("q", "without", "eval")]) == ["with", "without"]
    assert short_labels([("q", "eval")]) == ["q/eval"]
    assert short_labels([("a", "eval"), ("a", "eval", "x")]) == ["eval", "eval/x"]


def test_dollar_signs_in_item_metadata_are_drawn_literally(tmp_path: Path) -> None:
    """Item metadata is data: ``$x^{$`` must not reach matplotlib's TeX parser (it crashed the eval page)."""
    from agentflan.evaluate.base import ItemResult
    from agentflan.report.evalpage import item_charts
    from agentflan.report.plots import bar_chart, line_chart

    results = [
        ItemResult(id=f"i{i}", response="r", scores={"correct": i % 2 == 0, "f1": i / 10}, meta={"subject": ["$x^{$", "costs $5 and $6", r"a\b_$c"][i % 3]})
        for i in range(9)
    ]
    charts = item_charts("suite $1$", results)
    text = "".join(charts)
    for label in ("$x^{$", "costs $5 and $6", "suite $1$: correct by subject"):
        assert html.escape(label, quote=False) in text
    svg = line_chart({"$loss$": ([1, 2], [0.5, 0.4])}, title="loss of $f$", xlabel="step $n$", ylabel="loss ($)")
    assert "loss of $f$" in svg and "step $n$" in svg
    assert "$\\alpha$" in bar_chart({"$\\alpha$": 1.0}, title="t", xlabel="x", ylabel="y")


def test_a_horizontal_bar_chart_keeps_long_category_names_clear_of_its_axis_label() -> None:
    """The category names end at the axis and must start right of the rotated axis label (x 12 ± half
    the 9-pixel line): the demo's split names are up to 26 characters."""
    import re

    from agentflan.report import plots

    names = {"demo_instruct_eval_layouts": 1902.0, "demo_react_10p": 33.0}
    svg = plots.bar_chart(names, title="Split composition", xlabel="rows (conversations)", ylabel="split", horizontal=True)
    left = float(re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="none"', svg).group(1))
    longest = max(map(len, names))
    assert left - 6 - plots.CHAR_WIDTH * longest >= 12 + 9 / 2
