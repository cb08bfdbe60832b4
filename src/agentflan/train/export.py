"""Exports a trained model so that ``transformers`` and vLLM use it as it was trained.

The tokenizer is saved with the training template as its ``chat_template`` (so
``apply_chat_template`` and vLLM's chat endpoint render the training text), and the generation
config stops at the template's end-of-turn token when that is a single token. ``agentflan_template.json``
records the template name and its stop strings (the Agent-FLAN template ends turns with U+0D3F,
which is not a token: pass it to vLLM as ``stop``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from agentflan.generation.stops import stop_token_ids
from agentflan.generation.templates import TEMPLATE_FILE, Template
from agentflan.io import atomic_dir


def with_template(tokenizer: Any, template: Template) -> Any:
    """The tokenizer carrying the training template (the tokenizer itself is changed and returned)."""
    tokenizer.chat_template = template.chat_template
    return tokenizer


def write_model_files(folder: Path, tokenizer: Any, template: Template, model: Any = None) -> None:
    """Tokenizer (with the template), template record and, for a full model, its generation config."""
    with_template(tokenizer, template).save_pretrained(str(folder))
    record = {"template": template.name, "stop": list(template.stop), "stop_token_ids": stop_token_ids(tokenizer, template.stop)}
    (folder / TEMPLATE_FILE).write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    if model is not None and getattr(model, "generation_config", None) is not None:
        model.generation_config.eos_token_id = record["stop_token_ids"]
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.save_pretrained(str(folder))


def promote(staging: Path, target: Path) -> None:
    """Move a finished folder into place, replacing an older one (never leaves a half-written target)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def merge_adapter(
    base_model: str,
    adapter_dir: Path,
    target: Path,
    tokenizer: Any,
    template: Template,
    *,
    dtype: Any = None,
    trust_remote_code: bool = False,
) -> Path:
    """The base model with the LoRA adapter merged in, saved as a plain model (safetensors) that
    needs no peft to load."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype, trust_remote_code=trust_remote_code)
    _untie_adapted_embeddings(base, adapter_dir)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    with atomic_dir(target) as tmp:
        merged.save_pretrained(str(tmp))
        write_model_files(tmp, tokenizer, template, merged)
    return target


def _untie_adapted_embeddings(base: Any, adapter_dir: Path) -> None:
    """Give the output layer its own weights when the adapter changes it or the input embeddings.

    With tied embeddings (Qwen2.5-0.5B, Llama-3.2-1B...) a LoRA on ``lm_head`` trains a change of the
    output layer only; merging it into the shared matrix would change the input embeddings too.
    """
    import torch
    from peft import PeftConfig

    if not getattr(base.config, "tie_word_embeddings", False):
        return
    peft_config = PeftConfig.from_pretrained(str(adapter_dir))
    targets = peft_config.target_modules
    names = set(targets) if isinstance(targets, (list, set, tuple)) else set()
    names |= set(getattr(peft_config, "modules_to_save", None) or ())
    output, inputs = base.get_output_embeddings(), base.get_input_embeddings()
    touched = [n for n, m in base.named_modules() if m is output or m is inputs]
    if not any(n == t or n.endswith("." + t) for n in touched for t in names):
        return
    output.weight = torch.nn.Parameter(output.weight.detach().clone())
    base.config.tie_word_embeddings = False
