"""Typed errors that say where: the file, the line (or record id) and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class AgentflanError(Exception):
    """Base class: every error agentflan raises on purpose."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record came from: ``path:line`` for JSONL (lines count from 1, as editors do),
    ``path#index`` for JSON arrays, parquet and datasets (from 0, as ``ds[index]`` does); a split of
    a hub dataset or a saved ``DatasetDict`` is ``SOURCE:SPLIT``, as ``hf://owner/name:split`` is typed."""

    path: str
    line: int | None = None
    index: int | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        elif self.index is not None:
            where += f"#{self.index}"
        if self.record_id is not None:
            where += f" (id {self.record_id})"
        return where


class InputError(AgentflanError):
    """A record that cannot be read; the message names file, line or id, and the field."""

    def __init__(self, location: Location | str, message: str, field: str | None = None):
        self.location = location
        self.field = field
        # A message may quote the bad value, and a record can be megabytes: keep the start.
        self.reason = message = shorten(message, MESSAGE_CHARS)
        where = f"{location}"
        if field:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")


class FormatDetectionError(InputError):
    """The first record matches no known format (or several, ambiguously)."""


class ConfigError(AgentflanError):
    """A recipe, training or evaluation config that is wrong; names the key."""


# A bad value quoted in a message is cut to this many characters: a record can be megabytes.
QUOTE_CHARS = 200
MESSAGE_CHARS = 500


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def unloadable(spec: str, exc: BaseException, what: str = "model") -> str:
    """One line for a model (or tokenizer: ``what``) that transformers could not load: what was tried, and why not.

    A hub's HTTP answer found among the causes says why in the hub's terms (no such model, gated,
    a file missing): transformers words a 404 without the hub's error code as "couldn't connect"."""
    if Path(spec).expanduser().is_dir():
        return f"{what} {spec!r} could not be loaded (the local folder): {first_line(exc) or type(exc).__name__}"
    answer = hub_answer(exc)
    why = _hub_refusal(*answer) if answer else first_line(exc) or type(exc).__name__
    return f"{what} {spec!r} could not be loaded (not a local folder; as a Hugging Face hub id): {why}"


def hub_answer(exc: BaseException) -> tuple[int, str, str] | None:
    """The HTTP status, URL and hub error code of the first cause of ``exc`` that carries a response
    (huggingface_hub's errors and httpx's and requests' status errors all do), or None."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        response = getattr(cause, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            headers = getattr(response, "headers", None) or {}
            return status, str(getattr(response, "url", "")), str(headers.get("X-Error-Code") or "")
        cause = cause.__cause__ or cause.__context__
    return None


def _hub_refusal(status: int, url: str, code: str) -> str:
    hub = "/".join(url.split("/")[:3]) if "://" in url else "the hub"
    asked = f"HTTP {status} for {url}"
    if code == "EntryNotFound":
        return f"the hub {hub} has the repository but not this file ({asked}); is it a transformers model?"
    if code == "GatedRepo" or status == 403:
        return f"the hub {hub} refused access ({asked}): a gated model needs its terms accepted and a token (HF_TOKEN or `hf auth login`)"
    if code == "RepoNotFound" or status in (401, 404):
        return f"the hub {hub} has no such repository ({asked}): check the id; a private one needs a token (HF_TOKEN or `hf auth login`)"
    return f"the hub {hub} answered {asked}"
