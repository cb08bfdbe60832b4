"""The reader contract: a source format turns one JSON record into conversations.

Files become records in :mod:`agentflan.io` (located by file and line); a
:class:`SourceFormat` turns each record into zero or more :class:`Conversation` objects
(a ToolBench answer file holds one per step). The format is detected from the first record
unless the caller names it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

from agentflan.conversation import Conversation
from agentflan.errors import Location


class SourceFormat(ABC):
    """One input format; subclasses register under ``name`` with :func:`register`."""

    name: ClassVar[str]
    description: ClassVar[str]
    _unused: dict[str, int] | None = None

    @abstractmethod
    def sniff(self, record: Any) -> bool:
        """Whether a record looks like this format (cheap: keys and first values only)."""

    @abstractmethod
    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        """The conversations in one record; raises :class:`~agentflan.errors.InputError`
        naming ``location`` and the field when the record is malformed."""


    def not_used(self, reason: str, count: int = 1) -> None:
        """Note input that :meth:`convert` passes over on purpose (the pipeline counts it in the summary)."""
        if self._unused is None:
            self._unused = {}
        self._unused[reason] = self._unused.get(reason, 0) + count

    def take_unused(self) -> dict[str, int]:
        """What :meth:`not_used` noted since the last call, by reason."""
        taken, self._unused = self._unused or {}, None
        return taken

    def decode_file(self, data: bytes) -> Any | None:
        """A faster decoder for a whole ``.json`` file that is one record of this format: the record
        reduced to the fields :meth:`convert` reads, or ``None`` when ``data`` is not (clearly) this
        format, in which case the generic JSON path reads it. Formats without one return ``None``."""
        return None


_REGISTRY: dict[str, type[SourceFormat]] = {}


def register(cls: type[SourceFormat]) -> type[SourceFormat]:
    _REGISTRY[cls.name] = cls
    return cls


def source_formats() -> dict[str, type[SourceFormat]]:
    from agentflan import sources  # noqa: F401  (importing the package registers the built-ins)

    return dict(_REGISTRY)
