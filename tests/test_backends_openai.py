"""The openai backend against a real HTTP server on 127.0.0.1 (tests/openai_stub.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentflan.conversation import Message, Tool
from agentflan.errors import ConfigError
from agentflan.evaluate.registry import make_suite
from agentflan.evaluate.runner import run_suite
from agentflan.generation.backends import BackendError, make_backend
from agentflan.generation.base import GenerationRequest, Sampling
from conftest import shared_path
from openai_stub import StubServer, request_key


def _mmlu(limit: int | None = None) -> Any:
    return make_suite("mmlu", data=str(shared_path("mmlu")), subjects="anatomy,astronomy,virology", per_subject=8, mode="generative")


def _ids(path: Path) -> list[str]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines() if line.strip()]


def test_answers_come_back_in_request_order_under_concurrency() -> None:
    with StubServer(delay=0.01) as server:
        backend = make_backend("openai", "stub-model", base_url=server.url, concurrency=8)
        requests = [GenerationRequest([Message("user", f"question {i}")]) for i in range(40)]
        assert backend.generate(requests) == [f"echo: question {i}" for i in range(40)]
        assert {b["model"] for b in server.bodies} == {"stub-model"}
        assert all(b["temperature"] == 0.0 and "seed" not in b for b in server.bodies)  # greedy by default
        backend.close()


def test_the_runner_keeps_concurrency_requests_in_flight_across_batches_and_never_more(tmp_path: Path) -> None:
    """Two batches overlap on the backend's one pool: the server sees exactly ``concurrency`` requests
    at its busiest, one pool serves every batch, and the cache still lists the items in suite order."""
    import threading

    suite = _mmlu()  # 24 items; concurrency 2 -> batches of 8, three of them
    with StubServer(respond=lambda body: "C", delay=0.02, jitter=1.0) as server:
        backend = make_backend("openai", "m", base_url=server.url, concurrency=2)
        run_suite(suite, backend, tmp_path, progress=False)
        workers = {t.name for t in threading.enumerate() if t.name.startswith("openai")}
        backend.close()
        assert not any(t.name in workers for t in threading.enumerate())  # close() ends the pool
    assert server.max_in_flight == 2 and len(workers) == 2
    assert _ids(tmp_path / "mmlu" / "results.jsonl") == [it.id for it in suite.items()]


def test_flaky_server_500_429_dropped_and_cut_connections_every_item_scored_once(tmp_path: Path) -> None:
    def flaky(body: dict[str, Any], attempt: int) -> Any:
        kind = int(request_key(body)[:8], 16) % 4
        if attempt == 0:
            return {0: 500, 1: "drop", 2: "cut"}.get(kind, "ok")
        if attempt == 1 and kind == 0:
            return 429
        return "ok"

    suite = _mmlu()
    with StubServer(respond=lambda body: "B", fault=flaky) as server:
        backend = make_backend("openai", "stub-model", base_url=server.url, concurrency=8, max_retries=4)
        outcome = run_suite(suite, backend, tmp_path, progress=False)
    # every kind of failure really happened, and the client retried through all of them
    assert all(server.outcomes[k] > 0 for k in ("500", "429", "drop", "cut")), server.outcomes
    ids = _ids(tmp_path / "mmlu" / "results.jsonl")
    assert sorted(ids) == sorted(it.id for it in suite.items()) and len(ids) == len(set(ids)) == 24
    assert outcome.summary["n_items"] == 24
    assert outcome.summary["backend"] == "openai" and outcome.summary["model"] == "stub-model"


def test_items_the_server_keeps_failing_are_listed_counted_and_retried_by_the_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the command, against a real server: one item always answered HTTP 500, one refused with a 400 (a
    prompt too long, say). The run scores every other item (their batch-mates asked again one by one), lists the
    two in failed.jsonl with the server's reason, counts them in the summary and the page, and exits 1; the next
    run asks only those two."""
    from agentflan.cli import main
    from agentflan.evaluate.base import ItemResult

    suite = _mmlu()
    items = list(suite.items())
    doomed = {items[3].messages[-1].content: 500, items[10].messages[-1].content: 400}

    def dead_items(body: dict[str, Any], attempt: int) -> Any:
        return doomed.get(body["messages"][-1]["content"], "ok")

    argv = ["eval", "mmlu", "--data", str(shared_path("mmlu")), "--subjects", "anatomy,astronomy,virology", "--per-subject", "8",
            "--mode", "generative", "--backend", "openai", "--model", "m", "--concurrency", "2", "--max-retries", "1",
            "--no-progress", "--out", str(tmp_path)]
    with StubServer(respond=lambda body: "C", fault=dead_items) as server:
        assert main([*argv, "--base-url", server.url]) == 1
        asked = [b["messages"][-1]["content"] for b in server.bodies]
    out = capsys.readouterr().out
    folder = tmp_path / "mmlu"
    ids = _ids(folder / "results.jsonl")
    assert sorted(ids) == sorted(it.id for it in items if it.messages[-1].content not in doomed)  # nothing else lost
    failed = [orjson.loads(line) for line in (folder / "failed.jsonl").read_bytes().splitlines()]
    assert [f["id"] for f in failed] == [items[3].id, items[10].id]
    assert "answered HTTP 500" in failed[0]["error"] and "(tried 2 times)" in failed[0]["error"]
    assert "HTTP 400 (not retried)" in failed[1]["error"]
    assert asked.count(items[3].messages[-1].content) == 4  # its 2 tries in the batch, then 2 alone
    assert asked.count(items[10].messages[-1].content) == 2  # a 400 is not retried: once in the batch, once alone
    summary = orjson.loads((folder / "summary.json").read_bytes())
    assert (summary["n_items"], summary["n_failed"]) == (24, 2)
    rows = [ItemResult.from_dict(orjson.loads(line)) for line in (folder / "results.jsonl").read_bytes().splitlines()]
    assert summary["metrics"] == suite.summarize(rows)  # the metrics cover the 22 scored
    assert "2 of 24 items failed after the backend's retries" in out and "the metrics cover the 22 scored" in out
    assert "22 scored now, 0 from the cache, 2 failed (listed in failed.jsonl)" in out
    assert "<strong>2 failed</strong>" in (tmp_path / "index.html").read_text(encoding="utf-8")

    with StubServer(respond=lambda body: "C") as server:
        assert main([*argv, "--base-url", server.url]) == 0
        asked = [b["messages"][-1]["content"] for b in server.bodies]
    assert sorted(asked) == sorted(doomed)  # only the failed two were asked again
    assert sorted(_ids(folder / "results.jsonl")) == sorted(it.id for it in items)
    assert orjson.loads((folder / "summary.json").read_bytes())["n_failed"] == 0 and not (folder / "failed.jsonl").exists()


def test_a_server_that_stops_answering_stops_the_run_and_a_rerun_resumes_without_redoing_finished_items(tmp_path: Path) -> None:
    """Every item of a batch failing is not an item's fault (a server gone down, a wrong model name): the run stops
    with the reason, keeps what finished and lists what failed; the next run asks only the rest."""
    suite = _mmlu()
    items = list(suite.items())
    first_batch = {it.messages[-1].content for it in items[:8]}  # concurrency 2 -> batches of 8

    def down_after_the_first_batch(body: dict[str, Any], attempt: int) -> Any:
        return "ok" if body["messages"][-1]["content"] in first_batch else 503

    with StubServer(respond=lambda body: "C", fault=down_after_the_first_batch) as server:
        backend = make_backend("openai", "m", base_url=server.url, concurrency=2, max_retries=0)
        with pytest.raises(BackendError, match=r"HTTP 503.*none of the last 8 items could be answered, so the run stops"):
            run_suite(suite, backend, tmp_path, progress=False)
    results = tmp_path / "mmlu" / "results.jsonl"
    assert _ids(results) == [it.id for it in items[:8]]  # the finished batch survived
    assert not (tmp_path / "mmlu" / "summary.json").exists()
    failed = [orjson.loads(line)["id"] for line in (tmp_path / "mmlu" / "failed.jsonl").read_bytes().splitlines()]
    assert sorted(failed) == sorted(it.id for it in items[8:16])

    with StubServer(respond=lambda body: "C") as server:
        backend = make_backend("openai", "m", base_url=server.url, concurrency=2)
        outcome = run_suite(suite, backend, tmp_path, progress=False)
        asked = {b["messages"][-1]["content"] for b in server.bodies}
    assert (outcome.cached, outcome.new, outcome.failed) == (8, 16, 0)
    assert asked == {it.messages[-1].content for it in items[8:]}  # nothing finished was asked again
    assert sorted(_ids(results)) == sorted(it.id for it in items)


def test_the_api_key_reaches_the_server_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-DO-NOT-LEAK-31337"
    monkeypatch.setenv("AGENTFLAN_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with StubServer(respond=lambda body: "A", fault=lambda b, a: 500 if a == 0 else "ok") as server:
        backend = make_backend("openai", "m", base_url=server.url, api_key_env="AGENTFLAN_TEST_KEY", max_retries=2)
        import sys

        run_suite(make_suite("mmlu", data=str(shared_path("mmlu")), subjects="anatomy", per_subject=3, mode="generative"), backend, tmp_path,
                  progress=False, console=sys.stdout)
    assert set(server.auth) == {f"Bearer {secret}"}
    assert secret not in str(backend.describe()) and secret not in repr(backend.options)  # type: ignore[attr-defined]
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret not in f.read_text(encoding="utf-8"), f
    out, err = capsys.readouterr()
    assert secret not in out + err
    assert secret not in caplog.text


def test_no_key_for_the_openai_api_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        make_backend("openai", "gpt-4o-mini")


def test_each_retry_says_so_on_stderr_once_with_the_fault_the_wait_and_the_attempt_never_the_key(tmp_path: Path) -> None:
    """Through the real command: a 503 with Retry-After, then a dropped connection, then the answer."""
    import subprocess
    import sys

    from conftest import ROOT

    secret = "sk-test-DO-NOT-LEAK-4242"
    faults = {0: 503, 1: "drop"}
    with StubServer(fault=lambda _b, attempt: faults.get(attempt, "ok")) as server:
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "AGENTFLAN_TEST_KEY": secret}
        argv = ["chat", "--backend", "openai", "--model", "m", "--base-url", server.url, "--api-key-env", "AGENTFLAN_TEST_KEY",
                "--no-tools", "--max-retries", "3"]
        done = subprocess.run([sys.executable, "-m", "agentflan", *argv], input="hi\n", capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "assistant> echo: hi"
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0] == f"{server.url}: HTTP 503; retrying in 1.0 s (attempt 2/4)"  # the server's Retry-After: 1
    assert lines[1].startswith(f"{server.url}: connection failed (") and lines[1].endswith(" (attempt 3/4)"), lines[1]
    assert "retrying in " in lines[1]
    assert secret not in done.stdout + done.stderr
    assert set(server.auth) == {f"Bearer {secret}"} and len(server.auth) == 3


def test_retries_give_up_after_max_retries_with_the_last_fault() -> None:
    with StubServer(fault=lambda _b, _a: 500) as server:
        backend = make_backend("openai", "m", base_url=server.url, max_retries=2)
        with pytest.raises(BackendError, match=r"answered HTTP 500: .*injected failure \(tried 3 times\)"):
            backend.generate([GenerationRequest([Message("user", "hi")])])
        assert len(server.bodies) == 3
        backend.close()


def test_client_errors_are_not_retried() -> None:
    with StubServer(fault=lambda body, attempt: 400) as server:
        backend = make_backend("openai", "m", base_url=server.url, max_retries=5)
        with pytest.raises(BackendError, match="HTTP 400"):
            backend.generate([GenerationRequest([Message("user", "hi")])])
        assert len(server.bodies) == 1


def test_stop_sequences_are_sent_and_honoured_even_when_the_server_ignores_them() -> None:
    with StubServer(respond=lambda body: "Thought: look it up\nAction: search[x]\nObservation: invented") as server:
        backend = make_backend("openai", "m", base_url=server.url)
        sampling = Sampling(max_new_tokens=64, stop=["\nObservation:"])
        [text] = backend.generate([GenerationRequest([Message("user", "q")], sampling=sampling)])
    assert text == "Thought: look it up\nAction: search[x]"
    assert server.bodies[0]["stop"] == ["\nObservation:"] and server.bodies[0]["max_tokens"] == 64


def test_native_tools_are_sent_only_when_asked_and_calls_come_back_as_json_lines() -> None:
    calc = Tool("calculator", "arithmetic", {"type": "object", "properties": {"expression": {"type": "string"}}})

    def respond(body: dict[str, Any]) -> Any:
        if "tools" not in body:
            return "no tools seen"
        call = {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}

    request = GenerationRequest([Message("user", "1+1?")], tools=[calc])
    with StubServer(respond=respond) as server:
        plain = make_backend("openai", "m", base_url=server.url).generate([request])
        native = make_backend("openai", "m", base_url=server.url, native_tools=True).generate([request])
    assert plain == ["no tools seen"]
    assert orjson.loads(native[0]) == {"name": "calculator", "arguments": {"expression": "1+1"}}
    assert server.bodies[1]["tools"][0]["function"]["name"] == "calculator"


def test_unknown_backend_options_are_named() -> None:
    with pytest.raises(ConfigError, match="does not take option"):
        make_backend("openai", "m", base_url="http://127.0.0.1:9/v1", batch_size=3)


FAULTS = (500, 503, 429, "drop", "cut", "html", "badjson", "nochoices", "null", "timeout")


def _agent_reply(body: dict[str, Any]) -> str:
    """A fixed, mixed answer per request: some direct answers, some tool calls, so the metrics are not degenerate."""
    if int(request_key(body)[:8], 16) % 2:
        return "I can answer this without a tool: the answer is 42."
    return 'Thought: I need a tool.\nAction: search\nAction Input: {"query": "answer"}'


def _faulty(body: dict[str, Any], attempt: int) -> Any:
    """Every request fails once or twice, each with a fault chosen by its messages, before it is answered."""
    kind = int(request_key(body)[:8], 16)
    if attempt == 0:
        return FAULTS[kind % len(FAULTS)]
    if attempt == 1 and kind % 3 == 0:
        return FAULTS[(kind // 3) % len(FAULTS)]
    return "ok"


@pytest.mark.slow
def test_agent_h_through_every_fault_finishes_in_one_run_with_the_clean_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agentflan.cli import main

    def run(server: StubServer, out: Path) -> dict[str, Any]:
        args = ["eval", "agent-h", "--backend", "openai", "--model", "stub-model", "--base-url", server.url, "--size", "40"]
        args += ["--concurrency", "8", "--timeout", "1", "--max-retries", "4", "--out", str(out)]
        assert main(args) == 0, capsys.readouterr().err
        return orjson.loads((out / "agent-h" / "summary.json").read_bytes())

    with StubServer(respond=_agent_reply) as server:
        clean = run(server, tmp_path / "clean")
    with StubServer(respond=_agent_reply, fault=_faulty, slow_s=2.5) as server:
        faulty = run(server, tmp_path / "faulty")
    assert all(server.outcomes[str(f)] > 0 for f in FAULTS), server.outcomes
    assert faulty["metrics"] == clean["metrics"] and faulty["n_items"] == clean["n_items"]
    rows = [orjson.loads(line) for line in (tmp_path / "faulty" / "agent-h" / "results.jsonl").read_bytes().splitlines()]
    assert len(rows) == clean["n_items"] and all(r["response"] for r in rows)  # no empty answer kept from a fault


def test_a_200_without_an_answer_is_retried_and_never_returned_as_empty() -> None:
    for fault in ("html", "badjson", "nochoices", "null"):
        with StubServer(fault=lambda _b, attempt, f=fault: f if attempt < 2 else "ok") as server:
            backend = make_backend("openai", "stub-model", base_url=server.url, max_retries=3)
            assert backend.generate([GenerationRequest([Message("user", "hi")])]) == ["echo: hi"]
            assert server.outcomes[fault] == 2
            backend.close()
        with StubServer(fault=lambda _b, _a, f=fault: f) as server:
            backend = make_backend("openai", "stub-model", base_url=server.url, max_retries=1)
            with pytest.raises(BackendError, match=r"HTTP 200 without a usable reply: .* \(tried 2 times\)"):
                backend.generate([GenerationRequest([Message("user", "hi")])])
            backend.close()
