"""Shared machinery of the text protocols: position-tracking scans, span tiling, keyword layout.

Every protocol here parses by *scanning*: it finds where the thought, the action name, the
arguments and the answer sit in the text, so the same pass yields the step (``parse``) and
capability spans over the text as written (``annotate``), even where a re-render would not
reproduce it byte for byte. Whatever a scan does not claim (keywords, separators, fences) is
protocol syntax, i.e. instruction following.
"""

from __future__ import annotations

import json
import re
import string
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agentflan import DATA_DIR
from agentflan.conversation import Capability, Span, Tool
from agentflan.protocols.base import AgentProtocol, AgentStep, FailureKind, ParseFailure, Rendered

Mark = tuple[int, int, Capability]

#: The longest text a parser reads: longer model output (a decoding loop) is a malformed step.
MAX_TEXT_CHARS = 1_000_000
#: The deepest JSON nesting a parser decodes (orjson's read limit); deeper is a malformed value.
MAX_JSON_DEPTH = 1024

REASONING = Capability.REASONING
RETRIEVAL = Capability.RETRIEVAL
UNDERSTANDING = Capability.UNDERSTANDING


@dataclass(slots=True)
class Scan:
    """A parsed step plus the content spans (thought, name, arguments, answer) it came from."""

    step: AgentStep
    marks: list[Mark] = field(default_factory=list)


def tile(length: int, marks: Iterable[Mark]) -> list[Span]:
    """Spans covering ``[0, length)``: the marks, and instruction spans over every gap
    (neighbours of one capability merged, so an empty thought leaves no seam)."""
    spans: list[Span] = []

    def add(start: int, end: int, cap: Capability) -> None:
        if end <= start:
            return
        if spans and spans[-1].capability is cap and spans[-1].end == start:
            spans[-1].end = end
        else:
            spans.append(Span(start, end, cap))

    pos = 0
    for start, end, cap in sorted(m for m in marks if m[1] > m[0]):
        add(pos, start, Capability.INSTRUCTION)
        add(start, end, cap)
        pos = max(pos, end)
    add(pos, length, Capability.INSTRUCTION)
    return spans


class Builder:
    """Assembles rendered text piece by piece, remembering where each content piece landed."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._marks: list[Mark] = []
        self._pos = 0

    def syntax(self, text: str) -> Builder:
        self._parts.append(text)
        self._pos += len(text)
        return self

    def content(self, text: str, cap: Capability) -> Builder:
        self._marks.append((self._pos, self._pos + len(text), cap))
        return self.syntax(text)

    def rendered(self) -> Rendered:
        text = "".join(self._parts)
        return Rendered(text, tile(len(text), self._marks))


# --------------------------------------------------------------------------- keyword layout
#
# A value follows its keyword after a separator (``"Thought: x"``: " "). Parsing drops the
# separator when present; rendering writes it, except that a value starting with a newline
# needs no space before it (``"Thought:\nx"``). The two rules invert each other exactly, so
# parse(render(step)) == step for every value, and typical source text re-renders unchanged.


def lead_sep(value: str, sep: str) -> str:
    """The separator to write between a keyword and ``value``."""
    return "" if sep == " " and value.startswith("\n") else sep


def drop_lead(rest: str, sep: str) -> tuple[str, int]:
    """``rest`` without its leading separator, and how many characters were dropped."""
    return (rest[len(sep) :], len(sep)) if rest.startswith(sep) else (rest, 0)


_TRAILING_BREAK = re.compile(r"\n[ \t]*\Z")


def drop_trail(chunk: str, sep: str) -> str:
    """A value that runs up to the next keyword line, without the separator before that line."""
    if chunk.endswith(sep):
        return chunk[: len(chunk) - len(sep)]
    m = _TRAILING_BREAK.search(chunk)
    return chunk[: m.start()] if m else chunk


def keyword_at_line_start(keyword: str, *, indent: bool = False) -> re.Pattern[str]:
    """A pattern for ``keyword`` at the start of a line (optionally indented)."""
    return re.compile(("(?m)^[ \t]*" if indent else "(?m)^") + re.escape(keyword))


def keyword_value(
    text: str, start: int, end: int, keyword: str, *, lead: str = " ", trail: str = "\n"
) -> tuple[str | None, list[Mark]] | ParseFailure:
    """The value of ``keyword`` opening ``text[start:end]`` (the lines before the next keyword), as
    a reasoning span; ``None`` when the region is empty, a failure when the keyword is missing."""
    chunk = text[start:end]
    if not chunk:
        return None, []
    if not chunk.startswith(keyword):
        return failure(FailureKind.MISSING_FIELD, f"text before the action does not start with {keyword!r}", text)
    rest, k = drop_lead(chunk[len(keyword) :], lead)
    value = drop_trail(rest, trail) if end < len(text) else rest
    value_start = start + len(keyword) + k
    return value, [(value_start, value_start + len(value), REASONING)]


def loose_value(chunk: str, keyword: str) -> str | None:
    """Best-effort value for a failure's ``partial``: the text minus its keyword."""
    chunk = chunk.strip()
    if chunk.startswith(keyword):
        chunk = chunk[len(keyword) :].strip()
    return chunk or None


_DECODER = json.JSONDecoder()


class TooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`; ``at`` is where the limit was passed."""

    def __init__(self, at: int) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels at offset {at}")
        self.at = at
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def decode_json_at(text: str, pos: int) -> tuple[Any, int]:
    """The JSON value starting at ``text[pos]`` and the index after it, as ``JSONDecoder.raw_decode``;
    a value nested deeper than :data:`MAX_JSON_DEPTH` raises ``ValueError`` like any bad JSON,
    so a looping model's ``[[[[...`` is a parse failure, never a ``RecursionError``."""
    if text.startswith(("[", "{"), pos) and (text.count("[", pos) + text.count("{", pos)) > MAX_JSON_DEPTH:
        depth = 0
        for m in _JSON_TOKEN.finditer(text, pos):
            tok = m.group()
            if tok in "[{":
                depth += 1
                if depth > MAX_JSON_DEPTH:
                    raise TooDeep(m.start())
            elif tok in "]}":
                depth -= 1
                if depth == 0:
                    break
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:  # a deep value on an already deep stack
        raise TooDeep(pos) from None


def failure(kind: FailureKind, message: str, text: str, partial: AgentStep | None = None) -> ParseFailure:
    return ParseFailure(kind, message, text, partial)


# --------------------------------------------------------------------------- base class


class ScanProtocol(AgentProtocol):
    """A protocol whose parser is a scan; ``template`` names its prompt file under data/protocols."""

    template: str

    def scan(self, text: str) -> Scan | ParseFailure:
        """The step and its content spans, or what broke (empty and overlong text are refused here, once)."""
        if not text.strip():
            return failure(FailureKind.EMPTY, "no text", text)
        if len(text) > MAX_TEXT_CHARS:
            return failure(FailureKind.MALFORMED, f"{len(text):,} characters; a step is at most {MAX_TEXT_CHARS:,}", text)
        return self.scan_text(text)

    @abstractmethod
    def scan_text(self, text: str) -> Scan | ParseFailure:
        """:meth:`scan` for text that is not blank."""

    def parse(self, text: str) -> AgentStep | ParseFailure:
        result = self.scan(text)
        return result if isinstance(result, ParseFailure) else result.step

    def annotate(self, text: str) -> Rendered | ParseFailure:
        """Capability spans over ``text`` exactly as written (no re-rendering)."""
        result = self.scan(text)
        if isinstance(result, ParseFailure):
            return result
        return Rendered(text, tile(len(text), result.marks))

    def format_instruction(self, tools: list[Tool]) -> str:
        return tool_prompt(self.template, tools)


def tool_prompt(name: str, tools: Sequence[Tool]) -> str:
    """The prompt ``data/protocols/<name>.txt`` telling a model which tools it has and how to call them:
    ``$tools`` is :func:`describe_tools`, ``$tool_names`` the names, comma-separated. The chat
    templates' own tool lists are this text too (:mod:`agentflan.generation.tool_list`)."""
    return load_template(name).substitute(tools=describe_tools(tools), tool_names=", ".join(t.name for t in tools))


@cache
def load_template(name: str) -> string.Template:
    """A prompt template from ``agentflan/data/protocols/<name>.txt`` (``$tools``, ``$tool_names``)."""
    path = DATA_DIR / "protocols" / f"{name}.txt"
    return string.Template(path.read_text(encoding="utf-8"))


def describe_tools(tools: Iterable[Tool]) -> str:
    """The one listing of tools in a prompt: protocol instructions, the recipe's chat system prompts
    and Agent-H's general prompt all use it, so a model is trained and evaluated on one layout. One
    entry per tool (``data/protocols/tool_entry.txt``: name, description, JSON-Schema parameters;
    the layout of the released Agent-FLAN rows), entries separated by a blank line."""
    entry = tool_entry()
    return "\n\n".join(
        entry.substitute(name=t.name, description=t.description, parameters=json.dumps(t.parameters, ensure_ascii=False))
        for t in tools
    )


@cache
def tool_entry() -> string.Template:
    """One tool's entry in :func:`describe_tools` (``$name``, ``$description``, ``$parameters``)."""
    path = DATA_DIR / "protocols" / "tool_entry.txt"
    return string.Template(path.read_text(encoding="utf-8").removesuffix("\n"))


def single_call(step: AgentStep, protocol: str) -> None:
    """Reject steps a one-action-per-turn protocol cannot express (a programming error, not bad data)."""
    if len(step.tool_calls) > 1:
        raise ValueError(f"protocol {protocol!r} renders one action per step, got {len(step.tool_calls)}")
    if step.tool_calls and step.final_answer is not None:
        raise ValueError(f"protocol {protocol!r} cannot render a tool call and a final answer in one step")
