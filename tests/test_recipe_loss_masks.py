"""Issue 15 on the recipe side: masked turns never lose their mask silently in a build
(``drop_loss_masks`` as the recipe's own switch), and every rejected row names the file it came from.

AgentInstruct's real rows mask their worked examples (``loss: false``), so they are the real case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentflan.cli import main
from agentflan.errors import ConfigError, InputError
from agentflan.recipe.build import build
from agentflan.recipe.config import load_recipe
from conftest import shared_path

pytestmark = pytest.mark.shared_data


def recipe(tmp_path: Path, **extra: Any) -> Path:
    doc = {
        "name": "masks",
        "formats": ["agentflan", "sharegpt-tools"],
        "sources": {"ai": {"path": str(shared_path("agentinstruct")), "format": "agentinstruct", "filter": {"parses": True}}},
        "splits": [{"name": "react", "sources": ["ai"], "style": "react"}],
        **extra,
    }
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def masked(row: dict[str, Any]) -> int:
    return sum(t["role"] == "assistant" and t["loss"] is False for t in row["conversation"])


def test_masked_rows_are_rejected_naming_their_file_unless_drop_loss_masks(tmp_path: Path) -> None:
    path = recipe(tmp_path)
    out = tmp_path / "skip"
    manifest = build(load_recipe(path), out, on_error="skip")
    rejected = lines(out / "rejects.jsonl")
    assert rejected and manifest.rejected == len(rejected)
    folder = str(shared_path("agentinstruct"))
    for r in rejected:
        # the file, its record index and id: "<folder>/alfworld.json#0 (id alfworld_0)"
        assert r["location"].startswith(folder + "/") and "#" in r["location"] and "(id " in r["location"]
        assert "sharegpt-tools trains every assistant turn; set drop_loss_masks: true" in r["reason"]
    kept = lines(out / "react.jsonl")
    assert kept and all(masked(row) == 0 for row in kept)
    assert len((out / "sharegpt-tools" / "react.jsonl").read_text(encoding="utf-8").splitlines()) == len(kept)

    with pytest.raises(InputError, match=r"alfworld\.json#0 \(id alfworld_0\).*drop_loss_masks"):
        build(load_recipe(path), tmp_path / "fail")

    dropped = tmp_path / "drop"
    manifest = build(load_recipe(recipe(tmp_path, drop_loss_masks=True)), dropped)
    rows = lines(dropped / "react.jsonl")
    assert len(rows) == len(kept) + len(rejected)
    assert len((dropped / "sharegpt-tools" / "react.jsonl").read_text(encoding="utf-8").splitlines()) == len(rows)
    turns, with_masks = sum(map(masked, rows)), sum(masked(r) > 0 for r in rows)
    assert turns > with_masks > 0  # the JSONL keeps its masks; the sharegpt copy trains them, counted:
    assert manifest.splits["react"].notes == [f"drop_loss_masks: {turns} masked assistant turns in {with_masks} rows are trained in sharegpt-tools"]


def test_balancing_into_a_format_without_turn_loss_needs_drop_loss_masks(tmp_path: Path) -> None:
    split = {"name": "tflan", "sources": ["ai"], "style": "tflan", "balance": {"preset": "paper"}}
    with pytest.raises(ConfigError, match=r"line 1\d: splits\[0\]\.balance: split 'tflan' is balanced: .* sharegpt-tools .* drop_loss_masks: true"):
        load_recipe(recipe(tmp_path, splits=[split]))
    assert load_recipe(recipe(tmp_path, splits=[split], drop_loss_masks=True)).drop_loss_masks
    dropping = {**split, "balance": {"preset": "paper", "mode": "drop"}}  # drops whole rows: no masks to lose
    assert not load_recipe(recipe(tmp_path, splits=[dropping])).drop_loss_masks


def test_convert_rejects_name_the_file_and_record_a_writer_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert main(["convert", str(shared_path("agentinstruct")), str(out), "--to", "toolllama", "--on-error", "skip"]) == 0
    rejected = lines(tmp_path / "out.json.rejects.jsonl")
    alfworld = str(shared_path("agentinstruct", "alfworld.json"))
    assert [r["location"] for r in rejected] == [f"{alfworld}#{i} (id alfworld_{i})" for i in range(5)]
    assert all("toolllama format would train" in r["reason"] for r in rejected)
