"""Who writes an output folder: one process at a time, and its workers die with it.

Two ``eval`` runs into one ``--out`` would score items twice or mix two models' results; two
``build``/``train`` runs would swap folders under each other. Each command holds
:func:`output_lock` on its output folder for the whole run. The lock is a file beside the
folder holding the holder's pid, host and command, locked with ``flock``: the kernel drops the
lock when its holder dies (kill -9 included), so a lock left by a dead process is stale by
construction and is simply taken over, while a live holder makes a second writer stop with a
message that names it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from agentflan.errors import AgentflanError


class OutputLocked(AgentflanError):
    """Another live process writes the same output folder."""


def lock_path(folder: str | os.PathLike[str]) -> Path:
    """The lock file of ``folder``: beside it, so a command that replaces the folder keeps its lock."""
    folder = Path(folder).absolute()
    return folder.with_name(f".{folder.name}.lock")


def _holder(path: Path) -> dict[str, object]:
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str], command: str) -> Iterator[Path]:
    """Hold ``folder``'s lock for the block; :class:`OutputLocked` when a live process holds it."""
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(path)
            raise OutputLocked(
                f"{Path(folder)} is being written by another run ({holder.get('command', '?')}, pid {holder.get('pid', '?')} "
                f"on {holder.get('host', '?')}, since {holder.get('started', '?')}); wait for it to finish, "
                f"or use another output folder (the lock is {path})"
            ) from None
        # The file may have been removed (and recreated) by its previous holder between our open
        # and our lock: then we hold a lock on a file nobody else sees; start again.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        record = {"pid": os.getpid(), "host": os.uname().nodename, "command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(record) + b"\n", 0)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def die_with_parent(parent: int) -> None:
    """In a pool worker: be terminated when ``parent`` dies (a killed ``build --workers N``
    must not leave its workers running). Linux only; elsewhere the pool's own shutdown applies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
