"""``agentflan quickstart`` end to end on the embedded demo data, with a small step count.

The suite's one quickstart run -- the negative-sample ablation through the CLI (two builds, two
trainings, two evaluations, one report) -- is shared with the report tests (``quickstart_run``).
The LoRA path on a given model is the only other, two steps on a tiny model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agentflan.cli import main
from agentflan.errors import ConfigError
from agentflan.quickstart import (
    MARKER,
    QuickstartOptions,
    arm_recipe,
    demo_recipe_path,
    generate_data,
    load_demo_recipe,
    prepare_out,
    run_quickstart,
    settings,
)
from agentflan.sources import read
from conftest import ROOT
from quickstart_run import LIMIT, PRINTED, STEPS, shared_quickstart

ARMS = ("with-negatives", "without-negatives")


@pytest.fixture(scope="module")
def ablation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_quickstart(tmp_path_factory)


@pytest.mark.slow
def test_ablation_trains_and_evaluates_both_arms(ablation: Path) -> None:
    marker = json.loads((ablation / MARKER).read_text(encoding="utf-8"))
    assert marker["status"] == "done"
    assert [r["name"] for r in marker["runs"]] == list(ARMS)
    splits = {}
    for arm in ARMS:
        root = ablation / arm
        manifest = json.loads((root / "build" / "manifest.json").read_text(encoding="utf-8"))
        splits[arm] = set(manifest["splits"])
        with (root / "train" / "metrics.csv").open(encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r["split"] == "train"]
        assert int(float(rows[-1]["step"])) == STEPS
        # The native corpus keeps the capability spans, so every capability has a loss curve.
        for cap in ("reasoning", "retrieval", "understanding", "instruction"):
            assert any(r[f"loss_{cap}"] for r in rows), (arm, cap)
        assert (root / "train" / "final" / "config.json").is_file()
        for suite in ("agent-h", "tool-need"):
            summary = json.loads((root / "eval" / suite / "summary.json").read_text(encoding="utf-8"))
            assert summary["n_items"] == LIMIT
            assert summary["model"] == str(root / "train" / "final")
    # The arms differ only by the negative samples.
    assert splits["with-negatives"] - splits["without-negatives"] == {"demo_negative", "demo_negative_eval_layouts"}
    assert splits["without-negatives"] < splits["with-negatives"]
    assert (ablation / "report.html").is_file()


@pytest.mark.slow
def test_both_arms_start_from_the_same_tiny_model(ablation: Path) -> None:
    configs = [json.loads((ablation / arm / "train" / "train_config.json").read_text(encoding="utf-8")) for arm in ARMS]
    assert {c["model"] for c in configs} == {str(ablation / "tiny-model")}
    assert all(c["method"] == "full" and c["max_steps"] == STEPS for c in configs)


@pytest.mark.slow
def test_tool_suites_use_only_held_out_trajectories(ablation: Path) -> None:
    held = {c.id for c in read(ablation / "data" / "heldout_trajectories.jsonl")}
    trained = {c.id for c in read(ablation / "data" / "tool_trajectories.jsonl")}
    assert held and trained and not held & trained
    held_queries = {c.messages[1].content for c in read(ablation / "data" / "heldout_trajectories.jsonl")}
    corpus = "".join(p.read_text(encoding="utf-8") for p in (ablation / "with-negatives" / "build").glob("*.jsonl"))
    assert not [q for q in held_queries if json.dumps(q, ensure_ascii=False)[1:-1] in corpus]
    run = json.loads((ablation / "with-negatives" / "eval" / "tool-need" / "run.json").read_text(encoding="utf-8"))
    assert run["suite"]["sources"] == [str(ablation / "data" / "heldout_trajectories.jsonl")]


@pytest.mark.slow
def test_cli_prints_where_everything_is(ablation: Path) -> None:
    printed = (ablation / PRINTED).read_text(encoding="utf-8")
    assert printed.startswith("agentflan quickstart: done in")
    for arm in ARMS:
        assert f"[{arm}]" in printed
        for part in ("build", "train", "eval"):
            assert str(ablation / arm / part) in printed
    for suite in ("agent-h", "tool-need"):
        assert suite in printed
    assert str(ablation / "report.html") in printed and (ablation / "report.html").stat().st_size > 10_000


def test_a_new_run_replaces_an_earlier_quickstart_output(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "stale.txt").write_text("old", encoding="utf-8")
    (tmp_path / MARKER).write_text("{}", encoding="utf-8")
    prepare_out(tmp_path)
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_given_model_is_lora_tuned_and_evaluated_merged(tiny_llama_dir: Path, tmp_path: Path) -> None:
    result = run_quickstart(QuickstartOptions(out=tmp_path / "qs", steps=2, model=str(tiny_llama_dir), eval_limit=2,
                                              progress=False), say=lambda _msg: None)
    (run,) = result.runs
    config = json.loads((run.train / "train_config.json").read_text(encoding="utf-8"))
    assert config["model"] == str(tiny_llama_dir) and config["method"] == "lora"
    assert run.model == run.train / "merged" and (run.model / "config.json").is_file()
    assert not (tmp_path / "qs" / "tiny-model").exists()
    summary = json.loads((run.eval / "agent-h" / "summary.json").read_text(encoding="utf-8"))
    assert summary["model"] == str(run.model)


def test_refuses_a_folder_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty"):
        run_quickstart(QuickstartOptions(out=tmp_path, steps=1))
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("kw", "message"), [({"steps": 0}, "--steps"), ({"ablation": "chat"}, "unknown ablation"),
                                             ({"eval_limit": 0}, "at least 1")])
def test_bad_options_are_refused(tmp_path: Path, kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        QuickstartOptions(out=tmp_path, **kw)


def test_packaged_demo_recipe_is_the_one_in_recipes() -> None:
    assert demo_recipe_path().read_bytes() == (ROOT / "recipes" / "demo.yaml").read_bytes()


def test_data_and_recipe_are_seeded(tmp_path: Path) -> None:
    a, b = generate_data(tmp_path / "a", seed=0), generate_data(tmp_path / "b", seed=0)
    assert all(a[name].read_bytes() == b[name].read_bytes() for name in a)
    c = generate_data(tmp_path / "c", seed=1)
    assert c["tool_trajectories.jsonl"].read_bytes() != a["tool_trajectories.jsonl"].read_bytes()
    full = load_demo_recipe(a, seed=0)
    assert full.sources["trajectories"].specs == [str(a["tool_trajectories.jsonl"])]
    assert full.sources["layouts"].specs == [str(a["eval_layouts.jsonl"])]


def test_each_ablation_arm_changes_only_its_part(tmp_path: Path) -> None:
    full, s = load_demo_recipe(generate_data(tmp_path, seed=0), seed=0), settings()
    names = {x.name for x in full.splits}
    no_neg = arm_recipe(full, "no-negatives", s)
    assert names - {x.name for x in no_neg.splits} == {"demo_negative", *s["negative_splits"]}
    react = arm_recipe(full, "react-only", s)
    assert {x.style for x in react.splits if x.kind == "agent"} == {"react"}
    assert not {"format_following"} & {x.kind for x in react.splits} and not set(s["format_splits"]) & {x.name for x in react.splits}
    assert {x.name for x in react.splits if x.kind in ("negatives", "general")} == {x.name for x in full.splits
                                                                                   if x.kind in ("negatives", "general")} - set(s["format_splits"])
    unbalanced = arm_recipe(full, "no-balance", s)
    assert [x.name for x in unbalanced.splits] == [x.name for x in full.splits]
    assert any(getattr(x, "balance", None) for x in full.splits) and not any(getattr(x, "balance", None) for x in unbalanced.splits)
    with pytest.raises(ConfigError, match="nothing"):
        arm_recipe(unbalanced, "no-balance", s)


def test_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["quickstart", "--help"])
    text = capsys.readouterr().out
    for option in ("--out", "--steps", "--model", "--ablation", "--seed", "--eval-limit", "examples:"):
        assert option in text
