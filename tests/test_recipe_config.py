"""Recipe files and phrasing pools: the shipped ones load, every mistake is a ConfigError naming it."""

from __future__ import annotations

import contextlib
import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.errors import ConfigError
from agentflan.recipe.config import AgentSplit, NegativesSplit, load_recipe
from agentflan.recipe.phrasings import SLOTS, Phrase, load_phrasings
from conftest import ROOT

MINIMAL = {"sources": {"a": {"path": "data.jsonl"}}, "splits": [{"name": "s", "sources": ["a"], "style": "tflan"}]}


def write(tmp_path: Path, recipe: Any, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe) if not isinstance(recipe, str) else recipe, encoding="utf-8")
    return path


def test_shipped_recipes_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLBENCH_ANSWERS", "/data/answer")
    af = load_recipe(ROOT / "recipes" / "agent-flan.yaml")
    assert [s.name for s in af.splits][2:5] == ["toolbench_react_10p", "toolbench_tflan_60p_r10r5u7", "toolbench_tflan_cot_30p"]
    tflan = af.splits[3]
    assert isinstance(tflan, AgentSplit) and tflan.balance is not None
    assert tflan.balance.resolved() == {"reasoning": 1.0, "retrieval": 0.5, "understanding": 0.7, "instruction": 1.0}
    assert af.sources["toolbench"].path == "/data/answer"
    assert af.sources["agentinstruct"].specs[0] == "hf://THUDM/AgentInstruct:os"
    neg = af.splits[-1]
    assert isinstance(neg, NegativesSplit) and (neg.n_no_tools, neg.n_chat) == (380, 381)
    demo = load_recipe(ROOT / "recipes" / "demo.yaml")
    assert Path(demo.sources["trajectories"].specs[0]).is_file()  # package: paths resolve into the package
    shared = load_recipe(ROOT / "recipes" / "shared-data.yaml", seed=9)
    assert shared.seed == 9 and shared.groups()["agent"][1].share.fraction == 0.6  # type: ignore[union-attr]


def test_paths_resolve_against_the_recipe_and_overrides_against_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_recipe(path).sources["a"].path == str(tmp_path / "data.jsonl")
    monkeypatch.chdir(tmp_path)
    assert load_recipe(path, sources={"a": "other.jsonl"}).sources["a"].path == str(tmp_path / "other.jsonl")
    assert load_recipe(path, sources={"a": "hf://o/n:train"}).sources["a"].path == "hf://o/n:train"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"splits": [{"name": "s", "sources": ["missing"], "style": "tflan"}]}, "unknown source 'missing'"),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "prose"}]}, "splits[0].style"),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "tflan", "colour": 1}]}, "colour"),
        ({"splits": [{"name": "a/b", "sources": ["a"], "style": "tflan"}]}, "plain file name"),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "tflan"}] * 2}, "unique"),
        (
            {"splits": [{"name": n, "sources": ["a"], "style": "tflan", "share": {"group": "g", "fraction": 0.6}} for n in "xy"]},
            "add up to 1.2",
        ),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "tflan", "balance": {"ratios": {"retrieval": 2}}}]}, "[0, 1]"),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "tflan", "balance": {"ratios": {"planning": 1}}}]}, "planning"),
        ({"splits": [{"name": "s", "sources": ["a"], "style": "cot", "balance": {}}]}, "only the native format"),
        ({"splits": [{"name": "s", "kind": "negatives", "tool_sources": ["a"], "chat_sources": ["zz"]}]}, "chat_sources[0]: split 's': unknown source 'zz'"),
        ({"splits": [{"name": "s", "kind": "general", "sources": ["a"], "ratio": -1}]}, "ratio"),
        ({"sources": {"a": {"path": "${NO_SUCH_VARIABLE_X}"}}}, "line 3: sources.a.path: environment variable NO_SUCH_VARIABLE_X is not set"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_recipe(write(tmp_path, {**MINIMAL, **change}))
    assert message in str(info.value) and str(tmp_path / "r.yaml") in str(info.value)


MISSPELT = """\
name: typos
formats: [agentflan, nativ]
sources:
  toolbench:
    path: data.jsonl
    format: toolbnech
    filter: {final_answr: true}
splits:
  - name: a
    sources: [toolbench]
    style: tflna
    balanse: {preset: paper}
  - name: b
    kind: negative
    tool_sources: [toolbench]
    chat_sources: [toolbench]
"""


def test_misspellings_get_the_yaml_line_and_a_did_you_mean(tmp_path: Path) -> None:
    """Issue 15: a recipe error names the file and line and offers the closest valid name."""
    path = write(tmp_path, MISSPELT)
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: invalid recipe:"
    assert lines[1:] == [
        "  line 2: formats[1]: unknown output format 'nativ' (did you mean 'native'?); known: "
        "agentflan, native, sharegpt-tools, openai, toolllama, hf-dataset, parquet",
        "  line 6: sources.toolbench.format: unknown input format 'toolbnech' (did you mean 'toolbench'?); known: "
        "agentflan, toolbench, toolllama, sharegpt-tools, agentinstruct, react-messages, native, openai",
        "  line 7: sources.toolbench.filter.final_answr: unknown key 'final_answr' (did you mean 'final_answer'?); "
        "keys here: tool_calls, final_answer, thoughts, parses, known_tools, limit",
        "  line 11: splits[0].style: Input should be 'tflan', 'cot', 'react' or 'json' (did you mean 'tflan'?)",
        "  line 12: splits[0].balanse: unknown key 'balanse' (did you mean 'balance'?); "
        "keys here: name, formats, kind, sources, style, protocol, tool_names, share, balance",
        "  line 14: splits[1].kind: unknown split kind 'negative' (did you mean 'negatives'?); "
        "known: agent, format_following, negatives, general",
    ]
    fixed = MISSPELT.replace("nativ]", "native]").replace("toolbnech", "toolbench").replace("final_answr", "final_answer")
    fixed = fixed.replace("tflna", "tflan").replace("balanse", "balance").replace("negative\n", "negatives\n")
    assert load_recipe(write(tmp_path, fixed)).splits[1].kind == "negatives"
    with pytest.raises(ConfigError, match=r"line 16: splits\[1\]\.chat_sources\[0\]: split 'b': unknown source 'toolbech' \(did you mean 'toolbench'\?\)"):
        load_recipe(write(tmp_path, fixed.replace("chat_sources: [toolbench]", "chat_sources: [toolbech]")))
    with pytest.raises(ConfigError, match=r"line 12: splits\[0\]\.balance\.ratios\.retreival: unknown capability 'retreival' \(did you mean 'retrieval'\?\)"):
        load_recipe(write(tmp_path, fixed.replace("{preset: paper}", "{ratios: {retreival: 0.5}}")))
    with pytest.raises(ConfigError, match=r"no source 'toolbnch' \(did you mean 'toolbench'\?\)"):
        load_recipe(write(tmp_path, fixed), sources={"toolbnch": "x.jsonl"})


def test_balanced_cot_is_fine_in_native_format(tmp_path: Path) -> None:
    recipe = {**MINIMAL, "formats": ["native"], "splits": [{"name": "s", "sources": ["a"], "style": "cot", "balance": {"preset": "paper"}}]}
    assert load_recipe(write(tmp_path, recipe)).splits[0].balance.mode == "mask"  # type: ignore[union-attr]


def test_unreadable_recipes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read recipe"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(write(tmp_path, "sources: [unclosed"))
    with pytest.raises(ConfigError, match="a recipe is a mapping"):
        load_recipe(write(tmp_path, "- just a list"))


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["name", "sources", "splits", "style", "kind", "path", "share", "x"]), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=yaml_values)
def test_garbage_recipes_fail_with_a_config_error_never_a_crash(tmp_path: Path, doc: Any) -> None:
    with contextlib.suppress(ConfigError):
        load_recipe(write(tmp_path, doc))


def test_phrasing_pools_are_complete_and_diverse() -> None:
    ph = load_phrasings()
    assert set(ph.pools) == set(SLOTS)
    for slot in ("tflan.elicit_tool", "tflan.answer_tool", "tflan.elicit_arguments", "tflan.answer_arguments", "cot.call", "negatives.no_tools_reply"):
        assert ph.size(slot) >= 3, slot
    rng = random.Random(0)
    assert {ph.fill(rng, "cot.call", tool="X") for _ in range(200)} >= {"At this step, I am going to execute X.", "I will operate X."}


def test_phrasing_overrides_replace_slots_and_are_checked(tmp_path: Path) -> None:
    override = tmp_path / "mine.yaml"
    override.write_text(yaml.safe_dump({"tflan": {"elicit_tool": ["Tool?"]}}), encoding="utf-8")
    ph = load_phrasings(override)
    assert [t.template for t in ph.pools["tflan.elicit_tool"]] == ["Tool?"]
    assert ph.digest != load_phrasings().digest
    override.write_text(yaml.safe_dump({"tflan": {"answer_tool": ["I use $tol."]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tflan.answer_tool\[0\] uses unknown field\(s\) tol; this slot has: \$tool"):
        load_phrasings(override)
    override.write_text(yaml.safe_dump({"tflan": {"elicit_tools": ["x"]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown phrasing slot 'tflan\.elicit_tools'"):
        load_phrasings(override)
    override.write_text(yaml.safe_dump({"cot": {"call": ["costs $5"]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stray '\$'"):
        load_phrasings(override)
    override.write_text(yaml.safe_dump({"cot": {"call": []}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="non-empty list"):
        load_phrasings(override)


_PIECES = st.sampled_from(["$tool", "${tool}", "$items", "$$", "${items}x", "$tool_", "a", " ", "\n", "é", "$", "${", "}"])


@given(st.lists(_PIECES, max_size=8).map("".join), st.text(max_size=5), st.integers())
@settings(max_examples=300)
def test_phrase_fills_as_string_template(text: str, tool: str, items: int) -> None:
    """A Phrase (parsed once) fills exactly as ``string.Template.substitute`` does, and refuses
    a template with a stray ``$`` that Template would fail on."""
    fields = {"tool": tool, "items": items}

    def outcome(fill: Any) -> Any:
        try:
            return fill()
        except KeyError as exc:
            return ("KeyError", exc.args)

    try:
        phrase = Phrase(text)
    except ValueError:
        with pytest.raises((ValueError, KeyError)):
            string.Template(text).substitute(fields)
        return
    assert outcome(lambda: phrase.substitute(fields)) == outcome(lambda: string.Template(text).substitute(fields))
    assert outcome(lambda: phrase.substitute(fields, tool="t")) == outcome(lambda: string.Template(text).substitute(fields, tool="t"))
