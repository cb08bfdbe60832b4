"""Backends by name, and what they share (options, template loading, prompt rendering).

``make_backend("hf" | "openai" | "vllm", model, **options)`` imports the backend's module
only when asked, so the OpenAI client never needs torch and the hf backend never needs vLLM.
Each backend keeps its options in a dataclass beside it; unknown options fail loudly.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable
from typing import Any

from agentflan.errors import AgentflanError, ConfigError
from agentflan.formats.openai import openai_messages, openai_tools
from agentflan.generation.base import Backend, GenerationRequest
from agentflan.jsonutil import dumps
from agentflan.options import option

# name -> "module:class"; the class takes (model, options) and has an ``Options`` dataclass.
BACKENDS: dict[str, str] = {
    "hf": "agentflan.generation.backends.hf:HFBackend",
    "openai": "agentflan.generation.backends.openai_backend:OpenAIBackend",
    "vllm": "agentflan.generation.backends.vllm:VLLMBackend",
}


class BackendError(AgentflanError):
    """A backend could not answer (server unreachable after retries, model failed to load...)."""


def backend_class(name: str) -> Any:
    try:
        spec = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}") from None
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """A ready backend; ``options`` are the fields of that backend's ``Options`` dataclass."""
    cls = backend_class(name)
    known = {f.name for f in dataclasses.fields(cls.Options)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"backend {name!r} does not take option(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))}"
        )
    backend: Backend = cls(model, cls.Options(**options))
    return backend


# Options the local backends (hf, vllm) share, documented once.
def template_option() -> Any:
    return option(
        None, "agentflan chat template the model was tuned with: agentflan, llama2, llama3, chatml, gemma or tokenizer",
        none="the one `agentflan train` recorded beside the model, else the tokenizer's own chat_template", metavar="NAME",
    )


def dtype_option() -> Any:
    return option("auto", "weight dtype (auto: as saved)", choices=("auto", "float32", "bfloat16", "float16"))


def trust_remote_code_option() -> Any:
    return option(False, "run the model repository's own Python code (only for repositories you trust)")


def revision_option() -> Any:
    return option(None, "hub revision (branch, tag or commit)", none="the default branch", metavar="REV")


def tool_calls_as_text(calls: Iterable[tuple[str, Any]]) -> str:
    """Structured calls a server returned, one JSON line each (``{"name", "arguments"}``), so a text scorer sees them."""
    return "\n".join(dumps({"name": name, "arguments": arguments}) for name, arguments in calls)


def load_template(name: str | None, tokenizer: Any, model: str | None = None) -> Any:
    """An agentflan chat template by name, bound to the tokenizer's special tokens.

    Without a name, the template ``agentflan train`` recorded beside the model (``agentflan_template.json``
    in the model or adapter folder), so that a tuned model is prompted and stopped as it was trained;
    None when there is no record either (the tokenizer's own ``chat_template`` is used).
    """
    from agentflan.generation.templates import get_template, recorded_template

    if name is None:
        name = recorded_template(model) if model is not None else None
        if name is None:
            return None
    try:
        return get_template(name, tokenizer)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0] if exc.args else exc)) from None


def render_prompt(tokenizer: Any, template: Any, request: GenerationRequest, *, native_tools: bool, model: str) -> str:
    """The prompt text of a request, ending where the assistant's reply begins.

    An agentflan template (the one a model was tuned with) wins; otherwise the tokenizer's
    own ``chat_template``. Tools reach the template only with ``native_tools``.
    """
    tools = list(request.tools) if native_tools else []
    if template is not None:
        return str(template.render_prompt(request.messages, tools))
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"the tokenizer of {model!r} has no chat_template; name one with --template")
    return str(
        tokenizer.apply_chat_template(
            openai_messages(request.messages),
            tools=openai_tools(tools) or None,
            tokenize=False,
            add_generation_prompt=True,
        )
    )
