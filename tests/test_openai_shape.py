"""One conversion to OpenAI-shaped messages and tools (issue 9): the ``openai`` writer, the chat
templates (agentflan's and a tokenizer's own, as the ``hf``/``vllm`` backends render prompts) and
the ``openai`` backend's HTTP request see the same dicts for the same conversation."""

from __future__ import annotations

import copy
import json
from typing import Any

from agentflan.conversation import Conversation, Message, Tool, ToolCall
from agentflan.generation.backends import make_backend, render_prompt
from agentflan.generation.base import GenerationRequest
from agentflan.generation.templates import Template
from agentflan.writers.openai import OpenAIWriter
from openai_stub import StubServer

#: a chat template that writes out exactly what it is given
PROBE = "{{ messages | tojson }}\n{{ tools | tojson }}"

WEATHER = Tool(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"], "optional": ["unit"]},
)
CLOCK = Tool("clock", "The time now.")
CONV = Conversation(
    id="c1",
    tools=[WEATHER, CLOCK],
    messages=[
        Message("system", "You help with the weather."),
        Message("user", "Weather in Oslo and the time?", name="ada"),
        Message(
            "assistant",
            "Let me look.",
            tool_calls=[
                ToolCall.from_text("get_weather", '{"city": "Oslo", "unit": "C"}', id="call_a"),
                ToolCall("clock", {}, id="call_b"),
                ToolCall.from_text("get_weather", "city=Oslo", id="call_c"),  # not a JSON object: kept as text
            ],
        ),
        Message("tool", '{"temp": 3}', name="get_weather", tool_call_id="call_a"),
        Message("tool", "09:41", name="clock", tool_call_id="call_b"),
        Message("tool", "bad arguments", name="get_weather", tool_call_id="call_c"),
        Message("assistant", "3 degrees at 09:41.", loss=False),
    ],
)


def _written() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    record = OpenAIWriter().encode(CONV)
    return record["messages"], record["tools"]


def _probed(text: str) -> tuple[Any, Any]:
    messages, tools = text.split("\n", 1)
    return json.loads(messages), json.loads(tools)


def test_writer_and_agentflan_templates_see_the_same_dicts() -> None:
    messages, tools = _written()
    template = Template("probe", PROBE, stop=())
    seen_messages, seen_tools = _probed(template.render(CONV).text)
    assert seen_messages == messages and seen_tools == tools
    assert _probed(template.render_prompt(CONV.messages, CONV.tools)) == (messages, tools)
    # the parts the shared rules decide
    assert messages[1]["name"] == "ada" and messages[3] == {"role": "tool", "content": '{"temp": 3}', "name": "get_weather", "tool_call_id": "call_a"}
    calls = messages[2]["tool_calls"]
    assert calls[0] == {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "C"}}}
    assert calls[2]["function"]["arguments"] == "city=Oslo"
    assert messages[6]["weight"] == 0
    assert tools[1] == {"type": "function", "function": {"name": "clock", "description": "The time now.", "parameters": {}}}


def test_a_tokenizers_own_template_sees_the_same_dicts() -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]")))
    tokenizer.chat_template = PROBE
    request = GenerationRequest(list(CONV.messages), list(CONV.tools))
    prompt = render_prompt(tokenizer, None, request, native_tools=True, model="probe")
    assert _probed(prompt) == _written()


def test_the_openai_request_carries_the_same_dicts_with_arguments_as_text() -> None:
    """The HTTP API takes arguments as JSON text and has no ``weight``; everything else is the same."""
    messages, tools = _written()
    expected = copy.deepcopy(messages)
    for m, source in zip(expected, CONV.messages, strict=True):
        m.pop("weight", None)
        for d, call in zip(m.get("tool_calls", ()), source.tool_calls, strict=True):
            d["function"]["arguments"] = call.arguments_text()
    request = GenerationRequest(list(CONV.messages), list(CONV.tools))
    with StubServer() as server:
        make_backend("openai", "m", base_url=server.url, native_tools=True).generate([request])
    body = server.bodies[0]
    assert body["messages"] == expected
    assert body["tools"] == tools


def test_the_request_gives_every_call_an_id() -> None:
    conv = Conversation("c2", [Message("user", "hi"), Message("assistant", "", tool_calls=[ToolCall("clock")])])
    with StubServer() as server:
        make_backend("openai", "m", base_url=server.url).generate([GenerationRequest(list(conv.messages))])
    assert server.bodies[0]["messages"][1]["tool_calls"][0]["id"] == "call_0"
    assert "id" not in OpenAIWriter().encode(conv)["messages"][1]["tool_calls"][0]
