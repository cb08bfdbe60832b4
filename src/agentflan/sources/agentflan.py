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
from agentflan.sources._fields import get_opt_bool, get_text, iter_objects, open_record
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
        record, conv_id, loc = open_record(record, location)
        messages = []
        for _, field, d in iter_objects(record, "conversation", loc):
            role = get_text(d, "role", loc, f"{field}.role")
            loss = get_opt_bool(d, "loss", loc, f"{field}.loss")
            if loss is (role == "assistant"):
                loss = None
            message = Message(role=role, content=get_text(d, "content", loc, f"{field}.content", required=False), loss=loss)
            if role == "assistant":
                attach_detected_protocol(message)
            messages.append(message)
        yield Conversation(id=conv_id, messages=messages, source=SOURCE)
