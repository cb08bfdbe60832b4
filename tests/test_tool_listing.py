"""One way to list tools in a prompt (issue 9): the training rows a recipe writes and the evaluation
prompts (Agent-H, tool-need, the agent runtime) list the same tools in the same text, which is
:func:`agentflan.protocols.describe_tools` over ``data/protocols/tool_entry.txt``."""

from __future__ import annotations

import random

from agentflan.agent import Agent, AgentConfig
from agentflan.agent.tools import Tool as AgentTool
from agentflan.conversation import Conversation, Tool
from agentflan.demo import QUESTIONS, TRAJECTORIES, demo_file
from agentflan.evaluate.agent_h_build import BuildOptions, build_agent_h, build_tool_need
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.protocols import describe_tools, get_protocol
from agentflan.recipe.align import AlignOptions, align
from agentflan.recipe.phrasings import load_phrasings
from agentflan.sources import read

PHRASINGS = load_phrasings()


def _trajectories() -> dict[str, Conversation]:
    return {c.id: c for c in read(demo_file(TRAJECTORIES), format="openai")}


def _aligned(conv: Conversation, style: str) -> str:
    options = AlignOptions(style, protocol="react" if style == "react" else None)  # type: ignore[arg-type]
    out = align(conv, options, PHRASINGS, random.Random(0))
    assert out.messages[0].role == "system"
    return out.messages[0].content


def test_a_tool_is_listed_by_its_entry_file() -> None:
    tool = Tool("get_weather", "Current weather.", {"type": "object", "properties": {"city": {"type": "string"}}})
    assert describe_tools([tool, Tool("clock", "The time.")]) == (
        'get_weather: Current weather.\nInput parameters are as follows: {"type": "object", "properties": {"city": {"type": "string"}}}'
        "\n\nclock: The time.\nInput parameters are as follows: {}"
    )


def test_training_rows_and_evaluation_prompts_list_tools_alike() -> None:
    convs = _trajectories()
    need = [it for it in build_tool_need([str(demo_file(TRAJECTORIES))], BuildOptions(tool_need_size=40, seed=0, builtin=False)) if it.expected["prompt"] == "react"]
    same_tools = 0
    for item in need:
        conv = convs[item.meta["source_id"]]
        react_row, tflan_row = _aligned(conv, "react"), _aligned(conv, "tflan")
        system = item.messages[0].content
        assert system.endswith(get_protocol("react").format_instruction(item.tools))
        for tool in conv.tools:
            entry = describe_tools([tool])
            assert entry in react_row and entry in tflan_row, tool.name
            if any(t.name == tool.name for t in item.tools):
                assert entry in system, tool.name
        if [t.name for t in item.tools] == [t.name for t in conv.tools]:
            # one protocol on both sides: the training row's instruction is the evaluation prompt's, byte for byte
            same_tools += 1
            assert react_row == get_protocol("react").format_instruction(conv.tools)
            assert system.endswith(react_row)
            assert describe_tools(conv.tools) in tflan_row
    assert same_tools, "no tool-need item offers exactly its trajectory's tools"


def test_agent_h_general_prompts_and_the_agent_runtime_list_tools_alike() -> None:
    items = build_agent_h([str(demo_file(TRAJECTORIES))], BuildOptions(size=30, seed=0, builtin=False), general_questions=[str(demo_file(QUESTIONS))])
    general = [it for it in items if it.meta["prompt"] == "general" and it.tools]
    assert general
    for item in general:
        assert describe_tools(item.tools) in item.messages[0].content
    tools = general[0].tools

    class _Silent(Backend):
        name = "silent"

        def generate(self, requests: list[GenerationRequest]) -> list[str]:
            return ["Final Answer: ok" for _ in requests]

    runtime = [AgentTool(t, lambda **kw: "") for t in tools]
    assert describe_tools(tools) in Agent(_Silent(), runtime, AgentConfig()).system_prompt()
