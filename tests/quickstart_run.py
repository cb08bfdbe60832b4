"""One small real quickstart run shared by the quickstart, report and browser tests.

Under ``pytest -n 2`` each worker has its own session; the run happens once, in whichever
worker asks first, behind a file lock in the directory all workers share (the pattern the
pytest-xdist docs give for session fixtures that must run once). Later callers only read it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Small enough for CI (2 cores): a handful of optimizer steps and a few items per suite.
STEPS = 6
LIMIT = 10


def shared_quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of ``quickstart(ablation="negatives")`` with tiny settings."""
    pytest.importorskip("torch")
    from filelock import FileLock

    from agentflan.quickstart import QuickstartOptions, run_quickstart

    root = tmp_path_factory.getbasetemp().parent
    out = root / "agentflan-quickstart-shared"
    done = out / "quickstart-test-done.json"
    with FileLock(str(root / "agentflan-quickstart-shared.lock")):
        if not done.exists():
            result = run_quickstart(QuickstartOptions(out=out, steps=STEPS, eval_limit=LIMIT, ablation="negatives", seed=0,
                                                      progress=False))
            done.write_text(json.dumps({"report": str(result.report)}), encoding="utf-8")
    return out
