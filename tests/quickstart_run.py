"""The test suite's one quickstart run, shared by the quickstart, report and browser tests.

It goes through the CLI (``agentflan quickstart --ablation negatives``), so the same run checks
what the command prints (kept in ``printed.txt`` beside the output) as well as what it writes.

Under ``pytest -n 2`` each worker has its own session; the run happens once, in whichever
worker asks first, behind a file lock in the directory all workers share (the pattern the
pytest-xdist docs give for session fixtures that must run once). Later callers only read it.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

# Small enough for CI (2 cores): a few optimizer steps (enough packed rows that every capability
# shows in each arm's loss curves) and a few items per suite.
STEPS = 24
LIMIT = 10
PRINTED = "printed.txt"


def shared_quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of ``quickstart(ablation="negatives")`` with tiny settings."""
    pytest.importorskip("torch")
    from filelock import FileLock

    from agentflan.cli import main

    # One run per pytest session: xdist workers share their session's folder (the parent of popen-gwN),
    # a plain session uses its own (its parent holds every earlier session's).
    base = tmp_path_factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    out = root / "agentflan-quickstart-shared"
    done = out / "quickstart-test-done.json"
    with FileLock(str(root / "agentflan-quickstart-shared.lock")):
        if not done.exists():
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = main(["quickstart", "--out", str(out), "--steps", str(STEPS), "--eval-limit", str(LIMIT),
                             "--ablation", "negatives", "--seed", "0", "--no-progress"])
            assert code == 0, printed.getvalue()
            (out / PRINTED).write_text(printed.getvalue(), encoding="utf-8")
            done.write_text(json.dumps({"report": str(out / "report.html")}), encoding="utf-8")
    return out
