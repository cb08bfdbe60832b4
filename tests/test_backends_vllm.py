"""The vllm backend: a clear error without vLLM, and the LLM/SamplingParams calls it makes
(checked against a stand-in module; real vLLM needs a GPU)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from agentflan.conversation import Message
from agentflan.errors import ConfigError
from agentflan.generation.backends import make_backend
from agentflan.generation.base import GenerationRequest, Sampling


def test_missing_vllm_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # what an absent package looks like to import
    with pytest.raises(ConfigError, match="the vllm backend needs vLLM, which is not installed"):
        make_backend("vllm", "some/model")


@pytest.mark.slow
def test_prompts_and_sampling_params_reach_vllm(monkeypatch: pytest.MonkeyPatch, tiny_llama_dir: Path) -> None:
    from transformers import AutoTokenizer

    calls: dict[str, Any] = {}

    class SamplingParams:
        def __init__(self, **kw: Any):
            self.kw = kw

    class LLM:
        def __init__(self, **kw: Any):
            calls["init"] = kw

        def get_tokenizer(self) -> Any:
            return AutoTokenizer.from_pretrained(tiny_llama_dir)

        def generate(self, prompts: list[str], params: list[SamplingParams], use_tqdm: bool) -> list[Any]:
            calls["prompts"], calls["params"] = prompts, [p.kw for p in params]
            reply = "Thought: x\nAction: search[y]\nObservation: made up<|im_end|>"
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=reply)]) for _ in prompts]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    backend = make_backend("vllm", str(tiny_llama_dir), template="chatml", tensor_parallel_size=2)
    requests = [
        GenerationRequest([Message("user", "q1")], sampling=Sampling(max_new_tokens=7, stop=["\nObservation:"])),
        GenerationRequest([Message("user", "q2")], sampling=Sampling(max_new_tokens=9, temperature=0.7, seed=3)),
    ]
    texts = backend.generate(requests)
    assert calls["init"]["model"] == str(tiny_llama_dir) and calls["init"]["tensor_parallel_size"] == 2
    assert calls["init"]["trust_remote_code"] is False
    assert calls["prompts"][0].endswith("<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\n")
    first, second = calls["params"]
    assert (first["max_tokens"], first["temperature"], first["seed"]) == (7, 0.0, None)
    assert first["stop"][0] == "\nObservation:" and "<|im_end|>" in first["stop"]  # the template's end of turn too
    assert (second["max_tokens"], second["temperature"], second["seed"]) == (9, 0.7, 3)
    assert texts == ["Thought: x\nAction: search[y]", "Thought: x\nAction: search[y]\nObservation: made up"]
