"""The function-calling protocols (hermes, glaive, llama3): round trips, typed failures, prompts,
and no exception on any text, however deeply nested or long (issue 13 item 1)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentflan.conversation import Tool, ToolCall
from agentflan.protocols import detect_calls, get_protocol, protocol_names
from agentflan.protocols._common import MAX_TEXT_CHARS, ScanProtocol
from agentflan.protocols.base import AgentStep, FailureKind, ParseFailure
from agentflan.protocols.calls import is_call_name

ROUND = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CALL_PROTOCOLS = ("hermes", "glaive", "llama3")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(max_size=10), json_values, max_size=4)
tool_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,24}", fullmatch=True)
prose = st.text(max_size=60)


MARKERS = ("<tool_call>", "<functioncall>")


@st.composite
def steps(draw: st.DrawFn) -> AgentStep:
    """Calls (up to three, maybe after a thought), or an answer; ``expressible`` fits it to a protocol."""
    if draw(st.booleans()):
        answer = draw(prose.filter(lambda s: s.strip() and not any(m in s for m in MARKERS) and not s.lstrip().startswith("{")))
        return AgentStep(final_answer=answer)
    calls = draw(st.lists(st.builds(ToolCall, tool_names, arguments), min_size=1, max_size=3))
    return AgentStep(thought=draw(st.none() | prose.filter(lambda s: not any(m in s for m in MARKERS))), tool_calls=calls)


def expressible(step: AgentStep, name: str) -> AgentStep:
    """The step as ``name`` can write it: glaive and llama3 make one call per step, llama3 with no thought."""
    if not step.tool_calls or name == "hermes":
        return step
    return AgentStep(thought=None if name == "llama3" else step.thought, tool_calls=step.tool_calls[:1])


@pytest.mark.parametrize("name", CALL_PROTOCOLS)
@ROUND
@given(drawn=steps())
# argument keys that are also the call object's own keys (glaive once took them for the call's fields)
@example(drawn=AgentStep(tool_calls=[ToolCall("A", {"name": None})]))
@example(drawn=AgentStep(tool_calls=[ToolCall("A", {"arguments": "x", "parameters": 1})]))
@example(drawn=AgentStep(thought="t", tool_calls=[ToolCall("A", {"name": "n", "arguments": {"name": "q", "parameters": []}})]))
@example(drawn=AgentStep(tool_calls=[ToolCall("A", {"name": "}, 'arguments': ", "k": "\"name\": \"y\""})]))
@example(drawn=AgentStep(tool_calls=[ToolCall("NA", {})]))  # a null action round-trips and calls nothing
@example(drawn=AgentStep(thought="é", tool_calls=[ToolCall("A", {"ü": "€ 'name': 1"})]))  # non-ASCII before a span
def test_render_parse_round_trip(name: str, drawn: AgentStep) -> None:
    proto = get_protocol(name)
    assert isinstance(proto, ScanProtocol)
    step = expressible(drawn, name)
    rendered = proto.render(step)
    assert proto.parse(rendered.text) == step
    annotated = proto.annotate(rendered.text)
    assert not isinstance(annotated, ParseFailure)
    assert annotated.spans == rendered.spans  # the scan finds the spans the renderer wrote
    # the detector sees every call except null actions ("NA": no tool called) and answer actions
    assert {c.name for c in detect_calls(rendered.text)} == {c.name for c in step.tool_calls if is_call_name(c.name)}


@pytest.mark.parametrize("name", CALL_PROTOCOLS)
@settings(max_examples=300, deadline=None)
@given(text=st.text() | st.lists(st.sampled_from(["<tool_call>", "</tool_call>", "<functioncall> ", "{", "}", '"name": "x"', ", ", '"arguments": ', '"parameters": ', "'", "[", "\n"]), max_size=12).map("".join))
def test_garbage_is_a_typed_result(name: str, text: str) -> None:
    result = get_protocol(name).parse(text)
    assert isinstance(result, AgentStep | ParseFailure)
    if isinstance(result, ParseFailure):
        assert isinstance(result.kind, FailureKind) and result.text == text


@pytest.mark.parametrize(
    ("name", "text", "kind", "tool"),
    [
        ("hermes", '<tool_call>\n{"name": "x", "arguments": {"a": [1', FailureKind.MALFORMED, "x"),
        ("hermes", '<tool_call>\n{"name": "x", "arguments": {}}', FailureKind.MALFORMED, "x"),
        ("hermes", '<tool_call>\n{"name": "x"}\n</tool_call>', FailureKind.MISSING_FIELD, "x"),
        ("hermes", '<tool_call>\n{"name": "x", "arguments": [1]}\n</tool_call>', FailureKind.BAD_ARGUMENTS, "x"),
        ("hermes", '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>\nObservation: 3', FailureKind.EXTRA_TEXT, "x"),
        ("glaive", '<functioncall> {"name": "x", "arguments": \'{"a": \'}', FailureKind.BAD_ARGUMENTS, "x"),
        ("glaive", "<functioncall> nothing here", FailureKind.MALFORMED, None),
        ("llama3", '{"name": "x", "parameters": {}} and more', FailureKind.EXTRA_TEXT, "x"),
        ("llama3", '{"city": "Paris"}', FailureKind.MISSING_FIELD, None),
        ("llama3", '{"name": "x", "arguments": {}}', FailureKind.MALFORMED, None),
    ],
)
def test_failures_are_typed_and_keep_the_tool(name: str, text: str, kind: FailureKind, tool: str | None) -> None:
    result = get_protocol(name).parse(text)
    assert isinstance(result, ParseFailure) and result.kind is kind, result
    named = [c.name for c in result.partial.tool_calls] if result.partial else []
    assert named == ([tool] if tool else [])


def test_glaive_reads_its_own_quoted_arguments_and_json() -> None:
    glaive = get_protocol("glaive")
    want = AgentStep(tool_calls=[ToolCall("get_news_headlines", {"country": "United States"})])
    assert glaive.parse("<functioncall> {\"name\": \"get_news_headlines\", \"arguments\": '{\"country\": \"United States\"}'}") == want
    assert glaive.parse('<functioncall> {"name": "get_news_headlines", "arguments": {"country": "United States"}}') == want
    assert glaive.render(want).text == "<functioncall> {\"name\": \"get_news_headlines\", \"arguments\": '{\"country\": \"United States\"}'}"


@pytest.mark.parametrize("name", CALL_PROTOCOLS)
def test_prompt_observation_and_stops(name: str) -> None:
    proto = get_protocol(name)
    text = proto.format_instruction([Tool("weather", "Forecast for a place", {"type": "object", "properties": {}})])
    assert "weather" in text and "Forecast for a place" in text and "$" not in text
    observation = proto.render_observation("20C")
    assert "20C" in observation
    for stop in proto.stop_sequences():  # a stop sequence is where the rendered observation begins
        assert ("\n" + observation).startswith(stop)
    assert proto.stop_sequences() == {"hermes": ["\n<tool_response>"], "glaive": ["\nFUNCTION RESPONSE:"], "llama3": []}[name]


# --------------------------------------------------------------------------- issue 13 item 1

DEPTH = 10_000
DEEP = [
    "[" * DEPTH,
    "{" * DEPTH,
    '{"a":' * DEPTH,
    "[" * DEPTH + "]" * DEPTH,
    '{"thought": "t", "action": "a", "action_input": ' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "}",
    '{"Tool": "t", "Param": ' + "[" * DEPTH + "]" * DEPTH + "}",
    "Thought: t\nAction: a\nAction Input: " + "[" * DEPTH,
    "Thought: t\nAction: a\nAction Input: " + '{"a":' * DEPTH + "1" + "}" * DEPTH + " more",
    '<tool_call>\n{"name": "a", "arguments": ' + "[" * DEPTH + "\n</tool_call>",
    '<functioncall> {"name": "a", "arguments": ' + "{" * DEPTH + "}",
    '{"name": "a", "parameters": ' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "}",
    "Act: answer(" + "(" * DEPTH,
]


@pytest.mark.parametrize("name", protocol_names())
def test_deep_nesting_is_a_parse_result_in_every_protocol(name: str) -> None:
    proto = get_protocol(name)
    for text in DEEP:
        result = proto.parse(text)
        assert isinstance(result, AgentStep | ParseFailure)
        if isinstance(proto, ScanProtocol):
            assert isinstance(proto.annotate(text), AgentStep | ParseFailure | type(proto.annotate("x")))


def test_deep_nesting_through_the_detector() -> None:
    for text in DEEP:
        assert isinstance(detect_calls(text), list)
    nested_call = '{"name": "a", "parameters": ' + "[" * DEPTH + "]" * DEPTH + "}"
    assert get_protocol("llama3").parse(nested_call).kind is FailureKind.MALFORMED  # type: ignore[union-attr]


@pytest.mark.parametrize("name", protocol_names())
def test_overlong_text_is_a_malformed_step(name: str) -> None:
    text = "Thought: " + "x" * MAX_TEXT_CHARS
    result = get_protocol(name).parse(text)
    assert isinstance(result, ParseFailure) and result.kind is FailureKind.MALFORMED
