"""Building Agent-H and the tool-need set: seeded, both kinds, unrelated tools, real sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.batch import Rejects
from agentflan.errors import ConfigError, InputError
from agentflan.evaluate.agent_h_build import (
    KIND_GENERAL,
    KIND_NO_TOOLS,
    KIND_UNRELATED,
    BuildOptions,
    build_agent_h,
    build_summary,
    build_tool_need,
    content_words,
    load_sources,
)
from agentflan.evaluate.itemfile import item_to_dict, read_items, write_items
from agentflan.evaluate.tool_corpus import load_corpus, word_list
from agentflan.sources.tool_queries import toolbench_function_name
from conftest import shared_path


def _shared_sources() -> list[str]:
    return [
        str(shared_path("toolbench", "queries")),
        str(shared_path("toolbench", "answers")),
        str(shared_path("glaive", "glaive_toolcall_en_demo.json")),
        str(shared_path("teval", "api_descrip.json")),
        str(shared_path("mmlu", "test")),
    ]


def test_same_seed_same_bytes_other_seed_other_items(tmp_path: Path) -> None:
    a = build_agent_h(options=BuildOptions(size=60, seed=7), out=tmp_path / "a.jsonl")
    build_agent_h(options=BuildOptions(size=60, seed=7), out=tmp_path / "b.jsonl")
    build_agent_h(options=BuildOptions(size=60, seed=8), out=tmp_path / "c.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()
    assert [item_to_dict(i) for i in read_items(tmp_path / "a.jsonl")] == [item_to_dict(i) for i in a]


def test_both_kinds_two_prompts_each(tmp_path: Path) -> None:
    items = build_agent_h(options=BuildOptions(size=80, seed=0))
    summary = build_summary(items, 80)
    assert summary["samples"] == 80 and summary["items"] == 160 and summary["short_by"] == 0
    assert set(summary["kinds"]) == {KIND_NO_TOOLS, KIND_UNRELATED, KIND_GENERAL}
    assert summary["kinds"][KIND_GENERAL] == 40  # tool_fraction 0.5
    by_sample: dict[str, list[str]] = {}
    for it in items:
        by_sample.setdefault(it.meta["sample"], []).append(it.expected["prompt"])
        assert it.expected["needs_tool"] is False
        assert [m.role for m in it.messages] == ["system", "user"]
        if it.meta["kind"] == KIND_NO_TOOLS:
            assert it.tools == [] and it.expected["offered"] == []
        else:
            assert 1 <= len(it.tools) <= 4
        if it.expected["prompt"] == "react":
            assert "Final Answer:" in it.messages[0].content  # the protocol's own instruction
        else:
            assert "Final Answer" not in it.messages[0].content
    assert all(sorted(p) == ["general", "react"] for p in by_sample.values())
    assert not any("/site-packages/" in it.meta["source"] or it.meta["source"].startswith("/") for it in items)


def test_offered_tools_are_unrelated_and_never_generic() -> None:
    items = build_agent_h(_shared_sources(), BuildOptions(size=600, seed=1))
    generic = word_list("generic_tools.txt")
    checked = 0
    for it in items:
        words = content_words(it.messages[1].content)
        for tool in it.tools:
            checked += 1
            assert not (content_words(tool.name.replace("_", " ")) & words), (tool.name, it.messages[1].content)
            assert tool.name != "Finish"
            assert not any(g in tool.name.lower().split("_") for g in generic)
    assert checked > 500


def test_shared_sources_yield_and_fill_the_paper_size() -> None:
    corpus = load_sources(_shared_sources())
    # built-in 61 + ToolBench queries 10 + ToolBench answers 13 + Glaive 73 (106 rows, 33 repeats)
    assert len(corpus.tool_queries) == 157
    assert len(corpus.general) > 14000  # MMLU test, Glaive tool-free chats, built-in questions
    items = build_agent_h(options=BuildOptions(size=1845, seed=0), corpus=corpus)
    summary = build_summary(items, 1845)
    assert summary["samples"] == 1845 and summary["short_by"] == 0
    tool_samples = summary["kinds"][KIND_NO_TOOLS] + summary["kinds"][KIND_UNRELATED]
    assert tool_samples == 314  # every tool query twice; general questions fill the rest
    sources = summary["sources"]
    assert sources["glaive_toolcall_en_demo.json"] > 150 and sources["builtin:general_questions.txt"] > 100


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="protocol must be one of"):
        build_agent_h(options=BuildOptions(size=4, protocol="fireact"))
    with pytest.raises(ConfigError, match="tool_fraction"):
        build_agent_h(options=BuildOptions(size=4, tool_fraction=1.5))


def test_short_sources_say_so() -> None:
    items = build_agent_h(options=BuildOptions(size=5000, seed=0))
    summary = build_summary(items, 5000)
    assert summary["samples"] == 2 * 61 + 162 and summary["short_by"] == 5000 - summary["samples"]


def test_tool_need_items_offer_an_acceptable_tool() -> None:
    items = build_tool_need(_shared_sources(), BuildOptions(seed=0))
    assert len(items) == 2 * 157
    for it in items:
        offered = {t.name for t in it.tools}
        assert it.expected["needs_tool"] is True and it.expected["acceptable"]
        assert set(it.expected["acceptable"]) <= offered and len(offered) >= 2
    glaive = next(it for it in items if it.meta["source"].endswith("glaive_toolcall_en_demo.json"))
    assert glaive.expected["reference"]["name"] in glaive.expected["acceptable"]


def test_toolbench_query_names_match_the_answer_files() -> None:
    corpus = load_corpus([shared_path("toolbench", "queries")])
    assert len(corpus.tool_queries) == 10
    for q in corpus.tool_queries:
        assert q.acceptable and set(q.acceptable) <= {t.name for t in q.tools}
    # ToolBench's own naming, as its answer files use it
    assert toolbench_function_name("Transitaire", "transitaires") == "transitaire_for_transitaires"
    answers = load_corpus([shared_path("toolbench", "answers")])
    assert "transitaire_for_transitaires" in answers.pool
    tool = next(t for q in corpus.tool_queries for t in q.tools if t.name == "checkhealth_for_squake")
    assert tool.parameters["type"] == "object"


def test_bad_records_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    rows = [
        {"query": "Weather in Oslo?", "call": {"name": "get_current_weather", "arguments": {"city": "Oslo"}}},
        {"query": "Fly me to the moon", "call": {"name": "book_rocket", "arguments": {}}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"queries\.jsonl:2.*book_rocket"):
        load_corpus([path])
    rejects_path = tmp_path / "rejects.jsonl"
    with Rejects(rejects_path, on_error="skip") as rejects:
        corpus = load_corpus([path], rejects=rejects)
    assert [q.query for q in corpus.tool_queries] == ["Weather in Oslo?"]
    lines = [json.loads(x) for x in rejects_path.read_text().splitlines()]
    assert [r["location"] for r in lines] == [f"{path}:2", f"{path}:3"]


def test_item_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    items = build_agent_h(options=BuildOptions(size=2, seed=0))
    write_items(items, path)
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + json.dumps({"id": "x", "messages": []}) + "\n")
    with pytest.raises(InputError, match=r"items\.jsonl:2.*'expected'"):
        read_items(path)
    path.write_text(lines[0] + "\n" + lines[0] + "\n")
    with pytest.raises(InputError, match=r"items\.jsonl:2: field 'id'.*more than once \(first at .*items\.jsonl:1\)"):
        read_items(path)
    row = json.loads(lines[0])
    for messages, field, why in (
        (["hi"], "messages[0]", "expected an object, got str"),
        ([{"content": "hi"}], "messages[0]", "missing key 'role'"),
    ):
        path.write_text(json.dumps({**row, "messages": messages}) + "\n")
        with pytest.raises(InputError, match=rf"items\.jsonl:1: field '{re.escape(field)}': {why}"):
            read_items(path)


def test_one_file_can_carry_both_sides(tmp_path: Path) -> None:
    from agentflan.evaluate.agent_h import make_suite

    path = tmp_path / "h.jsonl"
    items = build_agent_h(options=BuildOptions(size=20, seed=0, tool_need=True, tool_need_size=5), out=path)
    kinds = [it.meta["kind"] for it in items]
    assert kinds.count("tool_need") == 10 and len(items) == 50
    assert "tool_need" in kinds[:25]  # spread through the file, so --limit keeps both sides
    assert [it.id for it in make_suite(data=str(path)).items()] == [it.id for it in items]
    assert len(list(make_suite(data=str(path), tool_need=False).items())) == 40


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["query", "call", "name", "arguments", "tools", "api_list", "question", "id"]), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(["query", "call", "tools", "id"]), json_values, min_size=1, max_size=4), min_size=1, max_size=4))
def test_garbage_tool_query_rows_are_rejected_not_crashed(tmp_path: Path, rows: list[dict[str, object]]) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"query": "q", "call": {"name": "get_stock_price"}}, *rows]  # the first row decides the layout
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with Rejects(None, on_error="skip") as rejects:
        corpus = load_corpus([path], rejects=rejects)
    assert len(corpus.tool_queries) + rejects.stats.rejected == len(rows)


def test_build_settings_have_one_home() -> None:
    """The build functions take one BuildOptions (no parameter repeats one of its fields), and the
    agent-h / tool-need suite options default as it does."""
    import dataclasses
    import inspect

    from agentflan.evaluate.agent_h import AgentHOptions
    from agentflan.evaluate.agent_h_build import DEFAULTS
    from agentflan.evaluate.toolneed import ToolNeedOptions

    fields = {f.name for f in dataclasses.fields(BuildOptions)}
    for fn in (build_agent_h, build_tool_need):
        params = inspect.signature(fn).parameters
        assert not fields & set(params) and params["options"].default is DEFAULTS, fn.__name__
    base = dataclasses.asdict(DEFAULTS)
    assert dataclasses.asdict(BuildOptions.of(AgentHOptions(), tool_need=False)) == base  # the suite scores tool need too
    need = dataclasses.asdict(BuildOptions.of(ToolNeedOptions()))
    assert {k: need[k] for k in ("seed", "protocol", "max_tools", "builtin")} == {k: base[k] for k in ("seed", "protocol", "max_tools", "builtin")}
    with pytest.raises(ConfigError, match="tool_need_size"):
        build_tool_need(options=BuildOptions(tool_need_size=-1))
