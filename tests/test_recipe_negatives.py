"""Negative samples (offline and with a generator backend) and the format-following set."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from agentflan.conversation import Conversation, Message, Tool, ToolCall
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.protocols import get_protocol
from agentflan.protocols.base import ParseFailure
from agentflan.recipe.format_following import CallExample, call_examples, format_following_rows
from agentflan.recipe.negatives import (
    CHAT_WITH_TOOLS,
    NO_TOOLS,
    ChatPair,
    ToolSet,
    answerable,
    chat_pair,
    contains_tool_call,
    negatives,
    tool_query,
)
from agentflan.recipe.phrasings import load_phrasings
from agentflan.recipe.trajectory import events, full_trajectories
from agentflan.sources.tool_queries import ToolQuery
from conftest import shared_path

PH = load_phrasings()
WEATHER = Tool("weather.get_forecast_for_weather", "Forecast.", {"type": "object", "properties": {"lat": {"type": "number"}}})


class ScriptedBackend(Backend):
    """Answers from a script; records what it was asked."""

    name: ClassVar[str] = "scripted"

    def __init__(self, replies: list[str]):
        self.model = "script-1"
        self.replies = replies
        self.asked: list[GenerationRequest] = []

    @property
    def batch_size(self) -> int:
        return 3

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        self.asked.extend(requests)
        return [self.replies[(len(self.asked) - len(requests) + i) % len(self.replies)] for i in range(len(requests))]


def candidates(n: int) -> tuple[list[ToolQuery], list[ChatPair], list[ToolSet]]:
    queries = [
        ToolQuery(f"o{i}", f"What is the forecast for spot {i}?", [], "", ["weather.get_forecast_for_weather"], key=f"q{i}") for i in range(n)
    ]
    chats = [ChatPair(f"c{i}", f"p{i}", f"Tell me a joke number {i}.", f"Joke {i}: a pun.") for i in range(n)]
    return queries, chats, [ToolSet("t", [WEATHER])]


def test_offline_negatives_have_both_kinds_and_record_their_producer() -> None:
    queries, chats, toolsets = candidates(10)
    rows = list(negatives(queries, chats, toolsets, PH, 0, n_no_tools=4, n_chat=5))
    assert [r.kind for r in rows] == [NO_TOOLS] * 4 + [CHAT_WITH_TOOLS] * 5
    for r in rows:
        conv = r.conversation
        assert [m.role for m in conv.messages] == ["system", "user", "assistant"]
        assert conv.meta["producer"] == r.producer and not contains_tool_call(conv.messages[2].content)
        assert conv.messages[2].spans and conv.messages[2].trains
    no_tools = rows[0].conversation
    assert r.producer == "chat-data" and rows[0].producer == "template"
    reply = no_tools.messages[2].content
    assert not no_tools.tools and "forecast for spot 0" in reply and not any(n in reply for n in queries[0].acceptable)
    chat = rows[-1].conversation
    assert chat.tools == [WEATHER] and WEATHER.name in chat.messages[0].content
    assert chat.messages[2].content.startswith("Joke")


def test_offline_fallback_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    queries, chats, toolsets = candidates(3)
    assert len(list(negatives(queries, chats, toolsets, PH, 0, n_no_tools=3, n_chat=3))) == 6


def test_generated_calls_in_any_convention_are_rejected_and_counted() -> None:
    queries, chats, toolsets = candidates(4)
    calls = [
        '<tool_call>\n{"name": "get_forecast", "arguments": {"lat": 1}}\n</tool_call>',
        '<functioncall> {"name": "get_forecast", "arguments": \'{"lat": 1}\'}',
        '{"name": "get_forecast", "parameters": {"lat": 1}}',
    ]
    backend = ScriptedBackend(calls * 2)
    rows = list(negatives(queries, chats, toolsets, PH, 0, n_no_tools=3, n_chat=3, generator=backend))
    assert rows and all("(generator reply unusable)" in r.producer for r in rows)
    assert all(not contains_tool_call(r.conversation.messages[-1].content) for r in rows)


def test_a_generator_writes_the_replies_and_unusable_ones_fall_back() -> None:
    queries, chats, toolsets = candidates(4)
    backend = ScriptedBackend(
        [
            "I can't check live forecasts, but here is how to find one.",
            'Thought: let me check\nAction: weather.get_forecast_for_weather\nAction Input: {"lat": 1}',
            "",
        ]
    )
    rows = list(negatives(queries, chats, toolsets, PH, 0, n_no_tools=3, n_chat=3, generator=backend))
    producers = [r.producer for r in rows]
    assert producers[:3] == ["generator:scripted:script-1", "template (generator reply unusable)", "template (generator reply unusable)"]
    assert rows[0].conversation.messages[2].content.startswith("I can't check live forecasts")
    assert len(backend.asked) == 6
    first = backend.asked[0]
    assert [m.role for m in first.messages] == ["system", "user"] and "no tools" in first.messages[0].content
    assert not first.tools and "weather" not in first.messages[0].content
    assert all(not contains_tool_call(r.conversation.messages[2].content) for r in rows)


@pytest.mark.parametrize(
    "text",
    [
        'Thought: x\nAction: search\nAction Input: {"q": 1}',
        "Thought: x\nAction: search[Paris]",
        '{"thought": "x", "action": "search", "action_input": {}}',
        '{"goal": "x", "Tool": "search", "Param": {}}',
        '<tool_call>\n{"name": "search", "arguments": {"q": "Paris"}}\n</tool_call>',
        '<functioncall> {"name": "search", "arguments": \'{"q": "Paris"}\'}',
        '{"name": "search", "parameters": {"q": "Paris"}}',
    ],
)
def test_contains_tool_call_sees_every_protocol(text: str) -> None:
    assert contains_tool_call(text)
    assert not contains_tool_call("Paris is the capital of France. Use a map {like this} to check.")


def test_candidates_from_real_data() -> None:
    from agentflan.sources import read

    glaive = list(read(shared_path("glaive", "glaive_toolcall_en_demo.json")))
    pairs = [p for c in glaive if (p := chat_pair(c, c.id))]
    assert pairs and all(not c.tools for c in glaive if c.id in {p.origin for p in pairs})
    toolbench = list(full_trajectories(read(shared_path("toolbench", "answers", "G1_answer"))))
    queries = [q for c in toolbench if (q := tool_query(c, events(c), c.id))]
    assert queries and all(not q.query.endswith("Begin!") for q in queries)
    assert sum(bool(q.answer) for q in queries) > len(queries) / 2
    tips = [q for c in glaive if (q := tool_query(c, events(c), c.id)) and q.acceptable == ["calculate_tip"]]
    phrasings = load_phrasings()
    assert tips and all(answerable(q, phrasings) for q in tips)
    assert not any(answerable(q, phrasings) for q in queries)


def example(i: int, args: dict[str, Any]) -> CallExample:
    return CallExample(f"k{i}", f"o{i}", WEATHER, f"I need the forecast number {i}.", ToolCall(WEATHER.name, args))


def test_format_following_is_half_json_half_react_and_answers_exactly() -> None:
    rows = list(format_following_rows([example(i, {"lat": i + 0.5} if i % 3 else {}) for i in range(10)], PH, 0))
    assert [r.meta["format"] for r in rows] == ["json"] * 5 + ["string"] * 5
    for r in rows:
        system, user, answer = r.messages
        assert repr(WEATHER.to_dict()) in system.content
        assert WEATHER.name in user.content and r.meta["origin_id"] in {f"o{i}" for i in range(10)}
        protocol = get_protocol("json-goal" if r.meta["format"] == "json" else "react")
        parsed = protocol.parse(answer.content)
        assert not isinstance(parsed, ParseFailure)
        assert parsed.tool_calls[0].name == WEATHER.name
        assert parsed.tool_calls[0].arguments == answer.tool_calls[0].arguments
        assert parsed.thought is not None and parsed.thought in user.content
        assert {s.capability.value for s in answer.spans} == {"reasoning", "retrieval", "understanding", "instruction"}
    json_row = rows[1]
    assert json_row.messages[2].content.startswith('{\n    "Tool": "weather.get_forecast_for_weather",\n    "Param": {')


def test_call_examples_need_a_thought_and_an_offered_tool() -> None:
    conv = Conversation(
        id="c",
        tools=[WEATHER],
        messages=[
            Message("user", "forecast?"),
            Message("assistant", "Look it up.", tool_calls=[ToolCall(WEATHER.name, {"lat": 1})]),
            Message("tool", "sunny"),
            Message("assistant", "", tool_calls=[ToolCall(WEATHER.name, {"lat": 2})]),
            Message("tool", "rain"),
            Message("assistant", "Made up.", tool_calls=[ToolCall("not_offered", {})]),
            Message("tool", "?"),
            Message("assistant", "Sunny, then rain."),
        ],
    )
    found = list(call_examples(conv, events(conv), "key"))
    assert [(e.goal, e.call.arguments) for e in found] == [("Look it up.", {"lat": 1})]



def test_format_following_prompt_names_the_api_the_answer_calls() -> None:
    """Issue 10 item 7: the released j1s1 row shows the API by its unqualified name
    ('get_120_hour_forecast_for_weather') while its answer calls 'weather.get_120_...'; a model
    trained on it learns to call a name its system prompt does not show. With qualified names the
    system prompt, the user turn and the answer all name ``tool.api``, and the tools field too."""
    import ast

    from agentflan.sources import read

    released = [c for c in read(shared_path("agentflan_release", "samples.jsonl")) if "j1s1" in c.id]
    (row,) = released
    api = ast.literal_eval(row.messages[0].content.split("\n", 2)[1])
    assert api["name"] == "get_120_hour_forecast_for_weather"
    assert "weather.get_120_hour_forecast_for_weather" in row.messages[2].content  # the release's mismatch

    toolbench = list(full_trajectories(read(shared_path("toolbench", "answers"))))
    examples = [ex for c in toolbench for ex in call_examples(c, events(c), c.id, qualify=True)]
    assert len(examples) >= 10
    for r in format_following_rows(examples, PH, 0):
        system, user, answer = r.messages
        api = ast.literal_eval(system.content.split("\n", 2)[1])
        (call,) = answer.tool_calls
        assert api["name"] == call.name and "." in call.name
        assert f'subfunction for tool "{call.name.split(".")[0]}"' in api["description"]
        assert call.name in user.content and [t.name for t in r.tools] == [call.name]
