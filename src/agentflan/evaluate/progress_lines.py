"""Progress a person can see when stderr is not a terminal (CI logs, ``nohup``, ``| tee``).

tqdm draws nothing there; this prints one plain line every ``every_items`` items or
``every_seconds`` seconds, whichever comes first, with the rate and an ETA from the pace so far.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


def clock(seconds: float) -> str:
    s = round(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


@dataclass
class ProgressLines:
    """``suite: 120/500 items (24%) · 3.1 items/s · elapsed 0:39 · ETA 2:03``, now and then."""

    name: str
    total: int
    done: int
    stream: TextIO
    every_items: int = 50
    every_seconds: float = 30.0
    now: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.start_done, self.started = self.done, self.now
        self.last_done, self.last_time = self.done, self.now

    def update(self, n: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.done += n
        due = self.done - self.last_done >= self.every_items or now - self.last_time >= self.every_seconds
        if due or self.done >= self.total:
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()
            self.last_done, self.last_time = self.done, now

    def line(self, now: float) -> str:
        elapsed = now - self.started
        scored = self.done - self.start_done
        parts = [f"{self.name}: {self.done}/{self.total} items ({100 * self.done // max(self.total, 1)}%)"]
        if scored and elapsed > 0:
            rate = scored / elapsed
            parts.append(f"{rate:.2f} items/s")
            parts.append(f"elapsed {clock(elapsed)}")
            parts.append(f"ETA {clock((self.total - self.done) / rate)}")
        return " · ".join(parts)


class _AboveBar(logging.Handler):
    """Writes each record with ``tqdm.write``: the bar is cleared, the line printed, the bar redrawn."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a handler never raises into the code that logged
            self.handleError(record)


@contextmanager
def logs_above_bar() -> Iterator[None]:
    """While a tqdm bar is drawn on the terminal: warnings and log records (ours, say a retry, and the
    libraries') print above it instead of through it. Libraries' own console handlers are redirected
    by tqdm; records no handler takes, which Python prints through ``logging.lastResort``, and
    ``warnings.warn`` (routed into logging meanwhile) go above the bar too, at the same WARNING level."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    with_console = [
        logger for logger in (logging.root, *logging.root.manager.loggerDict.values())
        if isinstance(logger, logging.Logger) and any(_is_console(h) for h in logger.handlers)
    ]
    last_resort, show = logging.lastResort, warnings.showwarning
    above = _AboveBar(logging.WARNING)
    # Captured warnings go to the "py.warnings" logger, which logging gives a NullHandler: with no
    # handler configured above it they would vanish instead of reaching the last resort.
    py_warnings = logging.getLogger("py.warnings")
    own_warnings_handler = not logging.root.handlers
    logging.lastResort = above
    logging.captureWarnings(True)
    if own_warnings_handler:
        py_warnings.addHandler(above)
    try:
        with logging_redirect_tqdm(loggers=with_console):
            yield
    finally:
        if own_warnings_handler:
            py_warnings.removeHandler(above)
        if warnings.showwarning is not show:  # it was this call that routed warnings into logging
            logging.captureWarnings(False)
        logging.lastResort = last_resort


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.stderr)
