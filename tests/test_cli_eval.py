"""``agentflan eval`` and ``agentflan chat`` end to end, against a local OpenAI-compatible server."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentflan.cli import main
from conftest import shared_path
from openai_stub import StubServer


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_is_enough_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    top = _help(capsys, "eval")
    for name in ("agent-h", "tool-need", "tool-steps", "hotpotqa", "mmlu", "build-agent-h", "examples:", "summary.json"):
        assert name in top
    mmlu = _help(capsys, "eval", "mmlu")
    for option in ("--model", "--backend", "--base-url", "--api-key-env", "--concurrency", "--out", "--limit", "--data",
                   "--template", "--subjects", "--fresh", "--set"):
        assert option in mmlu
    assert "--seed" in _help(capsys, "eval", "hotpotqa")
    assert "--size" in _help(capsys, "eval", "build-agent-h")
    chat = _help(capsys, "chat")
    assert "--tools" in chat and "MODULE:CALLABLE" in chat and "examples:" in chat


def test_eval_mmlu_over_http_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["eval", "mmlu", "--backend", "openai", "--model", "m", "--data", str(shared_path("mmlu")),
            "--subjects", "anatomy,virology", "--limit", "6", "--out", str(tmp_path), "--no-progress"]
    with StubServer(respond=lambda body: "A") as server:
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
    assert items.exists() and "Agent-H items" in capsys.readouterr().out
    with StubServer(respond=lambda body: "Thought: no tool is needed.\nFinal Answer: Here is a plain answer.") as server:
        code = main(["eval", "agent-h", "--backend", "openai", "--base-url", server.url, "--model", "m", "--data", str(items),
                     "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0
    assert orjson.loads((tmp_path / "out" / "agent-h" / "summary.json").read_bytes())["suite"] == "agent-h"


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
