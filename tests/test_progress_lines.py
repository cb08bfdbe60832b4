"""Evaluation progress when stderr is not a terminal: a plain line now and then, with an ETA."""

from __future__ import annotations

import io

from agentflan.evaluate.progress_lines import ProgressLines


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
