"""Arrow outputs: a parquet file and a Hugging Face ``datasets`` folder (``save_to_disk``).

Rows are the OpenAI/TRL records of :mod:`agentflan.writers.openai` under one fixed schema,
because Arrow needs a column type per field while tool schemas and call arguments differ from
row to row: ``tools`` is a JSON string (TRL's SFTTrainer decodes it) and call ``arguments`` are
JSON text. ``id`` and the OpenAI ``weight`` (assistant ``loss``) are kept. Both outputs are
written in batches (memory stays flat) and atomically. Needs the ``hf`` extra.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import ConfigError
from agentflan.io import atomic_dir, atomic_path
from agentflan.jsonutil import dumps
from agentflan.writers.base import Writer, register
from agentflan.writers.openai import message_record, tool_records

BATCH_ROWS = 1000
MESSAGE_FIELDS = ("role", "content", "name", "tool_call_id", "weight", "tool_calls")


def arrow_schema() -> Any:
    pa = _require("pyarrow")
    call = pa.struct(
        [
            ("id", pa.string()),
            ("type", pa.string()),
            ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
        ]
    )
    message = pa.struct(
        [
            ("role", pa.string()),
            ("content", pa.string()),
            ("name", pa.string()),
            ("tool_call_id", pa.string()),
            ("weight", pa.int64()),
            ("tool_calls", pa.list_(call)),
        ]
    )
    return pa.schema([("id", pa.string()), ("messages", pa.list_(message)), ("tools", pa.string())])


def arrow_row(conv: Conversation) -> dict[str, Any]:
    messages = []
    for m in conv.messages:
        d = message_record(m, arguments_as_text=True)
        messages.append({k: d.get(k) for k in MESSAGE_FIELDS})
    return {"id": conv.id, "messages": messages, "tools": dumps(tool_records(conv)) if conv.tools else None}


def write_parquet(conversations: Iterable[Conversation], target: Path) -> int:
    """Every conversation is expressible here (roles and text pass through), so nothing is rejected."""
    pa = _require("pyarrow")
    pq = _require("pyarrow.parquet")
    schema = arrow_schema()
    count = 0
    with atomic_path(target) as tmp, pq.ParquetWriter(str(tmp), schema) as out:
        batch: list[dict[str, Any]] = []
        for row in map(arrow_row, conversations):
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                out.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch.clear()
        if batch or not count:
            out.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


@register
class ParquetWriter(Writer):
    name = "parquet"
    description = "parquet file: OpenAI/TRL rows (id, messages, tools as JSON text)"

    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        return write_parquet(conversations, path)


@register
class HFDatasetWriter(Writer):
    name = "hf-dataset"
    description = "Hugging Face datasets folder (save_to_disk; load_from_disk): OpenAI/TRL rows"

    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        datasets = _require("datasets")
        with tempfile.TemporaryDirectory(prefix=".agentflan-arrow-", dir=path.parent if path.parent.exists() else None) as work:
            staging = Path(work) / "rows.parquet"
            count = write_parquet(conversations, staging)
            quiet = datasets.are_progress_bars_disabled()
            datasets.disable_progress_bars()  # the caller shows its own progress
            try:
                dataset = datasets.Dataset.from_parquet(str(staging), cache_dir=str(Path(work) / "cache"))
                with atomic_dir(path) as out:
                    dataset.save_to_disk(str(out))
            finally:
                if not quiet:
                    datasets.enable_progress_bars()
        return count


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"this output needs the `hf` extra: pip install 'agentflan[hf]' ({exc})") from exc
