"""AgentInstruct (THUDM/AgentTuning): ``{"id": "os_0", "conversations": [{"from": "human|gpt", "loss", "value"}]}``,
and the same rows re-keyed to ``{"role": "user|assistant", "content"}``.

The task (OS, DB, ALFWorld, WebShop, KG, Mind2Web) comes from the id prefix, else from the
task instructions in the first turn. Each assistant turn is parsed with the task's protocol
(``agentinstruct-<task>``): ``protocol`` names it, ``tool_calls`` and capability ``spans``
come from the parse. A turn the protocol rejects keeps what could be recovered and says why
in ``meta["parse_error"]`` (Mind2Web has replies with made-up operations).

Several tasks open with an acknowledgement ("Ok.") and, for OS and KG, a whole worked
example before the real task; those turns get ``meta["example"] = True`` so a recipe can
keep them as context without training on them. The first user turn holds the task
instructions (for OS also the example's question) and is not marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentflan.conversation import Conversation, Message
from agentflan.errors import InputError, Location
from agentflan.sources._fields import expect_dict, get_list, get_opt_bool, get_text, open_record
from agentflan.sources.base import SourceFormat, register

if TYPE_CHECKING:
    from agentflan.protocols._common import ScanProtocol

SOURCE = "agentinstruct"

# Pattern texts, compiled by re's own cache on first use: format detection imports this reader
# for every convert, and compiling them up front was ~1.5 % of a one-file convert's instructions.
_ID_TASK = r"^(os|db|alfworld|webshop|kg|mind2web)_"
#: phrases of each task's instructions (first turn), for rows whose id does not name the task
_INSTRUCTION_TASK = {
    "os": r"play the role of linux",
    "db": r"operate a MySQL database",
    "alfworld": r"Interact with a household to solve a task",
    "webshop": r"You are web shopping",
    "kg": r"answers questions based on the knowledge stored in a knowledge base",
    "mind2web": r"Based on the HTML webpage above",
}
#: the user turn that starts the real task after a worked example
_REAL_TASK_OPENER = {
    "os": r"^Now, I will start a new problem",
    "kg": r"^A new question:",
}
_ACKNOWLEDGEMENT = r"^(?:ok(?:ay)?\b|sure\b|understood\b|i(?:'ve| have)? understood\b|i understand\b)"
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def detect_task(record_id: Any, first_text: str) -> str | None:
    """The AgentInstruct task of a row: from its id prefix, else from its instructions."""
    if isinstance(record_id, str) and (m := re.match(_ID_TASK, record_id, re.I)):
        return m.group(1).lower()
    return next((task for task, pattern in _INSTRUCTION_TASK.items() if re.search(pattern, first_text, re.I)), None)


def _turn_fields(turn: dict[str, Any]) -> tuple[str, str] | None:
    """The (role key, text key) a turn uses, if it is one of the two AgentInstruct shapes."""
    if "from" in turn and "value" in turn:
        return "from", "value"
    if "role" in turn and "content" in turn:
        return "role", "content"
    return None


@register
class AgentInstructFormat(SourceFormat):
    name = "agentinstruct"
    description = 'AgentInstruct: {"id": "os_0", "conversations": [{"from": "human|gpt", "loss", "value"}]} (or role/content)'

    def sniff(self, record: Any) -> bool:
        if not isinstance(record, dict) or "tools" in record or not isinstance(record.get("conversations"), list):
            return False
        turns = record["conversations"]
        if not turns or not isinstance(turns[0], dict) or (keys := _turn_fields(turns[0])) is None:
            return False
        text = turns[0][keys[1]]
        return detect_task(record.get("id"), text if isinstance(text, str) else "") is not None

    def convert(self, record: Any, location: Location) -> Iterator[Conversation]:
        record, conv_id, loc = open_record(record, location)
        turns = get_list(record, "conversations", loc)
        if not turns:
            raise InputError(loc, "has no turns", "conversations")
        messages = [_message(turn, loc, i) for i, turn in enumerate(turns)]
        task = detect_task(record.get("id"), messages[0].content)
        if task is None:
            raise InputError(loc, "cannot tell the AgentInstruct task from the id prefix or the first turn", "id")
        # The protocol tables load on the first AgentInstruct row, not when detection imports this reader.
        from agentflan.protocols import get_protocol
        from agentflan.protocols._common import ScanProtocol
        from agentflan.protocols.agentinstruct import PROTOCOL_BY_TASK

        protocol = get_protocol(PROTOCOL_BY_TASK[task])
        assert isinstance(protocol, ScanProtocol)
        example = _example_turns(messages, task, protocol)
        for i, message in enumerate(messages):
            if i in example:
                message.meta["example"] = True
            if message.role == "assistant" and not (i in example and _is_acknowledgement(message, protocol)):
                _attach(message, protocol)
        yield Conversation(id=conv_id, messages=messages, source=SOURCE, meta={"task": task})


def _message(turn: Any, loc: Location, i: int) -> Message:
    field = f"conversations[{i}]"
    d = expect_dict(turn, loc, field)
    keys = _turn_fields(d)
    if keys is None:
        raise InputError(loc, 'expected {"from", "value"} or {"role", "content"}', field)
    raw_role = get_text(d, keys[0], loc, f"{field}.{keys[0]}")
    role = _ROLES.get(raw_role)
    if role is None:
        raise InputError(loc, f"unknown role {raw_role!r} (expected human, gpt, user or assistant)", f"{field}.{keys[0]}")
    loss = get_opt_bool(d, "loss", loc, f"{field}.loss")
    if role != "assistant" and loss is False:  # "not trained" is already the rule for these turns
        loss = None
    return Message(role=role, content=get_text(d, keys[1], loc, f"{field}.{keys[1]}", required=False), loss=loss)


def _attach(message: Message, protocol: ScanProtocol) -> None:
    """Protocol name, parsed tool calls and capability spans of an assistant turn."""
    from agentflan.protocols.base import ParseFailure

    message.protocol = protocol.name
    result = protocol.scan(message.content)
    if isinstance(result, ParseFailure):
        message.meta["parse_error"] = f"{result.kind.value}: {result.message}"
        if result.partial is not None:
            message.tool_calls = list(result.partial.tool_calls)
        return
    message.tool_calls = list(result.step.tool_calls)
    annotated = protocol.annotate(message.content)
    assert not isinstance(annotated, ParseFailure)
    message.spans = annotated.spans


def _is_acknowledgement(message: Message, protocol: ScanProtocol) -> bool:
    """An assistant "Ok." to the instructions: not a step of the task's protocol."""
    from agentflan.protocols.base import ParseFailure

    text = message.content
    return (
        message.role == "assistant"
        and bool(re.match(_ACKNOWLEDGEMENT, text.strip(), re.I))
        and isinstance(protocol.parse(text), ParseFailure)
    )


def _example_turns(messages: list[Message], task: str, protocol: ScanProtocol) -> set[int]:
    """Indices of the acknowledgement and worked-example turns before the real task."""
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users or users[0] + 1 >= len(messages):
        return set()
    first = users[0]
    opener = _REAL_TASK_OPENER.get(task)
    if opener is not None:
        real = next((i for i in users[1:] if re.match(opener, messages[i].content)), None)
        if real is not None:
            return set(range(first + 1, real))
    return {first + 1} if _is_acknowledgement(messages[first + 1], protocol) else set()
