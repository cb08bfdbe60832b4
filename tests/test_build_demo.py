"""The demo recipe over the embedded demo data (no ../shared needed), and the Python API's generator hook."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from agentflan.conversation import Conversation
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.recipe.build import build
from agentflan.recipe.config import load_recipe
from agentflan.recipe.negatives import contains_tool_call
from conftest import ROOT

DEMO = ROOT / "recipes" / "demo.yaml"


class EchoBackend(Backend):
    name: ClassVar[str] = "echo"

    def __init__(self) -> None:
        self.model = "echo-0"
        self.calls = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        self.calls += 1
        return [f"A direct answer to: {r.messages[-1].content[:40]}" for r in requests]


def test_demo_recipe_builds_every_kind_of_split(tmp_path: Path) -> None:
    backend = EchoBackend()
    manifest = build(load_recipe(DEMO), tmp_path / "demo", generator=backend)
    splits = manifest.splits
    assert set(splits) == {"demo_react_10p", "demo_tflan_60p", "demo_tflan_cot_30p", "demo_instruct_j1s1", "demo_instruct_eval_layouts",
                           "demo_negative", "demo_negative_eval_layouts", "demo_general", "demo_extraction"}
    assert all(s.rows > 0 for s in splits.values())
    assert splits["demo_instruct_j1s1"].rows == 60
    # 458 chats (158 facts, 300 about invented subjects), less the 40 whose opening a kind-(b)
    # negative row already holds (never trained twice)
    assert splits["demo_general"].rows == 418 and splits["demo_general"].capabilities.untagged_supervised_tokens > 0
    assert splits["demo_instruct_eval_layouts"].rows == 1902 and splits["demo_negative_eval_layouts"].rows == 1200
    assert splits["demo_extraction"].rows == 1500
    assert splits["demo_negative"].producers == {"generator:echo:echo-0": 80}
    assert backend.calls == 2 * 5  # 40 rows of each kind, in batches of the backend's batch size (8)
    assert sum(splits[s].rows for s in ("demo_react_10p", "demo_tflan_60p", "demo_tflan_cot_30p")) == 300
    with (tmp_path / "demo" / "native" / "demo_tflan_60p.jsonl").open() as fh:
        rows = [Conversation.from_dict(json.loads(line)) for line in fh]
    for conv in rows:
        for m in conv.messages:
            if m.role == "assistant":
                assert len(m.spans) == 1
            for name in [m.meta["tool"]] if "tool" in m.meta else []:
                assert name in conv.tool_names() and name in conv.messages[0].content
    with (tmp_path / "demo" / "demo_negative.jsonl").open() as fh:
        for line in fh:
            reply = json.loads(line)["conversation"][2]["content"]
            assert reply.startswith("A direct answer to:") and not contains_tool_call(reply)


def test_general_data_sampled_to_a_ratio_and_drop_balancing(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        """
seed: 4
formats: [native]
sources:
  t: {path: "package:data/demo/tool_trajectories.jsonl"}
  c: {path: "package:data/demo/chat.jsonl"}
splits:
  - {name: chat, kind: general, sources: [c], ratio: 0.25}
  - {name: agent, sources: [t], style: json, balance: {mode: drop, ratios: {reasoning: 0.5, retrieval: 0.5, understanding: 0.5, instruction: 0.5}}}
""",
        encoding="utf-8",
    )
    manifest = build(load_recipe(recipe), tmp_path / "out")
    assert list(manifest.splits) == ["chat", "agent"]
    agent = manifest.splits["agent"]
    assert agent.rows + agent.dropped_by_balancing == 1000 and 300 < agent.rows < 800
    assert manifest.splits["chat"].rows == round(0.25 * agent.rows)
    with (tmp_path / "out" / "chat.jsonl").open() as fh:
        chats = [json.loads(line) for line in fh]
    assert len({c["meta"]["origin_id"] for c in chats}) == len(chats)
    assert all(c["id"] == f"chat_{i}" for i, c in enumerate(chats))


def test_the_packaged_demo_recipe_is_the_one_in_recipes() -> None:
    """`agentflan quickstart` builds from the copy inside the package; the two must not drift."""
    packaged = ROOT / "src" / "agentflan" / "data" / "recipes" / "demo.yaml"
    assert packaged.read_text(encoding="utf-8") == DEMO.read_text(encoding="utf-8")


def test_every_format_of_a_drop_balanced_split_holds_the_same_rows(tmp_path: Path) -> None:
    # the rows are made once and written to each format in that pass (drop balancing decides by
    # token counts, so a second pass that did not count would have kept every row)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        """
seed: 4
formats: [native, openai]
sources:
  t: {path: "package:data/demo/tool_trajectories.jsonl"}
splits:
  - {name: agent, sources: [t], style: tflan, balance: {mode: drop, ratios: {reasoning: 0.5}}}
""",
        encoding="utf-8",
    )
    manifest = build(load_recipe(recipe), tmp_path / "out")
    agent = manifest.splits["agent"]
    assert agent.dropped_by_balancing > 0
    native = (tmp_path / "out" / "agent.jsonl").read_text(encoding="utf-8").splitlines()
    openai = (tmp_path / "out" / "openai" / "agent.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(native) == len(openai) == agent.rows
    assert [json.loads(line)["id"] for line in native] == [json.loads(line)["id"] for line in openai]
