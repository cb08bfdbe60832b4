"""Readers on the real public corpora, format detection, located errors and skip mode."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentflan.batch import Rejects
from agentflan.errors import FormatDetectionError, InputError
from agentflan.protocols.base import ParseFailure, get_protocol
from agentflan.sources import detect_format, iter_located, read
from conftest import shared_path

FIREACT_ACTION = re.compile(r"(?m)^Action: (\w+)\[")


@pytest.mark.shared_data
def test_every_fireact_trajectory_reads_and_every_call_is_recovered() -> None:
    files = sorted(shared_path("fireact").glob("*.jsonl"))
    raw = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    convs = list(read(str(shared_path("fireact") / "*.jsonl")))
    assert len(convs) == len(raw) == 2563
    # Counted independently of the protocol: the action line of each assistant turn.
    expected_calls = expected_finishes = 0
    for row in raw:
        for m in row["messages"]:
            if m["role"] == "assistant":
                names = FIREACT_ACTION.findall(m["content"])
                expected_calls += sum(n != "finish" for n in names[-1:])
                expected_finishes += sum(n == "finish" for n in names[-1:])
    fireact = get_protocol("fireact")
    calls = finishes = observations = 0
    for conv, row in zip(convs, raw, strict=True):
        assert conv.source == "fireact"
        assert [m.content for m in conv.messages] == [m["content"] for m in row["messages"]]
        for m in conv.messages:
            if m.role == "assistant":
                assert m.protocol == "fireact"
                calls += len(m.tool_calls)
                step = fireact.parse(m.content)
                step = step.partial if isinstance(step, ParseFailure) else step
                finishes += step is not None and step.final_answer is not None
            elif m.meta.get("observation"):
                assert m.role == "user" and m.content.startswith("Observation:")
                observations += 1
    assert (calls, finishes) == (expected_calls, expected_finishes)
    assert calls == 3135 and finishes > 2500
    assert observations == sum(
        1 for row in raw for i, m in enumerate(row["messages"]) if i and m["role"] == "user" and m["content"].startswith("Observation:")
    )


@pytest.mark.shared_data
def test_every_glaive_conversation_reads_and_every_call_is_recovered() -> None:
    path = shared_path("glaive", "glaive_toolcall_en_demo.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    convs = list(read(path))
    assert detect_format(raw[0]) == "sharegpt-tools"
    assert len(convs) == len(raw) == 300
    expected = [json.loads(t["value"]) for row in raw for t in row["conversations"] if t["from"] == "function_call"]
    got = [c for conv in convs for c in conv.iter_tool_calls()]
    assert len(got) == len(expected) == 211
    assert [(c.name, c.arguments) for c in got] == [(e["name"], e["arguments"]) for e in expected]
    for conv, row in zip(convs, raw, strict=True):
        assert conv.tool_names() == {t["name"] for t in json.loads(row["tools"] or "[]")}
        for i, m in enumerate(conv.messages):
            if m.role == "tool":  # an observation is named after the call it answers
                assert m.name == conv.messages[i - 1].tool_calls[0].name


@pytest.mark.shared_data
def test_toolbench_answers_read_fifty_steps_with_tools() -> None:
    convs = list(read(shared_path("toolbench", "answers")))
    assert len(convs) == 50
    assert all(c.source == "toolbench" and c.tools and c.id.startswith("Step ") for c in convs)
    assert all(c.messages[-1].role == "assistant" and c.messages[-1].tool_calls for c in convs)
    assert {c.meta["trajectory"].split("/")[0] for c in convs} == {"G1_answer", "G2_answer", "G3_answer"}


@pytest.mark.shared_data
def test_agentflan_release_rows_read_with_their_protocols() -> None:
    convs = list(read(shared_path("agentflan_release", "samples.jsonl")))
    assert [c.id for c in convs] == ["toolbench_instruct_j1s1_3k_2053", "toolbench_tflan_cot_30p_6770"]
    json_goal = convs[0].messages[-1]
    assert json_goal.protocol == "json-goal"
    assert json_goal.tool_calls[0].name == "weather.get_120_hour_forecast_for_weather"
    assert json_goal.tool_calls[0].arguments == {"lat": 25.7617, "lon": -80.1918, "units": "imperial"}
    assert all(m.protocol is None for m in convs[1].messages)  # chat-aligned rows are plain text


def test_release_loss_flags_map_to_the_model(tmp_path: Path) -> None:
    row = {
        "id": "x_1",
        "conversation": [
            {"role": "system", "content": "s", "loss": False},
            {"role": "user", "content": "u", "loss": True},
            {"role": "assistant", "content": "a", "loss": True},
            {"role": "assistant", "content": "b", "loss": False},
        ],
    }
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (conv,) = read(path)
    assert [m.loss for m in conv.messages] == [None, True, None, False]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"conversation": [{"role": "user", "content": "hi"}], "id": "a"}, "agentflan"),
        ({"answer_generation": {"valid_data": False}}, "toolbench"),
        ({"id": "s", "conversations": [{"from": "system", "value": "x"}, {"from": "user", "value": "y"}]}, "toolllama"),
        ({"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}], "tools": "[]"}, "sharegpt-tools"),
        ({"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}]}, "sharegpt-tools"),
        ({"messages": [{"role": "assistant", "content": "Thought: t\nAction: search[x]"}]}, "react-messages"),
        ({"id": "n", "messages": [{"role": "assistant", "content": "x", "loss": False}]}, "native"),
        ({"id": "n", "messages": [{"role": "user", "content": "x"}], "source": "demo"}, "native"),
        ({"messages": [{"role": "user", "content": "x"}]}, "openai"),
        ({"id": "o", "messages": [{"role": "assistant", "content": "", "weight": 0}]}, "openai"),
    ],
)
def test_detect_format(record: dict, expected: str) -> None:
    assert detect_format(record) == expected


def test_detection_is_narrowed_by_later_rows(tmp_path: Path) -> None:
    """A plain first row reads the same as native and openai; the next rows tell which it is."""
    plain = {"id": "a", "messages": [{"role": "user", "content": "hi"}]}
    openai_row = {
        "id": "b",
        "messages": [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
    }
    native_row = {"id": "c", "messages": [{"role": "assistant", "content": "x", "spans": [{"start": 0, "end": 1, "capability": "reasoning"}]}]}
    for second, check in ((openai_row, lambda m: m.tool_calls[0].name == "f"), (native_row, lambda m: m.spans)):
        path = tmp_path / "mixed.jsonl"
        path.write_text(json.dumps(plain) + "\n" + json.dumps(second) + "\n", encoding="utf-8")
        convs = list(read(path))
        assert check(convs[1].messages[0])


def test_undetectable_input_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"text": "just text"}\n', encoding="utf-8")
    with pytest.raises(FormatDetectionError, match=r"odd\.jsonl:1"):
        list(read(path))


def test_malformed_line_in_the_middle_names_its_line(tmp_path: Path) -> None:
    rows = [json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}) for i in range(9)]
    rows.insert(4, '{"messages": [{"role": "user", "content": ')  # line 5
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"chat\.jsonl:5: not valid JSON"):
        list(read(path))
    rejects_path = tmp_path / "rejects.jsonl"
    with Rejects(rejects_path, "skip") as rejects:
        convs = list(read(path, rejects=rejects))
    assert [c.messages[0].content for c in convs] == [f"q{i}" for i in range(9)]
    assert rejects.stats.summary() == "read 9, written 0, rejected 1"
    (rejected,) = [json.loads(line) for line in rejects_path.read_text(encoding="utf-8").splitlines()]
    assert rejected["location"].endswith("chat.jsonl:5")


def test_a_bad_field_is_named_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = {"messages": [{"role": "user", "content": "x"}]}
    bad = {"id": "r2", "messages": [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read(path, "openai"))
    assert info.value.field == "messages[0].tool_calls[0].function.name"
    assert str(info.value.location).endswith("calls.jsonl:2 (id r2)")


def test_located_conversations_carry_file_line_and_id(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"r{i}", "conversation": [{"role": "user", "content": "x"}]}) for i in range(3)), encoding="utf-8")
    assert [str(item.location) for item in iter_located(path)] == [f"{path}:{i + 1} (id r{i})" for i in range(3)]


def test_rows_without_ids_get_portable_ids(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "chat.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n", encoding="utf-8")
    assert [c.id for c in read(path)] == ["chat:1"]


def test_openai_reader_accepts_trl_and_wire_shapes(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "be "}, {"type": "text", "text": "brief"}]},
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "weight": 0,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"city": "Oslo"}'}},
                    {"type": "function", "function": {"name": "w", "arguments": {"city": "Rome"}}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "cold"},
            {"role": "assistant", "content": None, "function_call": {"name": "w", "arguments": "not json"}},
        ],
        "tools": json.dumps([{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}]),
    }
    path = tmp_path / "trl.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (conv,) = read(path)
    system, _, call, tool, legacy = conv.messages
    assert (system.role, system.content) == ("system", "be brief")
    assert call.loss is False and call.content == ""
    assert [(c.id, c.arguments, c.raw_arguments) for c in call.tool_calls] == [("c1", {"city": "Oslo"}, '{"city": "Oslo"}'), (None, {"city": "Rome"}, None)]
    assert tool.tool_call_id == "c1"
    assert legacy.tool_calls[0].arguments_error is not None and legacy.tool_calls[0].raw_arguments == "not json"
    assert [t.name for t in conv.tools] == ["w"]


def test_hub_spec_streams_through_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """hf://owner/name[:split] goes through datasets.load_dataset(streaming=True); offline here, the
    repo id resolves to a local folder of the same name (as datasets does before the hub)."""
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "someone" / "chats"
    repo.mkdir(parents=True)
    rows = [{"id": f"h{i}", "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(3)]
    (repo / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    located = list(iter_located("hf://someone/chats:train"))
    assert [item.conversation.id for item in located] == ["h0", "h1", "h2"]
    assert str(located[1].location) == "hf://someone/chats:train#1 (id h1)"
    with pytest.raises(InputError, match="hf://owner/name"):
        list(read("hf://not-a-repo"))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "x", "meta": []}, "messages[0].meta"),
        ({"role": "assistant", "content": "", "tool_calls": [{"name": "f", "arguments": []}]}, "messages[0].tool_calls[0].arguments"),
        ({"role": "assistant", "content": "", "tool_calls": [{"name": "f", "arguments": ""}]}, "messages[0].tool_calls[0].arguments"),
    ],
)
def test_native_rejects_empty_non_objects_where_an_object_belongs(tmp_path: Path, message: dict, field: str) -> None:
    """``[]`` or ``""`` for an object field is a typing error, not an empty object (only null/absent is)."""
    path = tmp_path / "native.jsonl"
    path.write_text(json.dumps({"id": "n1", "messages": [message]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a JSON object") as info:
        list(read(path, "native"))
    assert info.value.field == field and str(info.value.location).endswith("native.jsonl:1 (id n1)")
