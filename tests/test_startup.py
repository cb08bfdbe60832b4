"""Start-up: a one-file ``convert`` must not pay for the heavy stacks it does not use.

Each check runs in a fresh interpreter (this process has long since imported everything) and
reads ``sys.modules``; timing lives in benchmarks/README.md ("Start-up"), not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "tqdm", "matplotlib", "pyarrow", "datasets", "numpy", "pydantic")


def _imported_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """The modules of ``watched`` a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import agentflan.cli.convert",
        "from agentflan.cli import build_parser; build_parser(only='convert')",
        "import agentflan.sources, agentflan.writers",
        "from agentflan.writers import get_writer; get_writer('toolllama'); get_writer('openai')",
    ],
)
def test_convert_path_imports_no_heavy_stack(code: str) -> None:
    assert _imported_after(code, HEAVY) == []


def test_writer_modules_load_on_demand() -> None:
    """Listing the formats imports no writer; asking for one imports that one only."""
    writers = ("agentflan.writers.arrow", "agentflan.writers.agentflan", "agentflan.writers.sharegpt")
    code = "from agentflan.writers import writer_names; names = writer_names()"
    assert _imported_after(code, writers) == []
    assert _imported_after(code + "\nfrom agentflan.writers import get_writer; get_writer('sharegpt-tools')", writers) == [
        "agentflan.writers.sharegpt"
    ]


def test_readers_load_protocols_only_for_protocol_text(shared_data) -> None:
    """Detecting and reading a ToolBench answer file (no protocol text) loads no protocol table."""
    answer = next((shared_data / "toolbench" / "answers" / "G1_answer").glob("*.json"))
    code = f"from agentflan.sources import read; n = sum(1 for _ in read({str(answer)!r}))\nassert n > 0"
    assert _imported_after(code, ("agentflan.protocols", "yaml")) == []


def test_one_file_convert_to_toolllama_loads_no_yaml_protocols_or_heavy_stack(shared_data, tmp_path) -> None:
    answer = next((shared_data / "toolbench" / "answers" / "G1_answer").glob("*.json"))
    out = tmp_path / "out.json"
    code = f"from agentflan.cli import main\nassert main(['convert', {str(answer)!r}, {str(out)!r}, '--to', 'toolllama']) == 0"
    # nor msgspec, logging, tempfile, zipfile or shutil (argparse's formatter would import it for the terminal
    # width; agentflan.cli._help reads the width itself): each 5-20 ms of this command's ~0.13 s CPU
    watched = (*HEAVY, "yaml", "agentflan.protocols", "msgspec", "logging", "tempfile", "zipfile", "shutil")
    assert _imported_after(code, watched) == []
    assert out.stat().st_size > 0


def test_quiet_build_imports_no_plotting_progress_or_training_stack(tmp_path) -> None:
    """A build draws its data card as SVG itself and shows no bars under --quiet: no matplotlib
    (~1.3 s to import), no tqdm, no torch; and no process pool without --workers."""
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "demo.yaml"
    out = tmp_path / "build"
    code = f"from agentflan.cli import main\nassert main(['build', {str(recipe)!r}, '--out', {str(out)!r}, '--quiet']) == 0"
    watched = ("torch", "transformers", "matplotlib", "tqdm", "multiprocessing", "concurrent.futures")
    assert _imported_after(code, watched) == []
    assert (out / "datacard.html").stat().st_size > 0
