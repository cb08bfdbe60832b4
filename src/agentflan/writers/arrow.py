"""Arrow outputs: a parquet file and a Hugging Face ``datasets`` folder (``save_to_disk``).

Rows are the OpenAI/TRL records of :mod:`agentflan.formats.openai` under one fixed schema,
because Arrow needs a column type per field while tool schemas and call arguments differ from
row to row: ``tools`` and call ``arguments`` are stored as JSON text under the ``datasets``
feature ``Json``, so ``load_dataset("parquet")`` gives them back as objects, as chat templates
(``arguments | tojson``) and TRL expect; pyarrow alone sees the JSON text. The ``hf-dataset``
folder keeps ``tools`` and call ``arguments`` as JSON text (``datasets`` 5.2 cannot save a nested
``Json`` column that holds no value): decode them with ``json.loads`` before a template that
applies ``tojson`` (TRL decodes ``tools`` itself), or write parquet. ``id`` and the OpenAI ``weight`` (assistant ``loss``) are kept. Both outputs are
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
from agentflan.formats.openai import openai_message, openai_tools
from agentflan.io import atomic_dir, atomic_path
from agentflan.jsonutil import dumps, loads
from agentflan.writers.base import Writer, register

BATCH_ROWS = 1000
MESSAGE_FIELDS = ("role", "content", "name", "tool_call_id", "weight", "tool_calls")


def hf_features(json_type: Any = None) -> Any:
    """The rows' ``datasets`` features: ``arguments`` and ``tools`` are ``Json`` (stored as JSON text,
    read back as objects), so a chat template's ``arguments | tojson`` renders them once-encoded;
    or ``json_type`` instead of ``Json``."""
    datasets = _require("datasets")
    string = datasets.Value("string")
    json_type = json_type or datasets.Json()
    call = {"id": string, "type": string, "function": {"name": string, "arguments": json_type}}
    message = {
        "role": string,
        "content": string,
        "name": string,
        "tool_call_id": string,
        "weight": datasets.Value("int64"),
        "tool_calls": datasets.List(call),
    }
    return datasets.Features({"id": string, "messages": datasets.List(message), "tools": json_type})


def text_features() -> Any:
    """:func:`hf_features` with arguments and tools as plain JSON text (the ``hf-dataset`` folder)."""
    return hf_features(_require("datasets").Value("string"))


def arrow_schema() -> Any:
    """The rows' Arrow schema with JSON as plain strings: pyarrow cannot build nested JSON extension
    arrays from rows, so batches are built with it and then cast to :func:`hf_features`'s schema."""
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
        d = openai_message(m, arguments="text")
        for call in d.get("tool_calls", ()):
            call["function"]["arguments"] = _json_text(call["function"]["arguments"])
        messages.append({k: d.get(k) for k in MESSAGE_FIELDS})
    return {"id": conv.id, "messages": messages, "tools": dumps(openai_tools(conv.tools)) if conv.tools else None}


def _json_text(arguments: Any) -> str:
    """Arguments text as stored: JSON text as it is; source text that is not JSON becomes a JSON string
    (``datasets`` reads it back as that text)."""
    if isinstance(arguments, str):
        try:
            loads(arguments)
        except ValueError:
            return dumps(arguments)
        return arguments
    return dumps(arguments)


def write_parquet(conversations: Iterable[Conversation], target: Path) -> int:
    """Every conversation is expressible here (roles and text pass through), so nothing is rejected."""
    pa = _require("pyarrow")
    pq = _require("pyarrow.parquet")
    schema, stored = arrow_schema(), hf_features().arrow_schema
    count = 0
    with atomic_path(target) as tmp, pq.ParquetWriter(str(tmp), stored) as out:
        batch: list[dict[str, Any]] = []
        for row in map(arrow_row, conversations):
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                out.write_table(pa.Table.from_pylist(batch, schema=schema).cast(stored))
                count += len(batch)
                batch.clear()
        if batch or not count:
            out.write_table(pa.Table.from_pylist(batch, schema=schema).cast(stored))
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
    description = "Hugging Face datasets folder (save_to_disk; load_from_disk): OpenAI/TRL rows, tools and arguments as JSON text"

    def write(self, conversations: Iterable[Conversation], path: Path, rejects: Rejects | None = None) -> int:
        datasets = _require("datasets")
        with tempfile.TemporaryDirectory(prefix=".agentflan-arrow-", dir=path.parent if path.parent.exists() else None) as work:
            staging = Path(work) / "rows.parquet"
            count = write_parquet(conversations, staging)
            quiet = datasets.are_progress_bars_disabled()
            datasets.disable_progress_bars()  # the caller shows its own progress
            try:
                # datasets 5.2 cannot save a nested Json column that holds no value (a shard without
                # calls): here arguments and tools stay JSON text.
                dataset = datasets.Dataset.from_parquet(str(staging), features=text_features(), cache_dir=str(Path(work) / "cache"))
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
