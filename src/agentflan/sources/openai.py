"""OpenAI chat ``messages`` + ``tools`` (the OpenAI fine-tuning and TRL conversational format).

Assistant ``tool_calls`` carry ``function.arguments`` as a JSON string (OpenAI) or an object
(TRL); both read. ``weight`` (OpenAI fine-tuning: 0 = do not train this assistant turn) maps to
``loss``. The legacy ``function_call``/``function`` pair and ``developer`` role read too. Rows
from Arrow (parquet, ``datasets``) come with ``None`` for absent fields and ``tools`` as a JSON
string; both are accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.errors import InputError, Location
from agentflan.sources._fields import (
    expect_dict,
    expect_list,
    get_list,
    get_opt_text,
    get_text,
    open_record,
    parse_call,
    parse_tools,
)
from agentflan.sources.base import SourceFormat, register
from agentflan.sources.native import native_shaped

ROLE_ALIASES = {"developer": "system", "function": "tool"}


@register
class OpenAIFormat(SourceFormat):
    name = "openai"
    description = "OpenAI/TRL chat: {messages: [{role, content, tool_calls}], tools}"

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
            return False
        messages = record["messages"]
        return (not messages or (isinstance(messages[0], dict) and "role" in messages[0])) and not native_shaped(record)

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location)
        messages = [_message(m, loc, f"messages[{i}]") for i, m in enumerate(get_list(record, "messages", loc))]
        yield Conversation(id=conv_id, messages=messages, tools=parse_tools(record.get("tools"), loc, "tools"))


def _message(value: Any, loc: Location, field: str) -> Message:
    d = expect_dict(value, loc, field)
    role = get_text(d, "role", loc, f"{field}.role")
    message = Message(
        role=ROLE_ALIASES.get(role, role),
        content=_content(d.get("content"), loc, f"{field}.content"),
        name=get_opt_text(d, "name", loc, f"{field}.name"),
        tool_call_id=get_opt_text(d, "tool_call_id", loc, f"{field}.tool_call_id"),
    )
    weight = d.get("weight")
    if weight is not None:
        if weight not in (0, 1) or isinstance(weight, float):
            raise InputError(loc, f"expected 0 or 1, got {weight!r}", f"{field}.weight")
        message.loss = bool(weight)
    calls = d.get("tool_calls")
    if calls is not None:
        message.tool_calls = [_call(c, loc, f"{field}.tool_calls[{i}]") for i, c in enumerate(expect_list(calls, loc, f"{field}.tool_calls"))]
    legacy = d.get("function_call")
    if legacy is not None:
        legacy = expect_dict(legacy, loc, f"{field}.function_call")
        message.tool_calls.append(parse_call(legacy.get("name"), legacy.get("arguments"), loc, f"{field}.function_call"))
    return message


def _call(value: Any, loc: Location, field: str) -> ToolCall:
    d = expect_dict(value, loc, field)
    call_id = get_opt_text(d, "id", loc, f"{field}.id")
    function = d.get("function")
    if function is None:  # a bare {"name", "arguments"} call
        return parse_call(d.get("name"), d.get("arguments"), loc, field, call_id)
    function = expect_dict(function, loc, f"{field}.function")
    return parse_call(function.get("name"), function.get("arguments"), loc, f"{field}.function", call_id)


def _content(value: Any, loc: Location, field: str) -> str:
    """Text content; a list of parts is joined when every part is text (images cannot be kept)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    parts = expect_list(value, loc, field)
    texts = []
    for i, part in enumerate(parts):
        p = expect_dict(part, loc, f"{field}[{i}]")
        if p.get("type") != "text" or not isinstance(p.get("text"), str):
            raise InputError(loc, f"only text parts can be read, got type {p.get('type')!r}", f"{field}[{i}]")
        texts.append(p["text"])
    return "".join(texts)
