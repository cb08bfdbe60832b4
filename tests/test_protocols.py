"""The ReAct, FireAct and JSON protocols: round trips, fuzzing, and every real turn we have."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentflan.conversation import Capability, Tool, ToolCall
from agentflan.protocols import get_protocol, protocol_names
from agentflan.protocols._common import ScanProtocol
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure
from conftest import shared_path

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _keyword_free(*keywords: str) -> st.SearchStrategy[str]:
    """Free text with no line opening with one of the protocol's keywords."""
    pattern = re.compile("(?m)^[ \t]*(?:" + "|".join(map(re.escape, keywords)) + ")")
    return st.text(max_size=60).filter(lambda s: not pattern.search(s))


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=4)
tool_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,24}", fullmatch=True)


def _assert_tiles(text: str, spans: list[Any]) -> None:
    """Spans cover the text exactly once, in order."""
    pos = 0
    for span in spans:
        assert span.start == pos and span.end > span.start
        pos = span.end
    assert pos == len(text)


# --------------------------------------------------------------------------- react

REACT_KEYWORDS = ("Action:", "Action Input:", "Final Answer:", "Observation:", "Response:")
react_text = _keyword_free(*REACT_KEYWORDS)


@st.composite
def react_steps(draw: st.DrawFn) -> AgentStep:
    thought = draw(st.none() | react_text)
    if draw(st.booleans()):
        args = draw(json_objects)
        raw = json.dumps(args, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans()))
        return AgentStep(thought=thought, tool_calls=[ToolCall.from_text(draw(tool_names), raw)])
    return AgentStep(thought=thought, final_answer=draw(react_text))


@ROUND
@given(react_steps())
def test_react_round_trip(step: AgentStep) -> None:
    proto = get_protocol("react")
    rendered = proto.render(step)
    assert proto.parse(rendered.text) == step
    _assert_tiles(rendered.text, rendered.spans)


def test_react_layout_and_spans() -> None:
    proto = get_protocol("react")
    step = AgentStep(thought="look it up", tool_calls=[ToolCall.from_text("search", '{"q": "x"}')])
    rendered = proto.render(step)
    assert rendered.text == '\nThought: look it up\nAction: search\nAction Input: {"q": "x"}'
    parts = {s.capability: rendered.text[s.start : s.end] for s in rendered.spans if s.capability != Capability.INSTRUCTION}
    assert parts == {Capability.REASONING: "look it up", Capability.RETRIEVAL: "search", Capability.UNDERSTANDING: '{"q": "x"}'}
    # lagent style (no leading newline, Final Answer) parses too
    assert proto.parse("Thought: done\nFinal Answer: 42") == AgentStep(thought="done", final_answer="42")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", FailureKind.EMPTY),
        ("   \n", FailureKind.EMPTY),
        ("Just a friendly reply.", FailureKind.MISSING_FIELD),
        ("Thought: x\nAction: search", FailureKind.MISSING_FIELD),
        ("I will search.\nAction: search\nAction Input: {}", FailureKind.MISSING_FIELD),
        ("Thought: x\nAction: search\nAction Input: {not json", FailureKind.BAD_ARGUMENTS),
        ("Thought: x\nAction: search\nAction Input: [1, 2]", FailureKind.BAD_ARGUMENTS),
        ('Thought: x\nAction: search\nAction Input: {"q": 1}\nObservation: made up', FailureKind.EXTRA_TEXT),
        ('Thought: x\nAction: search\nAction Input: {"q": 1} and more', FailureKind.EXTRA_TEXT),
        ("Thought: x\nAction: \nAction Input: {}", FailureKind.MISSING_FIELD),
        ("Thought: x\nAction: a\nstray line\nAction Input: {}", FailureKind.MALFORMED),
    ],
)
def test_react_failures_are_typed(text: str, kind: FailureKind) -> None:
    result = get_protocol("react").parse(text)
    assert isinstance(result, ParseFailure) and result.kind is kind and not result
    assert result.text == text


def test_react_extra_text_keeps_the_call() -> None:
    result = get_protocol("react").parse('Thought: t\nAction: a\nAction Input: {"k": 1}\nObservation: o')
    assert isinstance(result, ParseFailure) and result.partial is not None
    assert result.partial.tool_calls[0].arguments == {"k": 1}


# --------------------------------------------------------------------------- fireact

fireact_text = _keyword_free("Action:")
fireact_args = st.text(max_size=40).filter(lambda s: "\n" not in s and s.rstrip(" \t") == s)


@st.composite
def fireact_steps(draw: st.DrawFn) -> AgentStep:
    thought = draw(st.none() | fireact_text)
    kind = draw(st.sampled_from(["search", "lookup", "finish", "think"]))
    if kind == "finish":
        return AgentStep(thought=thought, final_answer=draw(fireact_args))
    if kind == "think":
        return AgentStep(thought=draw(fireact_text))
    key = {"search": "entity", "lookup": "keyword"}[kind]
    return AgentStep(thought=thought, tool_calls=[ToolCall(kind, {key: draw(fireact_args)})])


@ROUND
@given(fireact_steps())
def test_fireact_round_trip(step: AgentStep) -> None:
    proto = get_protocol("fireact")
    rendered = proto.render(step)
    assert proto.parse(rendered.text) == step
    _assert_tiles(rendered.text, rendered.spans)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", FailureKind.EMPTY),
        ("The answer is 4.", FailureKind.MISSING_FIELD),
        ("Thought: x\nAction: search x", FailureKind.MALFORMED),
        ("Thought: x\nAction: click[buy]", FailureKind.UNKNOWN_ACTION),
        ("Thought: x\nAction: search[a]\nObservation: b", FailureKind.EXTRA_TEXT),
        ("Which city?\nAction: finish[Paris]", FailureKind.MISSING_FIELD),
    ],
)
def test_fireact_failures_are_typed(text: str, kind: FailureKind) -> None:
    result = get_protocol("fireact").parse(text)
    assert isinstance(result, ParseFailure) and result.kind is kind


def test_fireact_finish_is_the_final_answer() -> None:
    step = get_protocol("fireact").parse("Thought: It is Paris.\nAction: finish[Paris]")
    assert step == AgentStep(thought="It is Paris.", final_answer="Paris")


# --------------------------------------------------------------------------- json


@st.composite
def json_steps(draw: st.DrawFn, finish: str) -> AgentStep:
    thought = draw(st.none() | st.text(max_size=40))
    if draw(st.booleans()):
        return AgentStep(thought=thought, final_answer=draw(st.text(max_size=40)))
    name = draw(st.text(min_size=1, max_size=20).filter(lambda s: s != finish))
    return AgentStep(thought=thought, tool_calls=[ToolCall(name, draw(json_objects))])


@ROUND
@given(json_steps("Final Answer"))
def test_json_round_trip(step: AgentStep) -> None:
    proto = get_protocol("json")
    rendered = proto.render(step)
    assert proto.parse(rendered.text) == step
    assert json.loads(rendered.text)  # always one valid JSON object
    _assert_tiles(rendered.text, rendered.spans)


@ROUND
@given(json_steps("FinishAction"))
def test_json_goal_round_trip(step: AgentStep) -> None:
    proto = get_protocol("json-goal")
    rendered = proto.render(step)
    assert proto.parse(rendered.text) == step
    assert list(json.loads(rendered.text)) == [k for k in ("Tool", "Param", "goal") if k in json.loads(rendered.text)]
    _assert_tiles(rendered.text, rendered.spans)


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("json", "", FailureKind.EMPTY),
        ("json", "Sure, here you go.", FailureKind.MALFORMED),
        ("json", '{"thought": "t"}', FailureKind.MISSING_FIELD),
        ("json", '{"action": "a", "action_input": "text"}', FailureKind.BAD_ARGUMENTS),
        ("json", '{"action": "a", "action_input": {}, "extra": 1}', FailureKind.MALFORMED),
        ("json", '{"action": "a", "action": "b", "action_input": {}}', FailureKind.MALFORMED),
        ("json", 'Here: {"action": "a", "action_input": {}}', FailureKind.EXTRA_TEXT),
        ("json", '{"action": "a", "action_input": {}', FailureKind.MALFORMED),
        ("json", '{"action": "Final Answer", "action_input": {"x": 1}}', FailureKind.BAD_ARGUMENTS),
        ("json-goal", '{"goal": "g", "Tool": "t"}', FailureKind.MISSING_FIELD),
        ("json-goal", '{"goal": 3, "Tool": "t", "Param": {}}', FailureKind.MALFORMED),
        ("json-goal", '{"Tool": "FinishAction", "Param": {"answer": "x"}}', FailureKind.BAD_ARGUMENTS),
    ],
)
def test_json_failures_are_typed(name: str, text: str, kind: FailureKind) -> None:
    result = get_protocol(name).parse(text)
    assert isinstance(result, ParseFailure) and result.kind is kind


def test_json_accepts_a_code_fence() -> None:
    text = '```json\n{"thought": "t", "action": "a", "action_input": {"k": 1}}\n```'
    assert get_protocol("json").parse(text) == AgentStep(thought="t", tool_calls=[ToolCall("a", {"k": 1})])


# --------------------------------------------------------------------------- every protocol

NEAR_MISS = [
    "Thought:", "Thought: ", "Action:", "Action: ", "Action Input:", "Final Answer:", "Observation:",
    "Response:", "\n", "\n\n", " ", "{", "}", "[", "]", '"', ":", ",", "search", "lookup", "finish",
    "Finish", '{"a": 1}', '"thought"', '"action"', '"action_input"', '"goal"', '"Tool"', '"Param"',
    "```", "```json\n", "Think:", "Act: ", "bash", "answer(", ")", "THOUGHT:", " ACTION:", "Answer: B.",
    "Value:", "CLICK", "TYPE", "Operation", "```sql\n", "click[", "get_relations(", "#1",
    "<tool_call>", "</tool_call>", "<functioncall> ", '"name": ', '"arguments": ', '"parameters": ', "'",
]  # fmt: skip
near_miss_text = st.lists(st.sampled_from(NEAR_MISS) | st.text(max_size=6), max_size=14).map("".join)

SEEDS = {
    "react": ['\nThought: \nAction: get_weather\nAction Input: {\n  "city": "Paris"\n}', "Thought: ok\nFinal Answer: 42"],
    "fireact": ["Thought: I need X.\nAction: search[X]", "Thought: So Y.\nAction: finish[Y]", "Thought: hmm"],
    "json": ['{\n  "thought": "t",\n  "action": "a",\n  "action_input": {\n    "k": 1\n  }\n}'],
    "json-goal": ['{\n    "Tool": "a.b",\n    "Param": {},\n    "goal": "g"\n}'],
    "agentinstruct-os": ["Think: list.\n\nAct: bash\n\n```bash\nls /etc\n```", "Think: done.\n\nAct: answer(3)", "Act: finish"],
    "agentinstruct-db": ["Count them.\nAction: Operation\n```sql\nSELECT 1\n```", 'Action: Answer\nFinal Answer: ["x"]'],
    "agentinstruct-alfworld": ["THOUGHT: find it.\n ACTION: go to desk 1", "ACTION: take mug 1 from desk 1"],
    "agentinstruct-webshop": ["Thought:\nI search.\n\nAction:\nsearch[red shoes]", "Action:\nclick[Buy Now]"],
    "agentinstruct-kg": ["Thought: t\nAction: get_neighbors(Kerosene, a.b)", "Thought: t\nFinal Answer: #3"],
    "agentinstruct-mind2web": ["Thought: t\nAnswer: B.\nAction: TYPE\nValue: Chicago", "Thought: t\nAnswer: C.\nAction: CLICK"],
    "hermes": ['I look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', "It is 20C."],
    "glaive": ['<functioncall> {"name": "get_news", "arguments": \'{"country": "US"}\'}', "Here you go."],
    "llama3": ['{"name": "get_weather", "parameters": {"city": "Paris"}}', "It is 20C."],
}


@st.composite
def mutated_seed(draw: st.DrawFn, name: str) -> str:
    """A valid text of the protocol with a few random edits: inserted fragments, cut slices."""
    text = draw(st.sampled_from(SEEDS[name]))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:i] + draw(st.sampled_from(NEAR_MISS) | st.text(max_size=4)) + text[i:]
        else:
            text = text[:i] + text[draw(st.integers(i, len(text))) :]
    return text


@st.composite
def fuzz_cases(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    return name, draw(st.text() | near_miss_text | mutated_seed(name))


def test_every_protocol_has_fuzz_seeds() -> None:
    assert sorted(SEEDS) == sorted(protocol_names())
    for name, texts in SEEDS.items():
        assert all(isinstance(get_protocol(name).parse(t), AgentStep) for t in texts), name


@FUZZ
@given(fuzz_cases())
def test_parse_never_raises_and_is_stable(case: tuple[str, str]) -> None:
    name, text = case
    proto = get_protocol(name)
    result = proto.parse(text)
    assert isinstance(result, AgentStep | ParseFailure)
    if isinstance(result, ParseFailure):
        assert isinstance(result.kind, FailureKind) and result.text == text
        return
    # what parses renders, and the rendering parses back to the same step
    assert proto.parse(proto.render(result).text) == result
    assert isinstance(proto, ScanProtocol)
    annotated = proto.annotate(text)
    assert not isinstance(annotated, ParseFailure)
    _assert_tiles(text, annotated.spans)


@pytest.mark.parametrize("name", ["react", "fireact", "json", "json-goal"])
def test_format_instruction_names_the_tools(name: str) -> None:
    tools = [Tool("weather", "Forecast for a place", {"type": "object", "properties": {"city": {"type": "string"}}})]
    text = get_protocol(name).format_instruction(tools)
    assert "$" not in text
    if name != "fireact":  # FireAct's actions are fixed
        assert "weather" in text and "Forecast for a place" in text


def test_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="react"):
        get_protocol("nope")


# --------------------------------------------------------------------------- real data


def _scanning(name: str) -> ScanProtocol:
    proto = get_protocol(name)
    assert isinstance(proto, ScanProtocol)
    return proto


def test_toolllama_reference_turns_parse_and_rerender_byte_exactly() -> None:
    proto = _scanning("react")
    turns = [
        c["value"]
        for g in ("G1", "G2", "G3")
        for sample in json.loads(shared_path("toolbench", "toolllama_reference", f"{g}.json").read_text())
        for c in sample["conversations"]
        if c["from"] == "assistant"
    ]
    finish_expected = sum(bool(re.search(r"\nAction: Finish\nAction Input: ", t)) for t in turns)
    finish_seen = 0
    for text in turns:
        step = proto.parse(text)
        assert isinstance(step, AgentStep), (text, step)
        assert len(step.tool_calls) == 1 and step.tool_calls[0].arguments_ok
        rendered = proto.render(step)
        assert rendered.text == text
        assert proto.annotate(text) == rendered
        finish_seen += step.tool_calls[0].name == "Finish"
    assert len(turns) == 124
    assert finish_seen == finish_expected > 0


def _fireact_assistant_turns() -> list[tuple[str, int, bool, str]]:
    """(file, row, row opens with an assistant turn, content) for every assistant turn."""
    out = []
    for name in ("hotpotqa_react_gpt.jsonl", "multitask_multimethod_gpt.jsonl"):
        with shared_path("fireact", name).open(encoding="utf-8") as fh:
            for row, line in enumerate(fh):
                messages = json.loads(line)["messages"]
                starts_with_assistant = messages[0]["role"] == "assistant"
                out += [(name, row, starts_with_assistant, m["content"]) for m in messages if m["role"] == "assistant"]
    return out


def test_fireact_every_turn_parses_except_the_sources_own_faults() -> None:
    proto = get_protocol("fireact")
    turns = _fireact_assistant_turns()
    counts = {"search": 0, "lookup": 0, "finish": 0, "think": 0}
    faults = []
    for name, row, starts_with_assistant, text in turns:
        step = proto.parse(text)
        if isinstance(step, ParseFailure):
            faults.append((name, row, starts_with_assistant, text))
            continue
        assert proto.render(step).text == text  # byte exact
        if step.tool_calls:
            counts[step.tool_calls[0].name] += 1
        else:
            counts["finish" if step.final_answer is not None else "think"] += 1
    expected = {
        k: sum(bool(re.search(rf"\nAction: {k}\[.*\]$", t)) for *_, t in turns if t.startswith("Thought:"))
        for k in ("search", "lookup", "finish")
    }
    assert len(turns) == 5708
    assert {k: counts[k] for k in expected} == expected
    assert counts["think"] == sum(t.startswith("Thought:") and "\nAction:" not in t for *_, t in turns) == 5
    # the source's own faults: observations stored as assistant turns, and two rows whose
    # question was stored as the first (assistant) turn
    assert len(faults) == 7
    for _, _, starts_with_assistant, text in faults:
        assert text.startswith("Observation: Episode finished") or starts_with_assistant


def test_agentflan_release_rows() -> None:
    rows = [json.loads(line) for line in shared_path("agentflan_release", "samples.jsonl").read_text().splitlines()]
    goal = get_protocol("json-goal")
    first = [m["content"] for m in rows[0]["conversation"] if m["role"] == "assistant"]
    assert len(first) == 1
    step = goal.parse(first[0])
    assert isinstance(step, AgentStep)
    assert step.tool_calls[0].name == "weather.get_120_hour_forecast_for_weather"
    assert step.tool_calls[0].arguments == {"lat": 25.7617, "lon": -80.1918, "units": "imperial"}
    assert step.thought and step.thought.startswith("The previous API calls")
    assert goal.render(step).text == first[0]
    # the "cot" row is prose ending in a ```python dict```: no protocol claims it, none crashes
    cot = [m["content"] for m in rows[1]["conversation"] if m["role"] == "assistant"]
    assert len(cot) == 3
    for name in protocol_names():
        for text in cot:
            assert isinstance(get_protocol(name).parse(text), AgentStep | ParseFailure)
    assert all(isinstance(goal.parse(t), ParseFailure) for t in cot)
