"""The one answer to "does this text call a tool?", whatever convention the model wrote the call in.

Under a general system prompt no format is asked for, so a model may call a tool the way it
was tuned to: a ReAct ``Action:``/``Action Input:`` pair, FireAct's ``search[...]``, an
agentflan JSON protocol object, a Hermes/Qwen ``<tool_call>`` block, a Glaive
``<functioncall>``, a Llama-3 ``{"name", "parameters"}`` object, or the ``{"name",
"arguments"}`` lines the ``openai`` backend writes for structured calls. The protocol parsers
read their own conventions (a broken attempt still counts: its partial step names the tool);
JSON objects of a call's shape anywhere in the text are found by decoding each ``{`` in turn.
The negatives filter, Agent-H, tool-need scoring and the agent runtime all ask here.

Answer pseudo-actions (ToolLLaMA's ``Finish``, T-Eval's ``FinishAction``, LangChain's ``Final
Answer``, FireAct's and AgentInstruct's ``finish``) end a task; they are not calls. Null actions
(``Action: None``, ``no action``...; ``data/protocols/null_actions.txt``) say that no tool is
called; they are not calls either (Agent-H still labels them a format error: see
:func:`names_null_action`).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from agentflan import DATA_DIR
from agentflan.conversation import FINISH_TOOL, ToolCall
from agentflan.protocols._common import MAX_TEXT_CHARS, TooDeep, decode_json_at
from agentflan.protocols.base import AgentStep, ParseFailure, get_protocol
from agentflan.protocols.fireact import FINISH as FIREACT_FINISH

#: T-Eval's (lagent's) answer action, the ``json-goal`` protocol's finish.
FINISH_ACTION = "FinishAction"
#: LangChain's answer action, the ``json`` protocol's finish.
FINAL_ANSWER_ACTION = "Final Answer"
#: Actions that end a task with an answer rather than call a tool.
ANSWER_ACTIONS = frozenset({FINISH_TOOL, FINISH_ACTION, FINAL_ANSWER_ACTION, "final_answer", FIREACT_FINISH})
#: Protocols whose conventions count as a call, tried in order.
DETECT_PROTOCOLS: tuple[str, ...] = ("react", "json", "json-goal", "fireact", "hermes", "glaive", "llama3")

_NAME_KEYS = ("name", "tool", "tool_name", "function", "api", "action", "Tool")
_ARG_KEYS = ("arguments", "parameters", "args", "action_input", "Param", "params", "input")


def is_answer_action(name: str) -> bool:
    """Whether an action name ends the task with an answer (``Finish``, ``FinishAction``...) instead of calling a tool."""
    return name.strip() in ANSWER_ACTIONS


@cache
def null_actions() -> frozenset[str]:
    """The "no action" names, case-folded (``data/protocols/null_actions.txt``)."""
    text = (DATA_DIR / "protocols" / "null_actions.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_null_action(name: str) -> bool:
    """Whether an action name says "no action" (``None``, ``N/A``...): no tool is called."""
    return name.strip().strip(".'\"`").casefold() in null_actions()


def is_call_name(name: str) -> bool:
    """Whether an action of this name calls a tool: not empty, not an answer action, not a null action."""
    return bool(name.strip()) and not is_answer_action(name) and not is_null_action(name)


def step_of(result: AgentStep | ParseFailure) -> AgentStep | None:
    """The step a parse produced, or the part a failed parse recovered."""
    return result if isinstance(result, AgentStep) else result.partial


def real_calls(step: AgentStep | None) -> list[ToolCall]:
    """The step's calls that name a tool (not an answer pseudo-action, not a null action, not an empty name)."""
    if step is None:
        return []
    return [c for c in step.tool_calls if is_call_name(c.name)]


def names_null_action(text: str, protocols: Sequence[str] = DETECT_PROTOCOLS) -> bool:
    """Whether ``text`` names a null action (``Action: None``) in one of the conventions :func:`detect_calls` reads."""
    if len(text) > MAX_TEXT_CHARS:
        return False
    for name in protocols:
        step = step_of(get_protocol(name).parse(text))
        if step is not None and any(is_null_action(c.name) for c in step.tool_calls):
            return True
    return any(is_null_action(c.name) for obj in json_objects(text) for c in _as_calls(obj))


def detect_calls(text: str, protocols: Sequence[str] = DETECT_PROTOCOLS) -> list[ToolCall]:
    """Every distinct tool call in ``text`` (by name and arguments), first occurrence first; none
    in text longer than a step can be (:data:`~agentflan.protocols._common.MAX_TEXT_CHARS`)."""
    if len(text) > MAX_TEXT_CHARS:
        return []
    found: list[ToolCall] = []
    for name in protocols:
        found.extend(real_calls(step_of(get_protocol(name).parse(text))))
    found.extend(json_calls(text))
    seen: set[tuple[str, str]] = set()
    unique = []
    for call in found:
        key = (call.name, canonical(call.arguments) if call.arguments_ok else call.arguments_text())
        if key not in seen:
            seen.add(key)
            unique.append(call)
    return unique


def canonical(value: Any) -> str:
    """Stable text of a JSON value for comparisons (any size of integer; orjson stops at 64 bits)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def json_calls(text: str) -> list[ToolCall]:
    """Calls written as JSON objects anywhere in the text."""
    calls: list[ToolCall] = []
    for obj in json_objects(text):
        calls.extend(_as_calls(obj))
    return [c for c in calls if is_call_name(c.name)]


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Each top-level JSON object embedded in ``text``; an object that is not JSON but a Python
    literal on one line (Glaive's ``{"name": ..., "arguments": '{...}'}``) counts too. Objects
    inside a run of brackets nested past :data:`MAX_JSON_DEPTH` are not looked for (one pass
    over such a run, not one per bracket)."""
    i = text.find("{")
    while i != -1:
        try:
            value, end = decode_json_at(text, i)
        except TooDeep as deep:
            i = text.find("{", max(deep.at, i + 1))
            continue
        except ValueError:
            value, end = _literal_object(text, i)
            if value is None:
                i = text.find("{", i + 1)
                continue
        if isinstance(value, dict):
            yield value
        i = text.find("{", end)


def _literal_object(text: str, start: int) -> tuple[dict[str, Any] | None, int]:
    """The dict literal spanning ``text[start:]`` up to the last ``}`` of that line, if it is one."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    close = text.rfind("}", start, line_end)
    if close < 0:
        return None, start
    try:
        value = ast.literal_eval(text[start : close + 1])  # literals only: safe on model output
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None, start
    return (value, close + 1) if isinstance(value, dict) else (None, start)


def _as_calls(obj: dict[str, Any]) -> list[ToolCall]:
    if isinstance(obj.get("tool_calls"), list):
        return [c for item in obj["tool_calls"] if isinstance(item, dict) for c in _as_calls(item)]
    for wrapper in ("function_call", "function"):
        inner = obj.get(wrapper)
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return _as_calls(inner)
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    arg_key = next((k for k in _ARG_KEYS if k in obj), None)
    if name is None or arg_key is None or not name.strip():
        return []
    args = obj[arg_key]
    if isinstance(args, dict):
        return [ToolCall(name=name.strip(), arguments=args)]
    if isinstance(args, str):
        return [ToolCall.from_text(name.strip(), args)]
    return [ToolCall(name=name.strip(), raw_arguments=canonical(args), arguments_error="arguments are not a JSON object")]
