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

from agentflan.conversation import ToolCall
from agentflan.protocols._agentinstruct import TASKS, TaskProtocol, rest_of_line, string_arg, thought_prefix
from agentflan.protocols._common import (
    REASONING,
    RETRIEVAL,
    UNDERSTANDING,
    Builder,
    Mark,
    Scan,
    drop_lead,
    drop_trail,
    failure,
    keyword_at_line_start,
    keyword_value,
    lead_sep,
    loose_value,
    single_call,
)
from agentflan.protocols.agentinstruct_web import KG_FUNCTIONS, KgProtocol, Mind2WebProtocol, WebShopProtocol
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure, Rendered, register

__all__ = ["ALFWORLD_VERBS", "KG_FUNCTIONS", "PROTOCOL_BY_TASK", "TASKS"]


# --------------------------------------------------------------------------- OS


@register
class OsProtocol(TaskProtocol):
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
        thought_prefix(b, "Think:", step.thought, " ", "\n\n")
        b.syntax("Act: ")
        if step.final_answer is not None:
            b.syntax("answer(").content(step.final_answer, REASONING).syntax(")")
        elif not step.tool_calls:
            raise ValueError("agentinstruct-os needs bash, finish or an answer in every step")
        elif step.tool_calls[0].name == "bash":
            script = string_arg(step.tool_calls[0], "script", self.name)
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
class DbProtocol(TaskProtocol):
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
            sql = string_arg(step.tool_calls[0], "sql", self.name)
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
class AlfWorldProtocol(TaskProtocol):
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
        thought_prefix(b, "THOUGHT:", step.thought, " ", "\n ")
        b.syntax("ACTION: ").content(call.name, RETRIEVAL)
        if call.arguments:
            b.syntax(" ").content(string_arg(call, "object", self.name), UNDERSTANDING)
        return b.rendered()

    def scan_text(self, text: str) -> Scan | ParseFailure:
        start = len(text) - len(text.lstrip())
        m_act = self._ACTION.search(text, start)
        if m_act is None:
            return failure(FailureKind.MISSING_FIELD, "no 'ACTION:'", text, AgentStep(thought=loose_value(text, "THOUGHT:")))
        thought = keyword_value(text, start, m_act.start(1), "THOUGHT:", trail="\n ")
        line, line_start, line_end = rest_of_line(text, m_act.end(1))
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


PROTOCOL_BY_TASK = {cls.task: cls.name for cls in (OsProtocol, DbProtocol, AlfWorldProtocol, WebShopProtocol, KgProtocol, Mind2WebProtocol)}
