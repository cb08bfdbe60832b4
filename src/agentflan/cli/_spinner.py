"""A one-line spinner on a terminal while a model generates: a person sees that it works, a pipe sees nothing."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TextIO

FRAMES = "|/-\\"
# The line is cleared with a carriage return and "erase to end of line" (ANSI, any terminal emulator).
ERASE = "\r\x1b[K"


class Spinner:
    """``| thinking 3s`` redrawn in place every ``interval`` seconds, erased before each :meth:`print`
    and at the end. Draws nothing when ``stream`` is not a terminal, so piped output stays exactly
    the replies."""

    def __init__(self, stream: TextIO, label: str = "thinking", interval: float = 0.1):
        self.stream, self.label, self.interval = stream, label, interval
        self.enabled = stream.isatty()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shown = False
        self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            with self._lock:
                self._erase()
                self.stream.flush()

    def print(self, text: str) -> None:
        """A whole line above the spinner (it comes back on its next frame)."""
        with self._lock:
            self._erase()
            self.stream.write(text + "\n")
            self.stream.flush()

    def _spin(self) -> None:
        started, frame = time.monotonic(), 0
        while not self._stop.wait(self.interval):
            with self._lock:
                elapsed = int(time.monotonic() - started)
                self.stream.write(f"\r{FRAMES[frame % len(FRAMES)]} {self.label} {elapsed}s")
                self.stream.flush()
                self._shown = True
            frame += 1

    def _erase(self) -> None:
        if self._shown:
            self.stream.write(ERASE)
            self._shown = False
