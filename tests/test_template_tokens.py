"""Special tokens that decide what a model sees and learns: BOS a tokenizer expects, a turn-end token that is
not EOS (Gemma's ``<end_of_turn>``), the template and stop ids recorded beside a trained model, and Gemma's
own chat format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentflan.conversation import Conversation, Message
from agentflan.errors import ConfigError
from agentflan.generation.stops import stop_token_ids
from agentflan.generation.templates import TEMPLATE_FILE, get_template, recorded_template
from agentflan.train.tokenize import IGNORE_INDEX, encode

GEMMA_LIKE = (  # Gemma's own chat format, written by hand, with no generation markers
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
CONV = Conversation("c", [Message("user", "What is 2+2?"), Message("assistant", "It is 4."), Message("user", "And 3+3?"), Message("assistant", "6.")])


def _tokenizer(*, adds_bos: bool, chat_template: str | None = None) -> Any:
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    from agentflan.train.tiny import train_tokenizer

    tok = train_tokenizer([m.content for m in CONV.messages] * 20, vocab_size=300)
    backend = tok.backend_tokenizer
    backend.add_special_tokens(["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>"])
    if adds_bos:
        backend.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", backend.token_to_id("<bos>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")
    fast.chat_template = chat_template
    return fast


def test_a_turn_end_token_that_is_not_eos_is_trained_and_stops_generation() -> None:
    tok = _tokenizer(adds_bos=True, chat_template=GEMMA_LIKE)
    template = get_template("tokenizer", tok)
    assert "<end_of_turn>" in template.stop and "<eos>" in template.stop
    rendered = template.render(CONV)
    assert [rendered.text[a:b] for a, b in rendered.supervised] == ["It is 4.<end_of_turn>", "6.<end_of_turn>"]
    encoded = encode([CONV], tok, template, 512)
    trained = tok.decode(encoded.input_ids[encoded.labels != IGNORE_INDEX].tolist())
    assert trained.count("<end_of_turn>") == 2 and encoded.input_ids[0] == tok.bos_token_id
    assert tok.convert_tokens_to_ids("<end_of_turn>") in stop_token_ids(tok, template.stop)


def test_a_template_without_bos_gets_it_when_the_tokenizer_expects_one() -> None:
    expects = _tokenizer(adds_bos=True)
    chatml = get_template("chatml", expects)
    assert chatml.bos_prefix == "<bos>"
    prompt = chatml.render_prompt(CONV.messages[:1])
    assert prompt.startswith("<bos><|im_start|>user\nWhat is 2+2?")
    rendered = chatml.render(CONV)
    assert rendered.text.startswith("<bos><|im_start|>user")
    assert [rendered.text[a:b] for a, b in rendered.supervised] == ["It is 4.<|im_end|>", "6.<|im_end|>"]  # ranges moved with it
    assert get_template("chatml", _tokenizer(adds_bos=False)).bos_prefix == ""
    gemma = get_template("gemma", expects)  # writes its own BOS: none added twice
    assert gemma.bos_prefix == "" and gemma.render_prompt(CONV.messages[:1]).count("<bos>") == 1


def test_gemma_template_renders_gemmas_chat_format() -> None:
    conv = Conversation("g", [Message("system", "Be brief."), *CONV.messages])
    rendered = get_template("gemma").render(conv)
    assert rendered.text == (
        "<bos><start_of_turn>user\nBe brief.\n\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\nIt is 4.<end_of_turn>\n"
        "<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n6.<end_of_turn>\n"
    )
    assert [rendered.text[a:b] for a, b in rendered.supervised] == ["It is 4.<end_of_turn>", "6.<end_of_turn>"]
    assert get_template("gemma").stop == ("<end_of_turn>",)


def test_a_tuned_model_is_prompted_and_stopped_with_its_recorded_template(tmp_path: Path, tiny_llama_dir: Path) -> None:
    import shutil

    from agentflan.generation.backends.hf import HFBackend, HFOptions

    folder = tmp_path / "tuned"
    shutil.copytree(tiny_llama_dir, folder)
    assert recorded_template(folder) is None
    (folder / TEMPLATE_FILE).write_text(json.dumps({"template": "agentflan", "stop": ["\u0d3f"], "stop_token_ids": [2]}))
    assert recorded_template(folder) == "agentflan"
    backend = HFBackend(str(folder), HFOptions(device="cpu"))
    assert backend._template is not None and backend._template.name == "agentflan"
    assert backend.render(_request()).endswith("<|Assistant|>\u0d46")
    explicit = HFBackend(str(folder), HFOptions(device="cpu", template="chatml"))  # a named template still wins
    assert explicit._template.name == "chatml"  # type: ignore[union-attr]
    assert explicit.tokenizer.convert_tokens_to_ids("<|im_end|>") in explicit._stop_ids
    (folder / TEMPLATE_FILE).write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a template record"):
        recorded_template(folder)


def _request() -> Any:
    from agentflan.generation.base import GenerationRequest

    return GenerationRequest([Message("user", "hello")])
