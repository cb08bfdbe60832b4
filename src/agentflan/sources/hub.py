"""Record streams that come from Arrow rather than JSON text: the Hugging Face hub
(``hf://owner/name[:split]``, streamed through ``datasets``), ``save_to_disk`` folders and
parquet files. ``datasets``/``pyarrow`` come with the ``hf`` extra and load only when used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentflan.errors import InputError, Location
from agentflan.io import RawRecord

HF_PREFIX = "hf://"
PARQUET_BATCH_ROWS = 1024


def parse_hub_spec(spec: str) -> tuple[str, str]:
    """``hf://owner/name[:split]`` -> (``owner/name``, split; ``train`` by default)."""
    body = spec[len(HF_PREFIX) :]
    repo, _, split = body.partition(":")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise InputError(spec, "expected hf://owner/name or hf://owner/name:split", "spec")
    return repo, split or "train"


def iter_hub_records(spec: str) -> Iterator[RawRecord]:
    """Rows of a hub dataset, streamed (nothing is downloaded whole)."""
    datasets = _require("datasets")
    repo, split = parse_hub_spec(spec)
    try:
        rows = datasets.load_dataset(repo, split=split, streaming=True)
    except Exception as exc:  # datasets raises many types (network, missing split, bad config)
        raise InputError(spec, f"cannot open the hub dataset: {type(exc).__name__}: {exc}") from exc
    name = f"{HF_PREFIX}{repo}:{split}"
    yield from _rows(name, rows)


def is_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` folder."""
    return path.is_dir() and (
        ((path / "state.json").is_file() and (path / "dataset_info.json").is_file()) or (path / "dataset_dict.json").is_file()
    )


def saved_dataset_split(spec: str) -> tuple[Path, str | None] | None:
    """The ``save_to_disk`` folder ``spec`` names, with the split after its last ``:`` when it names
    one of a ``DatasetDict`` (``out/ds:test``, as ``hf://owner/name:test``); None when it names none."""
    path = Path(spec)
    if is_saved_dataset(path):
        return path, None
    folder, sep, split = spec.rpartition(":")
    if sep and split and not any(c in split for c in "/\\") and (Path(folder) / "dataset_dict.json").is_file():
        return Path(folder), split
    return None


def iter_disk_records(path: Path, split: str | None = None) -> Iterator[RawRecord]:
    """Rows of a saved dataset: every split of a ``DatasetDict`` (or only ``split``), each named
    ``FOLDER:SPLIT`` as a hub split is, then ``#INDEX``."""
    datasets = _require("datasets")
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise InputError(str(path), f"cannot open the saved dataset: {type(exc).__name__}: {exc}") from exc
    if not isinstance(loaded, datasets.DatasetDict):
        yield from _rows(str(path), loaded)
        return
    if split is not None and split not in loaded:
        raise InputError(f"{path}:{split}", f"no such split; the saved dataset has {', '.join(loaded) or 'none'}")
    for name, ds in loaded.items():
        if split is None or name == split:
            yield from _rows(f"{path}:{name}", ds)


def iter_parquet_records(path: Path) -> Iterator[RawRecord]:
    """Rows of a parquet file in batches (memory stays flat on large files)."""
    pq = _require("pyarrow.parquet")
    try:
        parquet = pq.ParquetFile(str(path))
    except Exception as exc:
        raise InputError(str(path), f"not a readable parquet file: {type(exc).__name__}: {exc}") from exc
    index = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            yield RawRecord(Location(str(path), index=index), row)
            index += 1


def _rows(name: str, rows: Any) -> Iterator[RawRecord]:
    for i, row in enumerate(rows):
        yield RawRecord(Location(name, index=i), row)


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(module, "this input needs the `hf` extra: pip install 'agentflan[hf]'") from exc
