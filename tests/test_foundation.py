"""The bottom floor: the conversation model, located records, atomic outputs, rejects."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.batch import OnError, Rejects
from agentflan.conversation import Capability, Conversation, Message, Span, Tool, ToolCall, validate
from agentflan.errors import InputError
from agentflan.io import atomic_dir, atomic_open, expand_paths, iter_records


def _weather_conv() -> Conversation:
    tool = Tool(
        "get_weather",
        "Current weather for a city",
        {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]},
    )
    return Conversation(
        id="w1",
        tools=[tool],
        messages=[
            Message("system", "You can call tools."),
            Message("user", "Weather in Paris?"),
            Message(
                "assistant",
                "Let me check.",
                tool_calls=[ToolCall.from_text("get_weather", '{"city": "Paris"}')],
                spans=[Span(0, 13, Capability.REASONING)],
            ),
            Message("tool", '{"temp": 21}', name="get_weather"),
            Message("assistant", "It is 21 °C in Paris.", loss=True),
        ],
    )


def test_valid_conversation_has_no_problems() -> None:
    assert validate(_weather_conv()) == []


def test_validate_reports_every_problem_with_its_place() -> None:
    conv = _weather_conv()
    conv.messages[0].role = "narrator"
    conv.messages[1].loss = True
    conv.messages[2].tool_calls.append(ToolCall("book_flight", {"to": "NYC"}))
    conv.messages[2].tool_calls.append(ToolCall("get_weather", {"days": "three"}))
    conv.messages[2].tool_calls.append(ToolCall.from_text("get_weather", "{city: Paris"))
    conv.messages[4].spans.append(Span(0, 999, Capability.REASONING))
    found = {(p.level, p.where) for p in validate(conv)}
    assert ("error", "messages[0].role") in found
    assert ("error", "messages[1].loss") in found
    assert ("error", "messages[2].tool_calls[1].name") in found
    assert ("warning", "messages[2].tool_calls[2].arguments") in found  # schema: missing city, days not int
    assert ("warning", "messages[2].tool_calls[3].arguments") in found  # not JSON
    assert ("error", "messages[4].spans[0]") in found


def test_tool_call_keeps_raw_text_and_says_why_it_does_not_parse() -> None:
    good = ToolCall.from_text("f", '{\n  "a": 1\n}')
    assert good.arguments == {"a": 1} and good.arguments_text() == '{\n  "a": 1\n}'
    bad = ToolCall.from_text("f", "[1, 2]")
    assert not bad.arguments_ok and bad.arguments == {} and "object" in (bad.arguments_error or "")


_text = st.text(max_size=30)
_messages = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    content=_text,
    loss=st.sampled_from([None, True, False]),
    tool_calls=st.lists(st.builds(ToolCall, name=st.text(min_size=1, max_size=10), arguments=st.dictionaries(_text, st.integers(-(2**63), 2**63 - 1), max_size=3)), max_size=2),
    meta=st.dictionaries(st.text(max_size=5), st.booleans(), max_size=2),
)


@given(st.builds(Conversation, id=st.text(min_size=1, max_size=10), messages=st.lists(_messages, max_size=5), source=_text))
def test_native_dict_round_trip(conv: Conversation) -> None:
    assert Conversation.from_dict(orjson.loads(orjson.dumps(conv.to_dict()))) == conv


def test_bad_jsonl_line_is_located_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": \n\n{"a": 3}\n', encoding="utf-8")
    records = list(iter_records(path))
    assert [r.value for r in records if r.error is None] == [{"a": 1}, {"a": 3}]
    (bad,) = [r for r in records if r.error is not None]
    assert bad.location.line == 2 and f"{path}:2" in str(bad.error)


def test_expand_paths_sorts_folders_and_names_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("x")
    assert expand_paths(tmp_path) == [tmp_path / "b.jsonl", tmp_path / "sub" / "a.json"]
    with pytest.raises(InputError, match="no such file"):
        expand_paths(tmp_path / "missing.jsonl")


def test_atomic_open_leaves_nothing_behind_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt), atomic_open(target) as fh:
        fh.write("partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "f.txt") as fh:
            fh.write("x")
        with atomic_dir(tmp_path / "d") as d:
            (d / "inner.txt").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_atomic_dir_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "build"
    with atomic_dir(target) as d:
        (d / "v1").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as d:
        (d / "v2").write_text("2")
        raise RuntimeError("crash mid-build")
    assert sorted(p.name for p in target.iterdir()) == ["v1"]
    assert [p.name for p in tmp_path.iterdir()] == ["build"]


def test_rejects_skip_writes_each_row_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    with Rejects(path, OnError.SKIP) as rejects:
        rejects.handle(InputError("in.jsonl:3", "not valid JSON", field="conversation"), {"x": 1})
        rejects.handle(InputError("in.jsonl:9", "unknown role 'bot'"), None)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["location"] for r in rows] == ["in.jsonl:3", "in.jsonl:9"]
    assert rows[0]["field"] == "conversation" and rows[0]["record"] == {"x": 1}
    assert rejects.stats.rejected == 2


def test_rejects_fail_raises_the_located_error(tmp_path: Path) -> None:
    with Rejects(tmp_path / "r.jsonl", OnError.FAIL) as rejects, pytest.raises(InputError, match=r"in\.jsonl:3"):
        rejects.handle(InputError("in.jsonl:3", "bad"))
    assert not (tmp_path / "r.jsonl").exists()
