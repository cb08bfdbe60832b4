"""The corpus commands end to end: convert, inspect, validate (in process, through ``cli.main``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentflan.cli import main
from conftest import shared_path


def _fireact_with_a_broken_line(tmp_path: Path, broken_at: int = 11, rows: int = 20) -> Path:
    lines = shared_path("fireact", "hotpotqa_react_gpt.jsonl").read_text(encoding="utf-8").splitlines()[:rows]
    lines.insert(broken_at - 1, '{"messages": [{"role": "user", "content": "cut off')
    path = tmp_path / "fireact.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.shared_data
def test_convert_fails_on_a_malformed_line_naming_it_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _fireact_with_a_broken_line(tmp_path)
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(src), str(out), "--to", "openai"]) == 2
    captured = capsys.readouterr()
    assert f"{src}:11: not valid JSON" in captured.err
    assert captured.out.rstrip().endswith("read 10, written 0, rejected 0")
    assert not out.exists()


@pytest.mark.shared_data
def test_convert_skip_writes_the_others_and_rejects_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _fireact_with_a_broken_line(tmp_path)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "bad.jsonl"
    assert main(["convert", str(src), str(out), "--to", "openai", "--on-error", "skip", "--rejects", str(rejects)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("read 20, written 20, rejected 1")
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(written) == 20 and written[10]["id"] == "fireact:12"  # ids keep the source line numbers
    (rejected,) = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert rejected["location"] == f"{src}:11" and rejected["reason"].startswith("not valid JSON")


@pytest.mark.shared_data
def test_convert_skip_defaults_the_rejects_path_and_counts_write_rejections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """FireAct's reflexion rows have consecutive assistant turns, which LLaMA-Factory cannot take."""
    out = tmp_path / "fa.json"
    assert main(["convert", str(shared_path("fireact", "multitask_multimethod_gpt.jsonl")), str(out), "--to", "sharegpt-tools", "--on-error", "skip"]) == 0
    text = capsys.readouterr().out
    summary = text.rstrip().splitlines()[-1]
    read_n, written_n, rejected_n = (int(part.split()[-1]) for part in summary.split(", "))
    assert read_n == 2063 and rejected_n > 0 and written_n + rejected_n == read_n
    assert len(json.loads(out.read_text(encoding="utf-8"))) == written_n
    assert len((tmp_path / "fa.json.rejects.jsonl").read_text(encoding="utf-8").splitlines()) == rejected_n
    assert '"formatting": "sharegpt"' in text and (tmp_path / "dataset_info.json").exists()


@pytest.mark.shared_data
def test_inspect_summarises_a_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(shared_path("glaive", "glaive_toolcall_en_demo.json")), "--json", "--sample", "2"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is the JSON document alone (`--json > stats.json`)
    assert report["rows"] == 300 and report["tools"]["calls"] == 211
    assert report["roles"] == {"assistant": 957, "user": 746, "tool": 211}
    assert report["turns_per_row"]["min"] == 2 and len(report["sample"]) == 2
    assert report["approx_tokens"]["total"] > 100_000
    assert captured.err.rstrip().endswith("read 300, rejected 0")


@pytest.mark.shared_data
def test_inspect_counts_protocol_parse_failures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(shared_path("fireact") / "*.jsonl"), "--sample", "1"]) == 0
    text = capsys.readouterr().out
    assert "rows            2563" in text
    assert "protocol turns  fireact 5708" in text
    assert "parse failures  7  (fireact: missing_field 7)" in text
    assert "sample 'hotpotqa_react_gpt:1'" in text


@pytest.mark.shared_data
def test_validate_reports_each_problem_with_its_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(shared_path("glaive", "glaive_toolcall_en_demo.json"))]) == 0
    assert capsys.readouterr().out.rstrip().endswith("read 300, rejected 0")
    path = tmp_path / "bad.jsonl"
    rows = [
        {"id": "fine", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"id": "roles", "messages": [{"role": "critic", "content": "q"}, {"role": "user", "content": "a", "loss": True}]},
        "not a conversation",
        {"id": "calls", "messages": [{"role": "assistant", "content": "", "tool_calls": [{"name": "nope", "arguments": {}}]}], "tools": [{"name": "f"}]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    assert main(["validate", str(path), "--from", "native"]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2 (id roles): error: messages[0].role: unknown role 'critic'" in out
    assert f"{path}:2 (id roles): error: messages[1].loss:" in out
    assert f"error: {path}:3: field '(record)': expected a JSON object" in out
    assert f"{path}:4 (id calls): error: messages[0].tool_calls[0].name: calls 'nope'" in out
    assert f"error: {path}:5: not valid JSON" in out
    assert out.rstrip().endswith("read 3, rejected 4")


def test_a_split_is_named_source_colon_split_for_saved_datasets_as_for_the_hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One style: hf://owner/name:test is how a split is typed, so a saved DatasetDict's rows are folder:test#INDEX
    (record indexes from 0, as ds[i]), never folder[test], and folder:test reads that split."""
    datasets = pytest.importorskip("datasets")
    rows = json.loads(shared_path("glaive", "glaive_toolcall_en_demo.json").read_text(encoding="utf-8"))[:8]
    broken = json.loads(json.dumps(rows[6]))
    broken["conversations"][0]["from"] = "critic"
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:5]),
                          "test": datasets.Dataset.from_list([rows[5], broken, rows[7]])}).save_to_disk(str(folder))
    main(["validate", str(folder)])
    out = capsys.readouterr().out
    assert f"{folder}:test#1" in out and "[test]" not in out, out
    assert f"{folder}:train#" not in out and f"{folder}:test#0" not in out, out  # only the broken row is named
    assert out.rstrip().endswith("read 7, rejected 1"), out
    # and typed the same way, it reads that split alone
    main(["validate", f"{folder}:test"])
    out = capsys.readouterr().out
    assert f"{folder}:test#1" in out and out.rstrip().endswith("read 2, rejected 1"), out
    assert main(["inspect", f"{folder}:train", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 5
    assert main(["inspect", f"{folder}:dev"]) == 2
    assert f"{folder}:dev: no such split; the saved dataset has train, test" in capsys.readouterr().err
    from agentflan.cli._common import check_data_path
    from agentflan.train.cache import data_fingerprint

    check_data_path(f"{folder}:test")  # `train` takes it as data too, and its token cache tells the splits apart
    assert data_fingerprint(f"{folder}:train", None) != data_fingerprint(f"{folder}:test", None)


@pytest.mark.parametrize("command", ["convert", "inspect", "validate"])
def test_help_describes_every_option_with_an_example(command: str) -> None:
    result = subprocess.run([sys.executable, "-m", "agentflan", command, "--help"], capture_output=True, text=True, check=True)
    assert "examples:" in result.stdout and f"agentflan {command} " in result.stdout
    assert "--from FORMAT" in result.stdout


@pytest.mark.parametrize(
    ("fmt", "name", "fits"),
    [("parquet", "out.jsonl", False), ("parquet", "out.parquet", True), ("openai", "out.parquet", False), ("hf-dataset", "out.jsonl", False)],
)
def test_convert_refuses_an_output_name_that_does_not_fit_the_format(fmt: str, name: str, fits: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n", encoding="utf-8")
    status = main(["convert", str(src), str(tmp_path / name), "--to", fmt])
    assert (status == 0) == fits
    if not fits:
        assert "OUT" in capsys.readouterr().err and not (tmp_path / name).exists()


def test_rejection_reasons_are_grouped_without_cutting_a_word() -> None:
    from agentflan.batch import reason_key

    reason = "masked turns the sharegpt-tools format would train because it has no per-turn loss and nothing else carries it"
    key = reason_key(reason)
    assert key.endswith("…") and len(key) <= 81 and reason.startswith(key[:-1]) and reason[len(key) - 1] == " "
    assert reason_key("short reason: details") == "short reason"
    assert reason_key("turn 12 is 'gpt': x") == reason_key("turn 16 is 'gpt': y") == "turn N is 'gpt'"


def test_report_on_a_missing_folder_says_how_to_make_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "agentflan-out"), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and "agentflan quickstart --ablation negatives" in err
    assert not (tmp_path / "r.html").exists()
