"""Chat templates: exact training text, which characters and tokens are trained, and the exported
chat template rendering the same text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agentflan.conversation import Capability, Conversation, Message, Span, Tool
from agentflan.errors import ConfigError, InputError
from agentflan.generation.templates import CAPABILITY_IDS, get_template, template_names
from agentflan.protocols import get_protocol, protocol_names, tool_prompt
from agentflan.train.tokenize import IGNORE_INDEX, encode
from agentflan.writers.agentflan import show_tools
from train_rows import fireact, glaive, release_samples

pytestmark = pytest.mark.shared_data

HUMAN, ASSISTANT, END_HUMAN, END_ASSISTANT = "<|Human|>\u0d46", "<|Assistant|>\u0d46", "\n ", "\u0d3f\n "


@pytest.fixture(scope="module")
def llama_tok(tiny_llama_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_llama_dir))


@pytest.fixture(scope="module")
def qwen_tok(tiny_qwen2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_qwen2_dir))


def test_agentflan_template_is_the_release_template_byte_for_byte() -> None:
    conv = release_samples()[1]
    rendered = get_template("agentflan").render(conv)
    expected = "<s>"
    trained = []
    for m in conv.messages:
        if m.role == "assistant":
            start = len(expected) + len(ASSISTANT)
            expected += ASSISTANT + m.content + END_ASSISTANT
            trained.append((start, len(expected)))
        else:  # system, user and tool results are all Human turns
            expected += HUMAN + m.content + END_HUMAN
    assert rendered.text == expected
    assert rendered.supervised == trained
    assert "\u0d46".encode() == b"\xe0\xb5\x86" and "\u0d3f".encode() == b"\xe0\xb4\xbf"


def test_llama2_puts_the_system_prompt_inside_the_first_instruction() -> None:
    conv = Conversation(
        "x",
        [Message("system", "S"), Message("user", "U"), Message("assistant", "A"), Message("user", "V"), Message("assistant", "B")],
    )
    rendered = get_template("llama2").render(conv)
    assert rendered.text == "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] V [/INST] B </s>"
    assert [rendered.text[a:b] for a, b in rendered.supervised] == [" A </s>", " B </s>"]
    assert get_template("llama2").render_prompt(conv.messages[:4]).endswith("<s>[INST] V [/INST]")


@pytest.mark.parametrize("tok_name", ["llama_tok", "qwen_tok"])
def test_chatml_labels_equal_transformers_assistant_mask(tok_name: str, request: pytest.FixtureRequest) -> None:
    """Our labels are exactly the tokens apply_chat_template(return_assistant_tokens_mask=True) marks."""
    tok = request.getfixturevalue(tok_name)
    convs = fireact(60, "multitask_multimethod_gpt.jsonl", tagged=False)
    encoded = encode(convs, tok, get_template("chatml", tok), max_length=100_000)
    assert len(encoded) == len(convs)
    for i, conv in enumerate(convs):
        messages = [{"role": m.role, "content": m.content} for m in conv.messages]
        hf = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        row = encoded.row(i)
        assert row["input_ids"].tolist() == list(hf["input_ids"])
        assert (row["labels"] != IGNORE_INDEX).tolist() == [bool(x) for x in hf["assistant_masks"]]


def test_agentflan_supervised_tokens_decode_to_the_replies_and_their_end_marker(llama_tok) -> None:
    convs = release_samples() + fireact(10)
    encoded = encode(convs, llama_tok, get_template("agentflan", llama_tok), max_length=100_000)
    for i, conv in enumerate(convs):
        row = encoded.row(i)
        trained = np.flatnonzero(row["labels"] != IGNORE_INDEX)
        runs = np.split(trained, np.flatnonzero(np.diff(trained) != 1) + 1)
        replies = [m.content for m in conv.messages if m.role == "assistant"]
        assert len(runs) == len(replies)
        for run, reply in zip(runs, replies, strict=True):
            text = llama_tok.decode(row["input_ids"][run])
            assert text.startswith(reply + "\u0d3f\n")  # the end marker is trained ...
            assert (reply + END_ASSISTANT).startswith(text)  # ... and nothing of the next turn
            assert "<|Human|>" not in text


def test_loss_flags_and_spans_decide_trained_characters() -> None:
    reply = "Thought: look it up\nAction: search[Paris]"
    conv = Conversation(
        "x",
        [
            Message("user", "Q"),
            Message("assistant", "ack", loss=False),
            Message("user", "go"),
            Message(
                "assistant",
                reply,
                spans=[Span(0, 8, Capability.INSTRUCTION, loss=False), Span(9, 19, Capability.REASONING)],
            ),
            Message("user", "more"),
            Message("assistant", "Paris it is", loss=False, spans=[Span(0, 5, Capability.UNDERSTANDING, loss=True)]),
        ],
    )
    r = get_template("chatml").render(conv)
    trained = "".join(r.text[a:b] for a, b in r.supervised)
    assert "ack" not in trained  # loss: false turn
    assert trained == " look it up\nAction: search[Paris]<|im_end|>" + "Paris"  # span loss overrides
    caps = {r.text[a:b]: c for a, b, c in r.capabilities}
    assert caps == {"Thought:": CAPABILITY_IDS["instruction"], "look it up": CAPABILITY_IDS["reasoning"], "Paris": CAPABILITY_IDS["understanding"]}


def test_capability_ids_land_on_their_tokens(llama_tok) -> None:
    convs = fireact(20)
    encoded = encode(convs, llama_tok, get_template("chatml", llama_tok), max_length=100_000)
    for i, conv in enumerate(convs):
        row = encoded.row(i)
        for name in ("retrieval", "understanding"):
            decoded = llama_tok.decode(row["input_ids"][row["capability"] == CAPABILITY_IDS[name]])
            spans = "".join(m.content[s.start : s.end] for m in conv.messages for s in m.spans if s.capability.value == name)
            assert decoded.replace(" ", "") == spans.replace(" ", "")
        assert set(np.unique(row["capability"][row["labels"] == IGNORE_INDEX]).tolist()) == {-1}


@pytest.mark.parametrize("name", ["agentflan", "llama2", "llama3", "chatml"])
def test_exported_chat_template_renders_the_training_text(name: str, llama_tok) -> None:
    """The tokenizer saved with the model renders byte for byte what training saw (tools included)."""
    from agentflan.formats.openai import openai_messages, openai_tools

    template = get_template(name, llama_tok)
    convs = glaive(8) + release_samples() + fireact(3)
    tool = Tool("search", "find a page", {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})
    convs.append(Conversation("tools-no-system", [Message("user", "hi"), Message("assistant", "")], tools=[tool]))
    for conv in convs:
        messages = openai_messages(conv.messages)
        text = llama_tok.apply_chat_template(messages, tools=openai_tools(conv.tools) or None, tokenize=False, chat_template=template.chat_template)
        assert text == template.render(conv).text
        prompt = template.render_prompt(conv.messages[:1], conv.tools)
        assert prompt == llama_tok.apply_chat_template(
            messages[:1], tools=openai_tools(conv.tools) or None, tokenize=False, add_generation_prompt=True, chat_template=template.chat_template
        )


def test_tool_calls_beside_the_content_are_rendered_and_trained() -> None:
    conv = next(c for c in glaive(40) if any(m.tool_calls for m in c.messages))
    call = next(m.tool_calls[0] for m in conv.messages if m.tool_calls)
    r = get_template("chatml").render(conv)
    trained = "".join(r.text[a:b] for a, b in r.supervised)
    assert f'<tool_call>\n{{"name": "{call.name}", "arguments": ' in trained
    listing = tool_prompt("hermes", conv.tools)  # chatml lists tools as the hermes protocol's prompt does
    assert listing in r.text and "The tools you have:" not in trained


TOOL_PROMPTS = {"agentflan": "call-lines", "llama2": "call-lines", "llama3": "llama3", "chatml": "hermes", "gemma": "hermes"}


@pytest.mark.parametrize("name", sorted(TOOL_PROMPTS))
def test_templates_list_tools_as_training_rows_and_evaluation_prompts_do(name: str, llama_tok) -> None:
    """One tool listing (issue 9): given tools its system prompt does not name, a template writes
    ``protocols.tool_prompt`` (the text recipe rows and protocol prompts carry) byte for byte, in the
    training row, in the evaluation prompt and through the exported chat template alike."""
    from agentflan.formats.openai import openai_messages, openai_tools

    template = get_template(name, llama_tok)
    tools = [
        Tool("get_weather", "Current weather in a city (°C).", {"type": "object", "properties": {"city": {"type": "string"}}}),
        Tool("clock", ""),
    ]
    listing = tool_prompt(TOOL_PROMPTS[name], tools)
    if TOOL_PROMPTS[name] in protocol_names():
        assert listing == get_protocol(TOOL_PROMPTS[name]).format_instruction(tools)
    conv = Conversation("t", [Message("system", "Be brief."), Message("user", "Weather in Paris?"), Message("assistant", "Sunny.")], tools=tools)
    row = template.render(conv).text
    prompt = template.render_prompt(conv.messages[:2], tools)
    served = llama_tok.apply_chat_template(
        openai_messages(conv.messages[:2]), tools=openai_tools(tools), tokenize=False, add_generation_prompt=True, chat_template=template.chat_template
    )
    assert served == prompt and row.count(listing) == prompt.count(listing) == 1
    through = row.index(listing) + len(listing)
    assert row[:through] == prompt[:through]
    ids = [llama_tok(text[:through], add_special_tokens=False)["input_ids"] for text in (row, prompt)]
    assert ids[0] == ids[1] and len(ids[0]) > 20
    if name == "agentflan":  # the Agent-FLAN JSONL writer lists missing tools as the template does
        assert template.render(show_tools(conv)).text == row


def test_tokenizer_template_without_generation_markers_finds_the_same_tokens(llama_tok) -> None:
    """A chat_template without {% generation %} (most hub tokenizers): turns are located by prompt prefix + EOS."""
    import copy

    plain = copy.deepcopy(llama_tok)
    plain.chat_template = llama_tok.chat_template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    with_markers, without = get_template("tokenizer", llama_tok), get_template("tokenizer", plain)
    assert with_markers.has_generation_markers and not without.has_generation_markers
    convs = fireact(15, tagged=True)
    a = encode(convs, llama_tok, with_markers, max_length=100_000)
    b = encode(convs, plain, without, max_length=100_000)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.capability, b.capability)


def test_template_errors_name_the_problem(llama_tok) -> None:
    with pytest.raises(ConfigError, match="unknown template 'vicuna'"):
        get_template("vicuna")
    assert set(template_names()) == {"agentflan", "llama2", "llama3", "chatml", "gemma", "tokenizer"}
    bad = Conversation("bad-1", [Message("user", "q"), Message("assistant", "abc", spans=[Span(1, 9, Capability.REASONING)])])
    with pytest.raises(InputError) as info:
        get_template("chatml").render(bad)
    assert info.value.field == "messages[1].spans[0]" and "bad-1" in str(info.value)


@pytest.mark.parametrize("name", ["agentflan", "llama2", "llama3", "chatml"])
def test_exported_template_takes_openai_tool_call_messages(name: str, llama_tok) -> None:
    """vLLM and OpenAI clients send content None and JSON-string arguments on tool-call turns."""
    template = get_template(name, llama_tok)
    messages = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "content": "18C", "tool_call_id": "c1"},
    ]
    text = llama_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, chat_template=template.chat_template)
    assert '"weather"' in text and '{"city": "Paris"}' in text and "18C" in text and "None" not in text
