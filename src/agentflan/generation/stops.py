"""Stop sequences: where a generation must end, and cutting a text there.

A request carries its own stops (an agent protocol's observation marker, see
:meth:`agentflan.protocols.AgentProtocol.stops`); a chat template adds its end-of-turn text when
that is no special token. Servers and ``generate`` may keep a stop or run past it, so every
backend cuts its text at the earliest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text before the earliest stop sequence (servers and ``generate`` may keep it or run past it)."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def template_stops(template: Any, stop: Sequence[str]) -> list[str]:
    """A request's stop sequences plus the template's end-of-turn text (which may be no special token)."""
    extra = [s for s in (getattr(template, "stop", ()) or ()) if s and s not in stop]
    return [*stop, *extra]
