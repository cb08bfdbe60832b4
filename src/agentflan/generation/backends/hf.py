"""A local transformers model: batched greedy generation with left padding.

Prompts come from an agentflan chat template (``template``: the one the model was tuned
with) or, by default, from the tokenizer's own ``chat_template``. A folder holding a PEFT
adapter (``adapter_config.json``, what ``agentflan train`` writes for LoRA runs) loads its
base model with the adapter on top. ``trust_remote_code`` stays off unless asked.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from agentflan.errors import ConfigError, unloadable
from agentflan.generation.backends import (
    BackendError,
    dtype_option,
    load_template,
    render_prompt,
    revision_option,
    template_option,
    trust_remote_code_option,
)
from agentflan.generation.base import Backend, GenerationRequest, Sampling
from agentflan.generation.gguf import resolve_model
from agentflan.generation.stops import cut_at_stop, stop_token_ids, template_stops
from agentflan.options import option

log = logging.getLogger(__name__)


@dataclass(slots=True)
class HFOptions:
    template: str | None = template_option()
    batch_size: int = option(8, "sequences per forward pass", metavar="N")
    device: str = option("auto", "cuda, cuda:1, mps, cpu or auto (the best available)", metavar="DEV")
    dtype: str = dtype_option()
    trust_remote_code: bool = trust_remote_code_option()
    revision: str | None = revision_option()
    native_tools: bool = option(False, "pass the offered tools to the chat template too (off: suites describe tools in the prompt)")
    max_length: int | None = option(None, "context budget in tokens (prompt + new tokens)", none="the model's max_position_embeddings", metavar="N")


class HFBackend(Backend):
    name: ClassVar[str] = "hf"
    Options: ClassVar[type[HFOptions]] = HFOptions

    def __init__(self, model: str, options: HFOptions | None = None):
        self.model = resolve_model(str(model))  # a .gguf file: its converted folder
        self.options = options or HFOptions()
        if self.options.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.options.batch_size}")
        self.device = _pick_device(self.options.device)
        self.tokenizer, self.lm = self._load()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._template = load_template(self.options.template, self.tokenizer, self.model)
        self._stop_ids = stop_token_ids(self.tokenizer, self._template.stop if self._template is not None else ())
        self.max_length = self.options.max_length or _context_size(self.lm, self.tokenizer)
        self.truncated = 0

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        opts = self.options
        dtype: Any = "auto" if opts.dtype == "auto" else getattr(torch, opts.dtype, None)
        if dtype is None:
            raise ConfigError(f"unknown dtype {opts.dtype!r}; use auto, float32, bfloat16 or float16")
        common: dict[str, Any] = {"trust_remote_code": opts.trust_remote_code, "revision": opts.revision}
        path = Path(self.model)
        try:
            if (path / "adapter_config.json").is_file():
                from peft import AutoPeftModelForCausalLM

                lm = AutoPeftModelForCausalLM.from_pretrained(self.model, dtype=dtype, **common)
                tok_source = self.model if (path / "tokenizer_config.json").is_file() else lm.peft_config["default"].base_model_name_or_path
            else:
                lm = AutoModelForCausalLM.from_pretrained(self.model, dtype=dtype, **common)
                tok_source = self.model
            tokenizer = AutoTokenizer.from_pretrained(tok_source, **common)
        except OSError as exc:
            raise BackendError(unloadable(self.model, exc)) from None
        lm.to(self.device)
        lm.eval()
        return tokenizer, lm

    @property
    def batch_size(self) -> int:
        return self.options.batch_size

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, **asdict(self.options)}

    def render(self, request: GenerationRequest) -> str:
        """The prompt text for one request, ending where the assistant's reply begins."""
        return render_prompt(self.tokenizer, self._template, request, native_tools=self.options.native_tools, model=self.model)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        out: list[str | None] = [None] * len(requests)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(_sampling_key(r.sampling), []).append(i)
        for indices in groups.values():
            sampling = requests[indices[0]].sampling
            if self._template is not None:
                sampling = dataclasses.replace(sampling, stop=template_stops(self._template, sampling.stop))
            prompts = [self.render(requests[i]) for i in indices]
            ids = [self._fit(p, sampling.max_new_tokens) for p in prompts]
            # Similar lengths share a micro-batch, so little compute goes to padding.
            order = sorted(range(len(indices)), key=lambda k: len(ids[k]))
            for start in range(0, len(order), self.options.batch_size):
                chunk = order[start : start + self.options.batch_size]
                texts = self._generate_ids([ids[k] for k in chunk], sampling)
                for k, text in zip(chunk, texts, strict=True):
                    out[indices[k]] = text
        return [t if t is not None else "" for t in out]

    def _fit(self, prompt: str, max_new_tokens: int) -> list[int]:
        """Token ids of a prompt, cut from the left when prompt + reply would overflow the context."""
        ids: list[int] = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        budget = max(self.max_length - max_new_tokens, 1)
        if len(ids) > budget:
            if self.truncated == 0:
                log.warning("a prompt of %d tokens exceeds the context budget of %d; keeping its last tokens", len(ids), budget)
            self.truncated += 1
            ids = ids[-budget:]
        return ids

    def _generate_ids(self, batch: list[list[int]], sampling: Sampling) -> list[str]:
        import torch

        enc = self.tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt").to(self.device)
        gen = copy.deepcopy(self.lm.generation_config)
        gen.max_new_tokens = sampling.max_new_tokens
        gen.do_sample = sampling.temperature > 0
        gen.temperature = sampling.temperature if gen.do_sample else None
        gen.top_p = sampling.top_p if gen.do_sample else None
        gen.top_k = None
        gen.pad_token_id = self.tokenizer.pad_token_id
        if self._stop_ids:
            gen.eos_token_id = self._stop_ids
        if gen.do_sample:
            torch.manual_seed(sampling.seed)
        prompt_len = enc["input_ids"].shape[1]
        criteria = _stop_criteria(self.tokenizer, sampling.stop, prompt_len)
        with torch.inference_mode():
            output = self.lm.generate(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                generation_config=gen,
                stopping_criteria=criteria,
            )
        new = output[:, prompt_len:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [cut_at_stop(t, sampling.stop) for t in texts]

    def close(self) -> None:
        import gc

        import torch

        del self.lm
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _stop_criteria(tokenizer: Any, stops: Sequence[str], prompt_len: int) -> Any:
    """Stop a sequence once its *generated* text holds a stop string.

    transformers' own ``stop_strings`` also matches across the prompt boundary (a prompt ending
    in a newline plus a generated "Observation:" stops at once), which servers never do.
    Only the last few tokens are decoded each step, so the check stays cheap.
    """
    from transformers import StoppingCriteria, StoppingCriteriaList

    stops = [s for s in stops if s]
    if not stops:
        return None
    window = max(len(s) for s in stops) + 8

    class StopOnText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            tails = tokenizer.batch_decode(input_ids[:, prompt_len:][:, -window:], skip_special_tokens=True)
            return torch.tensor([any(s in t for s in stops) for t in tails], dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopOnText()])


def _sampling_key(s: Sampling) -> tuple[Any, ...]:
    return (s.max_new_tokens, s.temperature, s.top_p, tuple(s.stop), s.seed)


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _context_size(lm: Any, tokenizer: Any) -> int:
    size = getattr(lm.config, "max_position_embeddings", None)
    if isinstance(size, int) and size > 0:
        return size
    size = getattr(tokenizer, "model_max_length", None)
    if isinstance(size, int) and 0 < size < 10**7:
        return size
    return 4096
