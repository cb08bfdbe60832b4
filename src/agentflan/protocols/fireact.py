"""Bracket ReAct as FireAct writes it: ``Thought: ...\\nAction: search[...]`` / ``lookup[...]`` / ``finish[...]``.

``search[entity]`` and ``lookup[keyword]`` are tool calls (arguments ``{"entity"}`` /
``{"keyword"}``); ``finish[answer]`` is the final answer. FireAct's CoT rows are the same
shape (one thought, then ``finish``) and its Reflexion rows only add reflection sentences to
the thought, so one grammar covers every method. A ``Thought:`` with no action is a
think-only step (``AgentStep(thought=...)``): FireAct's trajectories contain a few, and its
environment answers them rather than failing. As in FireAct's own action parser the argument
runs to the last ``]`` of the line, so ``search[a], search[b]`` is one search for
``a], search[b``.
"""

from __future__ import annotations

import re

from agentflan.conversation import ToolCall
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Scan,
    ScanProtocol,
    drop_lead,
    failure,
    keyword_at_line_start,
    keyword_value,
    lead_sep,
    loose_value,
    single_call,
)
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure, Rendered, register

THOUGHT = "Thought:"
ACTION = "Action:"
FINISH = "finish"
#: the tool actions and the name of their one argument (the ReAct paper's Wikipedia API)
ARGUMENT = {"search": "entity", "lookup": "keyword"}

_ACTION = keyword_at_line_start(ACTION)
_BRACKET = re.compile(r"(\w+)\[(.*)\][ \t]*")


@register
class FireActProtocol(ScanProtocol):
    name = "fireact"
    template = "fireact"

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        b = Builder()
        if step.thought is not None:
            b.syntax(THOUGHT + lead_sep(step.thought, " ")).content(step.thought, REASONING)
            if step.tool_calls or step.final_answer is not None:
                b.syntax("\n")
        if step.tool_calls:
            call = step.tool_calls[0]
            key = ARGUMENT.get(call.name)
            value = call.arguments.get(key) if key else None
            if not isinstance(value, str) or set(call.arguments) != {key}:
                raise ValueError(f"fireact renders search/lookup with one string argument, got {call.to_dict()}")
            b.syntax(ACTION + " ").content(call.name, RETRIEVAL).syntax("[").content(value, UNDERSTANDING).syntax("]")
        elif step.final_answer is not None:
            b.syntax(f"{ACTION} {FINISH}[").content(step.final_answer, REASONING).syntax("]")
        elif step.thought is None:
            raise ValueError("fireact needs a thought, an action or a final answer")
        return b.rendered()

    def render_observation(self, text: str) -> str:
        return f"Observation: {text}"

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = _ACTION.search(text, start)
        if not m_act:
            thought = keyword_value(text, start, len(text), THOUGHT)
            if isinstance(thought, ParseFailure):
                thought.message = f"neither {THOUGHT!r} nor {ACTION!r}"
                thought.partial = AgentStep(thought=loose_value(text[start:], THOUGHT))
                return thought
            return Scan(AgentStep(thought=thought[0]), thought[1])
        thought = keyword_value(text, start, m_act.start(), THOUGHT)
        line_end = text.find("\n", m_act.end())
        line_end = len(text) if line_end < 0 else line_end
        line, k = drop_lead(text[m_act.end() : line_end], " ")
        extra = len(line) - len(line.lstrip(" \t"))  # FireAct's models also write "Action:  finish[...]"
        line, k = line[extra:], k + extra
        line_start = m_act.end() + k
        m = _BRACKET.fullmatch(line)
        if m is None:
            partial = AgentStep(thought=loose_value(text[start : m_act.start()], THOUGHT))
            return failure(FailureKind.MALFORMED, f"action {line.strip()!r} is not name[argument]", text, partial)
        name, arg = m.group(1).lower(), m.group(2)
        name_span = (line_start, line_start + len(name))
        arg_span = (line_start + m.start(2), line_start + m.end(2))
        if name == FINISH:
            step = AgentStep(final_answer=arg)
            marks = [(*arg_span, REASONING)]
        else:
            step = AgentStep(tool_calls=[ToolCall(name, {ARGUMENT.get(name, "input"): arg})])
            marks = [(*name_span, RETRIEVAL), (*arg_span, UNDERSTANDING)]
        if isinstance(thought, ParseFailure):
            step.thought = loose_value(text[start : m_act.start()], THOUGHT)
            thought.partial = step
            return thought
        step.thought = thought[0]
        marks += thought[1]
        if name != FINISH and name not in ARGUMENT:
            return failure(FailureKind.UNKNOWN_ACTION, f"unknown action {m.group(1)!r}", text, step)
        if text[line_end:].strip():
            return failure(FailureKind.EXTRA_TEXT, "text after the action", text, step)
        return Scan(step, marks)
