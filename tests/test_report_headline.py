"""The report's headline: per run side by side, a warning when Agent-H means nothing, paths relative."""

from __future__ import annotations

from pathlib import Path

from agentflan.evaluate.base import ItemResult
from agentflan.recipe.manifest import Capabilities, Count, Manifest
from agentflan.report.collect import BuildOutput, Collected, EvalOutput, SuiteOutput, short_labels
from agentflan.report.headline import headline_rows, headline_values, warnings
from agentflan.report.html import render


def _found(tmp_path: Path) -> Collected:
    def ev(run: str, h: float, need: float) -> EvalOutput:
        reply = ItemResult("n0001/react", "Thought: x\nAction: get_weather\nAction Input: {\"city\": \"Oslo\"}", {"success": need > 50})
        suites = [SuiteOutput("agent-h", tmp_path / run / "eval" / "agent-h", {"metrics": {"H": h}}, [], {}),
                  SuiteOutput("tool-need", tmp_path / run / "eval" / "tool-need", {"metrics": {"tool_need": need, "tool_need_values": need / 2}}, [reply], {})]
        return EvalOutput(tmp_path / run / "eval", suites, label=f"{run}/eval")

    caps = Capabilities(before={}, after={"reasoning": Count(1, 10), "retrieval": Count(1, 5)}, kept_span_ratio={},
                        untagged_supervised_tokens=7)
    manifest = Manifest(recipe={}, seed=0, seeds={}, on_error="fail", token_counter="approx", phrasings={}, inputs={},
                        rejected=0, splits={}, rows=0, capabilities=caps, versions={})
    evals = [ev("with-negatives", 90.0, 85.0), ev("without-negatives", 100.0, 0.0)]
    for out, label in zip(evals, short_labels([e.path.parts for e in evals]), strict=True):
        out.label = label  # as the collector labels them: "with-negatives", the shared "eval" dropped
    return Collected(roots=[tmp_path], evals=evals,
                     builds=[BuildOutput(tmp_path / "with-negatives" / "build", manifest, {}, label="with-negatives/build")])


def test_headline_puts_runs_side_by_side_and_warns_when_agent_h_means_nothing(tmp_path: Path) -> None:
    found = _found(tmp_path)
    values = headline_values(found)
    assert values["with-negatives"] == {"Agent-H": 90.0, "tool-need": 85.0, "tool-need, right values": 42.5, "supervised tokens": 22}
    columns, rows = headline_rows(values)
    assert columns[1:3] == ["with-negatives", "without-negatives"]
    assert [r[0] for r in rows] == ["Agent-H", "tool-need", "tool-need, right values", "supervised tokens"]  # no tool-steps run: no row
    assert len(warnings(values)) == 1 and warnings(values)[0].startswith("without-negatives: Agent-H is 100.0")
    page = render(found, base=tmp_path)
    assert page.index('<section id="headline"') < page.index('<section id="compare"')
    assert "hardly calls tools" in page and "Action: get_weather" in page
    assert str(tmp_path) not in page  # paths relative to the report
