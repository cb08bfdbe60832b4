"""The AgentInstruct tasks on the web and a knowledge base: WebShop, KG, Mind2Web (see
:mod:`agentflan.protocols.agentinstruct` for the table of all six syntaxes)."""

from __future__ import annotations

import re

from agentflan.conversation import Tool, ToolCall
from agentflan.protocols._agentinstruct import TaskProtocol, rest_of_line, string_arg, thought_prefix
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    drop_lead,
    failure,
    keyword_at_line_start,
    keyword_value,
    lead_sep,
    loose_value,
    single_call,
)
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure, Rendered, register

# --------------------------------------------------------------------------- WebShop

WEBSHOP_ARGUMENT = {"search": "keywords", "click": "value"}


@register
class WebShopProtocol(TaskProtocol):
    name = "agentinstruct-webshop"
    template = "agentinstruct-webshop"
    task = "webshop"

    _ACTION = keyword_at_line_start("Action:")
    _CALL = re.compile(r"(\w+)\[(.*)\][ \t]*")

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        if not step.tool_calls or step.tool_calls[0].name not in WEBSHOP_ARGUMENT:
            raise ValueError("agentinstruct-webshop needs a search or click action in every step")
        call = step.tool_calls[0]
        b = Builder()
        thought_prefix(b, "Thought:", step.thought, "\n", "\n\n")
        value = string_arg(call, WEBSHOP_ARGUMENT[call.name], self.name)
        b.syntax("Action:\n").content(call.name, RETRIEVAL).syntax("[").content(value, UNDERSTANDING).syntax("]")
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = self._ACTION.search(text, start)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Action:'", text, AgentStep(thought=loose_value(text, "Thought:")))
        thought = keyword_value(text, start, m_act.start(), "Thought:", lead="\n", trail="\n\n")
        after = text[m_act.end() :]
        pos = m_act.end() + len(after) - len(after.lstrip())
        line, line_start, line_end = rest_of_line(text, pos, "")
        m = self._CALL.fullmatch(line)
        partial = AgentStep(thought=loose_value(text[start : m_act.start()], "Thought:"))
        if m is None:
            return failure(FailureKind.MALFORMED, f"action {line.strip()!r} is not search[...] or click[...]", text, partial)
        name, arg = m.group(1), m.group(2)
        step = AgentStep(tool_calls=[ToolCall(name, {WEBSHOP_ARGUMENT.get(name, "input"): arg})])
        if isinstance(thought, ParseFailure):
            step.thought = partial.thought
            thought.partial = step
            return thought
        step.thought = thought[0]
        if name not in WEBSHOP_ARGUMENT:
            return failure(FailureKind.UNKNOWN_ACTION, f"unknown action {name!r}", text, step)
        if text[line_end:].strip():
            return failure(FailureKind.EXTRA_TEXT, "text after the action", text, step)
        marks: list[Mark] = [
            (line_start, line_start + len(name), RETRIEVAL),
            (line_start + m.start(2), line_start + m.end(2), UNDERSTANDING),
        ]
        return Scan(step, marks + thought[1])


# --------------------------------------------------------------------------- KG

#: the knowledge-base API of AgentBench's KG task: function -> parameter names
KG_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "get_relations": ("variable",),
    "get_neighbors": ("variable", "relation"),
    "intersection": ("variable1", "variable2"),
    "get_attributes": ("variable",),
    "argmax": ("variable", "attribute"),
    "argmin": ("variable", "attribute"),
    "count": ("variable",),
}


def _kg_tool(name: str, params: tuple[str, ...]) -> Tool:
    properties = {p: {"type": "string"} for p in params}
    return Tool(name, "", {"type": "object", "properties": properties, "required": list(params)})


@register
class KgProtocol(TaskProtocol):
    name = "agentinstruct-kg"
    template = "agentinstruct-kg"
    task = "kg"
    observation_prefix = "Observation: "

    _ACTION = keyword_at_line_start("Action:")
    _FINAL = keyword_at_line_start("Final Answer:")
    _CALL = re.compile(r"(\w+)\((.*)\)[ \t]*")

    def format_instruction(self, tools: list[Tool]) -> str:
        """The prompt listing ``tools``, or the KB API's own functions when none are given."""
        return super().format_instruction(tools or [_kg_tool(name, params) for name, params in KG_FUNCTIONS.items()])

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        b = Builder()
        thought_prefix(b, "Thought:", step.thought, " ", "\n")
        if step.final_answer is not None:
            b.syntax("Final Answer:" + lead_sep(step.final_answer, " ")).content(step.final_answer, REASONING)
        elif step.tool_calls and step.tool_calls[0].name in KG_FUNCTIONS:
            call = step.tool_calls[0]
            params = KG_FUNCTIONS[call.name]
            if set(call.arguments) != set(params):
                raise ValueError(f"agentinstruct-kg: {call.name} takes {params}, got {call.to_dict()}")
            args = ", ".join(string_arg(call, p, self.name) for p in params)
            b.syntax("Action: ").content(call.name, RETRIEVAL).syntax("(").content(args, UNDERSTANDING).syntax(")")
        else:
            raise ValueError("agentinstruct-kg needs a KB function call or a final answer in every step")
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = self._ACTION.search(text, start)
        m_final = self._FINAL.search(text, start)
        if m_final and (m_act is None or m_final.start() < m_act.start()):
            answer, k = drop_lead(text[m_final.end() :], " ")
            answer_start = m_final.end() + k
            thought = keyword_value(text, start, m_final.start(), "Thought:")
            step = AgentStep(final_answer=answer)
            marks: list[Mark] = [(answer_start, len(text), REASONING)]
            keyword_pos = m_final.start()
        elif m_act:
            line, line_start, line_end = rest_of_line(text, m_act.end())
            thought = keyword_value(text, start, m_act.start(), "Thought:")
            keyword_pos = m_act.start()
            m = self._CALL.fullmatch(line)
            if m is None:
                partial = AgentStep(thought=loose_value(text[start:keyword_pos], "Thought:"))
                return failure(FailureKind.MALFORMED, f"action {line.strip()!r} is not function(arguments)", text, partial)
            name, raw = m.group(1), m.group(2)
            params = KG_FUNCTIONS.get(name, ("input",))
            values = [v.strip() for v in (raw.rsplit(",", 1) if len(params) == 2 else [raw])]
            step = AgentStep(tool_calls=[ToolCall(name, dict(zip(params, values, strict=False)))])
            marks = [(line_start, line_start + len(name), RETRIEVAL), (line_start + m.start(2), line_start + m.end(2), UNDERSTANDING)]
            problem = None
            if name not in KG_FUNCTIONS:
                problem = failure(FailureKind.UNKNOWN_ACTION, f"unknown KB function {name!r}", text, step)
            elif len(values) != len(params) or not all(values):
                problem = failure(FailureKind.BAD_ARGUMENTS, f"{name} takes {', '.join(params)}; got {raw!r}", text, step)
            elif text[line_end:].strip():
                problem = failure(FailureKind.EXTRA_TEXT, "text after the action", text, step)
            if problem is not None:
                step.thought = loose_value(text[start:keyword_pos], "Thought:")
                return problem
        else:
            partial = AgentStep(thought=loose_value(text, "Thought:"))
            return failure(FailureKind.MISSING_FIELD, "neither 'Action:' nor 'Final Answer:'", text, partial)
        if isinstance(thought, ParseFailure):
            step.thought = loose_value(text[start:keyword_pos], "Thought:")
            thought.partial = step
            return thought
        step.thought = thought[0]
        return Scan(step, marks + thought[1])


# --------------------------------------------------------------------------- Mind2Web

MIND2WEB_OPERATIONS = ("CLICK", "TYPE", "SELECT")


@register
class Mind2WebProtocol(TaskProtocol):
    name = "agentinstruct-mind2web"
    template = "agentinstruct-mind2web"
    task = "mind2web"

    _ANSWER = keyword_at_line_start("Answer:")
    _ACTION = keyword_at_line_start("Action:")
    _VALUE = keyword_at_line_start("Value:")

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        if not step.tool_calls:
            raise ValueError("agentinstruct-mind2web needs an operation in every step")
        call = step.tool_calls[0]
        b = Builder()
        thought_prefix(b, "Thought:", step.thought, " ", "\n")
        b.syntax("Answer: ").content(string_arg(call, "element", self.name), UNDERSTANDING).syntax(".\nAction: ")
        b.content(call.name, RETRIEVAL)
        if "value" in call.arguments:
            b.syntax("\nValue:" + lead_sep(string_arg(call, "value", self.name), " ")).content(call.arguments["value"], UNDERSTANDING)
        if set(call.arguments) - {"element", "value"}:
            raise ValueError(f"agentinstruct-mind2web takes element and value, got {call.to_dict()}")
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_ans = self._ANSWER.search(text, start)
        if m_ans is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Answer:'", text, AgentStep(thought=loose_value(text, "Thought:")))
        thought = keyword_value(text, start, m_ans.start(), "Thought:")
        partial_thought = loose_value(text[start : m_ans.start()], "Thought:")
        line, el_start, line_end = rest_of_line(text, m_ans.end())
        element = line[:-1] if line.endswith(".") else line
        args = {"element": element}
        marks: list[Mark] = [(el_start, el_start + len(element), UNDERSTANDING)]
        m_act = self._ACTION.match(text, line_end + 1)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Action:' line after 'Answer:'", text, AgentStep(thought=partial_thought))
        op, op_start, op_end = rest_of_line(text, m_act.end())
        op = op.rstrip()
        marks.append((op_start, op_start + len(op), RETRIEVAL))
        m_val = self._VALUE.match(text, op_end + 1)
        if m_val:
            value, k = drop_lead(text[m_val.end() :], " ")
            args["value"] = value
            marks.append((m_val.end() + k, len(text), UNDERSTANDING))
        step = AgentStep(tool_calls=[ToolCall(op, args)])
        problem = None
        if isinstance(thought, ParseFailure):
            problem = thought
        elif op not in MIND2WEB_OPERATIONS:
            problem = failure(FailureKind.UNKNOWN_ACTION, f"unknown operation {op!r} (expected CLICK, TYPE or SELECT)", text, step)
        elif op != "CLICK" and "value" not in args:
            problem = failure(FailureKind.MISSING_FIELD, f"{op} needs a 'Value:' line", text, step)
        elif not element:
            problem = failure(FailureKind.MISSING_FIELD, "empty 'Answer:'", text, step)
        elif not m_val and text[op_end:].strip():
            problem = failure(FailureKind.EXTRA_TEXT, "text after the action", text, step)
        if problem is not None:
            step.thought = partial_thought
            problem.partial = step
            return problem
        assert not isinstance(thought, ParseFailure)
        step.thought = thought[0]
        return Scan(step, marks + thought[1])


