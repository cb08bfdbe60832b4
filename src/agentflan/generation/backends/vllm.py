"""Offline batched generation with vLLM (GPU machines); vLLM is imported only here.

Prompts are rendered exactly as the hf backend renders them (an agentflan template or the
tokenizer's own), then handed to ``LLM.generate`` with one ``SamplingParams`` per request,
so mixed decoding settings still go in one scheduler pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from agentflan.errors import ConfigError
from agentflan.generation.backends import (
    dtype_option,
    load_template,
    render_prompt,
    revision_option,
    template_option,
    trust_remote_code_option,
)
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.generation.stops import cut_at_stop, template_stops
from agentflan.options import option


@dataclass(slots=True)
class VLLMOptions:
    template: str | None = template_option()
    tensor_parallel_size: int = option(1, "GPUs to shard the model over", metavar="N")
    dtype: str = dtype_option()
    max_model_len: int | None = option(None, "context length to reserve", none="the model's", metavar="N")
    gpu_memory_utilization: float = option(0.9, "fraction of GPU memory to use", metavar="F")
    trust_remote_code: bool = trust_remote_code_option()
    revision: str | None = revision_option()
    native_tools: bool = option(False, "pass the offered tools to the chat template too (off: suites describe tools in the prompt)")
    seed: int = option(0, "vLLM engine seed", flag="vllm-seed", metavar="S")


class VLLMBackend(Backend):
    name: ClassVar[str] = "vllm"
    Options: ClassVar[type[VLLMOptions]] = VLLMOptions

    def __init__(self, model: str, options: VLLMOptions | None = None):
        try:
            import vllm
        except ImportError:
            raise ConfigError(
                "the vllm backend needs vLLM, which is not installed here; install it on a GPU machine "
                "(pip install vllm) or use --backend hf, or --backend openai against a vLLM server"
            ) from None
        self.model = str(model)
        self.options = options or VLLMOptions()
        self._vllm = vllm
        o = self.options
        self.llm = vllm.LLM(
            model=self.model,
            tokenizer=self.model,
            tensor_parallel_size=o.tensor_parallel_size,
            dtype=o.dtype,
            max_model_len=o.max_model_len,
            gpu_memory_utilization=o.gpu_memory_utilization,
            trust_remote_code=o.trust_remote_code,
            revision=o.revision,
            seed=o.seed,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self._template = load_template(o.template, self.tokenizer, self.model)

    @property
    def batch_size(self) -> int:
        return 256

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, **asdict(self.options)}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        if not requests:
            return []
        prompts = [
            render_prompt(self.tokenizer, self._template, r, native_tools=self.options.native_tools, model=self.model)
            for r in requests
        ]
        stops = [template_stops(self._template, r.sampling.stop) for r in requests]
        params = [
            self._vllm.SamplingParams(
                max_tokens=r.sampling.max_new_tokens,
                temperature=r.sampling.temperature,
                top_p=r.sampling.top_p,
                stop=stop or None,
                seed=r.sampling.seed if r.sampling.temperature > 0 else None,
            )
            for r, stop in zip(requests, stops, strict=True)
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [cut_at_stop(o.outputs[0].text, stop) for o, stop in zip(outputs, stops, strict=True)]

    def close(self) -> None:
        del self.llm
