"""Resume picks the last complete checkpoint (a kill mid-save leaves a torn one); a finished run is recognised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentflan.errors import ConfigError
from agentflan.train.checkpoints import finished, last_complete, resume_from


def checkpoint(out: Path, step: int, max_steps: int = 8, *, complete: bool = True, epochs: float = 3.0) -> Path:
    folder = out / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    if complete:
        state = {"global_step": step, "max_steps": max_steps, "num_train_epochs": epochs}
        (folder / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
    return folder


def test_a_torn_checkpoint_is_skipped_with_a_warning(tmp_path: Path) -> None:
    checkpoint(tmp_path, 4)
    checkpoint(tmp_path, 12)
    checkpoint(tmp_path, 16, complete=False)  # killed before trainer_state.json
    torn = tmp_path / "checkpoint-20"
    torn.mkdir()
    (torn / "trainer_state.json").write_text('{"global_st', encoding="utf-8")  # killed mid-write
    warnings: list[str] = []
    found = last_complete(tmp_path, warnings.append)
    assert found is not None and found.path == tmp_path / "checkpoint-12" and found.step == 12
    assert len(warnings) == 2 and "checkpoint-20" in warnings[0] and "checkpoint-16" in warnings[1]
    assert all("incomplete" in w for w in warnings)


def test_numeric_order_not_text_order(tmp_path: Path) -> None:
    checkpoint(tmp_path, 9)
    checkpoint(tmp_path, 10)
    found = last_complete(tmp_path, lambda _m: None)
    assert found is not None and found.step == 10


def test_resume_true_with_only_torn_checkpoints_is_a_config_error(tmp_path: Path) -> None:
    checkpoint(tmp_path, 4, complete=False)
    assert resume_from("auto", tmp_path, lambda _m: None) is None
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        resume_from(True, tmp_path, lambda _m: None)
    with pytest.raises(ConfigError, match="incomplete checkpoint"):
        resume_from(str(tmp_path / "checkpoint-4"), tmp_path, lambda _m: None)
    assert resume_from(False, tmp_path, lambda _m: None) is None


def test_finished_needs_the_last_step_and_final_and_the_same_budget(tmp_path: Path) -> None:
    checkpoint(tmp_path, 8, max_steps=8)
    done = last_complete(tmp_path, lambda _m: None)
    assert done is not None
    assert not finished(done, tmp_path, 8, 3.0)  # no final/ yet: the export did not happen
    (tmp_path / "final").mkdir()
    assert finished(done, tmp_path, 8, 3.0)
    assert finished(done, tmp_path, 6, 3.0)
    assert not finished(done, tmp_path, 16, 3.0)  # a longer run resumes
    assert finished(done, tmp_path, -1, 3.0)
    assert not finished(done, tmp_path, -1, 5.0)
    (tmp_path / "checkpoint-8" / "trainer_state.json").write_text(json.dumps({"global_step": 4, "max_steps": 8}), encoding="utf-8")
    again = last_complete(tmp_path, lambda _m: None)
    assert again is not None and not finished(again, tmp_path, 8, 3.0)
