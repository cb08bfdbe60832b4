"""The protocol contract: text an agent reads and writes <-> a structured :class:`AgentStep`.

A protocol is a small class that owns its prompt text (``format_instruction``) and its
``render``/``parse`` pair, after lagent's ``ReActProtocol``. ``parse`` never raises on bad
model output: it returns a :class:`ParseFailure` saying what broke, because evaluation must
count format errors, not crash on them.
"""

from __future__ import annotations

import enum
import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from agentflan.conversation import Capability, Span, Tool, ToolCall


@dataclass(slots=True)
class AgentStep:
    """One assistant step: a thought, then either tool calls or a final answer (or neither).

    ``final_answer`` set with no calls is the end of a trajectory; all three empty is a plain
    reply held in ``thought`` (a protocol that allows free text, e.g. a refusal)."""

    thought: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    final_answer: str | None = None


class FailureKind(str, enum.Enum):
    """How text broke a protocol; Agent-H counts these as format-level hallucinations."""

    EMPTY = "empty"
    MISSING_FIELD = "missing_field"
    BAD_ARGUMENTS = "bad_arguments"
    UNKNOWN_ACTION = "unknown_action"
    MALFORMED = "malformed"
    EXTRA_TEXT = "extra_text"


@dataclass(slots=True)
class ParseFailure:
    """A typed parse result for text that does not follow the protocol. ``partial`` holds what
    could be recovered (e.g. a thought before a broken action) for lenient consumers."""

    kind: FailureKind
    message: str
    text: str
    partial: AgentStep | None = None

    def __bool__(self) -> bool:  # `if result:` reads as "parsed"
        return False


@dataclass(slots=True)
class Rendered:
    """Rendered text plus the capability span of each part (thought, tool name, arguments, keywords)."""

    text: str
    spans: list[Span] = field(default_factory=list)


class AgentProtocol(ABC):
    """Base class of every protocol; subclasses register under ``name``."""

    name: ClassVar[str]

    @abstractmethod
    def render(self, step: AgentStep) -> Rendered:
        """The text of a step, with capability spans over it."""

    @abstractmethod
    def parse(self, text: str) -> AgentStep | ParseFailure:
        """The step a text encodes, or a :class:`ParseFailure` saying what broke."""

    def format_instruction(self, tools: list[Tool]) -> str:
        """The system-prompt text that asks a model to use this protocol with these tools."""
        raise NotImplementedError(f"protocol {self.name!r} has no prompt of its own")

    def render_observation(self, text: str) -> str:
        """How a tool result is shown back to the model under this protocol."""
        return text

    def stop_sequences(self) -> list[str]:
        """Where generation stops: at the line that would open an observation (the model must not
        write the tool's answer itself); none when observations carry no marker."""
        marker = "\x00"
        prefix = self.render_observation(marker).split(marker, 1)[0].strip()
        return [f"\n{prefix}"] if prefix else []


_REGISTRY: dict[str, type[AgentProtocol]] = {}
#: one instance per protocol: they hold no state, and a build asks for one per rendered or parsed turn
_INSTANCES: dict[str, AgentProtocol] = {}


def register(cls: type[AgentProtocol]) -> type[AgentProtocol]:
    _REGISTRY[cls.name] = cls
    _INSTANCES.pop(cls.name, None)
    return cls


def get_protocol(name: str) -> AgentProtocol:
    found = _INSTANCES.get(name)
    if found is not None:
        return found
    from agentflan import protocols  # noqa: F401  (importing the package registers the built-ins)

    try:
        found = _INSTANCES[name] = _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return found


@functools.lru_cache(maxsize=256)
def parse_once(protocol: str, text: str) -> AgentStep | ParseFailure:
    """``get_protocol(protocol).parse(text)``, remembered for the last few texts: a build parses
    each protocol turn when it reads it and again when it splits its trajectory into steps. The
    result is shared, so callers only read it (copy before changing a step)."""
    return get_protocol(protocol).parse(text)


def protocol_names() -> list[str]:
    from agentflan import protocols  # noqa: F401

    return sorted(_REGISTRY)


__all__ = [
    "AgentProtocol",
    "AgentStep",
    "Capability",
    "FailureKind",
    "ParseFailure",
    "Rendered",
    "get_protocol",
    "parse_once",
    "protocol_names",
    "register",
]
