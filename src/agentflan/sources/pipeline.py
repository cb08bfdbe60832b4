"""The read pipeline: a spec (file, glob, folder, parquet, ``save_to_disk`` folder or
``hf://owner/name[:split]``) -> located records -> the detected format -> conversations.

Everything streams: records are pulled one at a time, and only a record's own conversations
are held at once (so a record that fails half way is rejected whole, never half-yielded).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agentflan.batch import OnError, Rejects
from agentflan.conversation import Conversation
from agentflan.errors import FormatDetectionError, InputError, Location
from agentflan.io import RawRecord, expand_paths, iter_records, looks_like_jsonl, records_from_document
from agentflan.sources.base import SourceFormat, source_formats

# Most specific first: a record several formats accept goes to the earliest. Plain chat with an
# id reads the same as ``native`` and ``openai``; ReAct text in plain messages is FireAct's, even
# when it carries an id (FireAct written out by the ``openai`` writer); ``openai`` is the
# catch-all for ``messages`` lists. Formats registered later (plug-ins) are tried after these.
DETECTION_ORDER: tuple[str, ...] = (
    "agentflan",
    "toolbench",
    "toolllama",
    "sharegpt-tools",
    "agentinstruct",
    "react-messages",
    "native",
    "openai",
)
# How many records of a file may narrow an ambiguous first record (plain chat reads the same in
# ``native`` and ``openai``; the next rows tell which one the file really is).
DETECT_WINDOW = 64
# Index files that sit beside data (the sharegpt-tools writer writes the first one).
METADATA_FILES = frozenset({"dataset_info.json", "dataset_dict.json", "state.json"})
# A folder holding this (with "agentflan_build" in it) is a build output: read as its splits.
BUILD_MANIFEST = "manifest.json"
PREFERRED_BUILD_FORMAT = "native"


@dataclass(slots=True)
class Located:
    """A conversation with the place it was read from (``file:line (id ...)``)."""

    location: Location
    conversation: Conversation


def format_names() -> list[str]:
    names = list(source_formats())
    ordered = [n for n in DETECTION_ORDER if n in names]
    return ordered + sorted(n for n in names if n not in DETECTION_ORDER)


def get_format(name: str) -> SourceFormat:
    formats = source_formats()
    if name not in formats:
        raise InputError(name, f"unknown input format; known: {', '.join(format_names())}", "format")
    return formats[name]()


def detect_format(record: Any) -> str:
    """The format of one record (the first format, most specific first, whose ``sniff`` accepts it)."""
    candidates = _candidates(record)
    if not candidates:
        raise FormatDetectionError("record", f"matches no known format ({', '.join(format_names())}); name one with format=")
    return candidates[0].name


_instances: dict[tuple[str, ...], list[SourceFormat]] = {}


def _detectors() -> list[SourceFormat]:
    """One instance per format in detection order (rebuilt only when a format registers)."""
    names = tuple(format_names())
    if names not in _instances:
        _instances.clear()
        _instances[names] = [get_format(n) for n in names]
    return _instances[names]


def _candidates(record: Any) -> list[SourceFormat]:
    return [fmt for fmt in _detectors() if _sniffs(fmt, record)]


def read(
    spec: str | os.PathLike[str],
    format: str | None = None,
    *,
    on_error: OnError | str = "fail",
    rejects: Rejects | None = None,
) -> Iterator[Conversation]:
    """Conversations from ``spec``, streaming. With ``on_error="skip"`` (or a ``rejects`` built
    with ``skip``) each bad record goes to the rejects file and reading goes on; ``rejects``
    decides when given, and its ``stats`` count what was read and rejected."""
    for _, conv in _located(spec, format, on_error, rejects):
        yield conv


def iter_located(
    spec: str | os.PathLike[str],
    format: str | None = None,
    *,
    on_error: OnError | str = "fail",
    rejects: Rejects | None = None,
) -> Iterator[Located]:
    """Like :func:`read`, with each conversation's location (for ``validate`` and error reports)."""
    for location, conv in _located(spec, format, on_error, rejects):
        yield Located(Location(location.path, location.line, location.index, conv.id), conv)


def _located(
    spec: str | os.PathLike[str], format: str | None, on_error: OnError | str, rejects: Rejects | None
) -> Iterator[tuple[Location, Conversation]]:
    handler = rejects if rejects is not None else Rejects(None, OnError(on_error))
    forced = get_format(format) if format else None
    for stream, decoded_by in _record_streams(spec, forced):
        yield from _convert_stream(stream, decoded_by or forced, handler)


def _record_streams(
    spec: str | os.PathLike[str], forced: SourceFormat | None
) -> Iterator[tuple[Iterator[RawRecord], SourceFormat | None]]:
    """One record stream per file (detection runs per file, so a glob may mix formats), with the
    format that already decoded it when a format's fast whole-file decoder claimed the file."""
    from agentflan.sources import hub

    text = os.fspath(spec)
    if text.startswith(hub.HF_PREFIX):
        yield hub.iter_hub_records(text), None
        return
    saved = hub.saved_dataset_split(text)
    if saved is not None:
        yield hub.iter_disk_records(*saved), None
        return
    for path in build_files(Path(text)) or expand_paths(text):
        if path.name in METADATA_FILES and os.fspath(path) != text:
            continue  # found by a folder or glob: the LLaMA-Factory / datasets index, not data
        if hub.is_saved_dataset(path):
            yield hub.iter_disk_records(path), None
        elif path.suffix == ".parquet":
            yield hub.iter_parquet_records(path), None
        elif path.suffix == ".json" and not looks_like_jsonl(path):
            yield _document_records(path, forced)
        else:
            yield iter_records(path), None


def build_files(folder: Path) -> list[Path] | None:
    """The data of an ``agentflan build`` output folder: each split once, in one format (native when
    built, as it keeps everything), never its manifest or the other formats' copies. None for any
    other folder."""
    manifest = folder / BUILD_MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = orjson.loads(manifest.read_bytes())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "agentflan_build" not in data or not isinstance(data.get("splits"), dict):
        return None
    files = []
    for split in data["splits"].values():
        by_format = split.get("files") if isinstance(split, dict) else None
        if isinstance(by_format, dict) and by_format:
            files.append(folder / str(by_format.get(PREFERRED_BUILD_FORMAT) or next(iter(by_format.values()))))
    return files


def _document_records(path: Path, forced: SourceFormat | None) -> tuple[Iterator[RawRecord], SourceFormat | None]:
    """A whole-file JSON document: a format's fast decoder when one claims it (ToolBench answer
    files are mostly a search tree no reader needs), else the generic JSON records."""
    data = path.read_bytes()
    for fmt in [forced] if forced is not None else _detectors():
        record = fmt.decode_file(data)
        if record is not None:
            return iter([RawRecord(Location(str(path)), record)]), fmt
    return records_from_document(str(path), data), None


def _convert_stream(records: Iterator[RawRecord], forced: SourceFormat | None, handler: Rejects) -> Iterator[tuple[Location, Conversation]]:
    fmt = forced
    pending: list[RawRecord] = []
    if fmt is None:
        fmt, pending = _detect_from(records, handler)
        if fmt is None:  # nothing readable: still report the unreadable lines
            for raw in pending:
                if raw.error is not None:
                    handler.handle(raw.error, None)
            return
    for raw in _chain(pending, records):
        if raw.error is not None:
            handler.handle(raw.error, None)
            continue
        fmt.take_unused()  # notes left by a conversion that failed: a rejected record counts only as rejected
        try:
            conversations = list(fmt.convert(raw.value, raw.location))
        except InputError as exc:
            handler.handle(exc, raw.value)
            continue
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # A reader should raise InputError itself; this keeps a user's run typed if one slips.
            handler.handle(InputError(raw.location, f"unexpected record shape for {fmt.name} ({type(exc).__name__}: {exc})"), raw.value)
            continue
        handler.stats.read += len(conversations)
        handler.stats.add_unused(fmt.take_unused())
        for conv in conversations:
            yield raw.location, conv


def _detect_from(records: Iterator[RawRecord], handler: Rejects) -> tuple[SourceFormat | None, list[RawRecord]]:
    """The format of a file from its first good record, narrowed by the next few if ambiguous."""
    pending: list[RawRecord] = []
    candidates: list[SourceFormat] = []
    first: RawRecord | None = None
    for raw in records:
        pending.append(raw)
        if raw.error is not None:
            continue
        if first is None:
            first = raw
            candidates = _candidates(raw.value)
            if not candidates:
                error = FormatDetectionError(
                    raw.location, f"matches no known format ({', '.join(format_names())}); name one with --from / format="
                )
                handler.handle(error, raw.value)  # raises with on_error=fail
                pending.pop()
                first = None
                continue
            if len(candidates) == 1:
                break
        else:
            narrowed = [c for c in candidates if _sniffs(c, raw.value)]
            if narrowed:
                candidates = narrowed
            if len(candidates) == 1 or len(pending) >= DETECT_WINDOW:
                break
    return (candidates[0] if candidates else None), pending


def _sniffs(fmt: SourceFormat, value: Any) -> bool:
    try:
        return bool(fmt.sniff(value))
    except Exception:  # a sniff must never break detection; a crashing sniff just says no
        return False


def _chain(first: list[RawRecord], rest: Iterator[RawRecord]) -> Iterator[RawRecord]:
    yield from first
    yield from rest
