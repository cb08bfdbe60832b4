"""One stream of conversations into several outputs in one pass (``build`` writes each split in
every format it asks for without making or reading its rows twice).

JSON formats encode each conversation as it passes; any other writer (parquet, hf-dataset) reads
the same stream from a bounded queue in its own thread. Every output is atomic: an error in the
stream or in any writer leaves none of them behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import orjson

from agentflan.conversation import Conversation
from agentflan.io import atomic_open
from agentflan.writers.base import WRITE_BLOCK_BYTES, RecordWriter, Writer, get_writer

#: conversations a threaded writer may lag behind the stream (memory stays flat)
QUEUE_ROWS = 256
_END = object()


class _Records:
    """A JSONL or JSON-array output fed one conversation at a time."""

    def __init__(self, writer: RecordWriter, fh: IO[bytes], array: bool):
        self.writer, self.fh, self.array = writer, fh, array
        self.block: list[bytes] = [b"[\n"] if array else []
        self.size = self.count = 0

    def add(self, conv: Conversation) -> None:
        line = orjson.dumps(self.writer.encode(conv))
        if self.array and self.count:
            self.block.append(b",\n")
        self.block.append(line)
        if not self.array:
            self.block.append(b"\n")
        self.count += 1
        self.size += len(line)
        if self.size >= WRITE_BLOCK_BYTES:
            self.flush()

    def flush(self) -> None:
        self.fh.write(b"".join(self.block))
        self.block.clear()
        self.size = 0

    def close(self) -> None:
        if self.array:
            self.block.append(b"\n]\n" if self.count else b"]\n")
        self.flush()


class _Threaded:
    """A writer that takes a whole stream, fed from a queue in its own thread."""

    def __init__(self, writer: Writer, path: Path):
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_ROWS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(writer, path), daemon=True)
        self.thread.start()

    def _run(self, writer: Writer, path: Path) -> None:
        try:
            writer.write(self._stream(), path)
        except BaseException as exc:  # handed to the caller's thread by close()
            self.error = exc
            while self.queue.get() is not _END:  # let the producer finish
                pass

    def _stream(self) -> Iterator[Conversation]:
        while (item := self.queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def add(self, conv: Conversation) -> None:
        if self.error is None:
            self.queue.put(conv)

    def close(self, failure: BaseException | None = None) -> None:
        if failure is not None:
            self.queue.put(failure)
        self.queue.put(_END)
        self.thread.join()
        if self.error is not None and failure is None:
            raise self.error


def write_each(conversations: Iterable[Conversation], targets: Sequence[tuple[str, Path]]) -> int:
    """Write ``conversations`` once to every ``(format, path)`` of ``targets``; the rows read."""
    rows = 0
    with ExitStack() as stack:
        records: list[_Records] = []
        threaded: list[_Threaded] = []
        for fmt, path in targets:
            writer = get_writer(fmt)
            if isinstance(writer, RecordWriter):
                fh = stack.enter_context(atomic_open(path, "wb", encoding=None))
                records.append(_Records(writer, fh, writer.container(path) == "json"))
            else:
                threaded.append(_Threaded(writer, path))
        try:
            for conv in conversations:
                rows += 1
                for out in records:
                    out.add(conv)
                for t in threaded:
                    t.add(conv)
            for out in records:
                out.close()
        except BaseException as exc:
            for t in threaded:
                t.close(exc)
            raise
        for t in threaded:
            t.close()
    return rows
