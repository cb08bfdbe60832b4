"""Writers: conversations out to every supported format, atomically.

``write(conversations, path, format)`` streams where the container allows (JSONL, JSON array,
parquet); an error, a kill or Ctrl-C never leaves a partial output. ``writer_names()`` lists
the formats: agentflan, native, sharegpt-tools, openai, toolllama, hf-dataset, parquet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.writers.base import RecordWriter, Writer, get_writer, register, write_records, writer_names
from agentflan.writers.loss import LossGuard


def write(
    conversations: Iterable[Conversation],
    path: str | os.PathLike[str],
    format: str,
    *,
    rejects: Rejects | None = None,
    drop_loss_masks: bool = False,
) -> int:
    """Write ``conversations`` to ``path`` in ``format``; the number of rows written.

    A conversation the format cannot express raises :class:`~agentflan.errors.InputError`, or,
    with ``rejects`` in ``skip`` mode, goes to the rejects file while the rest are written. So
    does one with masked turns in a format that trains every turn, unless ``drop_loss_masks``
    (then a warning counts the turns that lose their mask)."""
    writer = get_writer(format)
    if writer.carries_turn_loss:
        return writer.write(conversations, Path(path), rejects)
    guard = LossGuard(format, drop=drop_loss_masks)
    count = writer.write(guard.check(conversations, rejects), Path(path), rejects)
    if guard.turns:
        import logging  # only here: logging costs a one-file convert ~10 ms of start-up

        logging.getLogger(__name__).warning("%s", guard.summary())
    return count


__all__ = ["RecordWriter", "Writer", "get_writer", "register", "write", "write_records", "writer_names"]
