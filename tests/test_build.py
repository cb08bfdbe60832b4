"""`agentflan build` over the real public data in ../shared/data: the method's invariants on
the output, determinism across runs and workers, the manifest and the data card."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentflan.cli import main
from agentflan.conversation import CAPABILITIES, Conversation
from agentflan.errors import ConfigError, InputError
from agentflan.protocols import detect_calls, get_protocol
from agentflan.protocols.base import ParseFailure
from agentflan.recipe.build import build
from agentflan.recipe.config import load_recipe
from agentflan.recipe.manifest import Manifest
from agentflan.recipe.plan import dry_run, format_plan
from agentflan.report.datacard import write_datacard
from conftest import ROOT, shared_path

pytestmark = pytest.mark.shared_data

RECIPE = ROOT / "recipes" / "shared-data.yaml"
GROUP = ("agent_react_10p", "agent_tflan_60p", "agent_tflan_cot_30p")
AGENT_SPLITS = ("agent_instruct_react", "agent_instruct_tflan", *GROUP, "instruct_j1s1", "negative")


@pytest.fixture(scope="module")
def shared_recipe(monkeypatch_module: pytest.MonkeyPatch) -> Any:
    data = shared_path()
    monkeypatch_module.setenv("AGENTFLAN_SHARED_DATA", str(data))
    return load_recipe(RECIPE)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def built(shared_recipe: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("shared") / "out"
    manifest = build(shared_recipe, out, workers=1, recipe_path=RECIPE)
    return out, manifest


def native_rows(out: Path, split: str) -> list[Conversation]:
    with (out / "native" / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [Conversation.from_dict(json.loads(line)) for line in fh]


def flan_rows(out: Path, split: str) -> list[dict[str, Any]]:
    with (out / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def called_tools(conv: Conversation) -> list[str]:
    """Every tool name an assistant turn calls, whatever the style writes it as."""
    names: list[str] = []
    for m in conv.messages:
        if m.role != "assistant" or (m.loss is False and m.meta.get("example")):
            continue
        names += [c.name for c in m.tool_calls]
        if "tool" in m.meta:
            names.append(m.meta["tool"])
        names += m.meta.get("tools", [])
    return names


def test_build_writes_every_split_in_both_formats(built: tuple[Path, Manifest]) -> None:
    out, manifest = built
    for split, info in manifest.splits.items():
        assert info.rows > 0, split
        assert info.files == {"agentflan": f"{split}.jsonl", "native": f"native/{split}.jsonl"}
        assert len(flan_rows(out, split)) == info.rows == len(native_rows(out, split))
        assert [r["id"] for r in flan_rows(out, split)] == [f"{split}_{i}" for i in range(info.rows)]
    assert not (out / "_work").exists()
    assert {p.name for p in out.iterdir()} >= {"manifest.json", "native"}


def test_every_called_tool_is_in_the_rows_system_prompt(built: tuple[Path, Manifest]) -> None:
    out, _ = built
    checked = 0
    for split in (*GROUP, "instruct_j1s1", "negative"):
        for conv in native_rows(out, split):
            system = conv.messages[0]
            assert system.role == "system"
            offered = {t.name for t in conv.tools}
            for name in called_tools(conv):
                assert name in offered and name in system.content, (split, conv.id, name)
                checked += 1
    assert checked > 1000


def test_no_row_trains_on_a_user_or_system_turn(built: tuple[Path, Manifest]) -> None:
    out, manifest = built
    for split in manifest.splits:
        for row in flan_rows(out, split):
            for turn in row["conversation"]:
                assert turn["role"] in ("system", "user", "assistant")
                if turn["role"] != "assistant":
                    assert turn["loss"] is False, (split, row["id"])


def test_every_supervised_agent_turn_carries_capabilities_that_tile_it(built: tuple[Path, Manifest]) -> None:
    out, _ = built
    for split in AGENT_SPLITS:
        for conv in native_rows(out, split):
            for m in conv.messages:
                if m.role == "assistant" and m.trains:
                    assert m.spans, (split, conv.id, m.content[:60])
                    pos = 0
                    for s in m.spans:
                        assert s.start == pos
                        pos = s.end
                    assert pos == len(m.content)


def test_balanced_ratios_match_the_configured_ones(built: tuple[Path, Manifest], shared_recipe: Any) -> None:
    out, manifest = built
    split = next(s for s in shared_recipe.splits if s.name == "agent_tflan_60p")
    ratios = split.balance.resolved()
    tagged = dict.fromkeys(CAPABILITIES, 0)
    kept = dict.fromkeys(CAPABILITIES, 0)
    for conv in native_rows(out, "agent_tflan_60p"):
        for m in conv.messages:
            for s in m.spans if m.role == "assistant" else ():
                tagged[s.capability.value] += 1
                kept[s.capability.value] += m.loss is not False and s.loss is not False
    assert sum(tagged.values()) >= 1000
    for cap in CAPABILITIES:
        if tagged[cap]:
            assert abs(kept[cap] / tagged[cap] - ratios[cap]) <= 0.02, (cap, kept[cap], tagged[cap])
    assert tagged["retrieval"] > 300 and kept["retrieval"] < tagged["retrieval"]
    # the Agent-FLAN rows carry the masking as turn-level loss
    rows = flan_rows(out, "agent_tflan_60p")
    masked = sum(1 for r in rows for t in r["conversation"] if t["role"] == "assistant" and not t["loss"])
    assert masked == sum(tagged.values()) - sum(kept.values())
    caps = manifest.splits["agent_tflan_60p"].capabilities
    assert caps.before["retrieval"].spans == tagged["retrieval"]
    assert caps.after["retrieval"].spans == kept["retrieval"]
    assert caps.after["retrieval"].tokens < caps.before["retrieval"].tokens


def test_the_toolbench_group_is_split_disjointly_by_trajectory(built: tuple[Path, Manifest]) -> None:
    out, manifest = built
    keys: dict[str, set[str]] = {}
    origins: dict[str, set[str]] = {}
    for split in GROUP:
        rows = native_rows(out, split)
        keys[split] = {r.meta["trajectory_key"] for r in rows}
        origins[split] = {f"{r.meta['recipe_source']}:{r.meta['origin_id']}" for r in rows}
    for a in GROUP:
        for b in GROUP:
            if a < b:
                assert not keys[a] & keys[b]
                assert not origins[a] & origins[b]
    total = sum(len(v) for v in origins.values())
    kept = sum(manifest.inputs[s].kept for s in ("toolbench", "fireact", "glaive_tools"))
    assert total == kept
    shares = [len(origins[s]) / total for s in GROUP]
    assert shares == pytest.approx([0.1, 0.6, 0.3], abs=0.05)


def test_negatives_have_both_kinds_and_no_tool_call(built: tuple[Path, Manifest]) -> None:
    out, manifest = built
    rows = native_rows(out, "negative")
    kinds = {r.meta["negative"] for r in rows}
    assert kinds == {"no_tools", "chat_with_tools"}
    for r in rows:
        assert [m.role for m in r.messages] == ["system", "user", "assistant"]
        reply = r.messages[2].content
        assert not detect_calls(reply), r.id
        if r.meta["negative"] == "no_tools":
            assert not r.tools and "API" not in r.messages[0].content
        else:
            assert r.tools and all(t.name in r.messages[0].content for t in r.tools)
    producers = manifest.splits["negative"].producers
    assert producers["chat-data"] == 40 and producers["template"] > 20 and producers["corpus-answer"] > 5
    assert manifest.splits["negative"].row_producers == {r.id: r.meta["producer"] for r in rows}


def test_manifest_records_inputs_counts_and_versions(built: tuple[Path, Manifest]) -> None:
    out, manifest = built
    assert manifest.to_dict() == json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert Manifest.read(out / "manifest.json") == manifest
    fireact = manifest.inputs["fireact"]
    assert fireact.file_list is not None
    (entry,) = fireact.file_list
    path = shared_path("fireact", "hotpotqa_react_gpt.jsonl")
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["bytes"] == path.stat().st_size
    assert fireact.conversations == 500
    assert manifest.inputs["toolbench"].files == 15
    assert manifest.inputs["toolbench"].filtered == {
        "no final answer": 4,
        "calls a tool it does not offer": 1,
        # what the ToolBench reader itself passed over (issue 13 item 12)
        "toolbench file without train_messages (valid_data false: the search found no answer)": 2,
        "toolbench step ending on a thought, not a call (trained as part of the next step)": 2,
    }
    assert manifest.recipe["sha256"] == hashlib.sha256(RECIPE.read_bytes()).hexdigest()
    assert manifest.rows == sum(s.rows for s in manifest.splits.values())
    split = manifest.splits["agent_tflan_60p"]
    assert sum(split.by_source.values()) == split.rows
    assert set(split.by_source) == {"toolbench", "fireact", "glaive_tools"}
    assert {"agentflan", "python", "pydantic"} <= set(manifest.versions)
    assert manifest.seed == 0


def test_datacard_is_self_contained_with_labelled_plots(built: tuple[Path, Manifest], tmp_path: Path) -> None:
    _, manifest = built
    write_datacard(tmp_path / "datacard.html", manifest)
    page = (tmp_path / "datacard.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page) and "<script" not in page and "<link" not in page
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 3
    for title in ("Split composition", "Supervised tokens per capability", "Turns per row"):
        assert title in page
    for label in ("rows (count)", "supervised tokens (approximate count)", "turns per row (messages)"):
        assert label in page


def test_same_seed_gives_identical_bytes_with_any_workers(
    built: tuple[Path, Manifest], shared_recipe: Any, tmp_path: Path
) -> None:
    out, _ = built
    again = tmp_path / "again"
    build(shared_recipe, again, workers=2, recipe_path=RECIPE)
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_a_different_seed_gives_different_phrasings(built: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, _ = built
    recipe = load_recipe(RECIPE, seed=1)
    other = tmp_path / "seed1"
    build(recipe, other)

    def elicits(root: Path) -> dict[str, list[str]]:
        found = {}
        for conv in native_rows(root, "agent_tflan_60p"):
            found[conv.meta["trajectory_key"]] = [m.content for m in conv.messages if m.role == "user" and len(m.content) < 60]
        return found

    a, b = elicits(out), elicits(other)
    common = set(a) & set(b)
    assert len(common) > 50
    differ = sum(a[k] != b[k] for k in common)
    assert differ / len(common) > 0.8
    assert len({p for k in common for p in a[k]}) >= 10  # several phrasings per slot are in use


def test_the_readers_read_both_released_rows() -> None:
    from agentflan.sources import read

    rows = list(read(shared_path("agentflan_release", "samples.jsonl")))
    assert [r.id for r in rows] == ["toolbench_instruct_j1s1_3k_2053", "toolbench_tflan_cot_30p_6770"]
    j1s1, cot = rows
    assert j1s1.messages[2].protocol == "json-goal"
    assert [c.name for c in j1s1.messages[2].tool_calls] == ["weather.get_120_hour_forecast_for_weather"]
    assert [m.role for m in cot.messages] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]


def _cot_shape(roles: list[str], contents: list[str]) -> dict[str, Any]:
    """The structure of a cot row: roles, the system layout, how calls are written."""
    system = contents[0]
    entries = re.findall(r"^([\w.]+): .*?\nInput parameters are as follows: (\{[^\n]*\})$", system, flags=re.M | re.S)
    calls = []
    for role, text in zip(roles, contents, strict=True):
        m = re.search(r"(?:execute|operate|call|use|run|action is) ([\w.]+)\. [^\n]*:\n```python\n(\{.*\})\n```\Z", text, flags=re.S)
        if role == "assistant" and m:
            call = ast.literal_eval(m.group(2))
            assert call["name"] == m.group(1)
            calls.append(call)
    return {
        "roles": re.fullmatch(r"system user( assistant user)+ assistant", " ".join(roles)) is not None,
        "entries": [json.loads(params)["type"] for _, params in entries],
        "entry_names": [name for name, _ in entries],
        "calls": calls,
        "final_plain": not roles[-1:] or "```python" not in contents[-1],
    }


def test_cot_rows_reproduce_the_released_cot_row_in_shape(built: tuple[Path, Manifest]) -> None:
    out, _ = built
    released = json.loads(shared_path("agentflan_release", "samples.jsonl").read_text(encoding="utf-8").splitlines()[1])
    turns = released["conversation"]
    want = _cot_shape([t["role"] for t in turns], [t["content"] for t in turns])
    assert want["roles"] and want["entries"] == ["object"] * 3 and len(want["calls"]) == 2 and want["final_plain"]
    toolbench = [r for r in flan_rows(out, "agent_tflan_cot_30p") if "subfunction for tool" in r["conversation"][0]["content"]]
    assert toolbench
    for row in toolbench:
        turns = row["conversation"]
        got = _cot_shape([t["role"] for t in turns], [t["content"] for t in turns])
        assert got["roles"] and got["final_plain"]
        assert got["entries"] and set(got["entries"]) == {"object"}
        assert got["calls"] and all(set(c) == {"name", "parameters"} for c in got["calls"])
        assert all(c["name"] in got["entry_names"] and "." in c["name"] for c in got["calls"])
        assert turns[1]["content"].endswith("Begin!")


def _j1s1_shape(turns: list[dict[str, Any]]) -> dict[str, Any]:
    system, user, answer = (t["content"] for t in turns)
    api = ast.literal_eval(system.split("\n", 2)[1])
    parsed = get_protocol("json-goal").parse(answer)
    assert not isinstance(parsed, ParseFailure)
    (call,) = parsed.tool_calls
    return {
        "roles": [t["role"] for t in turns],
        "api_keys": list(api),
        "spec": '"goal": string;' in system and '"Param": Record<string, any>;' in system,
        "keys": list(json.loads(answer)),
        "user": re.search(r"'goal' with: '(.*)'\. Call the function ([\w.]+) with", user, flags=re.S) is not None,
        "goal_in_user": parsed.thought is not None and parsed.thought.split()[0] in user,
        "api_matches_call": call.name.endswith(api["name"]),
        # the release lists the API's own name; the user turn names `tool.api` and the answer calls it
        "listed_unqualified": "." not in api["name"] and call.name.rpartition(".")[2] == api["name"],
        "call_in_user": call.name in user,
    }


def test_format_following_rows_reproduce_the_released_j1s1_row_in_shape(built: tuple[Path, Manifest]) -> None:
    out, _ = built
    released = json.loads(shared_path("agentflan_release", "samples.jsonl").read_text(encoding="utf-8").splitlines()[0])
    want = _j1s1_shape(released["conversation"])
    assert want == {
        "roles": ["system", "user", "assistant"],
        "api_keys": ["name", "description", "parameters"],
        "spec": True,
        "keys": ["Tool", "Param", "goal"],
        "user": True,
        "goal_in_user": True,
        "api_matches_call": True,
        "listed_unqualified": True,
        "call_in_user": True,
    }
    assert "." in json.loads(released["conversation"][2]["content"])["Tool"]
    rows = flan_rows(out, "instruct_j1s1")
    json_rows = [r for r in rows if r["conversation"][2]["content"].startswith("{")]
    string_rows = [r for r in rows if r["conversation"][2]["content"].startswith("Thought:")]  # no stray newline
    assert len(json_rows) + len(string_rows) == len(rows) and abs(len(json_rows) - len(string_rows)) <= 1
    shapes = [_j1s1_shape(r["conversation"]) for r in json_rows]
    released_phrasing = [s for s, r in zip(shapes, json_rows, strict=True) if r["conversation"][0]["content"].startswith("You have access")]
    assert released_phrasing and all(s == want for s in released_phrasing if s["user"])
    assert all(s["roles"] == want["roles"] and s["keys"] == want["keys"] and s["api_matches_call"] for s in shapes)
    assert all(s["listed_unqualified"] and s["call_in_user"] for s in shapes)
    assert any("." in get_protocol("json-goal").parse(r["conversation"][2]["content"]).tool_calls[0].name for r in json_rows)  # type: ignore[union-attr]
    for row in string_rows:
        parsed = get_protocol("react").parse(row["conversation"][2]["content"])
        assert not isinstance(parsed, ParseFailure) and parsed.tool_calls
        assert parsed.tool_calls[0].name in row["conversation"][0]["content"]


def test_dry_run_plans_with_counts_and_writes_nothing(shared_recipe: Any, built: tuple[Path, Manifest], tmp_path: Path) -> None:
    _, manifest = built
    plan = dry_run(shared_recipe)
    for split, info in manifest.splits.items():
        assert plan["splits"][split]["rows"] == info.rows, split
    text = format_plan(plan, tmp_path / "never")
    assert "agent_tflan_60p" in text and "balance mask 1/0.25/0.75/1" in text
    assert not (tmp_path / "never").exists()


def test_cli_builds_and_dry_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENTFLAN_SHARED_DATA", str(shared_path()))
    demo = ROOT / "recipes" / "demo.yaml"
    assert main(["build", str(demo), "--out", str(tmp_path / "plan"), "--dry-run"]) == 0
    assert "demo_tflan_60p" in capsys.readouterr().out and not (tmp_path / "plan").exists()
    assert main(["build", str(RECIPE), "--out", str(tmp_path / "b"), "--quiet", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "built" in printed and "agent_tflan_60p" in printed
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["seed"] == 3
    assert (tmp_path / "b" / "datacard.html").is_file()  # the command adds the data card to the build
    assert main(["build", str(RECIPE), "--out", str(tmp_path / "c"), "--source", "nope=x"]) == 2
    assert "no source 'nope'" in capsys.readouterr().err


def test_on_error_fail_leaves_out_untouched_and_skip_sets_records_aside(tmp_path: Path) -> None:
    data = tmp_path / "trajectories.jsonl"
    good = shared_path("fireact", "hotpotqa_react_gpt.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    bad = json.loads(good[0])
    bad["messages"][1]["content"] = "Thought: no action here\nAction: jump"  # breaks the FireAct format
    data.write_text("\n".join([*good[:5], "{not json", json.dumps(bad), *good[5:]]) + "\n", encoding="utf-8")
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        "sources:\n  f: {path: trajectories.jsonl, format: react-messages}\n"
        "splits:\n  - {name: t, sources: [f], style: tflan}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old build")
    recipe = load_recipe(recipe_file)
    with pytest.raises(Exception, match=r"trajectories\.jsonl:6"):
        build(recipe, out)
    assert (out / "keep.txt").read_text() == "old build"
    manifest = build(recipe, out, on_error="skip")
    assert manifest.rejected == 2 and manifest.splits["t"].rows == 20
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [r["location"].split(" ")[0].rsplit("/", 1)[-1] for r in rejects] == ["trajectories.jsonl:6", "trajectories.jsonl:7"]
    assert "does not parse as fireact" in rejects[1]["reason"]
    assert not (out / "keep.txt").exists()


def test_agent_flan_recipe_builds_the_seven_released_splits_from_local_paths(tmp_path: Path) -> None:
    recipe = load_recipe(
        ROOT / "recipes" / "agent-flan.yaml",
        sources={
            "agentinstruct": str(shared_path("agentinstruct")),
            "toolbench": str(shared_path("toolbench", "answers")),
            "chat": str(shared_path("glaive", "glaive_toolcall_en_demo.json")),
        },
    )
    manifest = build(recipe, tmp_path / "af")
    assert list(manifest.splits) == [
        "agent_instruct_react",
        "agent_instruct_tflan",
        "toolbench_react_10p",
        "toolbench_tflan_60p_r10r5u7",
        "toolbench_tflan_cot_30p",
        "toolbench_instruct_j1s1_3k",
        "toolbench_negative",
    ]
    assert manifest.inputs["agentinstruct"].filtered == {"does not parse": 1}
    assert manifest.splits["agent_instruct_react"].rows == manifest.splits["agent_instruct_tflan"].rows == 29
    assert manifest.splits["toolbench_instruct_j1s1_3k"].rows > 0
    # 8 answered trajectories; the recipe keeps those with a thought at every call after the first
    assert manifest.inputs["toolbench"].filtered["a step without a thought (after_first_step)"] == 5
    assert sum(manifest.splits[s].rows for s in ("toolbench_react_10p", "toolbench_tflan_60p_r10r5u7", "toolbench_tflan_cot_30p")) == 3


def test_agent_flan_recipe_names_its_missing_toolbench_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOLBENCH_ANSWERS", raising=False)
    with pytest.raises(ConfigError, match="TOOLBENCH_ANSWERS"):
        load_recipe(ROOT / "recipes" / "agent-flan.yaml")


def test_a_manifest_missing_a_field_is_a_located_error(built: tuple[Path, Manifest], tmp_path: Path) -> None:
    out, _ = built
    raw = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del raw["splits"]["negative"]["rows"]
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(InputError) as err:
        Manifest.read(tmp_path / "manifest.json")
    assert str(tmp_path / "manifest.json") in str(err.value) and "negative" in str(err.value) and err.value.field == "rows"


def test_the_data_card_is_written_into_the_staged_build_under_its_lock(tmp_path: Path) -> None:
    """A caller's files (the data card) appear with the build, while its lock is held, or not at all."""
    from agentflan.locking import OutputLocked, output_lock

    recipe = load_recipe(ROOT / "src" / "agentflan" / "data" / "recipes" / "demo.yaml")
    out = tmp_path / "b"
    seen: list[Path] = []

    def card(manifest: Manifest, folder: Path) -> None:
        seen.append(folder)
        with pytest.raises(OutputLocked), output_lock(out, "another build"):  # the build still holds the lock
            pass
        write_datacard(folder / "datacard.html", manifest)

    build(recipe, out, finish=card)
    assert seen and seen[0] != out and (out / "datacard.html").is_file() and (out / "manifest.json").is_file()

    def broken(manifest: Manifest, folder: Path) -> None:
        raise RuntimeError("the card failed")

    with pytest.raises(RuntimeError):
        build(recipe, tmp_path / "c", finish=broken)
    assert not (tmp_path / "c").exists()
