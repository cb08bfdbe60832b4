"""The six AgentInstruct (AgentTuning) task syntaxes, one protocol each.

| name | step text | parsed as |
|---|---|---|
| ``agentinstruct-os`` | ``Think: t\\n\\nAct: bash\\n\\n```bash\\nscript\\n```` | call ``bash`` ``{"script"}`` |
| | ``Act: answer(220)`` / ``Act: finish`` | final answer ``220`` / call ``finish`` ``{}`` |
| ``agentinstruct-db`` | ``t\\nAction: Operation\\n```sql\\nSQL\\n```` | call ``Operation`` ``{"sql"}`` |
| | ``t\\nAction: Answer\\nFinal Answer: ["x"]`` | final answer ``["x"]`` (verbatim) |
| ``agentinstruct-alfworld`` | ``THOUGHT: t\\n ACTION: go to desk 1`` (thought optional) | call ``go to`` ``{"object": "desk 1"}`` |
| ``agentinstruct-webshop`` | ``Thought:\\nt\\n\\nAction:\\nsearch[k]`` / ``click[v]`` | call ``search`` ``{"keywords"}`` / ``click`` ``{"value"}`` |
| ``agentinstruct-kg`` | ``Thought: t\\nAction: get_neighbors(x, r)`` / ``Final Answer: #3`` | call with the function's parameter names / final answer |
| ``agentinstruct-mind2web`` | ``Thought: t\\nAnswer: B.\\nAction: TYPE\\nValue: v`` | call ``TYPE`` ``{"element": "B", "value": "v"}`` |

Each renders in the layout the AgentInstruct data uses, so its turns re-render byte for byte.
ALFWorld commands with a verb outside ALFWorld's command set still parse (the environment,
not the format, rejects them); Mind2Web operations other than CLICK/TYPE/SELECT and KG
functions outside the KB API are ``unknown_action`` failures that keep the call in ``partial``.
"""

from __future__ import annotations

import re
from typing import ClassVar

from agentflan.conversation import Tool, ToolCall
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    ScanProtocol,
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

TASKS = ("os", "db", "alfworld", "webshop", "kg", "mind2web")


def _line(text: str, pos: int, lead: str = " ") -> tuple[str, int, int]:
    """The rest of the line from ``pos`` (its separator dropped), with where it starts and ends."""
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    line, k = drop_lead(text[pos:end], lead)
    return line, pos + k, end


def _thought_prefix(b: Builder, keyword: str, thought: str | None, lead: str, trail: str) -> None:
    if thought is not None:
        b.syntax(keyword + lead_sep(thought, lead)).content(thought, REASONING).syntax(trail)


def _arg(call: ToolCall, key: str, protocol: str) -> str:
    value = call.arguments.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{protocol}: {call.name!r} needs a string {key!r} argument, got {call.to_dict()}")
    return value


class _TaskProtocol(ScanProtocol):
    """An AgentInstruct task; observations come back as the user turn's text."""

    task: ClassVar[str]
    observation_prefix: ClassVar[str] = ""

    def render_observation(self, text: str) -> str:
        return self.observation_prefix + text


# --------------------------------------------------------------------------- OS


@register
class OsProtocol(_TaskProtocol):
    name = "agentinstruct-os"
    template = "agentinstruct-os"
    task = "os"
    observation_prefix = "The output of the OS:\n"

    _ACT = keyword_at_line_start("Act:")
    _BASH = re.compile(r"(bash)[ \t]*\n+```(?:bash|sh)?[ \t]*\n(.*?)\n?```[ \t]*", re.S)
    _ANSWER = re.compile(r"answer\((.*)\)[ \t]*", re.S)
    _FINISH = re.compile(r"(finish)[ \t]*")

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        b = Builder()
        _thought_prefix(b, "Think:", step.thought, " ", "\n\n")
        b.syntax("Act: ")
        if step.final_answer is not None:
            b.syntax("answer(").content(step.final_answer, REASONING).syntax(")")
        elif not step.tool_calls:
            raise ValueError("agentinstruct-os needs bash, finish or an answer in every step")
        elif step.tool_calls[0].name == "bash":
            script = _arg(step.tool_calls[0], "script", self.name)
            b.content("bash", RETRIEVAL).syntax("\n\n```bash\n").content(script, UNDERSTANDING).syntax("\n```")
        elif step.tool_calls[0].name == "finish" and not step.tool_calls[0].arguments:
            b.content("finish", RETRIEVAL)
        else:
            raise ValueError(f"agentinstruct-os has no action {step.tool_calls[0].to_dict()}")
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = self._ACT.search(text, start)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Act:'", text, AgentStep(thought=loose_value(text, "Think:")))
        thought = keyword_value(text, start, m_act.start(), "Think:", trail="\n\n")
        rest, k = drop_lead(text[m_act.end() :], " ")
        base = m_act.end() + k
        marks: list[Mark] = []
        if m := self._ANSWER.fullmatch(rest):
            step = AgentStep(final_answer=m.group(1))
            marks.append((base + m.start(1), base + m.end(1), REASONING))
        elif m := self._FINISH.fullmatch(rest):
            step = AgentStep(tool_calls=[ToolCall("finish")])
            marks.append((base, base + len("finish"), RETRIEVAL))
        elif m := self._BASH.match(rest):
            step = AgentStep(tool_calls=[ToolCall("bash", {"script": m.group(2)})])
            marks += [(base, base + 4, RETRIEVAL), (base + m.start(2), base + m.end(2), UNDERSTANDING)]
            if rest[m.end() :].strip():
                step.thought = thought[0] if isinstance(thought, tuple) else loose_value(text[:m_act.start()], "Think:")
                return failure(FailureKind.EXTRA_TEXT, "text after the bash code block", text, step)
        else:
            word = rest.split(None, 1)[0] if rest.strip() else ""
            kind = FailureKind.MALFORMED if word.startswith(("bash", "answer")) else FailureKind.UNKNOWN_ACTION
            partial = AgentStep(thought=loose_value(text[start : m_act.start()], "Think:"))
            return failure(kind, f"'Act:' must be bash with a code block, answer(...) or finish, got {word!r}", text, partial)
        if isinstance(thought, ParseFailure):
            step.thought = loose_value(text[start : m_act.start()], "Think:")
            thought.partial = step
            return thought
        step.thought = thought[0]
        return Scan(step, marks + thought[1])


# --------------------------------------------------------------------------- DB


@register
class DbProtocol(_TaskProtocol):
    name = "agentinstruct-db"
    template = "agentinstruct-db"
    task = "db"

    _ACTION = keyword_at_line_start("Action:")
    _OPERATION = re.compile(r"(Operation)[ \t]*\n```(?:sql)?[ \t]*\n(.*?)\n?```[ \t]*", re.S)
    _ANSWER = re.compile(r"Answer[ \t]*\nFinal Answer:( ?)(.*)", re.S)

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        b = Builder()
        if step.thought:
            b.content(step.thought, REASONING).syntax("\n")
        b.syntax("Action: ")
        if step.final_answer is not None:
            b.syntax("Answer\nFinal Answer:" + lead_sep(step.final_answer, " ")).content(step.final_answer, REASONING)
        elif step.tool_calls and step.tool_calls[0].name == "Operation":
            sql = _arg(step.tool_calls[0], "sql", self.name)
            b.content("Operation", RETRIEVAL).syntax("\n```sql\n").content(sql, UNDERSTANDING).syntax("\n```")
        else:
            raise ValueError("agentinstruct-db needs an Operation call or a final answer in every step")
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        m_act = self._ACTION.search(text)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Action:'", text, AgentStep(thought=text.strip()))
        thought = drop_trail(text[: m_act.start()], "\n") or None
        marks: list[Mark] = [(0, len(thought), REASONING)] if thought else []
        rest, k = drop_lead(text[m_act.end() :], " ")
        base = m_act.end() + k
        if m := self._ANSWER.fullmatch(rest):
            step = AgentStep(thought=thought, final_answer=m.group(2))
            return Scan(step, [*marks, (base + m.start(2), base + m.end(2), REASONING)])
        if m := self._OPERATION.match(rest):
            step = AgentStep(thought=thought, tool_calls=[ToolCall("Operation", {"sql": m.group(2)})])
            if rest[m.end() :].strip():
                return failure(FailureKind.EXTRA_TEXT, "text after the SQL code block", text, step)
            marks += [(base, base + len("Operation"), RETRIEVAL), (base + m.start(2), base + m.end(2), UNDERSTANDING)]
            return Scan(step, marks)
        word = rest.split(None, 1)[0] if rest.strip() else ""
        kind = FailureKind.MALFORMED if word in ("Operation", "Answer") else FailureKind.UNKNOWN_ACTION
        return failure(kind, f"expected 'Operation' with a sql block or 'Answer' with a final answer, got {word!r}", text, AgentStep(thought=thought))


# --------------------------------------------------------------------------- ALFWorld

#: ALFWorld's command verbs (TextWorld's admissible commands), longest first so "go to" wins
ALFWORLD_VERBS = ("go to", "take", "put", "open", "close", "toggle", "clean", "heat", "cool", "use", "examine", "look", "inventory")


@register
class AlfWorldProtocol(_TaskProtocol):
    name = "agentinstruct-alfworld"
    template = "agentinstruct-alfworld"
    task = "alfworld"

    _ACTION = re.compile(r"(?m)^[ \t]*(ACTION:)")

    def render(self, step: AgentStep) -> Rendered:
        single_call(step, self.name)
        if not step.tool_calls:
            raise ValueError("agentinstruct-alfworld needs an action in every step")
        call = step.tool_calls[0]
        b = Builder()
        _thought_prefix(b, "THOUGHT:", step.thought, " ", "\n ")
        b.syntax("ACTION: ").content(call.name, RETRIEVAL)
        if call.arguments:
            b.syntax(" ").content(_arg(call, "object", self.name), UNDERSTANDING)
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = self._ACTION.search(text, start)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'ACTION:'", text, AgentStep(thought=loose_value(text, "THOUGHT:")))
        thought = keyword_value(text, start, m_act.start(1), "THOUGHT:", trail="\n ")
        line, line_start, line_end = _line(text, m_act.end(1))
        command = line.strip()
        verb = next((v for v in ALFWORLD_VERBS if command == v or command.startswith(v + " ")), command.split(" ", 1)[0])
        obj = command[len(verb) + 1 :]
        at = line_start + len(line) - len(line.lstrip())
        step = AgentStep(tool_calls=[ToolCall(verb, {"object": obj} if obj else {})])
        marks: list[Mark] = [(at, at + len(verb), RETRIEVAL)]
        if obj:
            marks.append((at + len(verb) + 1, at + len(command), UNDERSTANDING))
        if isinstance(thought, ParseFailure):
            step.thought = loose_value(text[start : m_act.start()], "THOUGHT:")
            thought.partial = step
            return thought
        step.thought = thought[0]
        if not command:
            return failure(FailureKind.MISSING_FIELD, "empty 'ACTION:'", text, step)
        if text[line_end:].strip():
            return failure(FailureKind.EXTRA_TEXT, "text after the action line", text, step)
        return Scan(step, marks + thought[1])


# --------------------------------------------------------------------------- WebShop

WEBSHOP_ARGUMENT = {"search": "keywords", "click": "value"}


@register
class WebShopProtocol(_TaskProtocol):
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
        _thought_prefix(b, "Thought:", step.thought, "\n", "\n\n")
        value = _arg(call, WEBSHOP_ARGUMENT[call.name], self.name)
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
        line, line_start, line_end = _line(text, pos, "")
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
class KgProtocol(_TaskProtocol):
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
        _thought_prefix(b, "Thought:", step.thought, " ", "\n")
        if step.final_answer is not None:
            b.syntax("Final Answer:" + lead_sep(step.final_answer, " ")).content(step.final_answer, REASONING)
        elif step.tool_calls and step.tool_calls[0].name in KG_FUNCTIONS:
            call = step.tool_calls[0]
            params = KG_FUNCTIONS[call.name]
            if set(call.arguments) != set(params):
                raise ValueError(f"agentinstruct-kg: {call.name} takes {params}, got {call.to_dict()}")
            args = ", ".join(_arg(call, p, self.name) for p in params)
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
            line, line_start, line_end = _line(text, m_act.end())
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
class Mind2WebProtocol(_TaskProtocol):
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
        _thought_prefix(b, "Thought:", step.thought, " ", "\n")
        b.syntax("Answer: ").content(_arg(call, "element", self.name), UNDERSTANDING).syntax(".\nAction: ")
        b.content(call.name, RETRIEVAL)
        if "value" in call.arguments:
            b.syntax("\nValue:" + lead_sep(_arg(call, "value", self.name), " ")).content(call.arguments["value"], UNDERSTANDING)
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
        line, el_start, line_end = _line(text, m_ans.end())
        element = line[:-1] if line.endswith(".") else line
        args = {"element": element}
        marks: list[Mark] = [(el_start, el_start + len(element), UNDERSTANDING)]
        m_act = self._ACTION.match(text, line_end + 1)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'Action:' line after 'Answer:'", text, AgentStep(thought=partial_thought))
        op, op_start, op_end = _line(text, m_act.end())
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


PROTOCOL_BY_TASK = {cls.task: cls.name for cls in (OsProtocol, DbProtocol, AlfWorldProtocol, WebShopProtocol, KgProtocol, Mind2WebProtocol)}
