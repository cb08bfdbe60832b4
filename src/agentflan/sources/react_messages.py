"""ReAct trajectories in OpenAI ``messages`` (FireAct): assistant turns are bracket ReAct
(``Thought: ...\\nAction: search[...]``), tool results are user turns starting "Observation:".

Assistant turns get ``protocol="fireact"`` and their parsed calls. Observation turns stay user
turns (that is how the trajectories were trained and how Agent-FLAN feeds tool results back)
but carry ``meta["observation"] = True`` so writers and recipes know they are tool results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agentflan.conversation import Conversation, Message
from agentflan.errors import Location
from agentflan.sources._fields import get_text, iter_objects, open_record
from agentflan.sources._protocol import attach_protocol
from agentflan.sources.base import SourceFormat, register
from agentflan.sources.native import native_shaped

SOURCE = "fireact"
PROTOCOL = "fireact"
OBSERVATION_PREFIX = "Observation:"
_BRACKET_ACTION = re.compile(r"Action: ?\w+\[")


@register
class ReActMessagesFormat(SourceFormat):
    name = "react-messages"
    description = "FireAct ReAct trajectories: OpenAI messages, bracket actions, observations as user turns"

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or not isinstance(record.get("messages"), list) or native_shaped(record):
            return False
        messages = record["messages"]
        if not all(isinstance(m, dict) and isinstance(m.get("content"), str) and not m.get("tool_calls") for m in messages):
            return False
        return any(m.get("role") == "assistant" and _BRACKET_ACTION.search(m["content"]) for m in messages)

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location)
        messages = []
        for i, field, d in iter_objects(record, "messages", loc):
            message = Message(role=get_text(d, "role", loc, f"{field}.role"), content=get_text(d, "content", loc, f"{field}.content"))
            if message.role == "assistant":
                attach_protocol(message, PROTOCOL)
            elif message.role == "user" and i > 0 and message.content.startswith(OBSERVATION_PREFIX):
                message.meta["observation"] = True
            messages.append(message)
        yield Conversation(id=conv_id, messages=messages, source=SOURCE)
