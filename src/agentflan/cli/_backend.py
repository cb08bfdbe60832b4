"""Backend options shared by ``agentflan eval`` and ``agentflan chat``."""

from __future__ import annotations

import argparse
from typing import Any

from agentflan.cli._common import check_model, model_errors
from agentflan.generation.base import Backend

# Backend options the CLI exposes (argparse dest == option name); only options the user set are
# passed, so each backend keeps its defaults and rejects options that do not apply to it (naming them).
_OPTIONS = (
    "base_url", "api_key_env", "concurrency", "timeout", "max_retries", "template", "batch_size", "device",
    "dtype", "trust_remote_code", "revision", "native_tools", "tensor_parallel_size", "max_model_len",
    "gpu_memory_utilization",
)


def add_backend_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and backend")
    g.add_argument("--model", required=True, help="hf/vllm: a local folder or hub id (a LoRA adapter folder works with hf); openai: the served model name")
    g.add_argument("--backend", choices=["hf", "openai", "vllm"], default="hf", help="hf: local transformers (default); openai: any OpenAI-compatible server; vllm: offline vLLM (GPU)")
    g.add_argument("--template", metavar="NAME", help="hf/vllm: agentflan chat template the model was tuned with (agentflan, llama2, llama3, chatml, tokenizer); default: the tokenizer's own chat_template")
    g.add_argument("--base-url", metavar="URL", help="openai: server URL, e.g. http://127.0.0.1:8000/v1 (default: the OpenAI API)")
    g.add_argument("--api-key-env", metavar="VAR", help="openai: environment variable holding the API key (default OPENAI_API_KEY; unset with --base-url means a dummy key)")
    g.add_argument("--concurrency", type=int, metavar="N", help="openai: requests in flight at once (default 8)")
    g.add_argument("--timeout", type=float, metavar="S", help="openai: seconds per request before it is retried (default 120)")
    g.add_argument("--max-retries", type=int, metavar="N", help="openai: retries with exponential backoff on 429/5xx/timeouts/dropped connections (default 6)")
    g.add_argument("--batch-size", type=int, metavar="N", help="hf: sequences per forward pass (default 8)")
    g.add_argument("--device", metavar="DEV", help="hf: cuda, cuda:1, mps or cpu (default: the best available)")
    g.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], help="hf/vllm: weight dtype (default auto: as saved)")
    g.add_argument("--revision", metavar="REV", help="hf/vllm: hub revision (branch, tag or commit)")
    g.add_argument("--trust-remote-code", action="store_true", default=None, help="hf/vllm: run the model repository's own Python code (off unless given)")
    g.add_argument("--native-tools", action="store_true", default=None, help="pass the offered tools to the chat template / API `tools` field too (default: tools are described in the prompt only)")
    g.add_argument("--tensor-parallel-size", type=int, metavar="N", help="vllm: GPUs to shard the model over (default 1)")
    g.add_argument("--max-model-len", type=int, metavar="N", help="vllm: context length to reserve (default: the model's)")
    g.add_argument("--gpu-memory-utilization", type=float, metavar="F", help="vllm: fraction of GPU memory to use (default 0.9)")


def backend_from_args(args: argparse.Namespace) -> Backend:
    from agentflan.generation.backends import make_backend

    options: dict[str, Any] = {}
    for name in _OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if args.backend in ("hf", "vllm"):
        check_model(args.model)
    with model_errors(args.model):
        return make_backend(args.backend, args.model, **options)
