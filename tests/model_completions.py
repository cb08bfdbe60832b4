"""``/v1/completions`` answered by a real causal LM, for :class:`openai_stub.StubServer` (``complete=``).

With ``echo`` and ``logprobs`` it returns, as vLLM does, the log-prob of every prompt token under
the model (the first is ``None``) and of one greedy continuation token, each with its top-1
alternative; prompts come as text, token ids, or a batch of either. ``prompt_logprobs=False``
answers as a server that gives no prompt log-probs (OpenAI's own API today): ``logprobs`` null.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class ModelCompletions:
    def __init__(self, model_dir: Path, *, prompt_logprobs: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(0)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.prompt_logprobs = prompt_logprobs
        self._lock = threading.Lock()  # one forward pass at a time: the server answers from several threads

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["prompt"]
        batch = prompt if isinstance(prompt, list) and prompt and isinstance(prompt[0], list | str) else [prompt]
        choices = [self._choice(i, p if not isinstance(p, str) else self.tokenizer(p)["input_ids"]) for i, p in enumerate(batch)]
        return {"id": "cmpl-model", "object": "text_completion", "created": 0, "model": body.get("model", ""), "choices": choices}

    def _choice(self, index: int, ids: list[int]) -> dict[str, Any]:
        import torch

        with self._lock, torch.no_grad():
            logits = self.model(torch.tensor([ids])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        nxt = int(logp[-1].argmax())
        tokens = [*ids, nxt]
        values: list[float | None] = [None] + [float(logp[i - 1, tokens[i]]) for i in range(1, len(tokens))]
        top: list[dict[str, float] | None] = [None]
        for i in range(1, len(tokens)):
            best = int(logp[i - 1].argmax())
            top.append({self.tokenizer.decode([best]): float(logp[i - 1, best])})
        text = self.tokenizer.decode(tokens)
        logprobs = {"tokens": [self.tokenizer.decode([t]) for t in tokens], "token_logprobs": values, "top_logprobs": top,
                    "text_offset": list(range(len(tokens)))}
        return {"index": index, "text": text, "logprobs": logprobs if self.prompt_logprobs else None, "finish_reason": "length"}
