"""The tool-need companion set: right tool, schema-valid arguments, format; never-callers score 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflan.conversation import Message, Tool
from agentflan.evaluate.base import EvalItem, ItemResult
from agentflan.evaluate.itemfile import write_items
from agentflan.evaluate.toolneed import args_match, make_suite, score_tool_need, summarize_tool_need
from conftest import shared_path

WEATHER = Tool(
    "get_current_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
)
STOCK = Tool("get_stock_price", "Latest price.", {"type": "object", "properties": {"ticker": {"type": "string"}}, "required": ["ticker"]})


def _item(prompt: str, protocol: str = "react") -> EvalItem:
    return EvalItem(
        id=f"n1/{prompt}",
        messages=[Message("system", "..."), Message("user", "Weather in Oslo?")],
        tools=[WEATHER, STOCK],
        expected={
            "needs_tool": True,
            "acceptable": ["get_current_weather"],
            "reference": {"name": "get_current_weather", "arguments": {"city": "Oslo"}},
            "offered": ["get_current_weather", "get_stock_price"],
            "prompt": prompt,
            "protocol": protocol,
        },
        meta={"sample": "n1", "kind": "tool_need", "prompt": prompt},
    )


@pytest.mark.parametrize(
    ("prompt", "protocol", "text", "success", "tool_ok", "args_valid", "format_ok"),
    [
        ("react", "react", 'Thought: check\nAction: get_current_weather\nAction Input: {"city": "Oslo"}', True, True, True, True),
        ("react", "json", '{"thought": "t", "action": "get_current_weather", "action_input": {"city": "Oslo"}}', True, True, True, True),
        ("general", "react", '<tool_call>\n{"name": "get_current_weather", "arguments": {"city": "Oslo"}}\n</tool_call>', True, True, True, True),
        # wrong tool
        ("react", "react", 'Thought: t\nAction: get_stock_price\nAction Input: {"ticker": "OSLO"}', False, False, True, True),
        # missing required argument / wrong enum value
        ("react", "react", "Thought: t\nAction: get_current_weather\nAction Input: {}", False, True, False, True),
        ("react", "react", 'Thought: t\nAction: get_current_weather\nAction Input: {"city": "Oslo", "unit": "kelvin"}', False, True, False, True),
        # arguments that are not JSON
        ("react", "react", "Thought: t\nAction: get_current_weather\nAction Input: city=Oslo", False, True, False, False),
        # right call, then an invented observation: a format error under the protocol prompt
        ("react", "react", 'Thought: t\nAction: get_current_weather\nAction Input: {"city": "Oslo"}\nObservation: sunny', False, True, True, False),
        # no call at all
        ("react", "react", "Thought: I can answer.\nFinal Answer: It is probably cold.", False, False, False, True),
        ("general", "react", "It is probably cold in Oslo.", False, False, False, True),
    ],
)
def test_score_tool_need(prompt: str, protocol: str, text: str, success: bool, tool_ok: bool, args_valid: bool, format_ok: bool) -> None:
    s = score_tool_need(_item(prompt, protocol), text)
    assert (s["success"], s["tool_ok"], s["args_valid"], s["format_ok"]) == (success, tool_ok, args_valid, format_ok)


def test_unoffered_tool_and_argument_match() -> None:
    s = score_tool_need(_item("general"), '{"name": "get_weather", "arguments": {"city": "Oslo"}}')
    assert s["unoffered"] and not s["tool_ok"] and s["args_match"] is None
    s = score_tool_need(_item("general"), '{"name": "get_current_weather", "arguments": {"city": "Bergen"}}')
    assert s["success"] and s["args_match"] == 0.0
    assert args_match({"a": 1, "b": "x"}, {"a": "1", "b": " x "}) == 1.0
    assert args_match({}, {}) == 1.0 and args_match({}, {"a": 1}) == 0.0
    assert args_match({"a": 1, "b": 2}, {"a": 1}) == 0.5


def test_summary_side_by_side_rates() -> None:
    good = 'Thought: t\nAction: get_current_weather\nAction Input: {"city": "Oslo"}'
    results = []
    for prompt, text in (("react", good), ("react", "Final answer without a call."), ("general", good), ("general", "no call")):
        item = _item(prompt)
        results.append(ItemResult(item.id, text, score_tool_need(item, text), dict(item.meta)))
    m = summarize_tool_need(results)
    assert m["tool_need"] == 50.0 and m["n"] == 4
    assert m["per_prompt"]["react"]["success"] == 0.5 and m["per_prompt"]["general"]["called"] == 0.5
    assert m["per_prompt"]["react"]["args_match"] == 1.0


def test_suite_from_real_sources_and_from_a_built_file(tmp_path: Path) -> None:
    sources = f"{shared_path('toolbench', 'answers')},{shared_path('glaive', 'glaive_toolcall_en_demo.json')}"
    suite = make_suite(sources=sources, builtin=False, seed=1)
    items = list(suite.items())
    assert len(items) == 2 * (13 + 73)
    # the reference answers themselves score perfectly under the protocol prompt
    from agentflan.conversation import ToolCall
    from agentflan.protocols import get_protocol
    from agentflan.protocols.base import AgentStep

    react = [it for it in items if it.expected["prompt"] == "react" and it.expected["reference"]]
    for it in react:
        ref = it.expected["reference"]
        text = get_protocol("react").render(AgentStep("I will call the tool.", [ToolCall(ref["name"], ref["arguments"])])).text
        s = suite.score(it, text)
        assert s["tool_ok"] and s["format_ok"], (it.id, s)
        assert s["args_valid"], (it.id, s["args_errors"])  # the sources' own calls fit their schemas
        assert s["success"] and s["args_match"] == 1.0
    path = tmp_path / "need.jsonl"
    write_items(items, path)
    assert [it.id for it in make_suite(data=str(path)).items()] == [it.id for it in items]


def test_right_values_count_only_calls_with_the_asked_for_values() -> None:
    asked = 'Thought: t\nAction: get_current_weather\nAction Input: {"city": "Oslo"}'
    other_city = 'Thought: t\nAction: get_current_weather\nAction Input: {"city": "Bergen"}'
    results = []
    for text in (asked, other_city):
        item = _item("react")
        results.append(ItemResult(item.id, text, score_tool_need(item, text), dict(item.meta)))
    m = summarize_tool_need(results)
    # both calls are schema-valid successes; only one asks for the city the user named
    assert m["tool_need"] == 100.0 and m["tool_need_values"] == 50.0
