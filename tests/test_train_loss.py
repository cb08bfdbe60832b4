"""Chunked token losses: the same losses and gradients as full logits, without holding them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agentflan.train.loss import chunkable_head, chunked_token_losses
from agentflan.train.packing import PackedCollator


def test_chunked_losses_and_gradients_equal_the_full_ones() -> None:
    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(16, 300, bias=False)
    hidden = torch.randn(37, 16, generator=g, requires_grad=True)
    targets = torch.randint(0, 300, (37,), generator=g)
    full = F.cross_entropy(head(hidden).float(), targets, reduction="none")
    full.sum().backward()
    want_hidden, want_head = hidden.grad.clone(), head.weight.grad.clone()  # type: ignore[union-attr]
    for chunk in (1, 5, 37, 1000):
        hidden.grad = head.weight.grad = None
        losses = chunked_token_losses(hidden, head, targets, chunk)
        losses.sum().backward()
        assert torch.allclose(losses, full, atol=1e-6)
        assert torch.allclose(hidden.grad, want_hidden, atol=1e-6)  # type: ignore[arg-type]
        assert torch.allclose(head.weight.grad, want_head, atol=1e-6)  # type: ignore[arg-type]


def test_no_full_logits_are_kept_for_backward() -> None:
    """What autograd saves for the backward pass holds at most one chunk of logits."""
    head = torch.nn.Linear(8, 4000, bias=False)
    hidden = torch.randn(512, 8, requires_grad=True)
    targets = torch.randint(0, 4000, (512,))
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        chunked_token_losses(hidden, head, targets, 64).sum().backward()
    assert max(saved) < 64 * 4000 + 1
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        F.cross_entropy(head(hidden), targets).backward()
    assert max(saved) >= 512 * 4000  # the full path keeps every logit


def test_models_that_transform_their_logits_keep_full_logits() -> None:
    from transformers import Gemma2Config, Gemma2ForCausalLM, LlamaConfig, LlamaForCausalLM

    small = {"vocab_size": 64, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8}
    assert chunkable_head(LlamaForCausalLM(LlamaConfig(**small))) is not None
    assert chunkable_head(Gemma2ForCausalLM(Gemma2Config(**small, final_logit_softcapping=30.0))) is None


def _batch(tokenizer: Any) -> dict[str, Any]:
    rows = []
    for k, text in enumerate(["Thought: I should search.\nAction: search[Paris]", "Observation: Paris is the capital of France. Answer: France"]):
        ids = np.asarray(tokenizer(text, add_special_tokens=False)["input_ids"], dtype=np.int32)
        labels = ids.copy()
        labels[: len(ids) // 2] = -100  # the first half is prompt
        rows.append({"input_ids": ids, "labels": labels, "capability": np.full(len(ids), k, dtype=np.int32)})
    return PackedCollator()([rows])


@pytest.mark.parametrize("method", ["full", "lora"])
def test_trainer_loss_and_gradients_match_with_and_without_chunks(tmp_path: Path, tiny_llama_dir: Path, method: str) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments

    from agentflan.train.trainer import AgentflanTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    results = []
    for chunk in (0, 3):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
        if method == "lora":
            from peft import LoraConfig, get_peft_model

            model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj", "lm_head"], init_lora_weights=False, ensure_weight_tying=True))
        args = TrainingArguments(output_dir=str(tmp_path / str(chunk)), report_to=[], use_cpu=True)
        trainer = AgentflanTrainer(model=model, args=args, processing_class=tokenizer, loss_chunk_tokens=chunk)
        model.train()
        loss = trainer.compute_loss(model, _batch(tokenizer))
        assert (trainer._head is not None) == bool(chunk)  # the chunked path really ran
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        assert type(model.get_output_embeddings()) is not torch.nn.Identity  # the head is back after the pass
        results.append((loss.detach(), grads, trainer._flush("train")))
    (full_loss, full_grads, full_caps), (chunk_loss, chunk_grads, chunk_caps) = results
    assert torch.allclose(full_loss, chunk_loss, atol=1e-6)
    assert full_grads.keys() == chunk_grads.keys() and full_grads
    for name, grad in full_grads.items():
        # float32 sums in another order: equal to the tensor's scale (the tied embedding's LoRA grads reach ~18;
        # on an AMD EPYC they differed by 1.4e-5, 8e-7 of that)
        diff = (grad - chunk_grads[name]).abs().max().item()
        assert diff <= 1e-6 + 1e-5 * grad.abs().max().item(), (name, diff)
    assert full_caps.keys() == chunk_caps.keys() and len(full_caps) == 2
    assert all(abs(full_caps[k] - chunk_caps[k]) < 1e-5 for k in full_caps)
