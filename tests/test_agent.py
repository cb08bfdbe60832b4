"""The agent runtime: tools as callables, protocol parsing, trajectories; driven over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.agent import Agent, AgentConfig, Tool, load_tools, schema_of, tool
from agentflan.errors import ConfigError
from agentflan.evaluate.demo_tools import DEMO_TOOLS, calculator, evaluate
from agentflan.generation.backends import make_backend
from openai_stub import StubServer


def react(thought: str, action: str | None = None, args: dict[str, Any] | None = None, final: str | None = None) -> str:
    if final is not None:
        return f"Thought: {thought}\nFinal Answer: {final}"
    return f"Thought: {thought}\nAction: {action}\nAction Input: {json.dumps(args)}"


def scripted(*turns: str) -> Any:
    """Reply with the n-th turn, n = assistant turns already in the conversation."""
    return lambda body: turns[min(sum(m["role"] == "assistant" for m in body["messages"]), len(turns) - 1)]


def _agent(server: StubServer, tools: list[Tool], **config: Any) -> Agent:
    return Agent(make_backend("openai", "m", base_url=server.url), tools, AgentConfig(**config))


def test_agent_calls_a_registered_tool_and_answers() -> None:
    turns = scripted(react("I should compute it.", "calculator", {"expression": "6 * 7"}), react("It is 42.", final="42"))
    with StubServer(respond=turns) as server:
        episode = _agent(server, DEMO_TOOLS).ask("What is six times seven?")
    assert (episode.status, episode.answer, len(episode.steps)) == ("finished", "42", 2)
    assert episode.steps[0].actions == [{"name": "calculator", "arguments": {"expression": "6 * 7"}, "raw_arguments": '{"expression": "6 * 7"}'}]
    assert episode.steps[0].observation == "42"
    first, second = server.bodies
    assert "calculator" in first["messages"][0]["content"] and "clock" in first["messages"][0]["content"]
    assert first["stop"] == ["\nObservation:"]
    assert second["messages"][-1] == {"role": "user", "content": "Observation: 42"}
    assert episode.trajectory()["steps"][1] == {"response": react("It is 42.", final="42"), "thought": "It is 42.", "final_answer": "42"}


def test_bad_steps_become_observations_not_crashes() -> None:
    def explode(x: int) -> str:
        raise RuntimeError("the tool broke")

    boom = Tool.from_function(explode, name="boom")
    turns = scripted(
        react("try", "nosuchtool", {}),
        react("try", "calculator", {"expr": "1"}),  # wrong argument name
        react("try", "boom", {"x": 1}),
        "just some words",  # no protocol at all
        react("try", "calculator", {"expression": "1/0"}),
        react("done", final="gave up"),
    )
    with StubServer(respond=turns) as server:
        episode = _agent(server, [calculator, boom]).ask("q")
    obs = [s.observation for s in episode.steps[:5]]
    assert obs[0] == "There is no tool named nosuchtool. Available tools: calculator, boom."
    assert obs[1] is not None and obs[1].startswith("The arguments for calculator are not valid:") and "'expression' is a required property" in obs[1]
    assert obs[2] == "boom failed: RuntimeError: the tool broke"
    assert episode.steps[3].format_error is not None and obs[3] is not None and "did not follow the required format" in obs[3]
    assert obs[4] is not None and obs[4].startswith("calculator failed: ValueError: cannot evaluate '1/0'")
    assert (episode.status, episode.answer, episode.format_errors) == ("finished", "gave up", 1)


def test_step_limit_toolllama_finish_and_lenient_extra_text() -> None:
    with StubServer(respond=lambda body: react("again", "calculator", {"expression": "1+1"})) as server:
        looping = _agent(server, [calculator], max_steps=3).ask("loop")
    assert (looping.status, looping.answer, len(looping.steps)) == ("max_steps", None, 3)

    finish = react("done", "Finish", {"return_type": "give_answer", "final_answer": "Paris"})
    with StubServer(respond=lambda body: finish) as server:
        assert _agent(server, [calculator]).ask("capital?").answer == "Paris"
    give_up = react("stuck", "Finish", {"return_type": "give_up_and_restart"})
    with StubServer(respond=lambda body: give_up) as server:
        assert _agent(server, [calculator]).ask("capital?").status == "gave_up"

    # a model that writes its own observation after the call: the call still runs (lenient), noted as a format error
    chatty = scripted(react("c", "calculator", {"expression": "2+3"}) + "\nObservation: 7", react("ok", final="5"))
    with StubServer(respond=chatty) as server:
        ep = _agent(server, [calculator], stop=[]).ask("2+3")
    assert ep.steps[0].observation == "5" and ep.steps[0].format_error is not None and ep.answer == "5"
    with StubServer(respond=chatty) as server:
        strict = _agent(server, [calculator], stop=[], lenient=False, max_steps=1).ask("2+3")
    assert strict.steps[0].observation is not None and "did not follow" in strict.steps[0].observation


def test_episodes_advance_in_lockstep_batches() -> None:
    with StubServer(respond=scripted(react("c", "calculator", {"expression": "2**10"}), react("ok", final="1024"))) as server:
        agent = _agent(server, [calculator])
        episodes = agent.run([agent.start(f"q{i}") for i in range(5)])
    assert [e.answer for e in episodes] == ["1024"] * 5 and len(server.bodies) == 10


def test_fireact_protocol_and_plain_replies_in_chat_mode() -> None:
    with StubServer(respond=lambda body: "Hello! How can I help you today?") as server:
        chat = _agent(server, DEMO_TOOLS, plain_reply_is_answer=True).ask("hi")
    assert (chat.status, chat.answer, chat.format_errors) == ("finished", "Hello! How can I help you today?", 0)

    def search(entity: str) -> str:
        """Look something up."""
        return f"{entity} is a city in France."

    turns = scripted("Thought: look it up\nAction: search[Lyon]", "Thought: known\nAction: finish[France]")
    with StubServer(respond=turns) as server:
        ep = _agent(server, [Tool.from_function(search)], protocol="fireact").ask("Where is Lyon?")
    assert ep.answer == "France" and ep.steps[0].observation == "Lyon is a city in France."


def test_tools_from_functions_and_module_specs() -> None:
    def weather(city: str, days: int = 1, metric: bool = True, tags: list[str] | None = None) -> str:
        """Forecast for a city.

        More text that is not the description."""
        return city

    assert schema_of(weather) == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"}, "tags": {}},
        "required": ["city"],
    }
    t = tool(name="forecast")(weather)
    assert (t.name, t.description) == ("forecast", "Forecast for a city.")
    assert t.spec.argument_errors({"city": "Oslo", "days": 2}) == [] and t.spec.argument_errors({"days": "2"}) != []
    assert [x.name for x in load_tools("agentflan.evaluate.demo_tools:DEMO_TOOLS")] == ["calculator", "clock"]
    assert [x.name for x in load_tools("json:dumps")] == ["dumps"]
    with pytest.raises(ConfigError, match="module:callable"):
        load_tools("nocolon")
    with pytest.raises(ConfigError, match="cannot load tool"):
        load_tools("agentflan.evaluate.demo_tools:nothing_here")


@pytest.mark.parametrize(
    ("expression", "value"),
    [("(3 + 4) * 2 ** 3", 56), ("-2 ** 2", -4), ("7 // 2 + 7 % 2", 4), ("sqrt(16) + abs(-1)", 5.0), ("round(pi, 2)", 3.14)],
)
def test_calculator(expression: str, value: float) -> None:
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize("expression", ["__import__('os').system('true')", "open('x')", "(1).__class__", "[1, 2]", "2 ** 100000", "x", "lambda: 1"])
def test_calculator_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError):
        evaluate(expression)


@given(st.text(max_size=30))
def test_calculator_on_garbage_returns_a_number_or_a_value_error(text: str) -> None:
    try:
        result = evaluate(text)
    except ValueError:
        return
    assert isinstance(result, (int, float, complex))


def test_observations_can_come_back_as_tool_turns() -> None:
    turns = scripted(react("c", "calculator", {"expression": "3*3"}), react("ok", final="9"))
    with StubServer(respond=turns) as server:
        ep = _agent(server, [calculator], observation_role="tool").ask("3*3")
    assert ep.answer == "9"
    assert server.bodies[1]["messages"][-1] == {"role": "tool", "content": "9", "name": "calculator"}


def test_clock_reports_the_time_at_an_offset() -> None:
    import datetime as dt

    from agentflan.evaluate.demo_tools import clock

    stamp = dt.datetime.fromisoformat(clock.fn(timezone_offset_hours=5.5))
    assert stamp.utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert abs((stamp - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60
