"""The writer contract: conversations -> one output, written atomically and streamed.

A JSON-based format is a :class:`RecordWriter`: it turns one conversation into one record
(``encode``); the container follows the path's suffix (``.jsonl``/``.ndjson``: one record per
line; ``.json``: one JSON array, streamed element by element, never built in memory) or the
format's default. A conversation the format cannot express raises :class:`InputError` from
``encode``; with a ``Rejects`` in ``skip`` mode it is set aside and the rest are written.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import ConfigError, InputError
from agentflan.io import atomic_open
from agentflan.jsonutil import dumps_bytes

Container = Literal["jsonl", "json"]
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# Lines are buffered and written in blocks: one write() per record costs more than the encoding.
WRITE_BLOCK_BYTES = 1 << 20


class Writer(ABC):
    """One output format; subclasses register under ``name`` with :func:`register`."""

    name: ClassVar[str]
    description: ClassVar[str]
    # False where every assistant turn is trained: masked turns are refused (see writers.loss).
    carries_turn_loss: ClassVar[bool] = True

    @abstractmethod
    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        """Write every conversation to ``path`` atomically; the number of rows written."""


_REGISTRY: dict[str, type[Writer]] = {}
# Built-in format -> the module that registers it, imported only when the format is asked for (a
# one-file convert should not pay for pyarrow glue or protocol tables it never uses). The order is
# that of ``writer_names()`` (and of ``convert --help``); plug-ins follow.
BUILTIN = {
    "agentflan": "agentflan.writers.agentflan",
    "native": "agentflan.writers.native",
    "sharegpt-tools": "agentflan.writers.sharegpt",
    "openai": "agentflan.writers.openai",
    "toolllama": "agentflan.writers.toolllama",
    "hf-dataset": "agentflan.writers.arrow",
    "parquet": "agentflan.writers.arrow",
}


def register(cls: type[Writer]) -> type[Writer]:
    _REGISTRY[cls.name] = cls
    return cls


def writer_names() -> list[str]:
    return list(BUILTIN) + sorted(n for n in _REGISTRY if n not in BUILTIN)


def get_writer(name: str) -> Writer:
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        raise ConfigError(f"unknown output format {name!r}; known: {', '.join(writer_names())}")
    return _REGISTRY[name]()


class RecordWriter(Writer):
    """A format with one JSON record per conversation."""

    default_container: ClassVar[Container] = "jsonl"
    #: False for a format that holds every conversation (its encode never raises): a build then
    #: skips the scan-time check that a row can be written (an encode per row for nothing).
    can_refuse: ClassVar[bool] = True

    @abstractmethod
    def encode(self, conv: Conversation) -> dict[str, Any]:
        """The record of one conversation; :class:`InputError` if the format cannot express it."""

    def container(self, path: Path) -> Container:
        if path.suffix in JSONL_SUFFIXES:
            return "jsonl"
        if path.suffix == ".json":
            return "json"
        return self.default_container

    def records(self, conversations: Iterable[Conversation], rejects: Rejects | None) -> Iterator[dict[str, Any]]:
        for conv in conversations:
            try:
                record = self.encode(conv)
            except InputError as exc:
                if rejects is None:
                    raise
                rejects.handle(exc, conv.to_dict())
                continue
            yield record

    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        return write_records(self.records(conversations, rejects), path, self.container(path))


def write_records(records: Iterable[Any], path: str | os.PathLike[str], container: Container) -> int:
    """Stream records into a JSONL file or a JSON array, atomically; the number written."""
    array = container == "json"
    count = 0
    block: list[bytes] = [b"[\n"] if array else []
    size = 0
    with atomic_open(path, "wb", encoding=None) as fh:
        for record in records:
            line = dumps_bytes(record)
            if array and count:
                block.append(b",\n")
            block.append(line)
            if not array:
                block.append(b"\n")
            count += 1
            size += len(line)
            if size >= WRITE_BLOCK_BYTES:
                fh.write(b"".join(block))
                block.clear()
                size = 0
        if array:
            block.append(b"\n]\n" if count else b"]\n")
        fh.write(b"".join(block))
    return count


def conversation_error(conv: Conversation, message: str, field: str | None = None) -> InputError:
    """An error about a conversation being written (it has no file location, only its id)."""
    return InputError(f"conversation {conv.id!r}", message, field)
