"""Our own JSONL: one :meth:`Conversation.to_dict` per line, everything kept (spans, protocols,
loss, meta). Every field is type-checked here so a hand-edited file fails with its field name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentflan.conversation import CAPABILITIES, Capability, Conversation, Message, Span, ToolCall
from agentflan.errors import InputError, Location, shorten
from agentflan.sources._fields import (
    expect_dict,
    get_list,
    get_opt_bool,
    get_opt_dict,
    get_opt_list,
    get_opt_text,
    get_text,
    open_record,
    parse_tools,
)
from agentflan.sources.base import SourceFormat, register

NATIVE_MESSAGE_KEYS = ("loss", "spans", "protocol", "meta")


def openai_shaped(record: dict[str, Any]) -> bool:
    """Shapes only the OpenAI/TRL format has (``weight``, ``{"type","function"}`` calls or tools)."""
    for m in _dicts(record.get("messages")):
        if "weight" in m or any("function" in c for c in _dicts(m.get("tool_calls"))):
            return True
    return any("function" in t for t in _dicts(record.get("tools")))


def native_shaped(record: dict[str, Any]) -> bool:
    """Shapes only our native format has (spans, protocol, loss, meta, calls with a top-level name)."""
    if "source" in record or "meta" in record:
        return True
    for m in _dicts(record.get("messages")):
        if any(k in m for k in NATIVE_MESSAGE_KEYS):
            return True
        if any("name" in c and "function" not in c for c in _dicts(m.get("tool_calls"))):
            return True
    return False


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a value that should be an array of objects (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@register
class NativeFormat(SourceFormat):
    name = "native"
    description = "agentflan's own JSONL (Conversation.to_dict per line; spans, protocols and meta kept)"

    def sniff(self, record: Any) -> bool:
        if not (isinstance(record, dict) and "id" in record and isinstance(record.get("messages"), list)):
            return False
        messages = record["messages"]
        return (not messages or (isinstance(messages[0], dict) and "role" in messages[0])) and not openai_shaped(record)

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location, require_id=True)
        messages = [_message(m, loc, f"messages[{i}]") for i, m in enumerate(get_list(record, "messages", loc))]
        yield Conversation(
            id=conv_id,
            messages=messages,
            tools=parse_tools(record.get("tools"), loc, "tools"),
            source=get_text(record, "source", loc, "source", required=False),
            meta=get_opt_dict(record, "meta", loc, "meta"),
        )


def _message(value: Any, loc: Location, field: str) -> Message:
    d = expect_dict(value, loc, field)
    return Message(
        role=get_text(d, "role", loc, f"{field}.role"),
        content=get_text(d, "content", loc, f"{field}.content", required=False),
        loss=get_opt_bool(d, "loss", loc, f"{field}.loss"),
        tool_calls=[_call(c, loc, f"{field}.tool_calls[{i}]") for i, c in enumerate(get_opt_list(d, "tool_calls", loc, f"{field}.tool_calls"))],
        spans=[_span(s, loc, f"{field}.spans[{i}]") for i, s in enumerate(get_opt_list(d, "spans", loc, f"{field}.spans"))],
        protocol=_protocol(d, loc, f"{field}.protocol"),
        name=get_opt_text(d, "name", loc, f"{field}.name"),
        tool_call_id=get_opt_text(d, "tool_call_id", loc, f"{field}.tool_call_id"),
        meta=get_opt_dict(d, "meta", loc, f"{field}.meta"),
    )


def _protocol(d: dict[str, Any], loc: Location, field: str) -> str | None:
    """A protocol name agentflan knows: every later step (inspect, align, train) parses the turn with it."""
    from agentflan.protocols.base import protocol_names

    name = get_opt_text(d, "protocol", loc, field)
    if name is not None and name not in protocol_names():
        raise InputError(loc, f"unknown protocol {shorten(repr(name))}; known: {', '.join(protocol_names())}", field)
    return name


def _call(value: Any, loc: Location, field: str) -> ToolCall:
    d = expect_dict(value, loc, field)
    return ToolCall(
        name=get_text(d, "name", loc, f"{field}.name"),
        arguments=get_opt_dict(d, "arguments", loc, f"{field}.arguments"),
        raw_arguments=get_opt_text(d, "raw_arguments", loc, f"{field}.raw_arguments"),
        id=get_opt_text(d, "id", loc, f"{field}.id"),
        arguments_error=get_opt_text(d, "arguments_error", loc, f"{field}.arguments_error"),
    )


def _span(value: Any, loc: Location, field: str) -> Span:
    d = expect_dict(value, loc, field)
    bounds = []
    for key in ("start", "end"):
        v = d.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(loc, "expected an integer", f"{field}.{key}")
        bounds.append(v)
    capability = d.get("capability")
    if capability not in CAPABILITIES:
        raise InputError(loc, f"expected one of {', '.join(CAPABILITIES)}", f"{field}.capability")
    return Span(bounds[0], bounds[1], Capability(capability), get_opt_bool(d, "loss", loc, f"{field}.loss"))
