"""ShareGPT, with or without tools (Glaive function calling, LLaMA-Factory's ``sharegpt`` columns):
``{"conversations": [{"from": "human|gpt|function_call|observation|system", "value"}],
"system": str, "tools": "<JSON string of schemas>"}``.

A ``function_call`` turn is an assistant turn whose value is ``{"name", "arguments"}`` (or a
list of them, for parallel calls); an ``observation`` is the tool's result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.errors import InputError, Location
from agentflan.jsonutil import loads
from agentflan.sources._fields import (
    expect_dict,
    get_opt_text,
    get_text,
    iter_objects,
    open_record,
    parse_call,
    parse_tools,
)
from agentflan.sources.base import SourceFormat, register

ROLE_OF = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "system": "system",
}
# AgentInstruct rows are ShareGPT-shaped too; their ids name the task (``os_0``, ``alfworld_12``).
_AGENTINSTRUCT_ID = re.compile(r"^(os|db|alfworld|webshop|kg|mind2web)_\d+$")


@register
class ShareGPTFormat(SourceFormat):
    name = "sharegpt-tools"
    description = "ShareGPT / Glaive / LLaMA-Factory: conversations of human|gpt|function_call|observation, system, tools"

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or not isinstance(record.get("conversations"), list) or not record["conversations"]:
            return False
        turns = record["conversations"]
        if not all(isinstance(t, dict) and t.get("from") in ROLE_OF and "loss" not in t for t in turns):
            return False
        return not _AGENTINSTRUCT_ID.match(str(record.get("id", "")))

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location)
        messages: list[Message] = []
        system = get_opt_text(record, "system", loc, "system")
        if system:
            messages.append(Message(role="system", content=system))
        pending: list[str | None] = []  # names of calls awaiting their observation
        for _, field, d in iter_objects(record, "conversations", loc):
            tag = get_text(d, "from", loc, f"{field}.from")
            if tag not in ROLE_OF:
                raise InputError(loc, f"expected one of {', '.join(ROLE_OF)}, got {tag!r}", f"{field}.from")
            value = get_text(d, "value", loc, f"{field}.value")
            if tag == "function_call":
                calls = _calls(value, loc, f"{field}.value")
                messages.append(Message(role="assistant", content="", tool_calls=calls))
                pending = [c.name for c in calls]
            elif tag == "observation":
                messages.append(Message(role="tool", content=value, name=pending.pop(0) if pending else None))
            else:
                messages.append(Message(role=ROLE_OF[tag], content=value))
        yield Conversation(id=conv_id, messages=messages, tools=parse_tools(record.get("tools"), loc, "tools"))


def _calls(value: str, loc: Location, field: str) -> list[ToolCall]:
    try:
        parsed = loads(value)
    except ValueError as exc:
        raise InputError(loc, f"a function_call value must be JSON {{'name', 'arguments'}}: {exc}", field) from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items:
        raise InputError(loc, "a function_call value names no call", field)
    calls = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]" if isinstance(parsed, list) else field
        d = expect_dict(item, loc, where)
        calls.append(parse_call(d.get("name"), d.get("arguments"), loc, where))
    return calls
