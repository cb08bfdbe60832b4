"""The hf backend on a tiny random model: left padding, stops, templates, adapters, context limits."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agentflan.conversation import Message
from agentflan.errors import ConfigError
from agentflan.generation.backends import make_backend
from agentflan.generation.backends.hf import HFBackend, HFOptions
from agentflan.generation.base import GenerationRequest, Sampling

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lively(tiny_llama_dir: Path) -> Any:
    """The tiny model with larger random weights: its greedy text varies instead of repeating one token."""
    import torch

    backend = make_backend("hf", str(tiny_llama_dir), device="cpu", batch_size=4)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in backend.lm.parameters():  # type: ignore[attr-defined]
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return backend


def _greedy_by_hand(backend: Any, prompt: str, max_new_tokens: int) -> str:
    """What plain ``model.generate`` writes after ``prompt``, cut at the backend's stop strings."""
    import torch

    from agentflan.generation.stops import cut_at_stop, template_stops

    ids = backend.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = backend.lm.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=backend.tokenizer.pad_token_id)
    text = backend.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    stops = template_stops(backend._template, []) if backend._template is not None else []
    return str(cut_at_stop(text, stops))


def _requests(n: int, sampling: Sampling | None = None) -> list[GenerationRequest]:
    texts = ["Thought: search", "Which magazine was started first, Arthur's Magazine or First for Women?", "hi", "Action: lookup[born] " * 6]
    return [GenerationRequest([Message("user", texts[i % len(texts)] + f" #{i}")], sampling=sampling or Sampling(max_new_tokens=12)) for i in range(n)]


def test_batched_generation_with_left_padding_equals_one_by_one(lively: Any) -> None:
    requests = _requests(6)
    batched = lively.generate(requests)
    single = [lively.generate([r])[0] for r in requests]
    assert batched == single
    assert len(set(batched)) == 6 and all(len(set(t)) > 3 for t in batched)  # varied text, not one repeated token
    assert lively.describe()["trust_remote_code"] is False


def test_stop_strings_end_the_generated_text(lively: Any) -> None:
    for request in _requests(4, Sampling(max_new_tokens=24)):
        [full] = lively.generate([request])
        stop = full[8:11]
        assert len(stop) == 3 and stop.strip(), full
        request.sampling = Sampling(max_new_tokens=24, stop=[stop])
        [cut] = lively.generate([request])
        assert cut == full[: full.index(stop)]


def test_sampling_is_seeded(tiny_llama_dir: Path) -> None:
    backend = make_backend("hf", str(tiny_llama_dir), device="cpu")
    draw = lambda seed: backend.generate(_requests(2, Sampling(max_new_tokens=16, temperature=1.0, seed=seed)))  # noqa: E731
    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


def test_agentflan_templates_and_the_tokenizers_own(tiny_llama_dir: Path) -> None:
    messages = [Message("system", "Be brief."), Message("user", "hello")]
    own = HFBackend(str(tiny_llama_dir), HFOptions(device="cpu"))
    assert own.render(GenerationRequest(messages)) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    tuned = HFBackend(str(tiny_llama_dir), HFOptions(device="cpu", template="agentflan"))
    prompt = tuned.render(GenerationRequest(messages))
    assert prompt.endswith("<|Assistant|>\u0d46") and "hello" in prompt
    [text] = tuned.generate([GenerationRequest(messages, sampling=Sampling(max_new_tokens=4))])
    assert text == _greedy_by_hand(tuned, prompt, 4)
    with pytest.raises(ConfigError, match="unknown template"):
        make_backend("hf", str(tiny_llama_dir), device="cpu", template="nope")


def test_a_tokenizer_without_a_chat_template_needs_template(tmp_path: Path, tiny_llama_dir: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny_llama_dir, bare)
    (bare / "chat_template.jinja").unlink()
    backend = make_backend("hf", str(bare), device="cpu")
    with pytest.raises(ConfigError, match="has no chat_template; name one with --template"):
        backend.generate(_requests(1))
    chatml = make_backend("hf", str(bare), device="cpu", template="chatml")
    [request] = _requests(1)
    prompt = chatml.render(request)  # type: ignore[attr-defined]
    assert prompt.startswith("<|im_start|>user\nThought: search #0<|im_end|>") and prompt.endswith("<|im_start|>assistant\n")
    assert chatml.generate([request]) == [_greedy_by_hand(chatml, prompt, 12)]


def test_long_prompts_keep_their_tail(tiny_llama_dir: Path) -> None:
    backend = HFBackend(str(tiny_llama_dir), HFOptions(device="cpu", max_length=48))
    long = GenerationRequest([Message("user", "Observation: a long page. " * 39 + "The tail says Paris.")], sampling=Sampling(max_new_tokens=8))
    full = backend.tokenizer(backend.render(long), add_special_tokens=False)["input_ids"]
    tail = full[-(48 - 8) :]
    assert len(full) > len(tail)
    assert backend.tokenizer.decode(tail).endswith(backend.render(long)[-20:])  # the prompt's end, where the reply begins
    [text] = backend.generate([long])
    assert backend.truncated == 1
    assert backend._fit(backend.render(long), 8) == tail
    assert text == backend._generate_ids([tail], long.sampling)[0]  # generated from the kept tail, not the head


def test_a_lora_adapter_folder_loads_on_its_base(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    adapter = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(str(tmp_path / "adapter"))
    AutoTokenizer.from_pretrained(tiny_llama_dir).save_pretrained(tmp_path / "adapter")
    backend = make_backend("hf", str(tmp_path / "adapter"), device="cpu")
    assert isinstance(backend.lm, PeftModel)  # type: ignore[attr-defined]
    assert len(backend.generate(_requests(2))) == 2
