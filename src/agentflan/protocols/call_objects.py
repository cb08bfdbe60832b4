"""Function-calling conventions: a call is a JSON object, and a reply with no call is the answer.

Models tuned for function calling write calls in one of three common shapes, and nothing
else marks a step (no ``Thought:``/``Final Answer:`` keywords):

- ``hermes`` (Hermes, Qwen): ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``
  blocks, one per call, optionally after some reasoning; results come back in
  ``<tool_response>`` blocks.
- ``glaive`` (Glaive function calling): ``<functioncall> {"name": ..., "arguments": '{...}'}``
  on one line, the arguments a quoted JSON string (a Python literal, not JSON; plain JSON is
  read too); results come back after ``FUNCTION RESPONSE:``.
- ``llama3`` (Llama 3.1+ JSON tool calling): the whole reply is ``{"name": ..., "parameters": {...}}``.

Text with no call is the step's ``final_answer``, exactly as written.
"""

from __future__ import annotations

import ast
import json
import re
from typing import ClassVar

from agentflan.conversation import ToolCall
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    ScanProtocol,
    failure,
)
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure, Rendered, register
from agentflan.protocols.json_protocol import scan_object

_WS = " \t\r\n"
_NAME = re.compile(r'\{\s*"name"\s*:\s*"([^"\\\n]+)"')


def _arguments_json(call: ToolCall, protocol: str) -> str:
    """The call's arguments as JSON text: the text it was read from, else ``json.dumps``'s layout."""
    if not call.arguments_ok:
        raise ValueError(f"{protocol}: arguments of {call.name!r} are not a JSON object ({call.arguments_error})")
    return call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments, ensure_ascii=False)


def _answer_step(text: str) -> Scan:
    return Scan(AgentStep(final_answer=text), [(0, len(text), REASONING)])


def _render_answer(step: AgentStep, protocol: str, reads_as_call: bool) -> Rendered:
    """A step with no call: the answer text itself."""
    answer = step.final_answer
    if step.thought is not None or answer is None:
        raise ValueError(f"{protocol} renders a call, or a final answer with no thought")
    if not answer.strip() or reads_as_call:
        raise ValueError(f"{protocol}: the answer {answer[:40]!r} would not read back as an answer")
    return Builder().content(answer, REASONING).rendered()


def object_call(
    text: str, pos: int, args_key: str, *, partial: AgentStep
) -> tuple[ToolCall, int, list[Mark]] | ParseFailure:
    """The call in the JSON object ``{"name": ..., <args_key>: ...}`` at ``text[pos]``, the index
    after it and its marks; a failure's partial is ``partial`` plus whatever call could be read."""
    found = scan_object(text, pos)
    if isinstance(found, str):
        named = _NAME.match(text, pos)  # a half-written call still names its tool
        if named:
            partial.tool_calls.append(ToolCall(named.group(1), raw_arguments=text[named.end() :], arguments_error=found))
        return failure(FailureKind.MALFORMED, f"call object: {found}", text, partial)
    fields, end = found
    name = fields.get("name")
    if name is None or not isinstance(name.value, str) or not name.value.strip():
        return failure(FailureKind.MISSING_FIELD, "the call object has no tool name", text, partial)
    args = fields.get(args_key)
    value = None if args is None else args.value
    unknown = sorted(set(fields) - {"name", args_key})
    if unknown:  # another convention's object (its own keys): the generic JSON scan of detect_calls reads it
        return failure(FailureKind.MALFORMED, f"unexpected key(s) {', '.join(map(repr, unknown))}", text, partial)
    call = _call(name.value, value)
    partial.tool_calls.append(call)
    if args is None:
        return failure(FailureKind.MISSING_FIELD, f"no {args_key!r}", text, partial)
    if not call.arguments_ok or not isinstance(value, dict | str):
        return failure(FailureKind.BAD_ARGUMENTS, f"{args_key!r} is not a JSON object", text, partial)
    quoted = isinstance(value, str)
    marks: list[Mark] = [(name.start + 1, name.end - 1, RETRIEVAL), (args.start + quoted, args.end - quoted, UNDERSTANDING)]
    return call, end, marks


def _call(name: str, value: object) -> ToolCall:
    """A call from a decoded arguments value (a JSON object, or JSON text of one); the arguments'
    source text is kept only when it does not parse, so a re-render reads back the same call."""
    if isinstance(value, str):
        call = ToolCall.from_text(name, value)
        return ToolCall(name, call.arguments) if call.arguments_ok else call
    return ToolCall(name, value if isinstance(value, dict) else {})


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # where Python's tokenizer starts a line (``ast`` counts lines so)


def _literal_marks(source: str, tree: ast.Dict, offset: int) -> list[Mark]:
    """Name and argument spans of the dict literal ``source`` (at ``offset`` in the reply), from the
    parser's own node positions: only the literal's top-level keys count, never a key inside the
    arguments' text (``'{"name": null}'``); a quoted value's span is inside its quotes."""
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(source))]

    def at(line: int, byte_col: int) -> int:  # ``ast`` columns are UTF-8 byte offsets within a line
        head = source[starts[line - 1] :].encode()[:byte_col]
        return offset + starts[line - 1] + len(head.decode(errors="ignore"))

    marks: list[Mark] = []
    for key, value in zip(tree.keys, tree.values, strict=True):
        if not isinstance(key, ast.Constant) or key.value not in ("name", "arguments"):
            continue
        lo, hi = at(value.lineno, value.col_offset), at(value.end_lineno or value.lineno, value.end_col_offset or 0)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            written = ast.get_source_segment(source, value) or ""
            quote = 3 if written.endswith(("'''", '"""')) else 1
            lo, hi = lo + len(written) - len(written.lstrip("rRuUbBfF")) + quote, hi - quote
        marks.append((lo, hi, RETRIEVAL if key.value == "name" else UNDERSTANDING))
    return marks


def _opening(text: str, marker: str) -> Scan | tuple[int, AgentStep, list[Mark]]:
    """Where the first call opens, and the step so far: the prose before it is the thought (one
    line break before the call is layout); text with no call is the answer, a whole step."""
    at = text.find(marker)
    if at < 0:
        return _answer_step(text)
    if at == 0:
        return at, AgentStep(), []
    thought = text[: at - 1] if text[at - 1] == "\n" else text[:at]
    return at, AgentStep(thought=thought), [(0, len(thought), REASONING)]


def _thought_lead(step: AgentStep, marker: str, protocol: str) -> Builder:
    """A builder holding the step's thought and the line break before its first call."""
    b = Builder()
    if step.thought is not None:
        if marker in step.thought:
            raise ValueError(f"{protocol}: the thought holds {marker!r}")
        b.content(step.thought, REASONING).syntax("\n")
    return b


@register
class HermesProtocol(ScanProtocol):
    name = "hermes"
    template = "hermes"
    OPEN: ClassVar[str] = "<tool_call>"
    CLOSE: ClassVar[str] = "</tool_call>"

    def render(self, step: AgentStep) -> Rendered:
        if not step.tool_calls:
            return _render_answer(step, self.name, self.OPEN in (step.final_answer or ""))
        if step.final_answer is not None:
            raise ValueError(f"{self.name} cannot render tool calls and a final answer in one step")
        b = _thought_lead(step, self.OPEN, self.name)
        for n, call in enumerate(step.tool_calls):
            args = _arguments_json(call, self.name)
            b.syntax(("\n" if n else "") + self.OPEN + '\n{"name": "').content(json.dumps(call.name, ensure_ascii=False)[1:-1], RETRIEVAL)
            b.syntax('", "arguments": ').content(args, UNDERSTANDING).syntax("}\n" + self.CLOSE)
        return b.rendered()

    def render_observation(self, text: str) -> str:
        return f"<tool_response>\n{text}\n</tool_response>"

    def scan_text(self, text: str) -> Scan | ParseFailure:
        opened = _opening(text, self.OPEN)
        if isinstance(opened, Scan):
            return opened
        at, step, marks = opened
        while True:
            pos = at + len(self.OPEN)
            while pos < len(text) and text[pos] in _WS:
                pos += 1
            found = object_call(text, pos, "arguments", partial=step)
            if isinstance(found, ParseFailure):
                return found
            _, end, call_marks = found
            marks += call_marks
            close = end
            while close < len(text) and text[close] in _WS:
                close += 1
            if not text.startswith(self.CLOSE, close):
                return failure(FailureKind.MALFORMED, f"{self.OPEN} is not closed by {self.CLOSE}", text, step)
            rest = close + len(self.CLOSE)
            at = rest
            while at < len(text) and text[at] in _WS:
                at += 1
            if at == len(text):
                return Scan(step, marks)
            if not text.startswith(self.OPEN, at):
                return failure(FailureKind.EXTRA_TEXT, f"text after {self.CLOSE}", text, step)


@register
class GlaiveProtocol(ScanProtocol):
    name = "glaive"
    template = "glaive"
    OPEN: ClassVar[str] = "<functioncall>"

    def render(self, step: AgentStep) -> Rendered:
        if not step.tool_calls:
            return _render_answer(step, self.name, self.OPEN in (step.final_answer or ""))
        if len(step.tool_calls) > 1 or step.final_answer is not None:
            raise ValueError(f"{self.name} renders one call per step, with no final answer")
        call = step.tool_calls[0]
        b = _thought_lead(step, self.OPEN, self.name)
        args = repr(_arguments_json(call, self.name))  # Glaive quotes the arguments' JSON as a Python string
        b.syntax(self.OPEN + ' {"name": "').content(json.dumps(call.name, ensure_ascii=False)[1:-1], RETRIEVAL)
        b.syntax('", "arguments": ' + args[0]).content(args[1:-1], UNDERSTANDING).syntax(args[-1] + "}")
        return b.rendered()

    def render_observation(self, text: str) -> str:
        return f"FUNCTION RESPONSE: {text}"

    def scan_text(self, text: str) -> Scan | ParseFailure:
        opened = _opening(text, self.OPEN)
        if isinstance(opened, Scan):
            return opened
        at, step, marks = opened
        pos = at + len(self.OPEN)
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        found = object_call(text, pos, "arguments", partial=AgentStep(thought=step.thought))
        if isinstance(found, ParseFailure) and found.kind is FailureKind.MALFORMED:  # not JSON: Glaive's literal form?
            literal = self._literal_call(text, pos, step)
            found = found if isinstance(literal, ParseFailure) and literal.kind is FailureKind.MALFORMED else literal
        if isinstance(found, ParseFailure):
            return found
        call, end, call_marks = found
        step.tool_calls = [call]
        if text[end:].strip():
            return failure(FailureKind.EXTRA_TEXT, "text after the call", text, step)
        return Scan(step, marks + call_marks)

    def _literal_call(self, text: str, pos: int, step: AgentStep) -> tuple[ToolCall, int, list[Mark]] | ParseFailure:
        """Glaive's own form: a Python dict literal on one line, the arguments a quoted JSON string."""
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        close = text.rfind("}", pos, line_end)
        source = text[pos : close + 1] if close > pos else ""
        try:
            tree = ast.parse(source, mode="eval").body
            value = ast.literal_eval(tree)  # literals only: safe on model output
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            tree, value = None, None
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(value, dict) or not isinstance(name, str) or not name.strip():
            return failure(FailureKind.MALFORMED, f"{self.OPEN} is not followed by a call object", text, step)
        args = value.get("arguments")
        call = _call(name, args)
        step.tool_calls = [call]
        if set(value) != {"name", "arguments"}:
            return failure(FailureKind.MALFORMED, "the call object needs exactly 'name' and 'arguments'", text, step)
        if not call.arguments_ok or not isinstance(args, dict | str):
            return failure(FailureKind.BAD_ARGUMENTS, "'arguments' is not a JSON object", text, step)
        assert isinstance(tree, ast.Dict)  # literal_eval read a dict from it
        return call, close + 1, _literal_marks(source, tree, pos)


@register
class Llama3Protocol(ScanProtocol):
    name = "llama3"
    template = "llama3"

    def render(self, step: AgentStep) -> Rendered:
        if not step.tool_calls:
            return _render_answer(step, self.name, (step.final_answer or "").lstrip().startswith("{"))
        if len(step.tool_calls) > 1 or step.final_answer is not None or step.thought is not None:
            raise ValueError(f"{self.name} renders one call per step, with no thought or final answer")
        call = step.tool_calls[0]
        b = Builder().syntax('{"name": "').content(json.dumps(call.name, ensure_ascii=False)[1:-1], RETRIEVAL)
        return b.syntax('", "parameters": ').content(_arguments_json(call, self.name), UNDERSTANDING).syntax("}").rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        pos = len(text) - len(text.lstrip())
        if not text.startswith("{", pos):
            return _answer_step(text)
        step = AgentStep()
        found = object_call(text, pos, "parameters", partial=step)
        if isinstance(found, ParseFailure):
            return found
        _, end, marks = found
        if text[end:].strip():
            return failure(FailureKind.EXTRA_TEXT, "text after the call object", text, step)
        return Scan(step, marks)
