"""Progress a person can see when stderr is not a terminal (CI logs, ``nohup``, ``| tee``).

tqdm draws nothing there; this prints one plain line every ``every_items`` items or
``every_seconds`` seconds, whichever comes first, with the rate and an ETA from the pace so far.
"""

from __future__ import annotations

import time
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
