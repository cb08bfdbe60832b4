"""Giving an assistant turn written in a protocol (ReAct, bracket ReAct, JSON) its parsed view.

The readers never parse protocol text themselves: they ask the registered protocol. A turn
that does not parse keeps its text and its protocol, with whatever calls the failure could
still recover (``ParseFailure.partial``); ``inspect`` re-parses protocol turns to count failures.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentflan.conversation import Message

if TYPE_CHECKING:
    from agentflan.protocols.base import AgentProtocol

# Cheap markers deciding which protocol parser is worth running on free text (the Agent-FLAN
# release mixes ReAct rows, JSON rows and plain chat rows in one schema).
_REACT_MARKER = re.compile(r"^Action Input:", re.M)
_JSON_GOAL_KEYS = ('"Tool"', '"Param"')
_JSON_KEYS = ('"action"', '"action_input"')


def attach_protocol(message: Message, protocol: str) -> bool:
    """Mark ``message`` as written in ``protocol`` and set its parsed calls; True when it parsed."""
    from agentflan.protocols.base import ParseFailure, parse_once

    message.protocol = protocol
    result = parse_once(protocol, message.content)
    if isinstance(result, ParseFailure):
        message.tool_calls = list(result.partial.tool_calls) if result.partial is not None else []
        return False
    message.tool_calls = list(result.tool_calls)
    return True


def detect_protocol(text: str) -> str | None:
    """The protocol free text is written in, if any (only when its parser accepts the text)."""
    stripped = text.strip()
    candidates = []
    if _REACT_MARKER.search(text):
        candidates.append("react")
    if stripped.startswith("{") and stripped.endswith("}"):
        if all(k in stripped for k in _JSON_GOAL_KEYS):
            candidates.append("json-goal")
        if all(k in stripped for k in _JSON_KEYS):
            candidates.append("json")
    if not candidates:
        return None
    from agentflan.protocols.base import ParseFailure

    for name in candidates:
        if not isinstance(_protocol(name).parse(text), ParseFailure):
            return name
    return None


def attach_detected_protocol(message: Message) -> None:
    name = detect_protocol(message.content)
    if name is not None:
        attach_protocol(message, name)


def _protocol(name: str) -> AgentProtocol:
    """The registered protocol, imported on first use: readers that never meet protocol text (a
    ToolBench answer file) do not load the protocol tables."""
    from agentflan.protocols.base import get_protocol

    return get_protocol(name)
