"""Evaluation progress when stderr is not a terminal: a plain line now and then, with an ETA."""

from __future__ import annotations

import io
import logging
import re
import sys
import warnings

import pytest

from agentflan.evaluate.progress_lines import ProgressLines, logs_above_bar


def test_lines_come_every_n_items_or_seconds_with_rate_and_eta() -> None:
    out = io.StringIO()
    p = ProgressLines("agent-h", total=200, done=20, stream=out, every_items=50, every_seconds=30.0, now=0.0)
    p.update(10, now=5.0)  # 10 items, 5 s: not due
    assert out.getvalue() == ""
    p.update(40, now=20.0)  # 50 new items: due
    assert out.getvalue() == "agent-h: 70/200 items (35%) · 2.50 items/s · elapsed 0:20 · ETA 0:52\n"
    p.update(1, now=51.0)  # 31 s since the last line: due
    p.update(129, now=60.0)  # the last item always prints
    assert out.getvalue().splitlines()[-1].startswith("agent-h: 200/200 items (100%)")
    assert len(out.getvalue().splitlines()) == 3


def test_warnings_and_log_lines_print_above_the_bar_and_everything_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal: ``warnings.warn``, a record no handler takes (Python's last resort) and a library logger with
    its own console handler each print as a line of their own, the bar redrawn after; nothing stays changed."""
    from tqdm import tqdm

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(logging.root, "handlers", [])  # as in the command: no logging configured
    library = logging.getLogger("some_library")
    own = logging.StreamHandler(err)
    monkeypatch.setattr(library, "handlers", [own])
    monkeypatch.setattr(library, "propagate", False)
    before = (logging.lastResort, warnings.showwarning)
    with warnings.catch_warnings():  # pytest records warnings itself; here they are shown, as in the command
        warnings.simplefilter("always")
        with tqdm(total=2, desc="suite", file=err, disable=False, ncols=60, mininterval=0) as bar, logs_above_bar():
            bar.update(1)
            warnings.warn("a library's warning", UserWarning, stacklevel=1)
            logging.getLogger("agentflan.somewhere").warning("our own line")
            library.warning("a library's log line")
            bar.update(1)
    pieces = [p for p in re.split(r"[\r\n]+", err.getvalue()) if p.strip()]
    for message in ("UserWarning: a library's warning", "our own line", "a library's log line"):
        (piece,) = [p for p in pieces if message in p]
        assert piece.startswith(("our", "a library", __file__)), pieces  # not drawn into the bar's line
        assert any(p.startswith("suite:  50%") for p in pieces[pieces.index(piece) + 1 :]), pieces  # the bar is redrawn
    assert (logging.lastResort, warnings.showwarning) == before and library.handlers == [own]
