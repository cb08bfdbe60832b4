"""Files in and out: path specs, located JSON records, and atomic writes.

Every output goes through :func:`atomic_path`/:func:`atomic_open`: the data lands in a temp
file beside the target and is renamed over it only when the writer finished, so an error,
a kill or Ctrl-C never leaves a partial output file.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from agentflan.errors import InputError, Location
from agentflan.jsonutil import dumps_bytes

DATA_SUFFIXES = (".jsonl", ".json", ".ndjson")
# Editors on Windows start UTF-8 files with a byte-order mark; JSON forbids it, so it is dropped.
UTF8_BOM = b"\xef\xbb\xbf"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, *, directory: bool = False) -> None:
    """Give a temp file/folder the mode a normal create would (mkstemp/mkdtemp make them private)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def expand_paths(spec: str | os.PathLike[str]) -> list[Path]:
    """A file, a glob (``**`` allowed) or a folder (its JSON/JSONL files, recursively), sorted."""
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    elif any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    elif path.is_file():
        found = [path]
    else:
        raise InputError(text, "no such file, folder or glob match")
    if not found:
        raise InputError(text, "matches no data files")
    return found


@dataclass(slots=True)
class RawRecord:
    """One JSON value read from a file, or the error that prevented reading it."""

    location: Location
    value: Any = None
    error: InputError | None = None


def iter_records(path: Path) -> Iterator[RawRecord]:
    """The records of a JSON or JSONL file with their locations.

    JSONL is read line by line (memory stays flat); a line that is not JSON yields a record
    carrying an :class:`InputError` with its line number, and reading goes on. A ``.json``
    file holding an array yields its elements; holding an object, that one object.
    """
    name = str(path)
    if path.suffix in (".jsonl", ".ndjson") or looks_like_jsonl(path):
        with path.open("rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                if lineno == 1:
                    line = line.removeprefix(UTF8_BOM)
                if not line.strip():
                    continue
                try:
                    yield RawRecord(Location(name, line=lineno), orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    yield RawRecord(Location(name, line=lineno), error=InputError(Location(name, line=lineno), f"not valid JSON: {exc}"))
        return
    yield from records_from_document(name, path.read_bytes())


def records_from_document(name: str, data: bytes) -> Iterator[RawRecord]:
    """The records of one whole-file JSON document: an array's elements, or the one object."""
    try:
        data = orjson.loads(data.removeprefix(UTF8_BOM))
    except orjson.JSONDecodeError as exc:
        yield RawRecord(Location(name), error=InputError(name, f"not valid JSON: {exc}"))
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield RawRecord(Location(name, index=i), item)
    else:
        yield RawRecord(Location(name), data)


def looks_like_jsonl(path: Path) -> bool:
    """A ``.json`` file whose first line is a complete object is JSONL in disguise (common on the hub)."""
    if path.suffix != ".json":
        return False
    with path.open("rb") as fh:
        first = fh.readline().removeprefix(UTF8_BOM)
        second = fh.readline()
    if not second.strip() or not first.strip().startswith(b"{"):
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


def _new_sibling(target: Path, create: Callable[[Path], None]) -> Path:
    """A fresh ``.NAME.RANDOM.tmp`` beside ``target``, made by ``create`` (which must fail with
    FileExistsError when taken): tempfile's scheme without importing tempfile, random and shutil,
    ~10 ms of a one-file convert's start-up."""
    for _ in range(100):
        path = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
        try:
            create(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it over ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_sibling(target, lambda p: os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)))
    try:
        yield tmp_path
        if tmp_path.exists():
            _publish_mode(tmp_path)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temp file for writing; it becomes ``target`` only when the block ends without error."""
    with atomic_path(target) as tmp:
        if "b" in mode:
            with tmp.open(mode) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        else:
            with tmp.open(mode, encoding=encoding, newline="\n") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str], *, remove_stale: bool = False) -> Iterator[Path]:
    """A temp folder beside ``target`` that replaces it only on success (for multi-file outputs).

    ``remove_stale`` first deletes the temp folders killed runs left beside ``target``: only
    for a caller that holds ``target``'s output lock (a live writer's temp folder looks the same).
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if remove_stale:
        _remove_stale_staging(target)
    tmp = _new_sibling(target, lambda p: os.mkdir(p, 0o700))
    try:
        yield tmp
        _publish_mode(tmp, directory=True)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_stale_staging(target: Path) -> None:
    import shutil

    for path in target.parent.glob(f".{glob.escape(target.name)}.*"):
        if path.is_dir() and (path.name.endswith(".tmp") or path.name == f".{target.name}.old"):
            shutil.rmtree(path, ignore_errors=True)


def write_json(target: str | os.PathLike[str], obj: Any, *, indent: bool = True) -> None:
    """Write one JSON document atomically (manifests, summaries)."""
    with atomic_open(target, "wb", encoding=None) as fh:
        fh.write(dumps_bytes(obj, indent=indent, numpy=True))
        fh.write(b"\n")
