"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks (stdlib only).

It speaks ``POST /v1/chat/completions`` and, given ``complete``, ``POST /v1/completions`` (``complete(body)``
returns the whole reply, e.g. a real model's log-probs). ``respond(body)`` makes the reply: its text, or a whole assistant message dict;
``fault(body, attempt)`` injects failures per request on either endpoint (``attempt`` counts earlier requests with
the same messages or prompt): ``"ok"``; an HTTP status (``500``, ``503``, ``429`` come with ``Retry-After: 1``);
``drop`` closes the connection without answering, ``cut`` sends half a response and closes it;
``timeout`` answers only after ``slow_s`` seconds (past the client's timeout); and 200 responses
without a usable answer: ``html`` (a proxy's error page), ``badjson`` (a JSON body cut short, with a
matching Content-Length), ``nochoices`` (``choices: []``) and ``null`` (``content: null``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], Any]
Fault = Callable[[dict[str, Any], int], Any]


def echo(body: dict[str, Any]) -> str:
    """The default reply: names the last user message, so each request's answer is recognisable."""
    last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    return f"echo: {last}"


def request_key(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body.get("messages", body.get("prompt")), sort_keys=True).encode()).hexdigest()


class StubServer:
    def __init__(self, respond: Responder = echo, *, delay: float = 0.0, jitter: float = 0.0, fault: Fault | None = None,
                 slow_s: float = 3.0, complete: Responder | None = None):
        """``delay`` seconds before each answer, stretched by up to ``jitter`` x ``delay`` per request (fixed per
        request body, so two clients asking the same requests meet the same latencies)."""
        self.respond = respond
        self.complete = complete
        self.jitter = jitter
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server held at once
        self.slow_s = slow_s
        self.delay = delay
        self.fault = fault
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                completion = self.path.endswith("/v1/completions") and stub.complete is not None
                if not completion and not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with stub._lock:
                    key = request_key(body)
                    attempt = stub._attempts[key]
                    stub._attempts[key] += 1
                    stub.bodies.append(body)
                    stub.auth.append(self.headers.get("Authorization", ""))
                outcome = stub.fault(body, attempt) if stub.fault else "ok"
                with stub._lock:
                    stub.outcomes[str(outcome)] += 1
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                if stub.delay:
                    spread = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32
                    time.sleep(stub.delay * (1 + stub.jitter * spread))
                with stub._lock:
                    stub.in_flight -= 1
                if outcome == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if outcome == "cut":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\": ")
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.close()
                    return
                if outcome == "timeout":
                    time.sleep(stub.slow_s)
                    outcome = "ok"
                if outcome == "html":
                    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
                    self._send_bytes(200, page, "text/html")
                    return
                if outcome == "badjson":
                    self._send_bytes(200, b'{"id": "chatcmpl-stub", "object": "chat.completion", "choi', "application/json")
                    return
                if outcome not in ("ok", "nochoices", "null"):
                    retry_after = {"Retry-After": "1"} if int(outcome) in (429, 503) else {}
                    self._send(int(outcome), {"error": {"message": "injected failure", "type": "server_error"}}, retry_after)
                    return
                if completion and stub.complete is not None:
                    self._send(200, stub.complete(body))
                    return
                reply = stub.respond(body)
                message = reply if isinstance(reply, dict) else {"role": "assistant", "content": reply}
                if outcome == "null":
                    message = {"role": "assistant", "content": None}
                choices = [] if outcome == "nochoices" else [{"index": 0, "message": message, "finish_reason": "stop"}]
                self._send(
                    200,
                    {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", ""),
                        "choices": choices,
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

            def _send_bytes(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                # A client that timed out and hung up is part of the faults under test, not a server bug.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
