"""Which checkpoint a run resumes from, and whether the run already finished.

transformers writes ``trainer_state.json`` last when it saves a checkpoint, so a checkpoint
without a readable one was torn by a kill mid-save: resuming from it would fail on every
later attempt. Such folders are skipped (with a warning) in favour of the last complete one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agentflan.errors import ConfigError

STATE_FILE = "trainer_state.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    path: Path
    state: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.state.get("global_step") or 0)


def read_state(folder: Path) -> dict[str, Any] | None:
    """The folder's trainer state, or None when it is missing or unreadable (a torn save)."""
    try:
        state = orjson.loads((folder / STATE_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("global_step"), int) else None


def last_complete(out: Path, warn: Callable[[str], None]) -> Checkpoint | None:
    """The highest-numbered ``checkpoint-N`` whose save completed; torn ones are reported and passed over."""
    if not out.is_dir():
        return None
    numbered = sorted(
        (int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CHECKPOINT.fullmatch(p.name))
    )
    for _step, folder in reversed(numbered):
        state = read_state(folder)
        if state is not None:
            return Checkpoint(folder, state)
        warn(f"warning: {folder} is incomplete (no readable {STATE_FILE}: killed while saving?); skipping it")
    return None


def resume_from(resume: bool | str, out: Path, warn: Callable[[str], None]) -> Checkpoint | None:
    """The checkpoint ``resume`` (auto | true | false | a path) asks for."""
    if resume is False:
        return None
    if resume in ("auto", True):
        found = last_complete(out, warn)
        if found is None and resume is True:
            raise ConfigError(f"resume: true, but {out} has no complete checkpoint-* folder")
        return found
    folder = Path(str(resume))
    if not folder.is_dir():
        raise ConfigError(f"resume: {resume} is not a checkpoint folder")
    state = read_state(folder)
    if state is None:
        raise ConfigError(f"resume: {resume} has no readable {STATE_FILE} (an incomplete checkpoint)")
    return Checkpoint(folder, state)


def finished(checkpoint: Checkpoint, out: Path, max_steps: int, epochs: float) -> bool:
    """The run reached its last step and exported ``final/`` with the same step budget as now.

    A raised ``max_steps`` (or ``epochs``) is a longer run, which resumes rather than stops.
    """
    if not (out / "final").is_dir():
        return False
    state = checkpoint.state
    planned = int(state.get("max_steps") or 0)
    if checkpoint.step < planned:
        return False
    if max_steps > 0:
        return max_steps <= planned
    return float(state.get("num_train_epochs") or 0) >= epochs
