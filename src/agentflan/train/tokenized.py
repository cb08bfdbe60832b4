"""The tokenized export: conversations as TRL's pre-tokenized rows, with our loss mask inside.

Formats that other trainers read lose Agent-FLAN's masks (a masked turn, a masked capability
span); token ids do not. Each row is rendered and labelled exactly as ``agentflan train`` does
(:func:`agentflan.train.tokenize.encode`) and written to parquet with

- ``input_ids``: the token ids of the rendered conversation;
- ``labels``: the ids where loss is taken, ``-100`` elsewhere (TRL's SFTTrainer uses a ``labels``
  column as is; the causal shift happens in the model);
- ``assistant_masks``: 1 where ``labels`` is trained (for tools that build labels from it);
- ``id``: the conversation id.

Train it with TRL: ``SFTTrainer(model, train_dataset=load_dataset("parquet", data_files=OUT,
split="train"), args=SFTConfig(max_length=None))``; the loss is the one ``agentflan train`` takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import ConfigError
from agentflan.generation.templates import Template
from agentflan.io import atomic_path
from agentflan.train.tokenize import IGNORE_INDEX, EncodeStats, encode

BATCH_ROWS = 1000


def tokenized_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("input_ids", pa.list_(pa.int32())),
            ("labels", pa.list_(pa.int32())),
            ("assistant_masks", pa.list_(pa.int8())),
        ]
    )


def write_tokenized(
    conversations: Iterable[Conversation],
    path: Path,
    tokenizer: Any,
    template: Template,
    max_length: int,
    rejects: Rejects | None = None,
) -> EncodeStats:
    """Tokenise and label every conversation and write the rows to the parquet file ``path``, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.suffix != ".parquet":
        raise ConfigError(f"the tokenized export writes parquet; name the output *.parquet, not {path.name!r}")
    encoded = encode(conversations, tokenizer, template, max_length, rejects=rejects)
    schema = tokenized_schema()
    with atomic_path(path) as tmp, pq.ParquetWriter(str(tmp), schema) as out:
        for start in range(0, max(len(encoded), 1), BATCH_ROWS):
            batch: dict[str, list[Any]] = {"id": [], "input_ids": [], "labels": [], "assistant_masks": []}
            for i in range(start, min(start + BATCH_ROWS, len(encoded))):
                row = encoded.row(i)
                batch["id"].append(encoded.ids[i])
                batch["input_ids"].append(row["input_ids"].tolist())
                batch["labels"].append(row["labels"].tolist())
                batch["assistant_masks"].append((row["labels"] != IGNORE_INDEX).astype(np.int8).tolist())
            out.write_table(pa.Table.from_pydict(batch, schema=schema))
    return encoded.stats
