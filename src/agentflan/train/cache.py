"""Tokenised-corpus cache: a second run with the same data, tokenizer, template and max length
loads Arrow files instead of tokenising again.

Each corpus is stored as a ``datasets`` folder (``save_to_disk``; memory-mapped on load, readable
with ``datasets.load_from_disk``) named by a hash of its inputs: the bytes of every data file (or
the hub spec), the format, the tokenizer's full definition and special tokens, the template text,
the max length, this module's layout version and the agentflan version (readers and
templates change between releases). No pickle is involved.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from agentflan.generation.templates import Template
from agentflan.io import atomic_dir, expand_paths
from agentflan.train.tokenize import Encoded, EncodeStats, backend_of

CACHE_VERSION = 1
STATS_FILE = "agentflan_encode.json"


def file_digest(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def data_fingerprint(spec: str, fmt: str | None) -> dict[str, Any]:
    """What identifies a corpus: its files' contents (not their names), or the hub spec as given;
    a ``save_to_disk`` folder by all its files (the Arrow data too) and the split named."""
    from agentflan.sources.hub import saved_dataset_split

    if spec.startswith("hf://"):
        return {"spec": spec, "format": fmt}
    saved = saved_dataset_split(spec)
    if saved is not None:
        folder, split = saved
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return {"files": [file_digest(p) for p in files], "split": split, "format": fmt}
    return {"files": [file_digest(p) for p in expand_paths(spec)], "format": fmt}


def tokenizer_fingerprint(tokenizer: Any) -> str:
    h = hashlib.sha256(backend_of(tokenizer).to_str().encode())
    h.update(orjson.dumps(tokenizer.special_tokens_map, option=orjson.OPT_SORT_KEYS, default=str))
    return h.hexdigest()


def template_fingerprint(template: Template) -> str:
    payload = {"name": template.name, "jinja": template.chat_template, "tokens": template.tokens}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def cache_key(data: dict[str, Any], tokenizer_fp: str, template_fp: str, max_length: int, on_error: str) -> str:
    from agentflan import __version__

    payload = {
        "version": CACHE_VERSION,
        "agentflan": __version__,
        "data": data,
        "tokenizer": tokenizer_fp,
        "template": template_fp,
        "max_length": max_length,
        "on_error": on_error,
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def save_encoded(encoded: Encoded, target: Path) -> None:
    """Write a corpus atomically: the folder appears complete or not at all."""
    import datasets
    import pyarrow as pa

    offsets = pa.array(encoded.offsets, type=pa.int64())

    def column(values: np.ndarray) -> pa.Array:
        return pa.LargeListArray.from_arrays(offsets, pa.array(values))

    table = pa.table(
        {
            "id": pa.array(encoded.ids, type=pa.string()),
            "input_ids": column(encoded.input_ids),
            "labels": column(encoded.labels),
            "capability": column(encoded.capability),
        }
    )
    with atomic_dir(target) as tmp:
        datasets.Dataset(table).save_to_disk(str(tmp))
        (tmp / STATS_FILE).write_bytes(orjson.dumps(encoded.stats.to_dict(), option=orjson.OPT_INDENT_2))


def load_encoded(target: Path) -> Encoded | None:
    """A cached corpus (memory-mapped), or None when there is none."""
    if not (target / STATS_FILE).is_file():
        return None
    import datasets

    table = datasets.load_from_disk(str(target)).data.table

    def flat(name: str) -> tuple[np.ndarray, np.ndarray]:
        arr = table.column(name).combine_chunks()
        return arr.values.to_numpy(zero_copy_only=False), arr.offsets.to_numpy(zero_copy_only=False)

    input_ids, offsets = flat("input_ids")
    labels, _ = flat("labels")
    capability, _ = flat("capability")
    stats = EncodeStats.from_dict(orjson.loads((target / STATS_FILE).read_bytes()))
    return Encoded(
        ids=table.column("id").to_pylist(),
        input_ids=input_ids,
        labels=labels,
        capability=capability,
        offsets=offsets.astype(np.int64, copy=False),
        stats=stats,
    )


def cache_path(cache_dir: str | os.PathLike[str], key: str) -> Path:
    return Path(cache_dir) / key
