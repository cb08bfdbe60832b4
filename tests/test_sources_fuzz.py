"""Garbage in, typed error out: every reader and the file pipeline either read a record or raise
InputError (naming where), never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import InputError, Location
from agentflan.jsonutil import dumps
from agentflan.sources import format_names, get_format, read

# Keys every reader looks for: garbage built from them reaches deep into the readers.
KEYS = [
    "id", "messages", "conversations", "conversation", "role", "content", "from", "value", "loss", "weight",
    "tool_calls", "function", "arguments", "name", "type", "tools", "system", "answer_generation",
    "train_messages", "valid_data", "query", "function_call", "spans", "start", "end", "capability",
    "protocol", "meta", "source", "description", "parameters", "tool_call_id", "raw_arguments", "text",
]  # fmt: skip
WORDS = ["system", "user", "assistant", "tool", "human", "gpt", "function_call", "observation", "function",
         "text", "reasoning", "react", "Thought: t\nAction: search[x]", "os_0", "Step 2: q", "{}", '{"a": 1}',
         "[{\"name\": \"f\"}]", "Action: f\nAction Input: {", "\nSpecifically, you have access to the following APIs: [{"]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8) | st.sampled_from(WORDS)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5),
    max_leaves=25,
)
LOC = Location("fuzz.jsonl", line=7)

# One valid record per format; mutating a random field of it reaches every branch of the reader.
_CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
_SCHEMA = {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}
TEMPLATES: dict[str, dict[str, Any]] = {
    "agentflan": {"id": "x_1", "conversation": [{"role": "system", "content": "s", "loss": False}, {"role": "assistant", "content": "Thought: t\nAction: f\nAction Input: {}", "loss": True}]},
    "native": {"id": "n", "messages": [{"role": "assistant", "content": "ab", "loss": False, "tool_calls": [{"name": "f", "arguments": {"a": 1}, "raw_arguments": "{}"}], "spans": [{"start": 0, "end": 1, "capability": "reasoning"}], "protocol": "react", "meta": {"k": 1}}], "tools": [_SCHEMA], "source": "s", "meta": {}},
    "toolbench": {"answer_generation": {"valid_data": True, "query": "q", "function": [_SCHEMA], "train_messages": [[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "t"}, {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}, {"role": "function", "name": "f", "content": "r"}, {"role": "assistant", "content": None, "function_call": {"name": "Finish", "arguments": "{}"}}]]}},
    "toolllama": {"id": "Step 2: q", "conversations": [{"from": "system", "value": "s\nSpecifically, you have access to the following APIs: [{'name': 'f', 'description': '', 'parameters': {}}]"}, {"from": "user", "value": "u"}, {"from": "assistant", "value": "\nThought: \nAction: f\nAction Input: {}"}, {"from": "function", "value": "r"}]},
    "sharegpt-tools": {"id": "g", "system": "s", "tools": json.dumps([_SCHEMA]), "conversations": [{"from": "human", "value": "u"}, {"from": "function_call", "value": '[{"name": "f", "arguments": {"a": 1}}]'}, {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}]},
    "react-messages": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Thought: t\nAction: search[x]"}, {"role": "user", "content": "Observation: o"}]},
    "openai": {"id": "o", "messages": [{"role": "user", "content": [{"type": "text", "text": "u"}]}, {"role": "assistant", "content": None, "weight": 1, "tool_calls": [_CALL], "function_call": {"name": "f", "arguments": {}}}, {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "r"}], "tools": [{"type": "function", "function": _SCHEMA}]},
    "agentinstruct": {"id": "alfworld_0", "conversations": [{"from": "human", "loss": None, "value": "Interact with a household to solve a task."}, {"from": "gpt", "loss": False, "value": "OK"}, {"from": "human", "loss": None, "value": "Your task is to: put a pan on the table."}, {"from": "gpt", "loss": True, "value": "THOUGHT: go.\n ACTION: go to table 1"}]},
}  # fmt: skip
DELETE = object()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _mutate(record: Any, path: tuple[Any, ...], new: Any) -> Any:
    record = json.loads(json.dumps(record))
    parent = record
    for step in path[:-1]:
        if not isinstance(parent, (dict, list)):
            return record
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return record
    if isinstance(parent, (dict, list)):
        try:
            if new is DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            pass
    return record


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    record = TEMPLATES[name]
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(record)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        record = _mutate(record, path, draw(json_values | st.just(DELETE)))
    return record


def _convert(name: str, record: Any) -> list[Conversation]:
    return list(get_format(name).convert(record, LOC))


@pytest.mark.parametrize("name", format_names())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=json_values)
def test_garbage_records_raise_input_error_only(name: str, record: Any) -> None:
    try:
        convs = _convert(name, record)
    except InputError as exc:
        assert "fuzz.jsonl:7" in str(exc)
        return
    assert all(isinstance(c, Conversation) for c in convs)


def test_every_format_has_a_template_and_it_reads() -> None:
    assert set(TEMPLATES) == set(format_names())
    for name, record in TEMPLATES.items():
        assert _convert(name, record), name


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_records_raise_input_error_only(name: str, data: st.DataObject) -> None:
    record = data.draw(mutated(name))
    try:
        convs = _convert(name, record)
    except InputError as exc:
        assert "fuzz.jsonl:7" in str(exc)
        return
    assert all(isinstance(c, Conversation) for c in convs)


@pytest.mark.parametrize("name", format_names())
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_sniff_never_raises(name: str, data: st.DataObject) -> None:
    assert get_format(name).sniff(data.draw(json_values)) in (True, False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".json"]))
def test_garbage_files_raise_input_error_only(tmp_path: Path, blob: bytes, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(blob)
    try:
        list(read(path))
    except InputError as exc:
        assert "garbage" in str(exc)
    with Rejects(None, "skip") as rejects:
        list(read(path, rejects=rejects))  # skip mode swallows every bad record, whatever it is


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(json_values, min_size=1, max_size=6))
def test_garbage_jsonl_rows_in_skip_mode_are_all_accounted_for(tmp_path: Path, rows: list[Any]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with Rejects(tmp_path / "rejects.jsonl", "skip") as rejects:
        convs = list(read(path, rejects=rejects))
    assert rejects.stats.read == len(convs)
    assert rejects.stats.rejected <= len(rows)


# ----------------------------------------------------------------- every entry point, slow set
# Whole files through read() with each format forced (ToolBench's whole-file decoder included),
# parquet and save_to_disk folders, build folders with a broken manifest, and values nested
# deeper than orjson writes: InputError (or a rejects row) and nothing else.


def _deep(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def _read_typed(spec: Path, fmt: str | None, where: str) -> None:
    try:
        list(read(spec, fmt))
    except InputError as exc:
        assert where in str(exc)
    with Rejects(spec.parent / "rejects.jsonl", "skip") as rejects:
        try:
            list(read(spec, fmt, rejects=rejects))
        except InputError as exc:  # a whole input that cannot be opened is an error in skip mode too
            assert where in str(exc)


@pytest.mark.slow
@pytest.mark.parametrize("name", format_names())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), suffix=st.sampled_from([".json", ".jsonl"]))
def test_forced_formats_read_mutated_files_with_typed_errors_only(tmp_path: Path, name: str, data: st.DataObject, suffix: str) -> None:
    records = [data.draw(mutated(name)) for _ in range(data.draw(st.integers(1, 3)))]
    path = tmp_path / f"in{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(records[0] if len(records) == 1 else records), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    _read_typed(path, name, "in")
    _read_typed(path, None, "in")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEMPLATES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), depth=st.integers(200, 1000))
def test_deeply_nested_values_anywhere_give_typed_errors_and_writable_rejects(tmp_path: Path, name: str, data: st.DataObject, depth: int) -> None:
    record = TEMPLATES[name]
    path_in_record = data.draw(st.sampled_from(_paths(record)))
    record = _mutate(record, path_in_record, _deep(depth))
    path = tmp_path / "deep.jsonl"
    path.write_text(dumps(record) + "\n", encoding="utf-8")  # orjson writes only 255 levels; dumps falls back
    _read_typed(path, name, "deep.jsonl")
    rejects = tmp_path / "rejects.jsonl"
    assert not rejects.exists() or rejects.stat().st_size > 0  # never an empty rejects file


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400), kind=st.sampled_from(["parquet", "saved", "build"]))
def test_garbage_parquet_saved_datasets_and_build_manifests_raise_typed_errors(tmp_path: Path, blob: bytes, kind: str) -> None:
    folder = tmp_path / kind
    folder.mkdir(exist_ok=True)
    if kind == "parquet":
        spec = folder / "data.parquet"
        spec.write_bytes(blob)
    elif kind == "saved":
        (folder / "state.json").write_bytes(blob)
        (folder / "dataset_info.json").write_bytes(blob)
        spec = folder
    else:  # a build folder whose manifest is garbage (or names files that are not there) beside one data file
        (folder / "manifest.json").write_bytes(blob)
        (folder / "rows.jsonl").write_text(json.dumps(TEMPLATES["native"]) + "\n", encoding="utf-8")
        spec = folder
    _read_typed(spec, None, kind)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(splits=st.dictionaries(st.text(max_size=5), json_values, max_size=3))
def test_a_build_manifest_with_any_splits_is_read_or_refused_with_a_typed_error(tmp_path: Path, splits: dict[str, Any]) -> None:
    folder = tmp_path / "build"
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"agentflan_build": 1, "splits": splits}), encoding="utf-8")
    (folder / "rows.jsonl").write_text(json.dumps(TEMPLATES["native"]) + "\n", encoding="utf-8")
    _read_typed(folder, None, "build")
