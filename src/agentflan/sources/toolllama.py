"""The ToolLLaMA training format (ToolBench's preprocessed output):
``{"id": "Step N: <query>", "conversations": [{"from": "system|user|assistant|function", "value"}]}``.

The system prompt carries the tools as Python ``repr`` of the function schemas after a fixed
prefix, and a format hint ToolBench inserts; both are stripped back off here (the tools go to
``Conversation.tools``) so that raw ToolBench and ToolLLaMA read to the same system prompt.
Assistant turns are ReAct text: ``protocol="react"`` with their parsed calls.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from agentflan.conversation import Conversation, Message, Tool
from agentflan.errors import InputError, Location
from agentflan.formats.toolllama import ROLE_OF, toolllama_text
from agentflan.sources._fields import get_text, iter_objects, open_record, parse_tools
from agentflan.sources._protocol import attach_protocol
from agentflan.sources.base import SourceFormat, register

SOURCE = "toolbench"
PROTOCOL = "react"


def split_system(value: str, loc: Location, field: str) -> tuple[str, list[Tool]]:
    """The system prompt without the API list and format hint, and the tools the list names."""
    text = toolllama_text()
    at = value.rfind(text.api_list_prefix)
    if at < 0:
        return value, []
    listing = value[at + len(text.api_list_prefix) :]
    try:
        schemas = ast.literal_eval(listing)  # Python literals only: never executes code
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise InputError(loc, f"the API list after {text.api_list_prefix.strip()!r} is not a Python literal: {exc}", field) from None
    content = value[:at].replace(text.format_hint_anchor + text.format_hint, text.format_hint_anchor, 1)
    return content, parse_tools(schemas, loc, f"{field} (API list)")


@register
class ToolLlamaFormat(SourceFormat):
    name = "toolllama"
    description = 'ToolLLaMA format: {"id", "conversations": [{"from": system|user|assistant|function, "value"}]}'

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or not isinstance(record.get("conversations"), list):
            return False
        turns = record["conversations"]
        return all(isinstance(t, dict) and t.get("from") in ROLE_OF for t in turns) and (not turns or turns[0]["from"] == "system")

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location)
        messages: list[Message] = []
        tools: list[Tool] = []
        last_call: str | None = None
        for _, field, d in iter_objects(record, "conversations", loc):
            source_role = get_text(d, "from", loc, f"{field}.from")
            if source_role not in ROLE_OF:
                raise InputError(loc, f"expected one of {', '.join(ROLE_OF)}, got {source_role!r}", f"{field}.from")
            value = get_text(d, "value", loc, f"{field}.value")
            role = ROLE_OF[source_role]
            if role == "system":
                content, listed = split_system(value, loc, f"{field}.value")
                tools.extend(listed)
                if content:  # an empty turn, or one holding only the API list, stands for no prompt
                    messages.append(Message(role="system", content=content))
            elif role == "assistant":
                message = Message(role="assistant", content=value)
                attach_protocol(message, PROTOCOL)
                last_call = message.tool_calls[-1].name if message.tool_calls else None
                messages.append(message)
            elif role == "tool":
                messages.append(Message(role="tool", content=value, name=last_call))
            else:
                messages.append(Message(role=role, content=value))
        yield Conversation(id=conv_id, messages=messages, tools=tools, source=SOURCE)
