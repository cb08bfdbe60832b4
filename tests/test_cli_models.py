"""A wrong model: one line naming it and what was tried, no traceback, data checked first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, shared_path


def _agentflan(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "agentflan", *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)


def _one_line(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert all(n in lines[0] for n in needles), lines[0]


@pytest.mark.shared_data
def test_a_missing_model_folder_is_one_line_in_every_command(tmp_path: Path) -> None:
    data = str(shared_path("glaive", "glaive_toolcall_en_demo.json"))
    (tmp_path / "run.yaml").write_text(f"model: ./no-such-model\ndata: {data}\noutput_dir: out\n", encoding="utf-8")
    _one_line(_agentflan("train", "run.yaml", cwd=tmp_path), "agentflan train: error:", "./no-such-model", "no such folder")
    _one_line(_agentflan("quickstart", "--model", "./no-such-model", "--out", "qs", cwd=tmp_path), "no such folder")
    _one_line(_agentflan("eval", "agent-h", "--model", "./no-such-model", "--data", data, "--out", "ev", cwd=tmp_path), "no such folder")
    _one_line(_agentflan("chat", "--model", "./no-such-model", cwd=tmp_path), "no such folder")
    (tmp_path / "run2.yaml").write_text("model: ./no-such-model\ndata: missing.jsonl\noutput_dir: out\n", encoding="utf-8")
    _one_line(_agentflan("train", "run2.yaml", cwd=tmp_path), "data 'missing.jsonl': no such file or folder")


@pytest.mark.slow
def test_a_quickstart_whose_model_cannot_load_ends_marked_failed(tmp_path: Path) -> None:
    model = tmp_path / "broken-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    done = _agentflan("quickstart", "--model", str(model), "--out", "qs", "--no-progress", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"model {str(model)!r} could not be loaded (the local folder)" in done.stderr
    state = json.loads((tmp_path / "qs" / "quickstart.json").read_text(encoding="utf-8"))
    assert state["status"] == "failed" and "could not be loaded" in state["error"]
