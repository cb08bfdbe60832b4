"""The training config: one YAML file, overridable key by key from the command line.

``agentflan train run.yaml --lora.r 8 --data.0.weight 0.5 --max_steps 100``: each override is a
dotted path into the YAML (list items by index) and a YAML scalar or list as its value. Defaults
follow the Agent-FLAN paper where it says something (max length 8192).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentflan.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataSource(_Strict):
    """One corpus: a file, glob, folder or ``hf://owner/name[:split]`` read by :func:`agentflan.sources.read`."""

    path: str = Field(description="a file, glob, folder or hf://owner/name[:split]")
    format: str | None = Field(default=None, description="its format (any `agentflan convert` reads); detected when unset")
    weight: float = Field(default=1.0, gt=0, description="scales its row count: 0.5 keeps a seeded half, 2 repeats it twice")


class LoraSettings(_Strict):
    r: int = Field(default=16, gt=0, description="LoRA rank")
    alpha: int = Field(default=32, gt=0, description="LoRA scaling numerator (the update is scaled by alpha / r)")
    dropout: float = Field(default=0.05, ge=0, lt=1, description="dropout on the LoRA path")
    targets: str | list[str] = Field(default="all-linear", description="modules to adapt: all-linear or a list of module names")


class ExportSettings(_Strict):
    merge: bool = Field(default=True, description="with LoRA, also write OUT/merged: the base model with the adapter merged in")


class TrainConfig(_Strict):
    """Everything one training run needs; ``train_config.json`` in the output folder records it.
    Each field's description is the documentation of its key (``agentflan train --help`` lists them)."""

    model: str = Field(description="path or hub id of a causal LM, or a .gguf file (converted once)")
    tokenizer: str | None = Field(
        default=None, description="path or hub id of the tokenizer, when not the model's own (none: the model's)"
    )
    template: str = Field(default="agentflan", description="chat template: agentflan | llama2 | llama3 | chatml | gemma | tokenizer (its own chat_template)")
    data: list[DataSource] = Field(
        description="corpora: a path, a list of paths, or [{path, format, weight}]; weight 0.5 keeps a seeded half, 2 repeats twice"
    )
    eval_data: list[DataSource] = Field(default_factory=list, description="held-out corpora, in the forms data takes")
    eval_fraction: float = Field(default=0.0, ge=0, lt=1, description="instead of eval_data: a share of each corpus held out by id hash")
    max_length: int = Field(default=8192, gt=1, description="tokens per sequence; longer rows keep their start")
    packing: bool = Field(default=True, description="pack rows into max_length sequences without cross-attention; false pads")

    train_on_prompt: bool = Field(
        default=False,
        description="loss on every token, prompts included (as LLaMA-Factory's train_on_prompt); false: only the "
        "trained spans (assistant replies); evaluation loss stays on the trained spans",
    )

    method: Literal["lora", "qlora", "full"] = Field(default="lora", description="lora | qlora (CUDA + bitsandbytes) | full")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA settings")

    learning_rate: float = Field(default=2e-5, gt=0, description="peak learning rate")
    lr_scheduler: str = Field(default="cosine", description="a transformers scheduler: cosine, linear, constant, ...")
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1, description="share of the steps spent warming up")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(default=1.0, ge=0, description="gradient clipping norm (0: none)")
    epochs: float = Field(default=3.0, gt=0, description="passes over the data")
    max_steps: int = Field(default=-1, description="optimizer steps; overrides epochs when > 0")
    batch_size: int = Field(default=1, gt=0, description="rows (packed sequences with packing) per device per step")
    eval_batch_size: int = Field(default=1, gt=0, description="rows per device per evaluation step")
    grad_accum: int = Field(default=1, gt=0, description="steps accumulated into one optimizer update")
    gradient_checkpointing: bool = Field(default=False, description="recompute activations in the backward pass: less memory, more compute")
    bf16: Literal["auto"] | bool = Field(default="auto", description="train in bfloat16; auto: when the GPU has it")
    attn_implementation: str = Field(default="sdpa", description="attention kernel: sdpa | eager | flash_attention_2")
    loss_chunk_tokens: int = Field(
        default=1024,
        ge=0,
        description="supervised positions whose logits exist at once: flat memory for long trajectories and large "
        "vocabularies, same losses and gradients; 0: the model's full logits",
    )
    seed: int = Field(default=42, description="seed of data order, held-out split and initialisation")

    output_dir: str = Field(default="out/train", description="where metrics, checkpoints and the final model go")
    logging_steps: int = Field(default=10, gt=0, description="optimizer steps between logged metrics")
    eval_steps: int | None = Field(default=None, gt=0, description="steps between evaluations (none: every save_steps)")
    save_steps: int = Field(default=500, gt=0, description="steps between checkpoints")
    save_total_limit: int | None = Field(default=2, gt=0, description="checkpoints kept, oldest deleted first (none: all)")
    resume: Literal["auto"] | bool | str = Field(
        default="auto", description="auto (from the last complete checkpoint in output_dir; a finished run is left as is) | true | false | a checkpoint path"
    )
    wandb: bool = Field(default=False, description="also log to Weights & Biases (needs wandb installed)")

    cache_dir: str | None = Field(default=None, description="tokenised-data cache (none: $AGENTFLAN_CACHE or ~/.cache/agentflan/tokenized)")
    on_error: Literal["fail", "skip"] = Field(default="fail", description="fail | skip (bad records go to OUT/rejects-*.jsonl)")
    trust_remote_code: bool = Field(default=False, description="run the model repository's own code (only for repositories you trust)")
    dataloader_num_workers: int = Field(default=0, ge=0, description="worker processes feeding batches")
    export: ExportSettings = Field(default_factory=ExportSettings, description="what to write after training")

    @field_validator("data", "eval_data", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        """``data: file.jsonl`` and ``data: [a.jsonl, b.jsonl]`` are shorthands for ``[{path: ...}]``."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        """Checked here so that a typo names the key, not a transformers enum."""
        from transformers.trainer_utils import SchedulerType

        known = [s.value for s in SchedulerType]
        if value not in known:
            raise ValueError(f"unknown scheduler {value!r}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.data:
            raise ValueError("data: give at least one corpus")
        if self.eval_data and self.eval_fraction:
            raise ValueError("give eval_data or eval_fraction, not both")
        return self

    @property
    def has_eval(self) -> bool:
        return bool(self.eval_data) or self.eval_fraction > 0

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("AGENTFLAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "agentflan")
        return Path(base).expanduser() / "tokenized"


def load_config(path: str | os.PathLike[str] | None, overrides: Sequence[str] = (), base: dict[str, Any] | None = None) -> TrainConfig:
    """A config from a YAML file (or ``base``) with ``--dotted.key value`` overrides applied."""
    raw: dict[str, Any] = dict(base or {})
    where = "config"
    if path is not None:
        where = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the config must be a mapping of keys to values")
        raw.update(loaded)
    for key, value in parse_overrides(overrides):
        set_dotted(raw, key, value)
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None


def parse_overrides(args: Sequence[str]) -> list[tuple[str, Any]]:
    """``["--lora.r", "8", "--bf16=false"]`` -> ``[("lora.r", 8), ("bf16", False)]`` (values as YAML)."""
    pairs: list[tuple[str, Any]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"override {arg!r}: expected --key value (a dotted key such as --lora.r 8)")
        key, eq, text = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ConfigError(f"override --{key}: missing a value")
            text = args[i + 1]
            i += 1
        i += 1
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        pairs.append((key.replace("-", "_"), value))
    return pairs


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.0.c`` in nested dicts and lists, creating dicts on the way (lists must exist)."""
    parts = key.split(".")
    node: Any = tree
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"override --{key}: {'.'.join(parts[:depth]) or '(top)'} has no item {part}")
            if last:
                node[int(part)] = value
                return
            if isinstance(node[int(part)], str):  # a shorthand data path becomes a mapping
                node[int(part)] = {"path": node[int(part)]}
            node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            child = node.get(part)
            if isinstance(child, str) and part in ("data", "eval_data"):
                child = node[part] = [child]
            if child is None:
                child = node[part] = {}
            node = child
        else:
            raise ConfigError(f"override --{key}: {'.'.join(parts[:depth])} is a value, not a mapping")


def config_keys(model: type[BaseModel] = TrainConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, description, default)`` of every config key, nested settings as dotted keys:
    the text of ``agentflan train --help``, made from the fields so it cannot drift from them."""
    keys: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        nested = info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) else None
        if nested is not None:
            keys.extend(config_keys(nested, f"{prefix}{name}."))
            continue
        if info.is_required():
            default = "required"
        else:
            value = info.get_default(call_default_factory=True)
            default = "none" if value in (None, []) else str(value).lower() if isinstance(value, bool) else str(value)
        keys.append((prefix + name, info.description or "", default))
    return keys
