"""One writer per output folder (eval, build, train), stale locks of killed holders taken over, and a
killed ``build --workers 2`` leaves neither running workers nor staging that later builds keep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from agentflan.cli import main
from agentflan.locking import OutputLocked, lock_path, output_lock
from conftest import ROOT

DEMO = ROOT / "recipes" / "demo.yaml"
HOLD = "import sys, time; from agentflan.locking import output_lock\nwith output_lock(sys.argv[1], 'eval mmlu (other-model)'):\n    print('held', flush=True); time.sleep(120)"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _holder(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_holder_refuses_every_writer_and_a_killed_holders_lock_is_taken_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval-out"
    proc = _holder(out)
    try:
        assert orjson.loads(lock_path(out).read_bytes())["pid"] == proc.pid
        with pytest.raises(OutputLocked, match=rf"being written by another run \(eval mmlu \(other-model\), pid {proc.pid}"), output_lock(out, "eval"):
            pass
        # the commands refuse with the message and exit status 2, before touching the folder
        assert main(["eval", "agent-h", "--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--out", str(out)]) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err
        assert main(["build", str(DEMO), "--out", str(out), "--quiet"]) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err and not out.exists()
    finally:
        proc.kill()  # kill -9: the holder cannot clean up; its lock file stays behind
        proc.wait()
    assert orjson.loads(lock_path(out).read_bytes())["pid"] == proc.pid
    with output_lock(out, "eval") as path:
        assert orjson.loads(path.read_bytes())["pid"] == os.getpid()
    assert not lock_path(out).exists()  # released on exit


def test_training_into_a_locked_folder_is_refused_before_loading_anything(tmp_path: Path) -> None:
    from agentflan.train.config import load_config
    from agentflan.train.run import run_training

    out = tmp_path / "train-out"
    cfg = load_config(None, base={"model": str(tmp_path / "no-such-model"), "data": [str(tmp_path / "d.jsonl")], "output_dir": str(out)})
    with output_lock(out, "train other"), pytest.raises(OutputLocked, match="train other"):
        run_training(cfg, say=lambda _m: None)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; workers die with the parent on Linux")
def test_a_killed_parallel_build_leaves_no_workers_and_its_staging_goes_at_the_next_build(tmp_path: Path) -> None:
    # Two large trajectory files keep both workers busy in a task when the parent is killed.
    data = tmp_path / "data"
    data.mkdir()
    rows = (ROOT / "src" / "agentflan" / "data" / "demo" / "tool_trajectories.jsonl").read_text(encoding="utf-8")
    for name in ("a.jsonl", "b.jsonl"):
        (data / name).write_text(rows * 150, encoding="utf-8")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(DEMO.read_text(encoding="utf-8").replace("package:data/demo/tool_trajectories.jsonl", str(data)), encoding="utf-8")
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "agentflan", "build", str(recipe), "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and not workers:  # the spawn pool's workers: grandchildren of the resource tracker aside
        workers = [c for c in _children(proc.pid) if "spawn_main" in (Path("/proc") / str(c) / "cmdline").read_text(errors="replace")]
        time.sleep(0.05)
    assert workers, "the build never started its pool"

    def staging_now() -> list[Path]:
        return [p for p in tmp_path.iterdir() if p.name.startswith(".demo.") and p.is_dir()]

    deadline = time.monotonic() + 120  # wait for the build to be mid-way (its staging exists), however loaded the machine
    while time.monotonic() < deadline and not staging_now() and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed: give it more input"
    time.sleep(0.5)  # the workers are inside a file now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    orphans = [w for w in workers if _alive(w)]
    for w in orphans:  # do not leave them running when the assertion fails
        os.kill(w, signal.SIGKILL)
    assert not orphans, "pool workers outlived their killed parent"
    staging = [p for p in tmp_path.iterdir() if p.name.startswith(".demo.") and p.is_dir()]
    assert staging, "the kill left no staging folder (nothing to clean: the test did not reproduce)"
    (data / "b.jsonl").unlink()  # the next build: quick
    (data / "a.jsonl").write_text(rows, encoding="utf-8")
    assert subprocess.run(cmd, env=_env(), capture_output=True, text=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "demo", "recipe.yaml"]  # staging and lock gone, output in place
