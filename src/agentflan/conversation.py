"""The one conversation model every reader, recipe step, trainer and evaluator shares.

Dataclasses with slots rather than pydantic models: corpora run to millions of turns and
the readers build these objects in their hot loop. Validation is a separate, explicit pass
(:func:`validate`) that reports every problem instead of failing on the first.

Tool calls are stored structurally (:class:`ToolCall`). How they appear in text depends on
``Message.protocol``: ``None`` means the calls travel beside the content (OpenAI style, the
content is the thought or reply); a protocol name (``"react"``, ``"json"``...) means the
content is that protocol's rendering and ``tool_calls`` is its parsed view.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from agentflan.errors import shorten

ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
Role = Literal["system", "user", "assistant", "tool"]


class Capability(str, enum.Enum):
    """The four agent capabilities of the Agent-FLAN paper; every supervised span has one."""

    REASONING = "reasoning"
    RETRIEVAL = "retrieval"
    UNDERSTANDING = "understanding"
    INSTRUCTION = "instruction"

    def __str__(self) -> str:
        return self.value


CAPABILITIES: tuple[str, ...] = tuple(c.value for c in Capability)
#: a capability by its value without the enum's call machinery (rows are rebuilt ~10k spans a build)
_CAPABILITY_OF: dict[str, Capability] = {c.value: c for c in Capability}

#: ToolBench/ToolLLaMA end a trajectory by calling ``Finish`` (give_answer / give_up_and_restart):
#: a protocol action, never in the offered tool list, so validation does not count it as unoffered.
FINISH_TOOL = "Finish"


@dataclass(slots=True)
class Tool:
    """A callable tool: ``parameters`` is a JSON Schema object (``properties``/``required``)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required") or [])

    @property
    def optional(self) -> list[str]:
        props = self.parameters.get("properties") or {}
        explicit = self.parameters.get("optional")
        if explicit is not None:
            return list(explicit)
        return [k for k in props if k not in self.required]

    def argument_errors(self, arguments: dict[str, Any]) -> list[str]:
        """Where ``arguments`` break the parameter schema (empty when they fit). A schema that is not
        valid JSON Schema (real corpora are sloppy) checks the required parameters only."""
        validator, _ = _argument_validator(self)
        if validator is None:
            return [f"missing required argument {r!r}" for r in self.required if r not in arguments]
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(arguments)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tool:
        if "function" in d and isinstance(d["function"], dict):  # OpenAI {"type": "function", "function": {...}}
            d = d["function"]
        return cls(
            name=str(d["name"]),
            description=str(d.get("description") or ""),
            parameters=dict(d.get("parameters") or {}),
        )


@dataclass(slots=True)
class ToolCall:
    """One call. ``raw_arguments`` keeps the source text so writers reproduce it byte for byte;
    when that text is not a JSON object, ``arguments`` is empty and ``arguments_error`` says why."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None
    id: str | None = None
    arguments_error: str | None = None

    @property
    def arguments_ok(self) -> bool:
        return self.arguments_error is None

    @classmethod
    def from_text(cls, name: str, text: str | None, id: str | None = None) -> ToolCall:
        """Build a call from argument text, keeping the text and recording why it does not parse."""
        from agentflan.jsonutil import loads_object

        if text is None:
            return cls(name=name, id=id)
        args, error = loads_object(text)
        return cls(name=name, arguments=args, raw_arguments=text, id=id, arguments_error=error)

    def arguments_text(self) -> str:
        """The arguments as text: the source text when there was one, else compact JSON."""
        from agentflan.jsonutil import dumps

        if self.raw_arguments is not None:
            return self.raw_arguments
        return dumps(self.arguments)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.raw_arguments is not None:
            d["raw_arguments"] = self.raw_arguments
        if self.id is not None:
            d["id"] = self.id
        if self.arguments_error is not None:
            d["arguments_error"] = self.arguments_error
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        get = d.get  # positional arguments and one bound lookup: the readers' and the build's hot loop
        return cls(str(d["name"]), dict(get("arguments") or {}), get("raw_arguments"), get("id"), get("arguments_error"))


@dataclass(slots=True)
class Span:
    """A capability annotation over ``content[start:end]``; ``loss`` overrides the message's for
    these characters (``False``: keep it in context, do not train on it)."""

    start: int
    end: int
    capability: Capability
    loss: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        # ``_value_`` is what ``.value`` returns, without the enum descriptor (~0.5 µs saved; a build reads it ~40k times)
        d: dict[str, Any] = {"start": self.start, "end": self.end, "capability": self.capability._value_}
        if self.loss is not None:
            d["loss"] = self.loss
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Span:
        value = d["capability"]
        capability = _CAPABILITY_OF.get(value) if isinstance(value, str) else None
        return cls(int(d["start"]), int(d["end"]), capability or Capability(value), d.get("loss"))


@dataclass(slots=True)
class Message:
    """One turn. ``loss`` is ``None`` (the default rule: assistant turns train), ``True`` or
    ``False``; only assistant turns may set it. ``meta`` carries source facts such as
    ``{"example": True}`` for a one-shot demonstration turn."""

    role: str
    content: str = ""
    loss: bool | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    protocol: str | None = None
    name: str | None = None
    tool_call_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def trains(self) -> bool:
        """Whether this turn is supervised (assistant turns unless ``loss`` is False)."""
        return self.role == "assistant" and self.loss is not False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.loss is not None:
            d["loss"] = self.loss
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.spans:
            d["spans"] = [s.to_dict() for s in self.spans]
        if self.protocol is not None:
            d["protocol"] = self.protocol
        if self.name is not None:
            d["name"] = self.name
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.meta:
            d["meta"] = self.meta
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        get = d.get  # positional arguments and one bound lookup: ~10k turns a build are rebuilt here
        content, calls, spans, meta = get("content"), get("tool_calls"), get("spans"), get("meta")
        return cls(
            str(d["role"]),
            "" if content is None else str(content),
            get("loss"),
            [ToolCall.from_dict(c) for c in calls] if calls else [],
            [Span.from_dict(s) for s in spans] if spans else [],
            get("protocol"),
            get("name"),
            get("tool_call_id"),
            dict(meta) if meta else {},
        )


@dataclass(slots=True)
class Conversation:
    """A sample: messages, the tools it offers, where it came from (``source``) and free ``meta``
    (e.g. ``{"task": "os", "trajectory": "G1/10", "split": "toolbench_react_10p"}``)."""

    id: str
    messages: list[Message] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def tool_names(self) -> set[str]:
        return {t.name for t in self.tools}

    def iter_tool_calls(self) -> Iterator[ToolCall]:
        for m in self.messages:
            yield from m.tool_calls

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "messages": [m.to_dict() for m in self.messages]}
        if self.tools:
            d["tools"] = [t.to_dict() for t in self.tools]
        if self.source:
            d["source"] = self.source
        if self.meta:
            d["meta"] = self.meta
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conversation:
        return cls(
            id=str(d["id"]),
            messages=[Message.from_dict(m) for m in d.get("messages") or ()],
            tools=[Tool.from_dict(t) for t in d.get("tools") or ()],
            source=str(d.get("source") or ""),
            meta=dict(d.get("meta") or {}),
        )


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of :func:`validate`; ``where`` is ``messages[3].tool_calls[0].arguments`` style."""

    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def validate(conv: Conversation) -> list[Problem]:
    """Every problem in a conversation: errors make it unusable, warnings deserve a look."""
    problems: list[Problem] = []
    offered = {t.name: t for t in conv.tools}
    validators: dict[str, Any] = {}
    for t_i, tool in enumerate(conv.tools):
        validator, why = _argument_validator(tool)
        if why is not None:
            problems.append(Problem("warning", f"tools[{t_i}].parameters", f"the parameter schema of {tool.name!r} is invalid: {why}"))
        validators.setdefault(tool.name, validator)
    if not conv.messages:
        problems.append(Problem("error", "messages", "conversation has no messages"))
    for i, m in enumerate(conv.messages):
        where = f"messages[{i}]"
        if m.role not in ROLES:
            problems.append(Problem("error", f"{where}.role", f"unknown role {m.role!r} (expected one of {', '.join(ROLES)})"))
        if m.loss is not None and m.role != "assistant":
            problems.append(Problem("error", f"{where}.loss", f"loss is set on a {m.role} turn; only assistant turns are trained"))
        if m.tool_calls and m.role != "assistant":
            problems.append(Problem("error", f"{where}.tool_calls", f"a {m.role} turn carries tool calls"))
        for s_i, s in enumerate(m.spans):
            if not 0 <= s.start <= s.end <= len(m.content):
                problems.append(
                    Problem("error", f"{where}.spans[{s_i}]", f"span [{s.start}, {s.end}) lies outside the content ({len(m.content)} chars)")
                )
        for c_i, call in enumerate(m.tool_calls):
            cw = f"{where}.tool_calls[{c_i}]"
            if not call.arguments_ok:
                problems.append(Problem("warning", f"{cw}.arguments", f"arguments are not a JSON object: {call.arguments_error}"))
            if offered and call.name not in offered and call.name != FINISH_TOOL:
                problems.append(Problem("error", f"{cw}.name", f"calls {call.name!r}, which the conversation does not offer"))
            elif validators.get(call.name) is not None and call.arguments_ok:
                errors = validators[call.name].iter_errors(call.arguments)
                problems.extend(
                    Problem("warning", f"{cw}.arguments", f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}") for e in errors
                )
    return problems


def _argument_validator(tool: Tool) -> tuple[Any, str | None]:
    """A validator for the tool's arguments, or why its schema cannot be one (real corpora are sloppy:
    ``"type": "int"``, ``properties`` as a string); the schema is checked before it is used."""
    return _schema_validator(json.dumps(tool.parameters, sort_keys=True, ensure_ascii=False, default=str))


@functools.lru_cache(maxsize=4096)
def _schema_validator(parameters_json: str) -> tuple[Any, str | None]:
    """:func:`_argument_validator` by the schema's canonical text: a corpus offers the same tools in many rows."""
    import jsonschema

    schema = {k: v for k, v in json.loads(parameters_json).items() if k != "optional"}
    if not schema:
        return None, None
    schema.setdefault("type", "object")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(root)"
        return None, f"{where}: {shorten(exc.message)}"
    return jsonschema.Draft202012Validator(schema), None
