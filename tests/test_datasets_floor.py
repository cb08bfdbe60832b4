"""The lowest ``datasets`` that pyproject admits loads our outputs exactly as the installed one does.

The floor runs in its own interpreter: ``AGENTFLAN_DATASETS_FLOOR_PYTHON`` names one with that
``datasets`` installed; under CI=true the test builds it (``pip install datasets==FLOOR``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentflan.sources import read
from agentflan.writers import write
from conftest import ROOT, shared_path

LOADER = Path(__file__).with_name("datasets_load.py")


def admitted_floor() -> str:
    """The ``datasets>=X`` of the ``hf`` extra (the train extra must say the same)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    floors = set(re.findall(r'"datasets>=([0-9.]+)"', text))
    assert len(floors) == 1, f"the extras admit different datasets floors: {sorted(floors)}"
    return floors.pop()


def floor_python(floor: str, tmp_path: Path) -> str:
    given = os.environ.get("AGENTFLAN_DATASETS_FLOOR_PYTHON")
    if given:
        return given
    if os.environ.get("CI") != "true":
        pytest.skip(f"set AGENTFLAN_DATASETS_FLOOR_PYTHON to a python with datasets=={floor} (CI builds one)")
    venv = tmp_path / "floor-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", f"datasets=={floor}"], check=True)
    return python


def load(python: str, jsonl: Path, folder: Path, cache: Path) -> dict[str, Any]:
    done = subprocess.run([python, str(LOADER), str(jsonl), str(folder), str(cache)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.shared_data
def test_the_lowest_admitted_datasets_loads_our_openai_jsonl_and_hf_folder_unchanged(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    floor = admitted_floor()
    python = floor_python(floor, tmp_path)
    # Glaive and ToolBench: call arguments of every shape (strings, numbers, lists, nested objects).
    convs = [*read(shared_path("glaive", "glaive_toolcall_en_demo.json")), *read(shared_path("toolbench", "answers"))]
    jsonl, folder = tmp_path / "openai.jsonl", tmp_path / "hf"
    write(convs, jsonl, "openai")
    write(convs, folder, "hf-dataset")
    old = load(python, jsonl, folder, tmp_path / "cache-old")
    new = load(sys.executable, jsonl, folder, tmp_path / "cache-new")
    assert old["version"] == floor
    assert len(new["json"]) == len(convs) == len(new["disk"])
    assert old["json"] == new["json"]
    assert old["disk"] == new["disk"]
    # and the JSONL rows are the written rows: no call padded with other calls' keys
    written = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [_calls(r) for r in new["json"]] == [_calls(r) for r in written]


def _calls(row: dict[str, Any]) -> list[Any]:
    return [c["function"] for m in row["messages"] for c in (m.get("tool_calls") or [])]
