"""The released Agent-FLAN JSONL (``internlm/Agent-FLAN``):
``{"conversation": [{"role", "content", "loss"}], "id"}``.

The release sets ``loss`` on every message. A value equal to the role's default (``false`` on
system and user turns, ``true`` on assistant turns) reads as unset, so that validation does not
flag every row and a read -> write -> read round trip is exact; ``true`` on a system or user
turn is kept so ``validate`` reports it, ``false`` on an assistant turn is kept (not trained). Assistant turns written in a
known protocol (the ReAct and JSON rows) get that protocol and their parsed tool calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentflan.conversation import Conversation, Message
from agentflan.errors import Location
from agentflan.sources._fields import (
    expect_dict,
    fallback_id,
    get_list,
    get_opt_bool,
    get_text,
    record_id,
)
from agentflan.sources._protocol import attach_detected_protocol
from agentflan.sources.base import SourceFormat, register

SOURCE = "agentflan"


@register
class AgentFlanFormat(SourceFormat):
    name = "agentflan"
    description = 'Agent-FLAN release JSONL: {"conversation": [{"role", "content", "loss"}], "id"}'

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or not isinstance(record.get("conversation"), list):
            return False
        turns = record["conversation"]
        return not turns or (isinstance(turns[0], dict) and "role" in turns[0])

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record = expect_dict(record, location, "(record)")
        conv_id = record_id(record, location, fallback_id(location))
        loc = Location(location.path, location.line, location.index, conv_id)
        messages = []
        for i, turn in enumerate(get_list(record, "conversation", loc)):
            field = f"conversation[{i}]"
            d = expect_dict(turn, loc, field)
            role = get_text(d, "role", loc, f"{field}.role")
            loss = get_opt_bool(d, "loss", loc, f"{field}.loss")
            if loss is (role == "assistant"):
                loss = None
            message = Message(role=role, content=get_text(d, "content", loc, f"{field}.content", required=False), loss=loss)
            if role == "assistant":
                attach_detected_protocol(message)
            messages.append(message)
        yield Conversation(id=conv_id, messages=messages, source=SOURCE)
