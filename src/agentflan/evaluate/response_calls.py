"""Find the tool calls in a free-form response, whatever convention the model used.

Under a general system prompt no format is asked for, so a model may call a tool the way it
was tuned to: a ReAct ``Action:``/``Action Input:`` pair, an agentflan JSON protocol object, a
Hermes/Qwen ``<tool_call>{...}</tool_call>`` block, a Glaive ``<functioncall> {...}``, a
Llama-3 ``{"name", "parameters"}`` object, or the ``{"name", "arguments"}`` lines the
``openai`` backend writes for structured calls. The protocol parsers handle their own formats
(a broken attempt still counts: its partial step names the tool); JSON objects of a call's
shape are found by decoding each ``{`` in turn.

Answer pseudo-actions (ToolLLaMA's ``Finish``, T-Eval's ``FinishAction``) are not calls.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence
from typing import Any

from agentflan.conversation import ToolCall
from agentflan.protocols.base import AgentStep, ParseFailure, get_protocol

#: Actions that end a task with an answer rather than call a tool.
ANSWER_ACTIONS = frozenset({"Finish", "FinishAction", "Final Answer", "final_answer", "finish"})
#: Protocols tried on a general-prompt response, in order.
DETECT_PROTOCOLS: tuple[str, ...] = ("react", "json", "json-goal")

_NAME_KEYS = ("name", "tool", "tool_name", "function", "api", "action", "Tool")
_ARG_KEYS = ("arguments", "parameters", "args", "action_input", "Param", "params", "input")
_DECODER = json.JSONDecoder()


def step_of(result: AgentStep | ParseFailure) -> AgentStep | None:
    """The step a parse produced, or the part a failed parse recovered."""
    return result if isinstance(result, AgentStep) else result.partial


def real_calls(step: AgentStep | None) -> list[ToolCall]:
    """The step's calls that name a tool (not an answer pseudo-action, not an empty name)."""
    if step is None:
        return []
    return [c for c in step.tool_calls if c.name.strip() and c.name not in ANSWER_ACTIONS]


def detect_calls(text: str, protocols: Sequence[str] = DETECT_PROTOCOLS) -> list[ToolCall]:
    """Every distinct tool call in ``text`` (by name and arguments), first occurrence first."""
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
    return [c for c in calls if c.name not in ANSWER_ACTIONS]


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """Each top-level JSON object embedded in ``text``; an object that is not JSON but a Python
    literal on one line (Glaive's ``{"name": ..., "arguments": '{...}'}``) counts too."""
    i = text.find("{")
    while i != -1:
        try:
            value, end = _DECODER.raw_decode(text, i)
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
