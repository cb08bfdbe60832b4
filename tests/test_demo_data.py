"""The embedded demo data: it reads through the project's own readers, every tool call is
offered, fits its schema and gets its result, ids are unique, and the committed files are
exactly what the seeded generator writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentflan.conversation import Conversation, validate
from agentflan.demo import CHAT, QUESTIONS, TRAJECTORIES, demo_dir, demo_file
from agentflan.io import iter_records
from agentflan.sources import detect_format, read
from conftest import ROOT


@pytest.fixture(scope="module")
def trajectories() -> list[Conversation]:
    return list(read(demo_file(TRAJECTORIES), format="openai"))


@pytest.fixture(scope="module")
def chats() -> list[Conversation]:
    return list(read(demo_file(CHAT), format="sharegpt-tools"))


def _records(name: str) -> list[dict]:
    return [r.value for r in iter_records(demo_file(name))]


def test_formats_are_detected() -> None:
    assert detect_format(_records(TRAJECTORIES)[0]) == "openai"
    assert detect_format(_records(CHAT)[0]) == "sharegpt-tools"


def test_trajectories_are_valid_multi_step_tool_use(trajectories: list[Conversation]) -> None:
    assert len(trajectories) == 108
    tools_used: set[str] = set()
    for conv in trajectories:
        assert not validate(conv), (conv.id, [str(p) for p in validate(conv)])
        offered = conv.tool_names()
        calls = list(conv.iter_tool_calls())
        assert calls, conv.id
        assert {c.name for c in calls} <= offered, conv.id
        assert len(offered - {c.name for c in calls}) >= 1, f"{conv.id} offers no distractor tool"
        tools_used |= {c.name for c in calls}
        # Every call is answered by a tool message carrying its id, before the next assistant turn.
        for i, m in enumerate(conv.messages):
            if m.tool_calls:
                answers = [t.tool_call_id for t in conv.messages[i + 1 : i + 1 + len(m.tool_calls)] if t.role == "tool"]
                assert answers == [c.id for c in m.tool_calls], conv.id
                assert m.content.strip(), f"{conv.id}: a tool-calling step without a thought"
        final = conv.messages[-1]
        assert final.role == "assistant" and not final.tool_calls and final.content.strip(), conv.id
    assert len(tools_used) >= 15
    assert sum(sum(bool(m.tool_calls) for m in c.messages) >= 2 for c in trajectories) >= 60


def test_chat_is_plain_alternating_dialogue(chats: list[Conversation]) -> None:
    assert len(chats) == 100
    assert sum(len(c.messages) > 2 for c in chats) >= 5
    for conv in chats:
        roles = [m.role for m in conv.messages if m.role != "system"]
        assert roles == ["user", "assistant"] * (len(roles) // 2), conv.id
        assert not conv.tools and not list(conv.iter_tool_calls()), conv.id
        assert all(m.content.strip() for m in conv.messages), conv.id


def test_ids_are_unique_across_the_demo_files() -> None:
    ids = [r["id"] for name in (TRAJECTORIES, CHAT, QUESTIONS) for r in _records(name)]
    assert len(ids) == len(set(ids))


def test_questions_are_short_answers_held_out_of_training_text() -> None:
    questions = _records(QUESTIONS)
    assert len(questions) >= 60
    assert all(set(q) == {"id", "question", "answer"} and q["question"].strip() and q["answer"].strip() for q in questions)
    training_text = demo_file(TRAJECTORIES).read_text(encoding="utf-8") + demo_file(CHAT).read_text(encoding="utf-8")
    leaked = [q["question"] for q in questions if q["question"] in training_text]
    assert not leaked


def test_demo_folder_is_small() -> None:
    assert sum(p.stat().st_size for p in demo_dir().iterdir()) < 1_000_000


def test_committed_files_are_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(tmp_path)], check=True, capture_output=True)
    for name in (TRAJECTORIES, CHAT, QUESTIONS):
        assert (tmp_path / name).read_bytes() == demo_file(name).read_bytes(), f"{name} is stale: rerun scripts/make_demo_data.py"
