"""Any OpenAI-compatible chat-completions endpoint: vLLM's server, the OpenAI API, others.

The synchronous ``openai`` client runs in one thread pool of ``concurrency`` workers that lives
as long as the backend: every ``generate`` call, including calls from several threads at once (the
runner overlaps two batches), shares it, so at most ``concurrency`` requests are ever in flight and
the pool never drains between batches. The client is
thread-safe and works inside notebooks that already run an event loop. Retries are made here,
not by the client (whose retries are silent), so each one is logged as it happens — the fault,
the wait, attempt n/N — with the URL stripped of credentials: 408/409/429, 5xx, timeouts and
dropped connections, and a 200 whose body holds no answer (HTML from a proxy, cut or malformed
JSON, no choices, null content), which is never returned as an empty answer the evaluation
cache would keep. Waits double from 0.5 s to 8 s with jitter; a ``Retry-After`` of up to a
minute is honoured. The API key is read from the environment variable
named by ``api_key_env`` and lives only inside the client: never in options, logs or results.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from agentflan.errors import ConfigError
from agentflan.formats.openai import openai_messages, openai_tools
from agentflan.generation.backends import BackendError, tool_calls_as_text
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.generation.stops import cut_at_stop
from agentflan.jsonutil import loads_object
from agentflan.options import option

# Local servers (vLLM, llama.cpp, TGI) accept any key; the client insists on having one.
DUMMY_KEY = "EMPTY"
# Query parameters of a base URL that carry credentials (Azure's api-key, signed URLs), by name or by
# a value shaped like a token; run.json and messages show them masked.
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|sig|credential", re.IGNORECASE)
SECRET_VALUE = re.compile(r"[A-Za-z0-9_\-.~+/=]{24,}")
REDACTED = "***"
# Waits between tries: doubling from the first to the longest, each cut by up to a quarter at random
# (clients that failed together do not retry together); a server's Retry-After up to its cap wins.
RETRY_BACKOFF_S = 0.5
RETRY_BACKOFF_MAX_S = 8.0
RETRY_AFTER_MAX_S = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx

log = logging.getLogger(__name__)


@dataclass(slots=True)
class OpenAIOptions:
    """``base_url`` None means the OpenAI API itself (then the key must be set)."""

    base_url: str | None = option(None, "server URL, e.g. http://127.0.0.1:8000/v1", none="the OpenAI API", metavar="URL")
    api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the API key (unset with --base-url: a dummy key)", metavar="VAR")
    concurrency: int = option(8, "requests in flight at once", metavar="N")
    timeout: float = option(120.0, "seconds per request before it is retried", metavar="S")
    max_retries: int = option(6, "retries with exponential backoff on 429/5xx/timeouts/dropped connections", metavar="N")
    native_tools: bool = option(
        False,
        "send the offered tools as the API's `tools` (tool calls come back as JSON lines); off: suites describe tools in "
        "the prompt in the protocol under test, and vLLM rejects `tools` unless started with --enable-auto-tool-choice",
    )


class OpenAIBackend(Backend):
    name: ClassVar[str] = "openai"
    Options: ClassVar[type[OpenAIOptions]] = OpenAIOptions

    def __init__(self, model: str, options: OpenAIOptions | None = None):
        from openai import OpenAI

        self.model = model
        self.options = options or OpenAIOptions()
        if self.options.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.options.concurrency}")
        key = os.environ.get(self.options.api_key_env)
        if not key:
            if self.options.base_url is None:
                raise ConfigError(
                    f"environment variable {self.options.api_key_env} is not set; export the API key there "
                    "(or name another variable with --api-key-env)"
                )
            key = DUMMY_KEY
        self._client = OpenAI(
            api_key=key,
            base_url=self.options.base_url,
            timeout=self.options.timeout,
            max_retries=0,  # retried in _one, where each retry is said
        )
        self._pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="openai")

    @property
    def batch_size(self) -> int:
        return 4 * self.options.concurrency

    def describe(self) -> dict[str, Any]:
        opts = asdict(self.options)
        opts["base_url"] = _without_userinfo(self.options.base_url)
        return {"backend": self.name, "model": self.model, **opts}

    @property
    def batches_in_flight(self) -> int:
        return 2

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        futures = [self._pool.submit(self._one, r) for r in requests]
        try:
            return [f.result() for f in futures]
        finally:  # after a failure, requests still queued are not sent
            for f in futures:
                f.cancel()

    def _one(self, request: GenerationRequest) -> str:

        s = request.sampling
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": openai_messages(request.messages, arguments="text", request=True),
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
        }
        if s.stop:
            kwargs["stop"] = list(s.stop)
        if s.temperature > 0:
            kwargs["seed"] = s.seed
        if self.options.native_tools and request.tools:
            kwargs["tools"] = openai_tools(request.tools)
        tries, attempt = self.options.max_retries + 1, 1
        while True:
            try:
                return cut_at_stop(self._reply(kwargs), s.stop)
            except _Retryable as fault:
                if attempt == tries:
                    raise BackendError(fault.final(self._where(), tries)) from None
                wait = retry_wait(attempt, fault.retry_after)
                attempt += 1
                log.warning("%s: %s; retrying in %.1f s (attempt %d/%d)", self._where(), fault, wait, attempt, tries)
                time.sleep(wait)

    def _reply(self, kwargs: dict[str, Any]) -> str:
        """One request: the reply's text, or :class:`_Retryable` for a fault worth another try."""
        import openai

        try:  # a body cut off after the headers is a connection error
            raw = self._client.chat.completions.with_raw_response.create(**kwargs)
            body = raw.http_response.content
        except openai.APIStatusError as exc:
            code, text = exc.status_code, _short(exc.message)
            if code in RETRY_STATUSES or code >= 500:
                raise _Retryable(f"HTTP {code}", f"answered HTTP {code}: {text}", _retry_after(exc.response.headers)) from None
            raise BackendError(f"{self._where()} answered HTTP {code} (not retried): {text}") from None
        except openai.APITimeoutError:
            raise _Retryable(f"no answer within {self.options.timeout:g} s", f"never answered within {self.options.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            why = _short(str(exc.__cause__ or exc))
            raise _Retryable(f"connection failed ({why})", f"could not be reached: {why}") from None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            kind = raw.http_response.headers.get("content-type", "no content type")
            raise _bad_reply(f"the body is not JSON ({kind}): {_short(body.decode('utf-8', 'replace'), 120)}") from None
        return reply_text(data)

    def _where(self) -> str:
        return _without_userinfo(self.options.base_url) or "the OpenAI API"

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()


class _Retryable(Exception):
    """A fault worth another try: ``str()`` is its short form for the retry line, :meth:`final`
    the error once the tries are used up, ``retry_after`` the server's wait in seconds if it said."""

    def __init__(self, short: str, detail: str, retry_after: float | None = None):
        super().__init__(short)
        self.detail = detail
        self.retry_after = retry_after

    def final(self, where: str, tries: int) -> str:
        return f"{where} {self.detail} (tried {tries} times)"


def _bad_reply(why: str) -> _Retryable:
    """A 200 with no usable answer: a transport fault, retried like a 5xx, never the model's empty answer."""
    return _Retryable("HTTP 200 without a usable reply", f"answered HTTP 200 without a usable reply: {why}")


def retry_wait(attempt: int, retry_after: float | None) -> float:
    """Seconds before the try after ``attempt`` (1-based)."""
    if retry_after is not None and 0 < retry_after <= RETRY_AFTER_MAX_S:
        return retry_after
    return min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S * 2 ** (attempt - 1)) * (1 - 0.25 * random.random())


def _retry_after(headers: Any) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``, in seconds."""
    from email.utils import parsedate_to_datetime

    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return None


def reply_text(data: Any) -> str:
    """The text of a chat-completions response body: the content, then any tool calls as JSON lines."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        raise _bad_reply(f"no choices in the response: {_short(str(data), 120)}")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        raise _bad_reply("the first choice has no message")
    content, tool_calls = message.get("content"), message.get("tool_calls") or []
    if not isinstance(content, str | None) or not isinstance(tool_calls, list):
        raise _bad_reply("the message's content or tool_calls has the wrong type")
    if content is None and not tool_calls:
        raise _bad_reply("the message has neither content nor tool calls")
    calls: list[tuple[str, Any]] = []
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        args, error = loads_object(arguments)
        calls.append((function["name"], arguments if error else args))
    return "\n".join(t for t in (content or "", tool_calls_as_text(calls)) if t)


def _without_userinfo(url: str | None) -> str | None:
    """A URL safe to print and save: credentials embedded as ``user:pass@`` are dropped, and query
    values that look like keys (``?api-key=...``, ``?sig=...``, long random tokens) are masked."""
    if url is None:
        return None
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    if parts.query:
        query = [(k, REDACTED if _secret(k, v) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(query, safe=REDACTED))
    return urlunsplit(parts)


def _secret(name: str, value: str) -> bool:
    return bool(SECRET_NAME.search(name) or SECRET_VALUE.fullmatch(value))


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
