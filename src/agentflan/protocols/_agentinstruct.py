"""What the six AgentInstruct task protocols share: the task list, line helpers and a base class
whose observations come back as the user turn's text."""

from __future__ import annotations

from typing import ClassVar

from agentflan.conversation import ToolCall
from agentflan.protocols._common import (
    REASONING,
    Builder,
    ScanProtocol,
    drop_lead,
    lead_sep,
)

TASKS = ("os", "db", "alfworld", "webshop", "kg", "mind2web")


def rest_of_line(text: str, pos: int, lead: str = " ") -> tuple[str, int, int]:
    """The rest of the line from ``pos`` (its separator dropped), with where it starts and ends."""
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    line, k = drop_lead(text[pos:end], lead)
    return line, pos + k, end


def thought_prefix(b: Builder, keyword: str, thought: str | None, lead: str, trail: str) -> None:
    if thought is not None:
        b.syntax(keyword + lead_sep(thought, lead)).content(thought, REASONING).syntax(trail)


def string_arg(call: ToolCall, key: str, protocol: str) -> str:
    value = call.arguments.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{protocol}: {call.name!r} needs a string {key!r} argument, got {call.to_dict()}")
    return value


class TaskProtocol(ScanProtocol):
    """An AgentInstruct task; observations come back as the user turn's text."""

    task: ClassVar[str]
    observation_prefix: ClassVar[str] = ""

    def render_observation(self, text: str) -> str:
        return self.observation_prefix + text


