"""A wrong model: one line naming it and what was tried, no traceback, data checked first."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, shared_path


def _agentflan(*argv: str, cwd: Path, hub: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command in a fresh process; ``hub`` replaces the default hub settings (offline)."""
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", **({"HF_HUB_OFFLINE": "1"} if hub is None else hub)}
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


def _unreachable_hub(tmp_path: Path) -> dict[str, str]:
    """A hub endpoint on a port nothing listens on (connection refused), and an empty cache."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HUB_CACHE": str(tmp_path / "hub-cache")}


def _no_hub_chatter(stderr: str) -> None:
    assert "Retry" not in stderr and "thrown while requesting" not in stderr and "Traceback" not in stderr, stderr


def test_a_hub_id_with_no_hub_to_ask_is_one_line_without_retries(tmp_path: Path) -> None:
    hub = _unreachable_hub(tmp_path)
    model = "nosuch-org/nosuch-model"
    for argv in (["chat", "--model", model], ["eval", "agent-h", "--model", model, "--out", "ev"]):
        done = _agentflan(*argv, cwd=tmp_path, hub=hub)
        _no_hub_chatter(done.stderr)
        _one_line(done, f"model {model!r}: not a local folder, and not in the Hugging Face cache", "cannot be reached", "Connection refused")
    offline = _agentflan("chat", "--model", model, cwd=tmp_path, hub={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": hub["HF_HUB_CACHE"]})
    _one_line(offline, "not in the Hugging Face cache", "HF_HUB_OFFLINE is set, so the hub was not asked")


def test_a_cached_hub_model_loads_offline_at_once_when_the_hub_is_unreachable(tmp_path: Path, tiny_llama_dir: Path) -> None:
    hub = _unreachable_hub(tmp_path)
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = Path(hub["HF_HUB_CACHE"]) / "models--some-org--tiny-llama"
    shutil.copytree(tiny_llama_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    done = _agentflan("chat", "--model", "some-org/tiny-llama", "--no-tools", cwd=tmp_path, hub=hub)
    assert done.returncode == 0, done.stderr
    _no_hub_chatter(done.stderr)


def test_a_hub_that_answers_but_lacks_the_model_is_one_line_and_its_retries_are_quiet(tmp_path: Path) -> None:
    """A real HTTP hub on 127.0.0.1: it answers 503 once (the hub client retries, and would log a warning per
    retry) and then 404 Repository Not Found; the user sees only our line."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []

    class Hub(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append(self.path)
            first = "nosuch-model" in self.path and sum("nosuch-model" in p for p in asked) == 1
            self.send_response(503 if first else 404)
            if not first:
                self.send_header("X-Error-Code", "RepositoryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hub = {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "HF_HUB_CACHE": str(tmp_path / "hub-cache")}
        done = _agentflan("chat", "--model", "some-org/nosuch-model", cwd=tmp_path, hub=hub)
    finally:
        server.shutdown()
    first = next(p for p in asked if "nosuch-model" in p)
    assert asked.count(first) >= 2, asked  # the hub client did retry the 503
    _no_hub_chatter(done.stderr)
    _one_line(done, "model 'some-org/nosuch-model'")


def test_a_model_folder_that_cannot_load_says_what_was_tried_in_eval_and_chat(tmp_path: Path) -> None:
    """The generation backend words a load failure as train does: the local folder was tried, and why not."""
    model = tmp_path / "broken-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (tmp_path / "q.jsonl").write_text('{"id": "1", "question": "hi", "answer": "hello"}\n', encoding="utf-8")
    for argv in (("chat", "--model", str(model)), ("eval", "agent-h", "--model", str(model), "--data", "q.jsonl", "--out", "ev")):
        _one_line(_agentflan(*argv, cwd=tmp_path), f"model {str(model)!r} could not be loaded (the local folder)")
