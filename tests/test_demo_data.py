"""The embedded demo data: generated from ``data/demo/world.yaml`` by a seeded generator, byte for
byte; every call is offered and fits its schema; held-out argument values never reach training;
and the rows in evaluation layouts are the evaluation's own prompts (train/eval consistency)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import yaml

from agentflan.conversation import Conversation, validate
from agentflan.demo import (
    CHAT,
    EXTRACTION,
    FILES,
    HELDOUT,
    LAYOUTS,
    NEGATIVE_LAYOUTS,
    QUESTIONS,
    TRAJECTORIES,
    demo_dir,
    demo_file,
)
from agentflan.demo.generate import generate
from agentflan.demo.world import World, load_world
from agentflan.errors import ConfigError
from agentflan.evaluate.agent_h import score_agent_h
from agentflan.evaluate.agent_h_build import BuildOptions, build_agent_h, build_tool_need
from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.toolneed import argument_errors, score_tool_need
from agentflan.io import iter_records
from agentflan.sources import read


def _records(name: str) -> list[dict]:
    return [r.value for r in iter_records(demo_file(name))]


@pytest.fixture(scope="module")
def trajectories() -> list[Conversation]:
    return list(read(demo_file(TRAJECTORIES), format="openai"))


def test_committed_files_are_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=0)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == demo_file(name).read_bytes(), (
            f"{name} is stale: rerun python -m agentflan.demo.generate")
    generate(tmp_path / "b", seed=1)
    assert (tmp_path / "b" / TRAJECTORIES).read_bytes() != demo_file(TRAJECTORIES).read_bytes()


def test_trajectories_call_an_offered_tool_with_valid_arguments(trajectories: list[Conversation]) -> None:
    assert len(trajectories) >= 500
    tools_used = set()
    for conv in trajectories:
        assert not validate(conv), (conv.id, [str(p) for p in validate(conv)])
        offered = {t.name: t for t in conv.tools}
        calls = list(conv.iter_tool_calls())
        assert len(calls) == 1 and calls[0].name in offered and len(offered) >= 2, conv.id
        assert not argument_errors(offered[calls[0].name], calls[0]), conv.id
        tools_used.add(calls[0].name)
    assert len(tools_used) == len(load_world()["tools"])


def test_held_out_argument_values_never_reach_training() -> None:
    world = World(load_world(), seed=0)
    names = (TRAJECTORIES, CHAT, LAYOUTS, NEGATIVE_LAYOUTS, EXTRACTION)
    training_text = "".join(demo_file(n).read_text(encoding="utf-8") for n in names)
    repeated = {w for r in _records(EXTRACTION) for m in r["messages"] if m["role"] == "user" for w in m["content"].split()}
    for name, parts in world.tables.items():
        assert parts["heldout"] and parts["train"], name
        assert not [v for v in parts["heldout"] if f'"{v}"' in training_text or v in repeated], name
    held_requests = [c["messages"][1]["content"] for c in _records(HELDOUT)]
    assert held_requests and not [r for r in held_requests if json.dumps(r, ensure_ascii=False) in training_text]
    questions = _records(QUESTIONS)
    assert questions and not [q for q in questions if q["question"] in training_text]


def test_extraction_rows_copy_invented_values_from_their_requests() -> None:
    """Every value an extraction reply names stands in its request and is invented (no table value):
    only copying predicts it. Both kinds of turn (JSON of a request, plain repetition) occur."""
    world = World(load_world(), seed=0)
    known = {str(v) for parts in world.tables.values() for side in parts.values() for v in side}
    tools = {t["name"]: t for t in load_world()["tools"]}
    kinds = {"json": 0, "repeat": 0}
    rows = _records(EXTRACTION)
    assert len(rows) >= 1000
    for row in rows:
        turns = row["messages"][1:]
        assert row["messages"][0]["role"] == "system" and len(turns) % 2 == 0, row["id"]
        for request, reply in zip(turns[::2], turns[1::2], strict=True):
            assert (request["role"], reply["role"]) == ("user", "assistant"), row["id"]
            if reply["content"].startswith("{"):
                kinds["json"] += 1
                values = json.loads(reply["content"])
                assert any(set(values) == set(t["arguments"]) for t in tools.values()), row["id"]
                values = list(values.values())
            else:
                kinds["repeat"] += 1
                assert request["content"].endswith(reply["content"]), row["id"]
                values = reply["content"].split(" ")
            for v in values:
                assert str(v) in request["content"] and str(v) not in known, (row["id"], v)
    assert kinds["json"] > 1000 and kinds["repeat"] > 1000


def test_ids_are_unique_across_the_demo_files() -> None:
    ids = [r["id"] for name in FILES for r in _records(name)]
    assert len(ids) == len(set(ids))


def test_layout_rows_are_the_evaluation_prompts_and_their_replies_score_right(tmp_path: Path) -> None:
    """One rendering of each: the tool-need and Agent-H items the suites build from the training
    trajectories have exactly the system and user messages of the training rows' first turn, and
    the trained reply is what each suite scores as right. Each further turn under the same prompt
    is scored too: in call rows, a valid call of an offered tool; in negative rows, a plain reply,
    or a valid call of an offered tool that serves the request."""
    need = build_tool_need([str(demo_file(TRAJECTORIES))], BuildOptions(tool_need_size=len(_records(LAYOUTS)) // 2, seed=0, builtin=False))
    rows = {r["id"].removeprefix("layout-"): r["messages"] for r in _records(LAYOUTS)}
    assert {it.id for it in need} == set(rows)
    extra = 0
    for item in need:
        messages = rows[item.id]
        assert messages[:2] == [{"role": m.role, "content": m.content} for m in item.messages]
        assert score_tool_need(item, messages[2]["content"])["success"], (item.id, messages[2])
        for request, reply in _further_turns(messages):
            extra += 1
            assert score_tool_need(_any_offered(item), reply)["success"], (item.id, request, reply)
    assert {it.expected["prompt"] for it in need} == {"react", "general"}
    assert extra >= len(need)  # most rows carry several decisions

    world = World(load_world(), seed=0)
    questions = tmp_path / "train_questions.jsonl"
    train_questions = world.questions("train") + world.unknown_questions(int(load_world()["sizes"]["unknown_questions"]), random.Random("0/unknown"))
    questions.write_text("".join(json.dumps(q) + "\n" for q in train_questions), encoding="utf-8")
    options = BuildOptions(size=len(_records(NEGATIVE_LAYOUTS)) // 2, seed=0, builtin=False, tool_fraction=load_world()["negative_tool_fraction"])
    agent_h = build_agent_h([str(demo_file(TRAJECTORIES))], options, general_questions=[str(questions)])
    negatives = {r["id"].removeprefix("negative-"): r["messages"] for r in _records(NEGATIVE_LAYOUTS)}
    assert {it.id for it in agent_h} == set(negatives)
    assert {it.meta["kind"] for it in agent_h} == {"tool_query/no_tools", "tool_query/unrelated_tools", "general/with_tools"}
    labels = {"plain": 0, "call": 0}
    for item in agent_h:
        messages = negatives[item.id]
        assert messages[:2] == [{"role": m.role, "content": m.content} for m in item.messages]
        assert score_agent_h(item, messages[2]["content"])["label"] == "plain", (item.id, messages[2])
        for request, reply in _further_turns(messages):
            if score_agent_h(item, reply)["label"] == "plain":
                labels["plain"] += 1
            else:
                labels["call"] += 1
                assert score_tool_need(_any_offered(item), reply)["success"], (item.id, request, reply)
    assert labels["plain"] > labels["call"] > 0  # refusals and calls under one tool list


def _further_turns(messages: list[dict]) -> list[tuple[str, str]]:
    """The (request, reply) turns after a layout row's first reply."""
    rest = messages[3:]
    assert [m["role"] for m in rest] == ["user", "assistant"] * (len(rest) // 2)
    return [(q["content"], a["content"]) for q, a in zip(rest[::2], rest[1::2], strict=True)]


def _any_offered(item: EvalItem) -> EvalItem:
    """``item`` scored for any offered tool: a further turn asks for another request than the item's."""
    expected = {**item.expected, "acceptable": [t.name for t in item.tools], "reference": None}
    return dataclasses.replace(item, expected=expected)


def test_training_text_and_evaluation_prompt_are_one_rendering() -> None:
    """Through the agentflan chat template the quickstart tunes with: a layout row's training text
    starts with exactly the prompt the evaluation sends for the same item, and loss starts where
    the model's reply starts (one tool-need item under the ReAct prompt, one under the general)."""
    from agentflan.generation.templates import get_template

    template = get_template("agentflan")
    need = {it.id: it for it in build_tool_need([str(demo_file(TRAJECTORIES))], BuildOptions(tool_need_size=len(_records(LAYOUTS)) // 2, seed=0, builtin=False))}
    rows = {c.id.removeprefix("layout-"): c for c in read(demo_file(LAYOUTS), format="openai")}
    for item_id in ("n0001/react", "n0001/general"):
        prompt = template.render_prompt(need[item_id].messages)
        rendered = template.render(rows[item_id])
        assert rendered.text.startswith(prompt), item_id
        assert rendered.supervised[0][0] == len(prompt), item_id



def test_a_world_file_with_a_missing_key_or_an_unknown_turn_kind_is_a_located_error(tmp_path: Path) -> None:
    world = yaml.safe_load((demo_dir() / "world.yaml").read_text(encoding="utf-8"))
    bad = tmp_path / "world.yaml"
    bad.write_text(yaml.safe_dump({**world, "negative_turns": {"question": 1, "servd": 1}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"world\.yaml: negative_turns: unknown kind 'servd'"):
        load_world(bad)
    bad.write_text(yaml.safe_dump({k: v for k, v in world.items() if k != "negative_tool_fraction"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing key 'negative_tool_fraction'"):
        load_world(bad)
    assert load_world(demo_dir() / "world.yaml") == load_world()
