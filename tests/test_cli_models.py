"""A wrong model: one line naming it and what was tried, no traceback, data checked first."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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
    asked: list[str] = []

    def answer(path: str) -> tuple[int, str | None]:
        asked.append(path)
        first = "nosuch-model" in path and sum("nosuch-model" in p for p in asked) == 1
        return (503, None) if first else (404, "RepositoryNotFound")

    with _hub(answer) as hub:
        done = _agentflan("chat", "--model", "some-org/nosuch-model", cwd=tmp_path, hub=hub)
    first = next(p for p in asked if "nosuch-model" in p)
    assert asked.count(first) >= 2, asked  # the hub client did retry the 503
    _no_hub_chatter(done.stderr)
    _one_line(done, "model 'some-org/nosuch-model'", "has no such repository (HTTP 404 for http://127.0.0.1:")
    assert "couldn't connect" not in done.stderr


@contextmanager
def _hub(answer: Callable[[str], tuple[int, str | None]]) -> Iterator[dict[str, str]]:
    """A real HTTP hub on 127.0.0.1 that answers each request path with ``answer(path)``: a status and
    the hub's ``X-Error-Code`` when given, as a mirror or huggingface.co answers for an id it lacks."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hub(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, code = answer(self.path)
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "HF_HUB_CACHE": "hub-cache"}
    finally:
        server.shutdown()


def _hub_without_models(status: int, code: str | None) -> AbstractContextManager[dict[str, str]]:
    """A hub that answers every request with ``status`` (and ``code``)."""
    return _hub(lambda path: (status, code))


def _tiny_corpus(tmp_path: Path) -> str:
    row = {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
    (tmp_path / "data.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return "data.jsonl"


def test_a_hub_id_the_hub_does_not_have_is_named_as_such_for_model_and_tokenizer(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """Not transformers' "couldn't connect": the hub answered, and had no such repository. A mirror may answer
    a bare 404 (chat's model here); huggingface.co answers 401 with RepoNotFound (train's tokenizer here)."""
    data = _tiny_corpus(tmp_path)
    (tmp_path / "run.yaml").write_text(
        f"model: {tiny_llama_dir}\ntokenizer: some-org/nosuch-tokenizer\ndata: {data}\noutput_dir: out\n", encoding="utf-8"
    )
    with _hub_without_models(404, None) as hub:
        chat = _agentflan("chat", "--model", "some-org/nosuch-model", cwd=tmp_path, hub=hub)
    _one_line(chat, "model 'some-org/nosuch-model' could not be loaded (not a local folder; as a Hugging Face hub id): the hub",
              f"has no such repository (HTTP 404 for {hub['HF_ENDPOINT']}/some-org/nosuch-model/")
    with _hub_without_models(401, "RepoNotFound") as hub:
        train = _agentflan("train", "run.yaml", "--prepare-only", cwd=tmp_path, hub=hub)
    _one_line(train, "agentflan train: error: tokenizer 'some-org/nosuch-tokenizer' could not be loaded (not a local folder",
              f"has no such repository (HTTP 401 for {hub['HF_ENDPOINT']}/some-org/nosuch-tokenizer/")
    for done in (chat, train):
        _no_hub_chatter(done.stderr)
        assert "couldn't connect" not in done.stderr


def _main_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> None:
    """``agentflan ARGV`` in this process (no second torch import): exit 2 and one stderr line holding ``needles``."""
    from agentflan.cli import main

    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and all(n in lines[0] for n in needles), lines


def test_train_probes_a_separate_tokenizer_like_the_model_after_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / _tiny_corpus(tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    config = tmp_path / "run.yaml"
    config.write_text(f"model: {model}\ntokenizer: {tmp_path / 'no-such-tokenizer'}\ndata: {data}\noutput_dir: {tmp_path / 'out'}\n",
                      encoding="utf-8")
    _main_one_line(capsys, ["train", str(config)], f"tokenizer {str(tmp_path / 'no-such-tokenizer')!r}: no such folder")
    _main_one_line(capsys, ["train", str(config), "--data", "missing.jsonl"], "data 'missing.jsonl': no such file or folder")
    _main_one_line(capsys, ["train", str(config), "--tokenizer", str(data)], f"tokenizer {str(data)!r}: a file, not a tokenizer folder")
    assert not (tmp_path / "out").exists()


def test_train_uses_the_tokenizer_named_apart_from_the_model(tmp_path: Path, tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A model folder without tokenizer files (a bare checkpoint) trains with the tokenizer named beside it."""
    from agentflan.cli import main

    model, tokenizer = tmp_path / "weights", tmp_path / "tok"
    shutil.copytree(tiny_llama_dir, model)
    tokenizer.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model / name).rename(tokenizer / name)
    data = tmp_path / _tiny_corpus(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(f"model: {model}\ndata: {data}\noutput_dir: {tmp_path / 'out'}\ncache_dir: {tmp_path / 'cache'}\n", encoding="utf-8")
    _main_one_line(capsys, ["train", str(config), "--prepare-only"], f"model {str(model)!r} could not be loaded (the local folder)")
    assert main(["train", str(config), "--prepare-only", "--tokenizer", str(tokenizer)]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "data_stats.json").read_text(encoding="utf-8"))["train_rows"] == 1
    assert json.loads((tmp_path / "out" / "train_config.json").read_text(encoding="utf-8"))["tokenizer"] == str(tokenizer)


def test_a_model_folder_that_cannot_load_says_what_was_tried_in_eval_and_chat(tmp_path: Path) -> None:
    """The generation backend words a load failure as train does: the local folder was tried, and why not."""
    model = tmp_path / "broken-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (tmp_path / "q.jsonl").write_text('{"id": "1", "question": "hi", "answer": "hello"}\n', encoding="utf-8")
    for argv in (("chat", "--model", str(model)), ("eval", "agent-h", "--model", str(model), "--data", "q.jsonl", "--out", "ev")):
        _one_line(_agentflan(*argv, cwd=tmp_path), f"model {str(model)!r} could not be loaded (the local folder)")
