"""``--on-error fail|skip`` for batch commands: nothing is dropped silently.

With ``fail`` the first bad record raises its :class:`InputError`. With ``skip`` each bad
record goes to a rejects JSONL (location, reason, the record itself) and the run goes on;
:class:`BatchStats` counts what was read, written and rejected for the closing line.
"""

from __future__ import annotations

import enum
import os
import re
import reprlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol

from agentflan.errors import InputError, Location

if TYPE_CHECKING:
    from agentflan.conversation import Conversation
from agentflan.io import atomic_path
from agentflan.jsonutil import dumps_bytes


class OnError(str, enum.Enum):
    FAIL = "fail"
    SKIP = "skip"


@dataclass(slots=True)
class BatchStats:
    read: int = 0
    written: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    #: Input a reader passed over on purpose (not an error), by why: e.g. ToolBench files without
    #: train_messages. Counted so that "read 0" never hides data.
    unused: dict[str, int] = field(default_factory=dict)

    def summary(self, writes: bool = True) -> str:
        """``read N, written N, rejected N``; ``writes=False`` for commands that write nothing."""
        line = f"read {self.read}, written {self.written}, rejected {self.rejected}" if writes else f"read {self.read}, rejected {self.rejected}"
        if self.unused:
            why = "; ".join(f"{reason}: {n}" for reason, n in sorted(self.unused.items()))
            line += f", not used {sum(self.unused.values())} ({why})"
        return line

    def add_unused(self, counts: dict[str, int]) -> None:
        for reason, n in counts.items():
            self.unused[reason] = self.unused.get(reason, 0) + n


class _Located(Protocol):
    location: Location
    conversation: Conversation


class Origins:
    """Where the conversations in flight were read. A writer that refuses a conversation sees
    only the conversation (its id); this lets the rejects line name the file and line instead.
    Writers stream, so the last ``window`` conversations are enough, and memory stays flat."""

    def __init__(self, window: int = 4096):
        self.window = window
        self._where: OrderedDict[str, Location] = OrderedDict()

    def track(self, located: Iterable[_Located]) -> Iterator[Conversation]:
        """The conversations of ``located`` (``iter_located``), remembering where each was read."""
        for item in located:
            self._where[item.conversation.id] = item.location
            self._where.move_to_end(item.conversation.id)
            if len(self._where) > self.window:
                self._where.popitem(last=False)
            yield item.conversation

    def locate(self, error: InputError, record: Any) -> InputError:
        """``error`` at the file location of its record, when it names only a conversation."""
        where = self._where.get(str(record.get("id"))) if isinstance(record, dict) else None
        if where is None or isinstance(error.location, Location):
            return error
        return InputError(where, error.reason, error.field)


class Rejects:
    """Collects rejected records into a JSONL file, written atomically when the run closes.

    The file appears only if something was rejected; its rows are
    ``{"location": "file:line", "reason": "...", "record": <the input value or null>}``.
    """

    def __init__(self, path: str | os.PathLike[str] | None, on_error: OnError = OnError.FAIL):
        self.path = Path(path) if path is not None else None
        self.on_error = OnError(on_error)
        self.stats = BatchStats()
        #: names the source file of a record a writer refuses (set by commands that write)
        self.origins: Origins | None = None
        self._ctx: Any = None
        self._fh: IO[bytes] | None = None

    def handle(self, error: InputError, record: Any = None) -> None:
        """Raise (``fail``) or record the rejection (``skip``)."""
        if self.origins is not None:
            error = self.origins.locate(error, record)
        if self.on_error is OnError.FAIL:
            raise error
        self.stats.rejected += 1
        key = reason_key(error.reason)
        self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1
        if self.path is None:
            return
        line = _reject_row(error, record)
        if self._fh is None:
            self._ctx = atomic_path(self.path)
            tmp = self._ctx.__enter__()
            self._fh = tmp.open("wb")
        self._fh.write(line)

    def __enter__(self) -> Rejects:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fh is not None:
            self._fh.close()
            # The rejects of a run that died are still worth keeping: they explain the death.
            self._ctx.__exit__(None, None, None)
            self._fh = None



def _reject_row(error: InputError, record: Any) -> bytes:
    """One rejects line; a record no JSON encoder can write is kept as its (shortened) text."""
    row = {"location": str(error.location), "field": error.field, "reason": error.reason, "record": record}
    try:
        return dumps_bytes(row, default=str) + b"\n"
    except (TypeError, ValueError, RecursionError):
        row.update(record=None, record_text=reprlib.repr(record))  # depth- and length-bounded
        return dumps_bytes(row) + b"\n"


REASON_KEY_CHARS = 80


def reason_key(reason: str) -> str:
    """The part of a rejection reason that groups rejections: up to its first colon, numbers as N
    (``turn 12 is ...`` and ``turn 16 is ...`` are one kind), at most ``REASON_KEY_CHARS``
    characters, cut at a word boundary (with an ellipsis) rather than mid-word."""
    key = re.sub(r"\b\d+\b", "N", reason.split(":")[0])
    if len(key) <= REASON_KEY_CHARS:
        return key
    cut = key[: REASON_KEY_CHARS + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;") + "…"
