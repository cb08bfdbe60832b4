"""The report's opening: one table of the scores that matter, per run side by side, with what
each means, warnings when a score is meaningless (Agent-H high while the model never calls a
tool), and a few real model replies per run.

Runs are matched by folder: an evaluation at ``<run>/eval`` and a build at ``<run>/build``
belong to run ``<run>``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agentflan.recipe.manifest import Manifest
from agentflan.report.collect import Collected

MAIN = "main"


def config() -> dict[str, Any]:
    text = (resources.files("agentflan") / "data" / "report" / "headline.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def run_name(path: Path) -> str:
    """The run an output belongs to, by its folder (``.../with-negatives/eval`` -> ``with-negatives``),
    not by its report label: labels drop the parts all outputs share, ``eval`` included."""
    return path.resolve().parent.name or MAIN


def supervised_tokens(manifest: Manifest) -> int:
    """Supervised tokens of a build: every capability after balancing plus the untagged ones."""
    caps = manifest.capabilities
    return sum(c.tokens for c in caps.after.values()) + caps.untagged_supervised_tokens


def headline_values(found: Collected) -> dict[str, dict[str, Any]]:
    """Run -> headline label -> value (None when that run has no such score)."""
    cfg = config()
    runs: dict[str, dict[str, Any]] = {}
    for ev in found.evals:
        values = runs.setdefault(run_name(ev.path), {})
        metrics = {s.suite: s.summary.get("metrics") or {} for s in ev.suites}
        for row in cfg["rows"]:
            if "suite" in row and row["suite"] in metrics:
                values[row["label"]] = metrics[row["suite"]].get(row["metric"])
        if values.get("tool-need") is None and "tool_need" in metrics.get("agent-h", {}):
            values["tool-need"] = metrics["agent-h"]["tool_need"]  # Agent-H's companion items
    for build in found.builds:
        values = runs.setdefault(run_name(build.path), {})
        for row in cfg["rows"]:
            if row.get("build") == "supervised_tokens":
                values[row["label"]] = supervised_tokens(build.manifest)
    return runs


def warnings(values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Why a headline score means nothing, per run."""
    cfg = config()
    out = []
    for run, v in values.items():
        h, need = v.get("Agent-H"), v.get("tool-need")
        if h is None:
            continue
        fields = {"run": run, "H": h, "tool_need": need}
        if need is None:
            out.append(string.Template(cfg["warnings"]["agent_h_alone"]).substitute(fields))
        elif h >= cfg["agent_h_high"] and need <= cfg["tool_need_floor"]:
            out.append(string.Template(cfg["warnings"]["agent_h_without_calls"]).substitute(fields))
    return out


def headline_rows(values: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns (score, one per run, meaning) and rows of the table; missing scores stay blank."""
    cfg = config()
    columns = ["score", *values, "what it means"]
    rows = [[row["label"], *[v.get(row["label"]) for v in values.values()], row["meaning"]] for row in cfg["rows"]
            if any(v.get(row["label"]) is not None for v in values.values())]
    return columns, rows


def sample_replies(found: Collected) -> list[list[str]]:
    """A few items per run and suite: run, suite, item, what was right, the model's reply."""
    n = int(config()["samples_per_suite"])
    rows = []
    for ev in found.evals:
        for s in ev.suites:
            for r in s.results[:n]:
                ok = r.scores.get("success", r.scores.get("label", ""))
                rows.append([run_name(ev.path), s.suite, r.id, str(ok), r.response[:300]])
    return rows
