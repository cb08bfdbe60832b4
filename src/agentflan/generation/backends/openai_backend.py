"""Any OpenAI-compatible chat-completions endpoint: vLLM's server, the OpenAI API, others.

The synchronous ``openai`` client runs in a thread pool of ``concurrency`` workers: it is
thread-safe, works inside notebooks that already run an event loop, and its own retry
machinery (exponential backoff with jitter, ``Retry-After`` honoured) covers 408/409/429,
5xx, timeouts and dropped connections. The API key is read from the environment variable
named by ``api_key_env`` and lives only inside the client: never in options, logs or results.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from agentflan.errors import ConfigError
from agentflan.generation.backends import (
    BackendError,
    to_chat_dicts,
    tool_calls_as_text,
    tool_dicts,
)
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.generation.stops import cut_at_stop
from agentflan.jsonutil import loads_object

# Local servers (vLLM, llama.cpp, TGI) accept any key; the client insists on having one.
DUMMY_KEY = "EMPTY"


@dataclass(slots=True)
class OpenAIOptions:
    """``base_url`` None means the OpenAI API itself (then the key must be set)."""

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 6
    #: Send ``request.tools`` as the API's ``tools`` (and return tool calls as JSON lines). Off by
    #: default: suites describe tools in the prompt in the protocol under test, and vLLM rejects
    #: ``tools`` unless started with ``--enable-auto-tool-choice``.
    native_tools: bool = False


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
            max_retries=self.options.max_retries,
        )

    @property
    def batch_size(self) -> int:
        return 4 * self.options.concurrency

    def describe(self) -> dict[str, Any]:
        opts = asdict(self.options)
        opts["base_url"] = _without_userinfo(self.options.base_url)
        return {"backend": self.name, "model": self.model, **opts}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        if not requests:
            return []
        workers = min(self.options.concurrency, len(requests))
        if workers == 1:
            return [self._one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai") as pool:
            return list(pool.map(self._one, requests))

    def _one(self, request: GenerationRequest) -> str:
        import openai

        s = request.sampling
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": to_chat_dicts(request.messages),
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
        }
        if s.stop:
            kwargs["stop"] = list(s.stop)
        if s.temperature > 0:
            kwargs["seed"] = s.seed
        if self.options.native_tools and request.tools:
            kwargs["tools"] = tool_dicts(request.tools)
        try:
            completion = self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            raise BackendError(
                f"{self._where()} answered HTTP {exc.status_code} (after up to {self.options.max_retries} retries): "
                f"{_short(exc.message)}"
            ) from None
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"could not reach {self._where()} after {self.options.max_retries} retries: {_short(str(exc))}"
            ) from None
        if not completion.choices:
            raise BackendError(f"{self._where()} returned no choices for model {self.model!r}")
        message = completion.choices[0].message
        text = message.content or ""
        if message.tool_calls:
            calls: list[tuple[str, Any]] = []
            for call in message.tool_calls:
                function = getattr(call, "function", None)
                if function is None:
                    continue
                args, error = loads_object(function.arguments or "")
                calls.append((function.name, function.arguments if error else args))
            text = "\n".join(t for t in (text, tool_calls_as_text(calls)) if t)
        return cut_at_stop(text, s.stop)

    def _where(self) -> str:
        return _without_userinfo(self.options.base_url) or "the OpenAI API"

    def close(self) -> None:
        self._client.close()


def _without_userinfo(url: str | None) -> str | None:
    """A URL safe to print: credentials embedded as ``user:pass@`` are dropped."""
    if url is None:
        return None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
