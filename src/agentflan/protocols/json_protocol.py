"""JSON protocols: one JSON object per step.

- ``json``: ``{"thought", "action", "action_input"}``; the answer is the action
  ``"Final Answer"`` with the answer text as ``action_input`` (the LangChain convention).
- ``json-goal``: the Agent-FLAN / T-Eval form ``{"goal", "Tool", "Param"}``, rendered as the
  Agent-FLAN release writes it (keys in the order Tool, Param, goal; Python ``json.dumps``
  with ``indent=4``, non-ASCII kept), so released rows re-render byte for byte. The answer is
  lagent's ``FinishAction`` with ``{"response": ...}``.

The object may sit in a Markdown code fence. Keys other than the three are a malformed step;
text outside the object is ``extra_text``.
"""

from __future__ import annotations

import functools
import json
import re
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from agentflan.conversation import Capability, ToolCall
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    ScanProtocol,
    decode_json_at,
    failure,
)
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure, Rendered, register
from agentflan.protocols.calls import FINAL_ANSWER_ACTION, FINISH_ACTION

_WS = re.compile(r"[ \t\n\r]*")
_FENCE = re.compile(r"\A\s*```[\w-]*[ \t]*\n(.*?)\n?[ \t]*```\s*\Z", re.S)


@dataclass(slots=True)
class _Field:
    value: Any
    start: int  # of the value's text
    end: int


def scan_object(text: str, pos: int) -> tuple[dict[str, _Field], int] | str:
    """The top-level members of the JSON object at ``text[pos]`` with the position of each value,
    and the index after the object; or why it is not one (duplicate keys included)."""
    fields: dict[str, _Field] = {}
    try:
        if text[pos] != "{":
            return "expected '{'"
        i = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if text[i] == "}":
            return fields, i + 1
        while True:
            if text[i] != '"':
                return f"expected a key at offset {i}"
            key, i = decode_json_at(text, i)
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if text[i] != ":":
                return f"expected ':' at offset {i}"
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            value, end = decode_json_at(text, i)
            if key in fields:
                return f"duplicate key {key!r}"
            fields[key] = _Field(value, i, end)
            i = _WS.match(text, end).end()  # type: ignore[union-attr]
            if text[i] == "}":
                return fields, i + 1
            if text[i] != ",":
                return f"expected ',' or '}}' at offset {i}"
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    except IndexError:
        return "the object is not closed"
    except ValueError as exc:  # json.JSONDecodeError
        return f"invalid JSON: {exc}"


def _dump(value: Any, indent: int) -> str:
    return _encoder(indent).encode(value)


@functools.cache
def _encoder(indent: int) -> json.JSONEncoder:
    """``json.dumps(..., ensure_ascii=False, indent=indent)``'s encoder, made once (``dumps``
    builds a new one per call when given options; a build renders thousands of steps)."""
    return json.JSONEncoder(ensure_ascii=False, indent=indent)


class _JsonProtocol(ScanProtocol):
    """One JSON object with a thought key, an action key and an arguments key."""

    thought_key: ClassVar[str]
    action_key: ClassVar[str]
    args_key: ClassVar[str]
    order: ClassVar[tuple[str, str, str]]  # key order when rendering
    indent: ClassVar[int]
    finish: ClassVar[str]  # the action name that carries the final answer

    @abstractmethod
    def final_args(self, answer: str) -> Any:
        """The arguments value that carries a final answer."""

    @abstractmethod
    def final_answer(self, args: Any) -> str | None:
        """The answer in a finish action's arguments, or None when they do not hold one."""

    # ----------------------------------------------------------------- render

    def render(self, step: AgentStep) -> Rendered:
        if len(step.tool_calls) > 1 or (step.tool_calls and step.final_answer is not None):
            raise ValueError(f"protocol {self.name!r} renders one action or one final answer per step")
        values: dict[str, tuple[Any, Capability]] = {}
        if step.thought is not None:
            values[self.thought_key] = (step.thought, REASONING)
        if step.tool_calls:
            call = step.tool_calls[0]
            if not call.arguments_ok:
                raise ValueError(f"{self.name}: arguments of {call.name!r} are not a JSON object ({call.arguments_error})")
            values[self.action_key] = (call.name, RETRIEVAL)
            values[self.args_key] = (call.arguments, UNDERSTANDING)
        elif step.final_answer is not None:
            values[self.action_key] = (self.finish, Capability.INSTRUCTION)
            values[self.args_key] = (self.final_args(step.final_answer), REASONING)
        else:
            raise ValueError(f"{self.name} needs an action or a final answer in every step")
        pad = " " * self.indent
        b = Builder().syntax("{")
        for n, key in enumerate(k for k in self.order if k in values):
            value, cap = values[key]
            b.syntax(("," if n else "") + "\n" + pad + _dump(key, self.indent) + ": ")
            if isinstance(value, str):
                b.syntax('"').content(_dump(value, self.indent)[1:-1], cap).syntax('"')
            else:
                b.content(_dump(value, self.indent).replace("\n", "\n" + pad), cap)
        return b.syntax("\n}").rendered()

    # ----------------------------------------------------------------- parse

    def scan_text(self, text: str) -> Scan | ParseFailure:
        fence = _FENCE.match(text)
        lo, hi = fence.span(1) if fence else (0, len(text))
        pos = text.find("{", lo, hi)
        if pos < 0:
            return failure(FailureKind.MALFORMED, "no JSON object", text, AgentStep(thought=text.strip()))
        found = scan_object(text, pos)
        if isinstance(found, str):
            return failure(FailureKind.MALFORMED, found, text)
        fields, end = found
        extra = bool(text[lo:pos].strip() or text[end:hi].strip())
        unknown = sorted(set(fields) - set(self.order))
        if unknown:
            return failure(FailureKind.MALFORMED, f"unexpected key(s) {', '.join(map(repr, unknown))}", text)
        marks: list[Mark] = []
        thought = fields.get(self.thought_key)
        if thought is not None:
            if not isinstance(thought.value, str):
                return failure(FailureKind.MALFORMED, f"{self.thought_key!r} is not a string", text)
            marks.append((thought.start + 1, thought.end - 1, REASONING))
        step = AgentStep(thought=None if thought is None else thought.value)
        action = fields.get(self.action_key)
        args = fields.get(self.args_key)
        if action is None:
            return failure(FailureKind.MISSING_FIELD, f"no {self.action_key!r}", text, step)
        if not isinstance(action.value, str) or not action.value:
            return failure(FailureKind.MALFORMED, f"{self.action_key!r} is not a tool name", text, step)
        if action.value == self.finish:
            answer = None if args is None else self.final_answer(args.value)
            if answer is None:
                return failure(FailureKind.BAD_ARGUMENTS, f"{self.finish!r} without an answer", text, step)
            step.final_answer = answer
            assert args is not None
            quoted = isinstance(args.value, str)
            marks.append((args.start + quoted, args.end - quoted, REASONING))
        else:
            step.tool_calls.append(ToolCall(action.value, args.value if args and isinstance(args.value, dict) else {}))
            marks.append((action.start + 1, action.end - 1, RETRIEVAL))
            if args is None:
                return failure(FailureKind.MISSING_FIELD, f"no {self.args_key!r}", text, step)
            if not isinstance(args.value, dict):
                return failure(FailureKind.BAD_ARGUMENTS, f"{self.args_key!r} is not a JSON object", text, step)
            marks.append((args.start, args.end, UNDERSTANDING))
        if extra:
            return failure(FailureKind.EXTRA_TEXT, "text outside the JSON object", text, step)
        return Scan(step, marks)


@register
class JsonProtocol(_JsonProtocol):
    name = "json"
    template = "json"
    thought_key = "thought"
    action_key = "action"
    args_key = "action_input"
    order = ("thought", "action", "action_input")
    indent = 2
    finish = FINAL_ANSWER_ACTION

    def final_args(self, answer: str) -> Any:
        return answer

    def final_answer(self, args: Any) -> str | None:
        return args if isinstance(args, str) else None


@register
class JsonGoalProtocol(_JsonProtocol):
    name = "json-goal"
    template = "json-goal"
    thought_key = "goal"
    action_key = "Tool"
    args_key = "Param"
    order = ("Tool", "Param", "goal")
    indent = 4
    finish = FINISH_ACTION

    def final_args(self, answer: str) -> Any:
        return {"response": answer}

    def final_answer(self, args: Any) -> str | None:
        if isinstance(args, dict) and set(args) == {"response"} and isinstance(args["response"], str):
            return args["response"]
        return None
