"""The AgentInstruct reader on the 30 real trajectories (both row shapes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentflan.conversation import Capability, Conversation, validate
from agentflan.errors import InputError, Location
from agentflan.protocols.agentinstruct import TASKS
from agentflan.sources import detect_format, read
from agentflan.sources.agentinstruct import AgentInstructFormat
from conftest import shared_path

#: independent count of the tool calls in one assistant text, per task
CALL_PATTERNS = {
    "os": r"(?m)^Act: (?:bash\n|finish$)",
    "db": r"(?m)^Action: Operation\n```sql\n",
    "alfworld": r"(?m)^ ?ACTION: \S",
    "webshop": r"(?m)^Action:\n(?:search|click)\[",
    "kg": r"(?m)^Action: \w+\(",
    "mind2web": r"(?m)^Action: [A-Z]+$",
}
ACKS = {"Ok.", "OK. I'll follow your instructions and try my best to solve the task.", "I've understood your instruction, start please."}


def _rows(task: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(shared_path("agentinstruct", f"{task}.json").read_text(encoding="utf-8"))
    return rows


def _text(turn: dict[str, Any]) -> str:
    return str(turn.get("value", turn.get("content")))


def _is_assistant(turn: dict[str, Any]) -> bool:
    return turn.get("from", turn.get("role")) in ("gpt", "assistant")


def _expected_examples(task: str, turns: list[dict[str, Any]]) -> set[int]:
    """Example turns found the simple way: the ack at index 1, or everything up to the real task."""
    opener = {"os": "Now, I will start a new problem", "kg": "A new question:"}.get(task)
    if opener:
        real = next(i for i, t in enumerate(turns) if i > 0 and _text(t).startswith(opener))
        return set(range(1, real))
    return {1} if _text(turns[1]) in ACKS else set()


@pytest.mark.parametrize("task", TASKS)
def test_reads_every_row(task: str) -> None:
    path = shared_path("agentinstruct", f"{task}.json")
    rows = _rows(task)
    assert detect_format(rows[0]) == "agentinstruct"
    convs = list(read(path))
    assert [c.id for c in convs] == [r["id"] for r in rows]
    for conv, row in zip(convs, rows, strict=True):
        turns = row["conversations"]
        assert conv.source == "agentinstruct" and conv.meta == {"task": task}
        assert [m.content for m in conv.messages] == [_text(t) for t in turns]
        assert [m.role for m in conv.messages] == ["assistant" if _is_assistant(t) else "user" for t in turns]
        # tool calls: as many as the simple per-task pattern finds
        for message, turn in zip(conv.messages, turns, strict=True):
            expected = len(re.findall(CALL_PATTERNS[task], _text(turn))) if _is_assistant(turn) else 0
            assert len(message.tool_calls) == expected, (conv.id, message.content)
        # losses: the source's booleans on assistant turns, nothing on user turns
        for message, turn in zip(conv.messages, turns, strict=True):
            source_loss = turn.get("loss")
            assert message.loss == (source_loss if _is_assistant(turn) else None)
        # the acknowledgement and worked example are marked, nothing else
        examples = {i for i, m in enumerate(conv.messages) if m.meta.get("example")}
        assert examples == _expected_examples(task, turns)
        assert not [p for p in validate(conv) if p.level == "error"]
    assert sum(len(c.messages) for c in convs) > 0


def test_counts_across_all_rows() -> None:
    calls = {task: sum(len(list(c.iter_tool_calls())) for c in read(shared_path("agentinstruct", f"{task}.json"))) for task in TASKS}
    assert calls == {"os": 24, "db": 5, "alfworld": 99, "webshop": 17, "kg": 65, "mind2web": 5}
    losses = [m.loss for c in read(shared_path("agentinstruct", "alfworld.json")) for m in c.messages if m.role == "assistant"]
    assert losses.count(False) == 5 and losses.count(True) == 99


def test_assistant_turns_carry_protocol_and_spans() -> None:
    for task in TASKS:
        for conv in read(shared_path("agentinstruct", f"{task}.json")):
            for message in conv.messages:
                if message.role != "assistant":
                    continue
                if message.content in ACKS:
                    assert message.protocol is None and message.meta == {"example": True}
                    continue
                assert message.protocol == f"agentinstruct-{task}"
                if "parse_error" in message.meta:  # one Mind2Web reply with the made-up operation SET
                    assert task == "mind2web" and "SET" in message.meta["parse_error"] and not message.spans
                    assert message.tool_calls[0].name == "SET"
                    continue
                assert message.spans[0].start == 0 and message.spans[-1].end == len(message.content)
                assert all(a.end == b.start for a, b in zip(message.spans, message.spans[1:], strict=False))


def test_span_content_of_a_bash_turn() -> None:
    conv = next(iter(read(shared_path("agentinstruct", "os.json"))))
    message = conv.messages[3]
    pieces = {message.content[s.start : s.end]: s.capability for s in message.spans}
    assert pieces["ls -1 /etc | wc -l"] is Capability.UNDERSTANDING
    assert pieces["bash"] is Capability.RETRIEVAL
    assert pieces[message.content[len("Think: ") : message.content.index("\n")]] is Capability.REASONING
    assert message.tool_calls[0].arguments == {"script": "ls -1 /etc | wc -l"}


def _rekey(row: dict[str, Any], to_from: bool) -> dict[str, Any]:
    turns = []
    for t in row["conversations"]:
        assistant = _is_assistant(t)
        if to_from:
            turns.append({"from": "gpt" if assistant else "human", "loss": t.get("loss"), "value": _text(t)})
        else:
            turns.append({"role": "assistant" if assistant else "user", "content": _text(t)})
    return {"id": row["id"], "conversations": turns}


def _convert(record: dict[str, Any]) -> Conversation:
    return next(AgentInstructFormat().convert(record, Location("mem.json", index=0)))


@pytest.mark.parametrize("task", TASKS)
def test_both_row_shapes_read_alike(task: str) -> None:
    for row in _rows(task):
        as_from, as_role = _convert(_rekey(row, True)), _convert(_rekey(row, False))
        for m in as_from.messages:
            m.loss = None
        assert as_from == as_role


def test_task_from_instructions_when_the_id_says_nothing(tmp_path: Path) -> None:
    rows = [{**r, "id": f"row{i}"} for i, r in enumerate(_rows("kg"))]
    path = tmp_path / "kg.json"
    path.write_text(json.dumps(rows))
    assert detect_format(rows[0]) == "agentinstruct"
    assert {c.meta["task"] for c in read(path)} == {"kg"}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "os_1", "conversations": "nope"}, "conversations"),
        ({"id": "os_1", "conversations": []}, "conversations"),
        ({"id": "os_1", "conversations": [{"from": "robot", "value": "x"}]}, "conversations[0].from"),
        ({"id": "os_1", "conversations": [{"speaker": "human", "text": "x"}]}, "conversations[0]"),
        ({"id": "os_1", "conversations": [{"from": "gpt", "loss": "yes", "value": "x"}]}, "conversations[0].loss"),
        ({"id": "x", "conversations": [{"from": "human", "value": "hello"}]}, "id"),
    ],
)
def test_bad_records_name_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        _convert(record)
    assert info.value.field == field and "mem.json#0 (id " in str(info.value)


def test_other_formats_are_not_claimed() -> None:
    fmt = AgentInstructFormat()
    toolllama = json.loads(shared_path("toolbench", "toolllama_reference", "G1.json").read_text())[0]
    glaive = json.loads(shared_path("glaive", "glaive_toolcall_en_demo.json").read_text())[0]
    release = json.loads(shared_path("agentflan_release", "samples.jsonl").read_text().splitlines()[0])
    others: list[Any] = [toolllama, glaive, release, [], "os_1", {"id": "os_1"}]
    assert not any(fmt.sniff(r) for r in others)
