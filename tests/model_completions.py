"""``/v1/completions`` answered by a real causal LM, for :class:`openai_stub.StubServer` (``complete=``).

With ``echo`` and ``logprobs`` it returns, as vLLM does, the log-prob of every prompt token under
the model (the first is ``None``) and of one greedy continuation token, each with its top-1
alternative; prompts come as text, token ids, or a batch of either. ``prompt_logprobs=False``
answers as a server that gives no prompt log-probs (OpenAI's own API today): ``logprobs`` null.
Without ``echo`` it generates, as a server does for lm-eval's ``generate_until``: greedy, up to
``max_tokens``, the text cut before the first ``stop`` string, special tokens left out.
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
        ids = [p if not isinstance(p, str) else self.tokenizer(p)["input_ids"] for p in batch]
        if not body.get("echo"):
            choices = [self._generated(i, p, int(body.get("max_tokens") or 16), body.get("stop") or []) for i, p in enumerate(ids)]
        else:
            choices = [self._choice(i, p) for i, p in enumerate(ids)]
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

    def _generated(self, index: int, ids: list[int], max_tokens: int, stop: str | list[str]) -> dict[str, Any]:
        import torch

        with self._lock, torch.no_grad():
            out = self.model.generate(torch.tensor([ids]), max_new_tokens=max_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        text = self.tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)
        cuts = [text.find(s) for s in ([stop] if isinstance(stop, str) else stop) if s and s in text]
        finish = "stop" if cuts else "length"
        return {"index": index, "text": text[: min(cuts)] if cuts else text, "logprobs": None, "finish_reason": finish}
