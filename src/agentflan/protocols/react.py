"""ReAct as ToolLLaMA and lagent write it: ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Final Answer:``.

ToolLLaMA's assistant turns read ``"\\nThought: <thought>\\nAction: <tool>\\nAction Input: <json>"``
(a leading newline, ``Thought: `` even when the thought is empty) and end with the call
``Action: Finish`` / ``{"return_type": "give_answer", "final_answer": ...}``, which stays an
ordinary tool call named ``Finish`` here. lagent ends with ``Final Answer:`` instead; that
becomes ``AgentStep.final_answer``. Rendering follows ToolLLaMA's layout, so its turns
re-render byte for byte; lagent text (no leading newline) parses the same way.

The thought may itself contain ``Thought:`` or ``Final Answer:`` lines (ToolLLaMA's do), so
the action is the last ``Action:`` line before the first ``Action Input:`` line. Anything
after the arguments (an ``Observation:`` the model went on to invent, a second step) is
``extra_text``.
"""

from __future__ import annotations

import re

from agentflan.conversation import ToolCall
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    ScanProtocol,
    decode_json_at,
    drop_lead,
    drop_trail,
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
ACTION_INPUT = "Action Input:"
FINAL_ANSWER = "Final Answer:"
OBSERVATION = "Observation:"

_ACTION = keyword_at_line_start(ACTION)
_ACTION_INPUT = keyword_at_line_start(ACTION_INPUT)
_FINAL = keyword_at_line_start(FINAL_ANSWER)
_OBSERVATION = re.compile(r"(?m)^(?:Observation|Response):")


@register
class ReActProtocol(ScanProtocol):
    name = "react"
    template = "react"

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        b = Builder().syntax("\n")
        if step.thought is not None:
            b.syntax(THOUGHT + lead_sep(step.thought, " ")).content(step.thought, REASONING).syntax("\n")
        if step.tool_calls:
            call = step.tool_calls[0]
            args = call.arguments_text()
            b.syntax(ACTION + " ").content(call.name, RETRIEVAL)
            b.syntax("\n" + ACTION_INPUT + lead_sep(args, " ")).content(args, UNDERSTANDING)
        elif step.final_answer is not None:
            b.syntax(FINAL_ANSWER + lead_sep(step.final_answer, " ")).content(step.final_answer, REASONING)
        else:
            raise ValueError("react needs an action or a final answer in every step")
        return b.rendered()

    def render_observation(self, text: str) -> str:
        return f"{OBSERVATION} {text}"

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_in = _ACTION_INPUT.search(text, start)
        if m_in:
            return self._scan_action(text, start, m_in)
        m_final = _FINAL.search(text, start)
        if m_final:
            return self._scan_final(text, start, m_final)
        m_act = _ACTION.search(text, start)
        if m_act:
            name = text[m_act.end() :].split("\n", 1)[0].strip()
            partial = AgentStep(thought=loose_value(text[start : m_act.start()], THOUGHT), tool_calls=[ToolCall(name)])
            return failure(FailureKind.MISSING_FIELD, f"{ACTION!r} without {ACTION_INPUT!r}", text, partial)
        partial = AgentStep(thought=loose_value(text[start:], THOUGHT))
        return failure(FailureKind.MISSING_FIELD, f"neither {ACTION!r} nor {FINAL_ANSWER!r}", text, partial)

    def _scan_action(self, text: str, start: int, m_in: re.Match[str]) -> Scan | ParseFailure:
        actions = list(_ACTION.finditer(text, start, m_in.start()))
        if not actions:
            return failure(FailureKind.MISSING_FIELD, f"{ACTION_INPUT!r} without {ACTION!r}", text)
        m_act = actions[-1]
        line_end = text.index("\n", m_act.end())  # Action Input starts a later line
        name_text = text[m_act.end() : line_end]
        name = name_text.strip()
        name_start = m_act.end() + len(name_text) - len(name_text.lstrip())
        k = drop_lead(text[m_in.end() :], " ")[1]
        args_start = m_in.end() + k
        m_obs = _OBSERVATION.search(text, args_start)
        args_end = m_obs.start() if m_obs else len(text)
        raw = text[args_start:args_end]
        if m_obs:
            raw = drop_trail(raw, "\n")
            args_end = args_start + len(raw)
        call = ToolCall.from_text(name, raw)
        thought = keyword_value(text, start, m_act.start(), THOUGHT)
        if isinstance(thought, ParseFailure):
            thought.partial = AgentStep(thought=loose_value(text[start : m_act.start()], THOUGHT), tool_calls=[call])
            return thought
        step = AgentStep(thought=thought[0], tool_calls=[call])
        if text[line_end : m_in.start()].strip():
            return failure(FailureKind.MALFORMED, f"text between {ACTION!r} and {ACTION_INPUT!r}", text, step)
        if not name:
            return failure(FailureKind.MISSING_FIELD, "empty action name", text, step)
        if not call.arguments_ok:
            return _bad_arguments(text, raw, step, call.arguments_error or "")
        if m_obs:
            return failure(FailureKind.EXTRA_TEXT, "text after the action input", text, step)
        marks: list[Mark] = [*thought[1], (name_start, name_start + len(name), RETRIEVAL)]
        marks.append((args_start, args_end, UNDERSTANDING))
        return Scan(step, marks)

    def _scan_final(self, text: str, start: int, m_final: re.Match[str]) -> Scan | ParseFailure:
        rest, k = drop_lead(text[m_final.end() :], " ")
        answer_start = m_final.end() + k
        m_obs = _OBSERVATION.search(text, answer_start)
        answer = drop_trail(text[answer_start : m_obs.start()], "\n") if m_obs else rest
        thought = keyword_value(text, start, m_final.start(), THOUGHT)
        if isinstance(thought, ParseFailure):
            thought.partial = AgentStep(thought=loose_value(text[start : m_final.start()], THOUGHT), final_answer=answer)
            return thought
        step = AgentStep(thought=thought[0], final_answer=answer)
        if m_obs:
            return failure(FailureKind.EXTRA_TEXT, "text after the final answer", text, step)
        return Scan(step, [*thought[1], (answer_start, answer_start + len(answer), REASONING)])


def _bad_arguments(text: str, raw: str, step: AgentStep, error: str) -> ParseFailure:
    """Arguments that are not a JSON object: a complete object followed by more text is extra text."""
    body = raw.lstrip()
    try:
        value, end = decode_json_at(body, 0)
    except ValueError:
        return failure(FailureKind.BAD_ARGUMENTS, f"{ACTION_INPUT} {error}", text, step)
    if isinstance(value, dict) and body[end:].strip():
        step.tool_calls[0] = ToolCall(step.tool_calls[0].name, value, raw_arguments=body[:end])
        return failure(FailureKind.EXTRA_TEXT, "text after the action input", text, step)
    return failure(FailureKind.BAD_ARGUMENTS, f"{ACTION_INPUT} {error}", text, step)
