"""Writers: exact schemas, what each format does with what it cannot hold, atomicity, determinism."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentflan.batch import OnError, Rejects
from agentflan.conversation import Conversation, Message, Tool, ToolCall
from agentflan.errors import InputError
from agentflan.sources import read
from agentflan.writers import write, writer_names
from agentflan.writers.sharegpt import dataset_info_entry
from conftest import shared_path

SUFFIX = {"parquet": ".parquet", "hf-dataset": "", "toolllama": ".json", "sharegpt-tools": ".json"}
WEATHER = Tool("weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def _tool_conversation(conv_id: str = "w1") -> Conversation:
    return Conversation(
        conv_id,
        [
            Message("system", "You help."),
            Message("user", "Weather in Oslo?"),
            Message("assistant", "I should look it up.", tool_calls=[ToolCall("weather", {"city": "Oslo"})]),
            Message("tool", '{"temp": -3}', name="weather"),
            Message("assistant", "It is -3 °C.", loss=False),
        ],
        tools=[WEATHER],
    )


def _out(tmp_path: Path, fmt: str, name: str = "out") -> Path:
    return tmp_path / f"{name}{SUFFIX.get(fmt, '.jsonl')}"


def test_agentflan_rows_have_exactly_the_released_schema(tmp_path: Path) -> None:
    path = tmp_path / "af.jsonl"
    write([_tool_conversation()], path, "agentflan")
    (row,) = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert list(row) == ["conversation", "id"]
    assert all(list(t) == ["role", "content", "loss"] and isinstance(t["loss"], bool) for t in row["conversation"])
    roles = [(t["role"], t["loss"]) for t in row["conversation"]]
    assert roles == [("system", False), ("user", False), ("assistant", True), ("user", False), ("assistant", False)]
    system, _, call, result, answer = (t["content"] for t in row["conversation"])
    assert system.startswith("You help.\n\n") and "weather" in system  # the tools, so the rows are usable
    assert call == '\nThought: I should look it up.\nAction: weather\nAction Input: {"city":"Oslo"}'
    assert result == 'Observation: {"temp": -3}'
    assert answer == "\nFinal Answer: It is -3 °C."
    (back,) = read(path)
    assert back.messages[2].protocol == "react" and back.messages[2].tool_calls[0].arguments == {"city": "Oslo"}


@pytest.mark.shared_data
def test_agentflan_release_rows_are_rewritten_byte_for_byte(tmp_path: Path) -> None:
    source = shared_path("agentflan_release", "samples.jsonl")
    path = tmp_path / "af.jsonl"
    write(read(source), path, "agentflan")
    original = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    ours = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # The shared copy lost its loss fields; everything else is the release as published.
    assert [[{k: t[k] for k in ("role", "content")} for t in r["conversation"]] for r in ours] == [r["conversation"] for r in original]


def test_openai_rows_are_trl_tool_calling_rows(tmp_path: Path) -> None:
    path = tmp_path / "trl.jsonl"
    write([_tool_conversation()], path, "openai")
    row = json.loads(path.read_text(encoding="utf-8"))
    assert row["tools"] == [{"type": "function", "function": WEATHER.to_dict()}]
    call = row["messages"][2]
    assert call["tool_calls"] == [{"type": "function", "function": {"name": "weather", "arguments": {"city": "Oslo"}}}]
    assert row["messages"][3] == {"role": "tool", "content": '{"temp": -3}', "name": "weather"}
    assert row["messages"][4]["weight"] == 0  # OpenAI fine-tuning: do not train this turn


def test_openai_rows_load_with_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "trl.jsonl"
    other = Conversation("w2", [Message("user", "sum"), Message("assistant", "", tool_calls=[ToolCall("add", {"a": 1, "b": [2]})])])
    write([_tool_conversation(), other], path, "openai")
    rows = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert rows.num_rows == 2 and rows[0]["id"] == "w1"


def test_sharegpt_rows_and_dataset_info(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "glaive_like.json"
    (tmp_path / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "mine.json"}}), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        write([_tool_conversation()], path, "sharegpt-tools", drop_loss_masks=True)
    (row,) = json.loads(path.read_text(encoding="utf-8"))
    assert row["system"] == "You help."
    assert json.loads(row["tools"]) == [WEATHER.to_dict()]
    assert [t["from"] for t in row["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert json.loads(row["conversations"][1]["value"]) == {"name": "weather", "arguments": {"city": "Oslo"}}
    assert "1 assistant turns had text beside their tool calls" in caplog.text
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info == {"mine": {"file_name": "mine.json"}, "glaive_like": dataset_info_entry(path)}
    assert [c.id for c in read(tmp_path)] == ["w1"]  # the folder reads as data: the index is skipped


def test_sharegpt_rejects_what_llama_factory_would_drop(tmp_path: Path) -> None:
    ok = Conversation("ok", [Message("user", "q"), Message("assistant", "a"), Message("user", "Observation: done")])
    broken = Conversation("broken", [Message("user", "q"), Message("user", "again"), Message("assistant", "a")])
    with pytest.raises(InputError, match="turns must alternate"):
        write([ok, broken], tmp_path / "x.json", "sharegpt-tools")
    assert not (tmp_path / "x.json").exists()
    rejects_path = tmp_path / "rejects.jsonl"
    with Rejects(rejects_path, "skip") as rejects:
        assert write([ok, broken], tmp_path / "x.json", "sharegpt-tools", rejects=rejects) == 1
    (row,) = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert [t["from"] for t in row["conversations"]] == ["human", "gpt"]  # the trailing user turn is left off
    rejected = json.loads(rejects_path.read_text(encoding="utf-8"))
    assert rejected["location"] == "conversation 'broken'" and rejected["record"]["id"] == "broken"


def test_toolllama_renders_calls_replies_and_the_api_list(tmp_path: Path) -> None:
    conv = _tool_conversation()
    conv.messages[2].tool_calls.append(ToolCall("weather", {"city": "Rome"}))
    path = tmp_path / "tl.json"
    write([conv], path, "toolllama", drop_loss_masks=True)
    (row,) = json.loads(path.read_text(encoding="utf-8"))
    turns = row["conversations"]
    assert turns[0]["value"] == "You help.\nSpecifically, you have access to the following APIs: " + repr([WEATHER.to_dict()])
    assert [t["from"] for t in turns] == ["system", "user", "assistant", "assistant", "function", "assistant"]
    assert turns[3]["value"] == '\nThought: \nAction: weather\nAction Input: {"city":"Rome"}'
    assert turns[5]["value"].startswith("\nThought: \nAction: Finish\nAction Input: {\n  \"return_type\": \"give_answer\"")
    (back,) = read(path)
    assert back.tools == [WEATHER] and back.messages[0].content == "You help."


def test_toolllama_rows_always_open_with_a_system_turn(tmp_path: Path) -> None:
    plain = Conversation("p", [Message("user", "hi"), Message("assistant", "hello")])
    write([plain], tmp_path / "tl.json", "toolllama")
    (row,) = json.loads((tmp_path / "tl.json").read_text(encoding="utf-8"))
    assert row["conversations"][0] == {"from": "system", "value": ""}
    (back,) = read(tmp_path / "tl.json")
    assert [m.role for m in back.messages] == ["user", "assistant"] and back.messages[1].protocol == "react"


def test_unknown_roles_are_typed_errors(tmp_path: Path) -> None:
    conv = Conversation("c", [Message("user", "q"), Message("critic", "hm"), Message("assistant", "a")])
    for fmt in ("agentflan", "sharegpt-tools", "toolllama"):
        with pytest.raises(InputError, match="critic"):
            write([conv], _out(tmp_path, fmt), fmt)


class Boom(RuntimeError):
    pass


def _dies_after(n: int, exc: type[BaseException] = Boom) -> Iterator[Conversation]:
    for i in range(n):
        yield _tool_conversation(f"c{i}")
    raise exc("killed mid-write")


@pytest.mark.parametrize("fmt", writer_names())
def test_a_death_mid_write_leaves_no_partial_output(fmt: str, tmp_path: Path) -> None:
    target = _out(tmp_path, fmt)
    with pytest.raises(Boom):
        write(_dies_after(1500), target, fmt, drop_loss_masks=True)  # past the first write block / parquet batch
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temp file or folder left behind either


@pytest.mark.parametrize("fmt", ["toolllama", "native", "hf-dataset"])
def test_an_interrupt_keeps_the_previous_output(fmt: str, tmp_path: Path) -> None:
    target = _out(tmp_path, fmt)
    write([_tool_conversation("old")], target, fmt, drop_loss_masks=True)
    with pytest.raises(KeyboardInterrupt):
        write(_dies_after(3, KeyboardInterrupt), target, fmt, drop_loss_masks=True)
    assert [c.id for c in read(target)] == ["old"]


@pytest.mark.parametrize("fmt", [f for f in writer_names() if f != "hf-dataset"])
def test_same_input_gives_byte_identical_output(fmt: str, tmp_path: Path) -> None:
    a, b = _out(tmp_path, fmt, "a"), _out(tmp_path, fmt, "b")
    convs = [_tool_conversation(f"c{i}") for i in range(3)]
    write(convs, a, fmt, drop_loss_masks=True)
    write(convs, b, fmt, drop_loss_masks=True)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(("name", "container"), [("x.jsonl", "lines"), ("x.json", "array"), ("x.ndjson", "lines")])
def test_the_suffix_chooses_the_container(name: str, container: str, tmp_path: Path) -> None:
    write([_tool_conversation("a"), _tool_conversation("b")], tmp_path / name, "openai")
    text = (tmp_path / name).read_text(encoding="utf-8")
    if container == "array":
        assert [r["id"] for r in json.loads(text)] == ["a", "b"]
    else:
        assert [json.loads(line)["id"] for line in text.splitlines()] == ["a", "b"]


def test_empty_input_writes_a_valid_empty_output(tmp_path: Path) -> None:
    assert write([], tmp_path / "e.json", "toolllama") == 0
    assert json.loads((tmp_path / "e.json").read_text(encoding="utf-8")) == []
    assert write([], tmp_path / "e.parquet", "parquet") == 0
    assert list(read(tmp_path / "e.parquet")) == []


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["sharegpt-tools", "toolllama"])
def test_formats_without_per_turn_loss_refuse_masked_turns_unless_told(
    fmt: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """AgentInstruct's ALFWorld rows mask their one-shot acknowledgement (loss: false)."""
    convs = list(read(shared_path("agentinstruct", "alfworld.json")))
    masked = sum(m.role == "assistant" and m.loss is False for c in convs for m in c.messages)
    assert masked == 5
    out = tmp_path / "out.json"
    with pytest.raises(InputError, match=r"1 assistant turns have loss: false.*--drop-loss-masks"):
        write(convs, out, fmt)
    assert not out.exists()
    with Rejects(tmp_path / "rejects.jsonl", OnError.SKIP) as rejects:
        assert write(convs, out, fmt, rejects=rejects) == 0
    assert rejects.stats.rejected == 5
    with caplog.at_level(logging.WARNING):
        assert write(convs, out, fmt, drop_loss_masks=True) == 5
    assert "5 masked assistant turns in 5 rows lose their mask" in caplog.text


def test_formats_with_per_turn_loss_keep_masks(tmp_path: Path) -> None:
    conv = Conversation("m", [Message("user", "q"), Message("assistant", "ok", loss=False), Message("user", "q2"), Message("assistant", "a")])
    for fmt in ("native", "agentflan", "openai"):
        write([conv], tmp_path / f"{fmt}.jsonl", fmt)
        (back,) = read(tmp_path / f"{fmt}.jsonl", format=fmt)
        assert [m.loss is not False for m in back.messages if m.role == "assistant"] == [False, True], fmt
