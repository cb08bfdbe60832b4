"""``agentflan eval`` and ``agentflan chat`` end to end, against a local OpenAI-compatible server."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentflan.cli import main
from agentflan.evaluate.itemfile import read_header
from conftest import shared_path
from openai_stub import StubServer


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_is_enough_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    top = _help(capsys, "eval")
    for name in ("agent-h", "tool-need", "tool-steps", "hotpotqa", "mmlu", "build-agent-h", "examples:", "summary.json",
                 "failed.jsonl", "requests.jsonl"):
        assert name in top
    mmlu = _help(capsys, "eval", "mmlu")
    for option in ("--model", "--backend", "--base-url", "--api-key-env", "--concurrency", "--out", "--limit", "--data",
                   "--template", "--subjects", "--fresh", "--set", "--mode", "generative", "lm-eval"):
        assert option in mmlu
    assert "--seed" in _help(capsys, "eval", "hotpotqa")
    assert "--size" in _help(capsys, "eval", "build-agent-h")
    chat = _help(capsys, "chat")
    assert "--tools" in chat and "MODULE:CALLABLE" in chat and "examples:" in chat


def test_eval_mmlu_over_http_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["eval", "mmlu", "--backend", "openai", "--model", "m", "--data", str(shared_path("mmlu")),
            "--subjects", "anatomy,virology", "--limit", "6", "--out", str(tmp_path), "--no-progress"]
    with StubServer(respond=lambda body: "A") as server:
        # the default mode is lm-eval's log-likelihood scoring, which a text-only server cannot give
        assert main([*argv, "--base-url", server.url]) == 2
        assert "use --mode generative" in capsys.readouterr().err and not server.bodies
        argv += ["--mode", "generative"]
        assert main([*argv, "--base-url", server.url, "--concurrency", "3"]) == 0
        first = capsys.readouterr().out
        assert main([*argv, "--base-url", server.url]) == 0
        second = capsys.readouterr().out
    assert "accuracy" in first and "6 scored now, 0 from the cache" in first
    assert "0 scored now, 6 from the cache" in second
    assert len(server.bodies) == 6
    summary = orjson.loads((tmp_path / "mmlu" / "summary.json").read_bytes())
    assert (summary["n_items"], summary["backend"]) == (6, "openai")
    assert (tmp_path / "index.html").exists()


def test_eval_progress_is_plain_lines_with_an_eta_when_stderr_is_not_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["eval", "mmlu", "--backend", "openai", "--model", "m", "--data", str(shared_path("mmlu")), "--mode", "generative",
            "--subjects", "anatomy", "--limit", "4", "--out", str(tmp_path)]
    with StubServer(respond=lambda body: "A") as server:
        assert main([*argv, "--base-url", server.url]) == 0
    err = capsys.readouterr().err
    assert "mmlu: 4/4 items (100%) · " in err and " · ETA 0:00" in err, err
    assert "\r" not in err and "|" not in err  # no bar drawn into a log


def test_eval_errors_name_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "mmlu", "--model", "m", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path)]) == 2
    assert "mmlu needs --data" in capsys.readouterr().err
    data = str(shared_path("mmlu"))
    assert main(["eval", "mmlu", "--model", "m", "--backend", "openai", "--data", data, "--batch-size", "4", "--out", str(tmp_path)]) == 2
    assert "backend 'openai' does not take option(s) batch_size" in capsys.readouterr().err
    assert main(["eval", "mmlu", "--model", "m", "--data", data, "--set", "nonsense=1", "--out", str(tmp_path)]) == 2
    assert "does not take option(s) nonsense" in capsys.readouterr().err


def test_build_agent_h_then_evaluate_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "agent_h.jsonl"
    assert main(["eval", "build-agent-h", "--out", str(items), "--source", str(shared_path("toolbench", "queries")), "--size", "6"]) == 0
    built = capsys.readouterr()
    assert "tool_need 6" in built.out and "general/with_tools 3" in built.out
    # 3 of 6 samples are tool queries as asked: no warning; the header records the composition
    assert "WARNING" not in built.err
    header = read_header(items)
    assert header is not None and header["composition"]["kinds"]["tool_need"] == 6
    assert header["composition"]["tool_fraction"] == 0.5
    with StubServer(respond=lambda body: "Thought: no tool is needed.\nFinal Answer: Here is a plain answer.") as server:
        code = main(["eval", "agent-h", "--backend", "openai", "--base-url", server.url, "--model", "m", "--data", str(items),
                     "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0
    summary = orjson.loads((tmp_path / "out" / "agent-h" / "summary.json").read_bytes())
    assert summary["suite"] == "agent-h" and list(summary["metrics"])[:2] == ["H", "ToolNeed"]
    assert (summary["metrics"]["H"], summary["metrics"]["ToolNeed"]) == (100.0, 0.0)
    assert summary["metrics"]["composition"] == header["composition"]
    table = capsys.readouterr().out
    assert "\nH " in table and "\nToolNeed " in table
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "ToolNeed" in page


def test_build_agent_h_warns_when_sources_cannot_give_the_tool_fraction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "agent_h.jsonl"
    general = str(shared_path("mmlu", "test"))
    assert main(["eval", "build-agent-h", "--out", str(items), "--general", general, "--size", "600", "--tool-need-size", "4"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: tool queries are" in err and "not the requested 50%" in err and "--source" in err
    header = read_header(items)
    assert header is not None and "not the requested 50%" in header["composition"]["warning"]
    assert header["composition"]["tool_fraction"] < 0.5 and header["composition"]["tool_fraction_requested"] == 0.5


def test_build_agent_h_refuses_a_file_another_build_is_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agentflan.locking import output_lock

    items = tmp_path / "agent_h.jsonl"
    with output_lock(items, "eval build-agent-h (other)"):
        assert main(["eval", "build-agent-h", "--out", str(items), "--size", "6"]) != 0
    assert "eval build-agent-h (other)" in capsys.readouterr().err and not items.exists()
    assert main(["eval", "build-agent-h", "--out", str(items), "--size", "6"]) == 0 and items.is_file()


def _react_calculator(body: dict[str, Any]) -> str:
    if body["messages"][-1]["role"] == "user" and body["messages"][-1]["content"].startswith("Observation:"):
        return f"Thought: The tool says so.\nFinal Answer: {body['messages'][-1]['content'].split(': ', 1)[1]}"
    expression = body["messages"][-1]["content"].removeprefix("What is ").rstrip("?")
    return f"Thought: I will compute it.\nAction: calculator\nAction Input: {json.dumps({'expression': expression})}"


def test_chat_calls_tools_in_the_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("What is 6*7?\n/tools\nWhat is 2**10?\n/reset\n/exit\nnever read\n"))
    with StubServer(respond=_react_calculator) as server:
        assert main(["chat", "--backend", "openai", "--base-url", server.url, "--model", "m"]) == 0
    out = capsys.readouterr().out
    assert '  → calculator({"expression":"6*7"})\n  ← 42\n  · thought: The tool says so.\nassistant> 42' in out
    assert "calculator: Evaluate an arithmetic expression" in out and "clock: " in out
    assert "assistant> 1024" in out and "(conversation cleared)" in out
    assert len(server.bodies) == 4
    # the second question was asked with the first exchange in context
    assert any(m["content"] == "What is 6*7?" for m in server.bodies[2]["messages"])


def test_plain_chat_without_tools(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\nand again\n"))
    with StubServer() as server:
        assert main(["chat", "--backend", "openai", "--base-url", server.url, "--model", "m", "--no-tools", "--system", "Be kind."]) == 0
    out = capsys.readouterr().out
    assert "assistant> echo: hello" in out and "assistant> echo: and again" in out
    assert [m["role"] for m in server.bodies[1]["messages"]] == ["system", "user", "assistant", "user"]
    assert "stop" not in server.bodies[0]


def test_chat_commands_are_answered_locally(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("/help\n/bogus now\nhello\n/exit\n"))
    with StubServer() as server:
        assert main(["chat", "--backend", "openai", "--base-url", server.url, "--model", "m", "--no-tools"]) == 0
    out = capsys.readouterr().out
    assert "/reset  start a new conversation" in out and "unknown command /bogus; /help lists the commands" in out
    assert len(server.bodies) == 1 and server.bodies[0]["messages"][-1]["content"] == "hello"  # no command reached the model


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 60.0) -> str:
    """Terminal output until ``needle`` shows (appended to ``seen``), or fail with what came."""
    import os
    import select
    import time

    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {needle!r} on the terminal; it showed: {''.join(seen)!r}"
        seen.append(os.read(fd, 4096).decode("utf-8", "replace"))
    return "".join(seen)


def test_chat_on_a_terminal_spins_while_the_model_answers_and_ctrl_c_stops_only_the_reply(tmp_path: Path) -> None:
    """Through a real pseudo-terminal: the spinner runs while the server takes its time, is erased before the
    reply, and Ctrl-C (SIGINT) during a reply drops that reply; the session goes on. Piped output has no spinner:
    test_backends_openai's retry test asserts its stdout is exactly the reply."""
    import os
    import pty
    import signal
    import subprocess
    import sys

    from agentflan.cli._spinner import ERASE
    from conftest import ROOT

    master, slave = pty.openpty()
    with StubServer(delay=1.5) as server:
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
        argv = ["chat", "--backend", "openai", "--model", "m", "--base-url", server.url, "--no-tools"]
        # pytest-xdist workers ignore SIGINT and a child inherits that; a terminal's chat gets the default.
        proc = subprocess.Popen([sys.executable, "-m", "agentflan", *argv], stdin=slave, stdout=slave, stderr=slave,
                                env=env, cwd=tmp_path, close_fds=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        os.close(slave)
        try:
            seen: list[str] = []
            _read_until(master, "you> ", seen)
            os.write(master, b"first question\n")
            _read_until(master, "| thinking 0s", seen)
            proc.send_signal(signal.SIGINT)
            _read_until(master, "(reply stopped; it is not part of the conversation)", seen)
            seen.clear()
            os.write(master, b"second question\n")
            text = _read_until(master, "assistant> echo: second question", seen)
            os.write(master, b"/exit\n")
            assert proc.wait(timeout=60) == 0
        finally:
            proc.kill()
            os.close(master)
    before_reply = text[: text.index("assistant> ")]
    assert "thinking 1s" in before_reply and before_reply.endswith(ERASE), repr(before_reply)
    # the stopped question is not in the conversation the second one was asked with (the stopped request may
    # still reach the server, in either order: it was on its way in the backend's pool)
    asked = [[m["content"] for m in b["messages"]] for b in server.bodies]
    assert ["second question"] in asked and all(len(messages) == 1 for messages in asked), asked


def test_retry_lines_print_above_the_evaluation_bar_not_through_it(tmp_path: Path) -> None:
    """A real run on a pseudo-terminal, where tqdm draws its bar: a warning logged mid-run (a retry here;
    a library's logger or warnings.warn goes the same way) is a line of its own, and the bar is redrawn below it."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import subprocess
    import sys
    import termios

    from conftest import ROOT

    data = str(shared_path("mmlu"))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a width; tqdm needs it
    with StubServer(respond=lambda body: "A", fault=lambda _b, attempt: 500 if attempt == 0 else "ok", delay=0.2) as server:
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "TERM": "xterm"}
        argv = ["eval", "mmlu", "--backend", "openai", "--model", "m", "--base-url", server.url, "--mode", "generative",
                "--data", data, "--subjects", "anatomy", "--limit", "4", "--concurrency", "1", "--out", str(tmp_path / "ev")]
        proc = subprocess.Popen([sys.executable, "-m", "agentflan", *argv], stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=slave, env=env, cwd=tmp_path, close_fds=True)
        os.close(slave)
        seen: list[str] = []
        try:
            while _drain(master, seen) or proc.poll() is None:
                pass
        finally:
            proc.kill()
            os.close(master)
    text = "".join(seen)
    assert proc.wait() == 0, text
    pieces = re.split(r"[\r\n]+", text)
    assert any(p.startswith("mmlu:   0%|") for p in pieces) and any(p.startswith("mmlu: 100%|") for p in pieces), text
    # each piece of terminal output that holds a retry line holds nothing else: no bar before it on its line
    retries = [p for p in pieces if "retrying in" in p]
    assert len(retries) == 4, text
    assert all(p.startswith(f"{server.url}: HTTP 500; retrying in ") for p in retries), retries
    # and the bar came back after the last of them
    assert any(p.startswith("mmlu:") for p in pieces[pieces.index(retries[-1]):]), text


def _drain(fd: int, seen: list[str]) -> bool:
    """Whatever the terminal shows within 0.2 s, appended to ``seen``; False when nothing came."""
    import os
    import select

    if not select.select([fd], [], [], 0.2)[0]:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # the terminal closed with the process
        return False
    seen.append(chunk.decode("utf-8", "replace"))
    return bool(chunk)


def _predictions_of(run_dir: Path, out: Path) -> Path:
    """A generating run's replies as a predictions file ({"id", "response"} lines)."""
    rows = [orjson.loads(line) for line in (run_dir / "results.jsonl").read_bytes().splitlines()]
    out.write_bytes(b"".join(orjson.dumps({"id": r["id"], "response": r["response"]}) + b"\n" for r in rows))
    return out


@pytest.mark.parametrize("suite", ["agent-h", "tool-need"])
def test_eval_score_gives_a_generating_runs_scores(suite: str, tmp_path: Path) -> None:
    """Inference separated from scoring: a run's own replies, scored by ``eval score``, give its
    per-item scores and metrics exactly (replies alternate between a plain answer and a call)."""
    items = tmp_path / "agent_h.jsonl"
    assert main(["eval", "build-agent-h", "--out", str(items), "--source", str(shared_path("toolbench", "queries")), "--size", "8"]) == 0
    replies = iter(range(10_000))

    def respond(body: dict[str, Any]) -> str:
        if next(replies) % 2:
            return "Thought: no tool is needed.\nFinal Answer: Here is a plain answer."
        return 'Thought: I call a tool.\nAction: search\nAction Input: {"query": "x"}'

    with StubServer(respond=respond) as server:
        assert main(["eval", suite, "--backend", "openai", "--base-url", server.url, "--model", "m", "--data", str(items),
                     "--out", str(tmp_path / "run"), "--no-progress", "--concurrency", "1"]) == 0
    preds = _predictions_of(tmp_path / "run" / suite, tmp_path / "preds.jsonl")
    assert main(["eval", "score", suite, "--data", str(items), "--predictions", str(preds), "--out", str(tmp_path / "scored")]) == 0
    run = [orjson.loads(line) for line in (tmp_path / "run" / suite / "results.jsonl").read_bytes().splitlines()]
    scored = [orjson.loads(line) for line in (tmp_path / "scored" / suite / "results.jsonl").read_bytes().splitlines()]
    assert len(run) >= 8 and [(r["id"], r["scores"]) for r in scored] == [(r["id"], r["scores"]) for r in run]
    metrics = {name: orjson.loads((tmp_path / name / suite / "summary.json").read_bytes())["metrics"] for name in ("run", "scored")}
    assert metrics["scored"] == metrics["run"]
    # the alternating replies score items differently (called or not; for agent-h, hallucinated or not)
    assert len({orjson.dumps(r["scores"], option=orjson.OPT_SORT_KEYS) for r in run}) > 1
    if suite == "agent-h":
        assert 0 < metrics["run"]["H"] < 100


def test_eval_score_reads_hotpotqa_answers_and_finish_actions(tmp_path: Path) -> None:
    """HotpotQA predictions are final answers or the agent's last turn (FireAct's two-space finish included)."""
    data = shared_path("hotpotqa", "distractor_easy_medium.jsonl")
    recs = [orjson.loads(line) for line in data.read_bytes().splitlines()]
    replies = []
    for i, rec in enumerate(recs):
        answer = rec["answer"] if i % 5 else "certainly not the answer"
        replies.append(answer if i % 2 else f"Thought: That settles it.\nAction:  finish[{answer}]")
    preds = tmp_path / "preds.jsonl"
    preds.write_bytes(b"".join(orjson.dumps({"id": r["id"], "response": t}) + b"\n" for r, t in zip(recs, replies, strict=True)))
    assert main(["eval", "score", "hotpotqa", "--data", str(data), "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 0
    summary = orjson.loads((tmp_path / "out" / "hotpotqa" / "summary.json").read_bytes())
    wrong = sum(1 for i in range(len(recs)) if i % 5 == 0)
    assert summary["backend"] == "predictions" and summary["n_items"] == len(recs)
    assert summary["metrics"]["em"] == round(100.0 * (len(recs) - wrong) / len(recs), 2)
