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


def unloadable(spec: str, exc: BaseException) -> str:
    """One line for a model that transformers could not load: what was tried, and the first line of why."""
    first = first_line(exc) or type(exc).__name__
    where = "the local folder" if Path(spec).expanduser().is_dir() else "not a local folder; as a Hugging Face hub id"
    return f"model {spec!r} could not be loaded ({where}): {first}"
