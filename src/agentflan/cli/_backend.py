"""Backend options shared by ``agentflan eval`` and ``agentflan chat``, made from each backend's
documented ``Options`` dataclass."""

from __future__ import annotations

import argparse

from agentflan.cli._common import check_model, model_errors
from agentflan.cli._options import add_option, given, option_help
from agentflan.generation.base import Backend
from agentflan.options import OptionDoc, option_docs


def backend_options() -> dict[str, list[OptionDoc]]:
    """Each backend's documented options, by backend name."""
    from agentflan.generation.backends import BACKENDS, backend_class

    return {name: option_docs(backend_class(name).Options) for name in BACKENDS}


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--backend`` and one flag per backend option; an option several backends take
    is one flag whose help names each backend (and its own text where they differ)."""
    from agentflan.generation.backends import BACKENDS

    g = p.add_argument_group("model and backend")
    g.add_argument("--model", required=True, help="hf/vllm: a local folder or hub id (a LoRA adapter folder works with hf); openai: the served model name")
    g.add_argument("--backend", choices=list(BACKENDS), default="hf", help="hf: local transformers (default); openai: any OpenAI-compatible server; vllm: offline vLLM (GPU)")
    by_flag: dict[str, list[tuple[str, OptionDoc]]] = {}
    for backend, docs in backend_options().items():
        for doc in docs:
            by_flag.setdefault(doc.flag, []).append((backend, doc))
    for entries in by_flag.values():
        texts: dict[str, list[str]] = {}
        for backend, doc in entries:
            texts.setdefault(option_help(doc), []).append(backend)
        add_option(g, entries[0][1], "; ".join(f"{'/'.join(names)}: {text}" for text, names in texts.items()))


def backend_from_args(args: argparse.Namespace) -> Backend:
    """The backend with the options the user set; each backend rejects, by name, options it does not take."""
    from agentflan.generation.backends import make_backend

    docs = [doc for docs in backend_options().values() for doc in docs]
    if args.backend in ("hf", "vllm"):
        check_model(args.model)
    with model_errors(args.model):
        return make_backend(args.backend, args.model, **given(args, docs))
