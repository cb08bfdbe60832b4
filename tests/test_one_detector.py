"""One tool-call vocabulary (issue 9): the negatives filter, Agent-H, tool-need scoring and the agent
runtime give the same call/no-call verdict on the same replies, because they all ask
:func:`agentflan.protocols.detect_calls`."""

from __future__ import annotations

import pytest

from agentflan.agent import Agent, AgentConfig
from agentflan.agent.tools import Tool as AgentTool
from agentflan.conversation import Message, Tool
from agentflan.evaluate.agent_h import classify
from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.toolneed import score_tool_need
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.protocols import detect_calls, get_protocol, is_answer_action
from agentflan.protocols.base import AgentStep
from agentflan.protocols.calls import names_null_action
from agentflan.recipe.negatives import contains_tool_call

WEATHER = Tool("get_weather", "Current weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})

CALLS = {
    "react": 'Thought: I should check.\nAction: get_weather\nAction Input: {"city": "Oslo"}',
    "react-broken": "Thought: I should check.\nAction: get_weather\nAction Input: city=Oslo",
    "fireact": "Thought: I should look it up.\nAction: search[Oslo weather]",
    "json": '{"thought": "check", "action": "get_weather", "action_input": {"city": "Oslo"}}',
    "json-goal": '{"goal": "check", "Tool": "get_weather", "Param": {"city": "Oslo"}}',
    "hermes": 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    "hermes-broken": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"',
    "glaive": "<functioncall> {\"name\": \"get_weather\", \"arguments\": '{\"city\": \"Oslo\"}'}",
    "llama3": '{"name": "get_weather", "parameters": {"city": "Oslo"}}',
    "openai-line": 'Sure. {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}',
}
PLAIN = {
    "mention": "You could use get_weather for that, or look outside.",
    "mention-json-word": 'A tool named "get_weather" takes a city; I cannot run it here.',
    "braces": "Paris is the capital of France. Use a map {like this} to check.",
    "json-answer": 'Here is the data you asked for: {"city": "Oslo", "temp": 3}',
    "react-answer": "Thought: I know this.\nFinal Answer: It is cold in Oslo in winter.",
    "finish-call": 'Thought: done\nAction: Finish\nAction Input: {"return_type": "give_answer", "final_answer": "cold"}',
    "prose": "I don't have live weather data, but Oslo winters are usually below freezing.",
}
#: "no action" replies: they call no tool, whoever asks (Agent-H labels them a format error).
NULL = {
    "react-none": "Thought: No tool is needed; Oslo is cold in winter.\nAction: None\nAction Input: {}",
    "react-none-alone": "Thought: Oslo is cold in winter, no lookup needed.\nAction: None",
    "react-no-action": "Thought: I can answer directly.\nAction: no action\nAction Input: {}",
    "react-na": 'Thought: Nothing to look up.\nAction: "N/A"\nAction Input: {}',
    "json-none": '{"thought": "no tool needed", "action": "None", "action_input": {}}',
    "json-goal-none": '{"goal": "answer directly", "Tool": "no_tool", "Param": {}}',
    "llama3-null": '{"name": "null", "parameters": {}}',
}


def _tool_need_item() -> EvalItem:
    return EvalItem(
        id="n/general",
        messages=[Message("system", "..."), Message("user", "Weather in Oslo?")],
        tools=[WEATHER],
        expected={"needs_tool": True, "acceptable": ["get_weather"], "offered": ["get_weather"], "prompt": "general", "protocol": "react"},
    )


class _Replay(Backend):
    """A backend that answers every request with one fixed reply (the reply under test is the data)."""

    name = "replay"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def generate(self, requests: list[GenerationRequest]) -> list[str]:
        return [self.reply for _ in requests]


def _runtime_calls(reply: str) -> bool:
    """Whether the chat agent (a plain reply is the answer) takes ``reply`` for anything but a plain answer."""
    agent = Agent(_Replay(reply), [AgentTool(WEATHER, lambda city: "3C")], AgentConfig(max_steps=1, plain_reply_is_answer=True))
    episode = agent.ask("Weather in Oslo?")
    step = episode.steps[0]
    called = [a for a in step.actions if not is_answer_action(a["name"])]
    return not (episode.status == "finished" and step.format_error is None and not called)


@pytest.mark.parametrize(
    ("key", "reply", "calls"),
    [(k, v, True) for k, v in CALLS.items()] + [(k, v, False) for k, v in {**PLAIN, **NULL}.items()],
)
def test_every_consumer_gives_the_same_verdict(key: str, reply: str, calls: bool) -> None:
    assert bool(detect_calls(reply)) is calls, key
    assert contains_tool_call(reply) is calls, "negatives filter"
    assert (classify(reply, prompt="general", offered=["get_weather"]).label == "action") is calls, "Agent-H general"
    assert (classify(reply, prompt="react", offered=["get_weather"]).label == "action") is calls, "Agent-H react"
    assert score_tool_need(_tool_need_item(), reply)["called"] is calls, "tool-need"
    assert _runtime_calls(reply) is calls, "agent runtime"


def test_every_call_convention_has_a_protocol_that_parses_it() -> None:
    for key in ("react", "fireact", "json", "json-goal", "hermes", "glaive", "llama3"):
        step = get_protocol(key).parse(CALLS[key])
        assert isinstance(step, AgentStep) and step.tool_calls, key


@pytest.mark.parametrize("key", list(NULL))
def test_a_null_action_is_no_call_but_agent_h_calls_it_a_format_error(key: str) -> None:
    reply = NULL[key]
    assert detect_calls(reply) == [] and names_null_action(reply), key
    general = classify(reply, prompt="general", offered=["get_weather"])
    assert (general.label, general.detail) == ("format", "no_action"), key
    assert score_tool_need(_tool_need_item(), reply)["tool"] is None


def test_a_null_action_beside_a_real_call_is_still_a_call() -> None:
    reply = 'Action: None\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    assert [c.name for c in detect_calls(reply)] == ["get_weather"]
    assert classify(reply, prompt="general", offered=["get_weather"]).label == "action"
