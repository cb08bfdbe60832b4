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


def stop_token_ids(tokenizer: Any, stops: Sequence[str]) -> list[int]:
    """The eos id plus each stop string that is exactly one token: ids ``generate`` must end on.

    Stop *strings* alone cannot end a generation at a special token (Gemma's ``<end_of_turn>``):
    decoding skips special tokens, so the text never shows it.
    """
    ids: list[int] = [tokenizer.eos_token_id] if getattr(tokenizer, "eos_token_id", None) is not None else []
    for stop in stops:
        encoded = tokenizer.encode(stop, add_special_tokens=False) if stop else []
        if len(encoded) == 1 and encoded[0] not in ids:
            ids.append(encoded[0])
    return ids
