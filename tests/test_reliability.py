"""Inputs that once stopped a run or lost work (issue 13): deep nesting, sloppy schemas, unknown
protocols, BOMs, build folders as inputs, long bad values. Each runs the real command in process."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from agentflan.batch import OnError, Rejects
from agentflan.cli import main
from agentflan.errors import InputError
from agentflan.jsonutil import dumps, dumps_bytes

DEPTH = 600  # orjson reads up to 1,024 levels but writes only 255


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def openai_row(text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "4"}]}


def test_values_deeper_than_orjson_writes_are_still_written() -> None:
    deep = {"a": nested(DEPTH)}
    assert orjson.loads(dumps_bytes(deep)) == deep
    assert orjson.loads(dumps(deep, indent=True, sort_keys=True)) == deep


def test_a_rejected_record_is_always_written_deep_or_unencodable(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    with Rejects(path, OnError.SKIP) as rejects:
        rejects.handle(InputError("in.jsonl:2", "bad"), {"messages": nested(DEPTH)})
    (row,) = [orjson.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert row["location"] == "in.jsonl:2" and row["record"] == {"messages": nested(DEPTH)}

    class Unwritable:
        def __str__(self) -> str:
            raise ValueError("no text either")

    other = tmp_path / "other.jsonl"
    with Rejects(other, OnError.SKIP) as rejects:
        rejects.handle(InputError("in.jsonl:3", "bad"), {"x": Unwritable()})
    (kept,) = [orjson.loads(line) for line in other.read_text(encoding="utf-8").splitlines()]
    assert kept["record"] is None and kept["record_text"].startswith("{'x': <")


def test_convert_skip_rejects_a_deep_line_and_inspect_json_reports_a_deep_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(openai_row("What is 2+2?")) + "\n" + '{"messages": ' + "[" * DEPTH + "]" * DEPTH + "}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(src), str(out), "--from", "openai", "--to", "native", "--on-error", "skip"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("read 1, written 1, rejected 1")
    (row,) = [orjson.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["location"].startswith(f"{src}:2") and isinstance(row["record"]["messages"], list)

    native = orjson.loads(out.read_text(encoding="utf-8"))
    native["meta"] = {"trace": nested(DEPTH)}
    deep_native = tmp_path / "deep.jsonl"
    deep_native.write_text(json.dumps(native) + "\n", encoding="utf-8")
    copy = tmp_path / "copy.jsonl"
    assert main(["convert", str(deep_native), str(copy), "--to", "native"]) == 0
    assert orjson.loads(copy.read_text(encoding="utf-8"))["meta"] == {"trace": nested(DEPTH)}
    capsys.readouterr()
    assert main(["inspect", str(deep_native), "--json", "--sample", "1"]) == 0
    text = capsys.readouterr().out
    report = orjson.loads(text[: text.rindex("}") + 1])
    assert report["sample"][0]["meta"] == {"trace": nested(DEPTH)}


def tool_row(parameters: object) -> dict[str, object]:
    return {
        "tools": [{"type": "function", "function": {"name": "add", "description": "adds", "parameters": parameters}}],
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "4"},
            {"role": "assistant", "content": "4"},
        ],
    }


@pytest.mark.parametrize(
    ("parameters", "where"),
    [
        ({"type": "object", "properties": {"a": {"type": "int"}, "b": {"type": "integer"}}}, "properties/a/type"),
        ({"type": "object", "properties": "a and b"}, "properties"),
        ({"type": "object", "properties": ["a", "b"]}, "properties"),
        ({"type": "object", "required": "a"}, "required"),
    ],
)
def test_validate_reports_a_sloppy_tool_schema_as_a_located_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parameters: object, where: str
) -> None:
    src = tmp_path / "tools.jsonl"
    good = tool_row({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}})
    src.write_text(json.dumps(good) + "\n" + json.dumps(tool_row(parameters)) + "\n", encoding="utf-8")
    assert main(["validate", str(src), "--from", "openai"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The good schema still checks the arguments (b is not a string); the bad one is reported once, located.
    assert any(line.startswith(f"{src}:1") and "tool_calls[0].arguments: b: 2 is not of type 'string'" in line for line in lines)
    (bad,) = [line for line in lines if "tools[0].parameters" in line]
    assert bad.startswith(f"{src}:2") and f"warning: tools[0].parameters: the parameter schema of 'add' is invalid: {where}:" in bad
    assert lines[-1] == "read 2, rejected 0"


def _parallel_calls_row() -> dict[str, object]:
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": "add", "arguments": json.dumps({"a": i, "b": i})}} for i in (1, 2)
    ]
    return {
        "tools": [{"type": "function", "function": {"name": "add", "description": "adds", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "user", "content": "1+1 and 2+2?"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "c1", "content": "2"},
            {"role": "tool", "tool_call_id": "c2", "content": "4"},
            {"role": "assistant", "content": "2 and 4"},
        ],
    }


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_build_rejects_a_row_its_writer_cannot_write_with_its_source_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], on_error: str) -> None:
    """Agent-FLAN's ReAct writes one call per turn: a general row with parallel calls cannot be written."""
    src = tmp_path / "chats.jsonl"
    rows = [openai_row(f"What is {i}+{i}?") for i in range(5)]
    rows.insert(2, _parallel_calls_row())
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: t\nformats: [agentflan, native]\nsources:\n  chats: {{path: {src}, format: openai}}\n"
        "splits:\n  - {name: general, kind: general, sources: [chats]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    status = main(["build", str(recipe), "--out", str(out), "--on-error", on_error, "--quiet"])
    text = capsys.readouterr()
    if on_error == "fail":
        assert status == 2 and f"{src}:3" in text.err and "one call per turn" in text.err and not out.exists()
        return
    assert status == 0, text.err
    (row,) = [orjson.loads(line) for line in (out / "rejects.jsonl").read_bytes().splitlines()]
    assert row["location"].startswith(f"{src}:3") and "one call per turn" in row["reason"] and row["field"] == "messages[1].tool_calls"
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["splits"]["general"]["rows"] == 5 and manifest["rejected"] == 1
    for fmt_file in manifest["splits"]["general"]["files"].values():
        assert len((out / fmt_file).read_text(encoding="utf-8").splitlines()) == 5


def _native_with_protocol(tmp_path: Path, protocol: str) -> Path:
    src = tmp_path / "in.jsonl"
    assert main(["convert", str(_openai_file(tmp_path)), str(src), "--from", "openai", "--to", "native"]) == 0
    rows = [orjson.loads(line) for line in src.read_bytes().splitlines()]
    rows[1]["messages"][1]["protocol"] = protocol
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return src


def _openai_file(tmp_path: Path) -> Path:
    path = tmp_path / "openai.jsonl"
    path.write_text("".join(json.dumps(openai_row(f"What is {i}+{i}?")) + "\n" for i in range(3)), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["inspect", "validate", "convert"])
def test_an_unknown_protocol_is_one_located_error_in_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    src = _native_with_protocol(tmp_path, "smoke-signals")
    capsys.readouterr()
    args = {"inspect": ["inspect", str(src)], "validate": ["validate", str(src)], "convert": ["convert", str(src), str(tmp_path / "o.jsonl"), "--to", "openai"]}
    status = main(args[command])
    text = capsys.readouterr()
    both = text.out + text.err
    assert f"{src}:2" in both and "field 'messages[1].protocol': unknown protocol 'smoke-signals'; known: " in both
    assert status == {"inspect": 0, "validate": 1, "convert": 2}[command]


def _toolbench_file(folder: Path, name: str, answer: dict[str, object]) -> None:
    (folder / name).write_text(json.dumps({"answer_generation": answer, "tree": {}}), encoding="utf-8")


def test_toolbench_records_and_steps_not_used_are_counted_with_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    call = {"role": "assistant", "content": "", "function_call": {"name": "Finish", "arguments": '{"return_type": "give_answer", "final_answer": "4"}'}}
    steps = [
        [{"role": "system", "content": "You are AutoGPT."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "I will answer."}],
        [{"role": "system", "content": "You are AutoGPT."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "I will answer."}, call],
    ]
    function = [{"name": "Finish", "description": "end", "parameters": {"type": "object", "properties": {}}}]
    _toolbench_file(folder, "1_ChatGPT_DFS_woFilter_w2.json", {"valid_data": True, "query": "2+2?", "function": function, "train_messages": steps})
    _toolbench_file(folder, "2_ChatGPT_DFS_woFilter_w2.json", {"valid_data": False, "query": "3+3?", "function": function})
    _toolbench_file(folder, "3_ChatGPT_DFS_woFilter_w2.json", {})
    assert main(["convert", str(folder), str(tmp_path / "out.jsonl"), "--from", "toolbench", "--to", "native"]) == 0
    summary = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert summary == (
        "read 1, written 1, rejected 0, not used 3 ("
        "toolbench file without train_messages (valid_data false: the search found no answer): 2; "
        "toolbench step ending on a thought, not a call (trained as part of the next step): 1)"
    )


def test_a_utf8_bom_before_the_first_record_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "".join(json.dumps(openai_row(f"What is {i}+{i}?")) + "\n" for i in range(3))
    jsonl, array = tmp_path / "bom.jsonl", tmp_path / "bom.json"
    jsonl.write_bytes(b"\xef\xbb\xbf" + lines.encode())
    array.write_bytes(b"\xef\xbb\xbf" + json.dumps([openai_row("hi"), openai_row("ho")]).encode())
    for src, n in ((jsonl, 3), (array, 2)):
        assert main(["convert", str(src), str(tmp_path / f"{src.stem}-{n}.out.jsonl"), "--to", "native"]) == 0
        assert capsys.readouterr().out.rstrip().endswith(f"read {n}, written {n}, rejected 0")


def test_a_long_bad_value_is_quoted_shortened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    row = {"conversations": [{"from": "x" * 100_000, "value": "hi"}, {"from": "gpt", "value": "ho"}]}
    src.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert main(["convert", str(src), str(tmp_path / "o.jsonl"), "--from", "sharegpt-tools", "--to", "openai"]) == 2
    err = capsys.readouterr().err
    assert f"{src}:1" in err and "more characters" in err and len(err) < 1_000


def test_a_build_folder_reads_as_its_splits_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import ROOT

    out = tmp_path / "demo"
    assert main(["build", str(ROOT / "recipes" / "demo.yaml"), "--out", str(out), "--quiet"]) == 0
    rows = orjson.loads((out / "manifest.json").read_bytes())["rows"]
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"read {rows}, rejected 0")
    copy = tmp_path / "copy.jsonl"
    assert main(["convert", str(out), str(copy), "--to", "native"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"read {rows}, written {rows}, rejected 0")
    native = b"".join((out / "native" / p.name).read_bytes() for p in sorted((out / "native").iterdir()))
    assert sorted(copy.read_bytes().splitlines()) == sorted(native.splitlines())  # native kept everything


def test_a_key_in_the_base_url_query_is_masked_in_what_run_json_saves() -> None:
    from agentflan.generation.backends import make_backend

    url = "https://u:pw@example.openai.azure.com/v1?api-version=2024-02-01&api-key=abc&x=sk-live-0123456789abcdef0123456789"
    backend = make_backend("openai", "m", base_url=url)
    saved = backend.describe()["base_url"]  # the runner writes describe() into run.json
    assert saved == "https://example.openai.azure.com/v1?api-version=2024-02-01&api-key=***&x=***"
    backend.close()


def test_a_build_reports_toolbench_input_it_did_not_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    function = [{"name": "Finish", "description": "end", "parameters": {"type": "object", "properties": {}}}]
    _toolbench_file(folder, "2_ChatGPT_DFS_woFilter_w2.json", {"valid_data": False, "query": "3+3?", "function": function})
    chats = tmp_path / "chats.jsonl"
    chats.write_text("".join(json.dumps(openai_row(f"What is {i}+{i}?")) + "\n" for i in range(3)), encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: t\nformats: [native]\nsources:\n  tb: {{path: {folder}, format: toolbench}}\n  chats: {{path: {chats}, format: openai}}\n"
        "splits:\n  - {name: general, kind: general, sources: [chats, tb]}\n",
        encoding="utf-8",
    )
    assert main(["build", str(recipe), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    inputs = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())["inputs"]
    assert inputs["tb"]["conversations"] == 0
    assert inputs["tb"]["filtered"] == {"toolbench file without train_messages (valid_data false: the search found no answer)": 1}
