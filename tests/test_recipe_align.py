"""Chat alignment styles and capability tags, on hand-built conversations and on real trajectories."""

from __future__ import annotations

import itertools
import random

import pytest

from agentflan.conversation import Capability, Conversation, Message, Tool, ToolCall
from agentflan.protocols import get_protocol
from agentflan.protocols.base import ParseFailure
from agentflan.recipe.align import AlignOptions, align
from agentflan.recipe.phrasings import load_phrasings
from agentflan.recipe.trajectory import StepError, events, full_trajectories, qualified_names
from conftest import shared_path

PH = load_phrasings()
WEATHER = Tool(
    "get_weather",
    "Current weather of a city.",
    {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]},
)
CLOCK = Tool("get_time", "The local time of a city.", {"type": "object", "properties": {"city": {"type": "string"}}})


def trajectory() -> Conversation:
    """A thought + call, its result, a call without a thought, its result, a closing thought + answer."""
    return Conversation(
        id="t1",
        tools=[WEATHER, CLOCK],
        messages=[
            Message("system", "You are a helpful agent."),
            Message("user", "Is it warm in Paris, and what time is it there?"),
            Message("assistant", "I need the weather in Paris first.", tool_calls=[ToolCall("get_weather", {"city": "Paris", "unit": "C"})]),
            Message("tool", '{"temp": 21}', name="get_weather"),
            Message("assistant", "", tool_calls=[ToolCall("get_time", {"city": "Paris"})]),
            Message("tool", '{"time": "14:05"}', name="get_time"),
            Message("assistant", "It is 21 °C and 14:05 in Paris."),
        ],
    )


def roles(conv: Conversation) -> str:
    return " ".join(m.role for m in conv.messages)


def test_tflan_decomposes_each_step_into_capability_turns() -> None:
    out = align(trajectory(), AlignOptions("tflan"), PH, random.Random(0))
    assert roles(out) == "system user assistant user assistant user assistant user assistant user assistant user assistant"
    parts = [(m.meta.get("part"), m.spans[0].capability) for m in out.messages if m.role == "assistant"]
    assert parts == [
        ("thought", Capability.REASONING),
        ("tool", Capability.RETRIEVAL),
        ("arguments", Capability.UNDERSTANDING),
        ("tool", Capability.RETRIEVAL),
        ("arguments", Capability.UNDERSTANDING),
        ("final", Capability.REASONING),
    ]
    for m in out.messages:
        if m.role == "assistant":
            assert [(s.start, s.end) for s in m.spans] == [(0, len(m.content))]
        else:
            assert not m.spans and m.loss is None
    thought, tool, args = (m for m in out.messages if m.role == "assistant" and m.meta["part"] != "final" and m.meta.get("tool") != "get_time")
    assert thought.content == "I need the weather in Paris first."
    assert "get_weather" in tool.content and tool.content != "get_weather"
    assert "Paris" in args.content and '"C"' in args.content
    # the inserted user turns come from the pools; tool results come back as user turns
    elicit = out.messages[3].content
    assert elicit in [t.template for t in PH.pools["tflan.elicit_tool"]]
    assert out.messages[7].content == '{"temp": 21}'
    assert out.messages[-1].content == "It is 21 °C and 14:05 in Paris."
    assert out.messages[0].content.count("Input parameters are as follows:") == 2
    assert "get_weather: Current weather of a city." in out.messages[0].content


def test_tflan_without_a_thought_answers_the_tool_right_after_the_user() -> None:
    conv = trajectory()
    conv.messages[2].content = ""
    out = align(conv, AlignOptions("tflan"), PH, random.Random(0))
    assert out.messages[2].meta["part"] == "tool"
    assert out.messages[1].content == "Is it warm in Paris, and what time is it there?"


def test_cot_puts_thought_and_call_in_one_turn_ending_with_the_dictionary() -> None:
    out = align(trajectory(), AlignOptions("cot"), PH, random.Random(1))
    assert roles(out) == "system user assistant user assistant user assistant"
    first = out.messages[2]
    assert first.content.startswith("I need the weather in Paris first. ")
    assert first.content.endswith("```python\n{'name': 'get_weather', 'parameters': {'city': 'Paris', 'unit': 'C'}}\n```")
    pieces = {(s.capability, first.content[s.start : s.end]) for s in first.spans}
    assert (Capability.REASONING, "I need the weather in Paris first.") in pieces
    assert (Capability.RETRIEVAL, "get_weather") in pieces
    assert (Capability.RETRIEVAL, "'get_weather'") in pieces
    assert (Capability.UNDERSTANDING, "{'city': 'Paris', 'unit': 'C'}") in pieces
    assert any(c is Capability.INSTRUCTION for c, _ in pieces)
    assert out.messages[-1].spans[0].capability is Capability.REASONING


@pytest.mark.parametrize(("style", "protocol"), [("react", "react"), ("json", "json")])
def test_react_and_json_render_through_the_protocol(style: str, protocol: str) -> None:
    out = align(trajectory(), AlignOptions(style), PH, random.Random(0))
    p = get_protocol(protocol)
    assert out.messages[0].content == p.format_instruction([WEATHER, CLOCK])
    steps = [m for m in out.messages if m.role == "assistant"]
    assert all(m.protocol == protocol for m in steps)
    parsed = [p.parse(m.content) for m in steps]
    assert not any(isinstance(r, ParseFailure) for r in parsed)
    assert [c.name for r in parsed for c in r.tool_calls] == ["get_weather", "get_time"]  # type: ignore[union-attr]
    assert parsed[-1].final_answer == "It is 21 °C and 14:05 in Paris."  # type: ignore[union-attr]
    assert out.messages[3].content == p.render_observation('{"temp": 21}')


def test_parallel_calls_are_interleaved_with_their_results() -> None:
    conv = Conversation(
        id="p",
        tools=[WEATHER],
        messages=[
            Message("user", "Berlin or Rome, which is warmer?"),
            Message("assistant", "Both at once.", tool_calls=[ToolCall("get_weather", {"city": "Berlin"}), ToolCall("get_weather", {"city": "Rome"})]),
            Message("tool", "5", name="get_weather"),
            Message("tool", "15", name="get_weather"),
            Message("assistant", "Rome."),
        ],
    )
    out = align(conv, AlignOptions("react"), PH, random.Random(0))
    assert roles(out) == "system user assistant user assistant user assistant"
    assert "Both at once." in out.messages[2].content and "Berlin" in out.messages[2].content
    assert out.messages[3].content.endswith("5") and out.messages[5].content.endswith("15")


def test_same_seed_same_words_other_seed_other_words() -> None:
    texts = {
        seed: [m.content for m in align(trajectory(), AlignOptions("tflan"), PH, random.Random(seed)).messages]
        for seed in range(12)
    }
    assert texts[3] == [m.content for m in align(trajectory(), AlignOptions("tflan"), PH, random.Random(3)).messages]
    assert len({tuple(t) for t in texts.values()}) > 6


def test_consecutive_user_turns_merge_so_roles_alternate() -> None:
    conv = trajectory()
    conv.messages.insert(4, Message("user", "Also, hurry."))
    for style in ("tflan", "cot", "react", "json"):
        out = align(conv, AlignOptions(style), PH, random.Random(0))  # type: ignore[arg-type]
        r = [m.role for m in out.messages]
        assert all(a != b for a, b in itertools.pairwise(r)), style


def test_toolbench_trajectory_with_qualified_names() -> None:
    from agentflan.sources import read

    path = shared_path("toolbench", "answers", "G1_answer", "10_ChatGPT_DFS_woFilter_w2.json")
    (conv,) = list(full_trajectories(read(path)))
    assert qualified_names(conv.tools[:2]) == {
        "transitaire_for_transitaires": "transitaires.transitaire_for_transitaires",
        "transitaires_for_transitaires": "transitaires.transitaires_for_transitaires",
    }
    out = align(conv, AlignOptions("tflan", tool_names="qualified"), PH, random.Random(0))
    assert "Finish" not in out.messages[0].content  # the pseudo-tool's answer is a plain reply now
    assert [t.name for t in out.tools] == ["transitaires.transitaire_for_transitaires", "transitaires.transitaires_for_transitaires"]
    tools = [m.meta["tool"] for m in out.messages if m.meta.get("part") == "tool"]
    assert tools == ["transitaires.transitaires_for_transitaires", "transitaires.transitaire_for_transitaires"]
    assert out.messages[-1].content.startswith("The contact details of the 'Gondrand' customs agency")


def test_a_finish_that_gave_up_cannot_be_rewritten() -> None:
    conv = trajectory()
    conv.tools.append(Tool("Finish"))
    conv.messages[-1] = Message("assistant", "", tool_calls=[ToolCall("Finish", {"return_type": "give_up_and_restart"})])
    with pytest.raises(StepError, match=r"give_up_and_restart.*final_answer: true"):
        align(conv, AlignOptions("tflan"), PH, random.Random(0))


def test_a_turn_that_breaks_its_protocol_is_a_step_error_naming_the_turn() -> None:
    conv = Conversation(id="x", messages=[Message("user", "q"), Message("assistant", "Action: fly[now]", protocol="fireact")])
    with pytest.raises(StepError) as info:
        events(conv)
    assert info.value.field == "messages[1].content" and "fireact" in info.value.reason


def test_fireact_and_agentinstruct_keep_their_own_protocol_in_react_style() -> None:
    from agentflan.sources import read

    fire = next(iter(read(shared_path("fireact", "hotpotqa_react_gpt.jsonl"))))
    out = align(fire, AlignOptions("react"), PH, random.Random(0))
    assert [m.protocol for m in out.messages if m.role == "assistant"] == ["fireact"] * 2
    assert out.messages[-1].content == fire.messages[3].content  # re-rendered byte for byte
    assert "Episode finished" not in out.messages[-1].content
    as_json = align(fire, AlignOptions("json"), PH, random.Random(0))
    assert [m.protocol for m in as_json.messages if m.role == "assistant"] == ["json"] * 2
    os_row = next(iter(read(shared_path("agentinstruct", "os.json"))))
    react = align(os_row, AlignOptions("react"), PH, random.Random(0))
    examples = [m for m in react.messages if m.meta.get("example")]
    assert examples and all(m.loss is False and not m.trains for m in examples)
    assert "Act: bash" in react.messages[0].content
    # chat styles drop the task's format instruction and its examples, keep the task
    out = align(os_row, AlignOptions("tflan"), PH, random.Random(0))
    assert not any(m.meta.get("example") for m in out.messages)
    assert out.messages[0].role == "system" and out.messages[0].content in {t.template for t in PH.pools["agentinstruct.os"]}
    assert "Act:" not in "".join(m.content for m in out.messages if m.role != "assistant")
    assert out.messages[1].content.startswith("Now, I will start a new problem") and "How many files" in out.messages[1].content
    assert any(m.meta.get("part") == "tool" for m in out.messages)


def test_cot_joins_the_last_thought_and_the_answer_as_the_release_does() -> None:
    conv = Conversation(
        id="c",
        messages=[
            Message(role="user", content="Status?"),
            Message(role="assistant", content="Thought: Let me know if there's anything else.\nFinal Answer: It is UP.", protocol="react"),
        ],
    )
    out = align(conv, AlignOptions("cot"), PH, random.Random(0))
    assert out.messages[-1].content == "Let me know if there's anything else.It is UP."
