"""Parity with ToolBench's own preprocessing: raw answer files -> ToolLLaMA reproduce
``toolllama_reference/G{1,2,3}.json`` sample for sample (ids, roles and values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.cli import main
from agentflan.sources import read
from agentflan.writers import write
from conftest import shared_path

GROUPS = ("G1", "G2", "G3")


def _reference(group: str) -> list[dict]:
    return json.loads(shared_path("toolbench", "toolllama_reference", f"{group}.json").read_text(encoding="utf-8"))


@pytest.mark.shared_data
@pytest.mark.parametrize("group", GROUPS)
def test_raw_answers_to_toolllama_reproduce_the_reference(group: str, tmp_path: Path) -> None:
    answers = shared_path("toolbench", "answers", f"{group}_answer")
    out = tmp_path / f"{group}.json"
    assert write(read(answers), out, "toolllama") == len(_reference(group))
    ours = json.loads(out.read_text(encoding="utf-8"))
    reference = _reference(group)
    # The reference lists files in its machine's directory order; ids are unique, so match by id.
    assert sorted(r["id"] for r in ours) == sorted(r["id"] for r in reference)
    by_id = {r["id"]: r for r in ours}
    for expected in reference:
        got = by_id[expected["id"]]["conversations"]
        assert [t["from"] for t in got] == [t["from"] for t in expected["conversations"]], expected["id"]
        for i, (g, e) in enumerate(zip(got, expected["conversations"], strict=True)):
            assert g["value"] == e["value"], f"{expected['id']} turn {i} ({e['from']})"
        assert by_id[expected["id"]] == expected


@pytest.mark.shared_data
def test_all_fifty_samples_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "toolllama.json"
    assert main(["convert", str(shared_path("toolbench", "answers")), str(out), "--to", "toolllama"]) == 0
    summary = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert summary.startswith("read 50, written 50, rejected 0, not used 4 (")  # 2 files without an answer, 2 bare-thought steps
    reference = [r for g in GROUPS for r in _reference(g)]
    assert len(reference) == 50
    assert sorted(json.loads(out.read_text(encoding="utf-8")), key=lambda r: r["id"]) == sorted(reference, key=lambda r: r["id"])


@pytest.mark.shared_data
def test_reading_the_reference_recovers_the_raw_prompts_and_tools() -> None:
    """The ToolLLaMA reader strips what preprocessing added: system prompt and tools match the raw files."""
    raw = {c.id: c for c in read(shared_path("toolbench", "answers"))}
    for conv in read(shared_path("toolbench", "toolllama_reference")):
        original = raw[conv.id]
        assert conv.messages[0].content == original.messages[0].content
        assert conv.tools == original.tools
        assert [m.role for m in conv.messages] == [m.role for m in original.messages]
        for ours, theirs in zip(conv.messages, original.messages, strict=True):
            assert [(c.name, c.arguments) for c in ours.tool_calls] == [(c.name, c.arguments) for c in theirs.tool_calls]
            if ours.role == "tool":
                assert ours.name == theirs.name


@pytest.mark.shared_data
def test_toolbench_reader_follows_preprocessing_semantics() -> None:
    """One conversation per step that ends on a call; bare thoughts merge into the next call."""
    path = shared_path("toolbench", "answers", "G1_answer", "57_ChatGPT_DFS_woFilter_w2.json")
    raw_steps = json.loads(path.read_text(encoding="utf-8"))["answer_generation"]["train_messages"]
    convs = list(read(path))
    # 5 raw steps; the 4th ends on a bare thought (the first half of the 5th) and yields nothing.
    assert [len(s) for s in raw_steps] == [3, 5, 8, 10, 11]
    assert [c.id.split(":")[0] for c in convs] == ["Step 2", "Step 4", "Step 7", "Step 10"]
    last = convs[-1].messages[-1]
    assert last.tool_calls[0].name == "Finish"
    assert last.content == raw_steps[4][9]["content"]  # the bare thought became the call's thought
    retry = convs[2].messages[-1]
    assert retry.content == ""
    assert retry.meta["toolbench_dropped_content"] == raw_steps[2][7]["content"]
