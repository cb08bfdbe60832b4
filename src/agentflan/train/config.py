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
    """One corpus: a file, glob, folder or ``hf://owner/name[:split]`` read by :func:`agentflan.sources.read`.
    ``weight`` scales its row count: 0.5 keeps a seeded half, 2 repeats it twice."""

    path: str
    format: str | None = None
    weight: float = Field(default=1.0, gt=0)


class LoraSettings(_Strict):
    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    targets: str | list[str] = "all-linear"


class ExportSettings(_Strict):
    merge: bool = True
    """With LoRA, also write ``OUT/merged``: the base model with the adapter merged in."""


class TrainConfig(_Strict):
    """Everything one training run needs; ``train_config.json`` in the output folder records it."""

    model: str
    template: str = "agentflan"
    data: list[DataSource]
    eval_data: list[DataSource] = Field(default_factory=list)
    eval_fraction: float = Field(default=0.0, ge=0, lt=1)
    max_length: int = Field(default=8192, gt=1)
    packing: bool = True

    method: Literal["lora", "qlora", "full"] = "lora"
    lora: LoraSettings = Field(default_factory=LoraSettings)

    learning_rate: float = Field(default=2e-5, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int = -1
    batch_size: int = Field(default=1, gt=0)
    eval_batch_size: int = Field(default=1, gt=0)
    grad_accum: int = Field(default=1, gt=0)
    gradient_checkpointing: bool = False
    bf16: Literal["auto"] | bool = "auto"
    attn_implementation: str = "sdpa"
    #: Supervised positions whose logits are computed at once (0: the model's full logits). Chunks keep
    #: peak memory flat for long trajectories and large vocabularies; losses and gradients are the same.
    loss_chunk_tokens: int = Field(default=1024, ge=0)
    seed: int = 42

    output_dir: str = "out/train"
    logging_steps: int = Field(default=10, gt=0)
    eval_steps: int | None = Field(default=None, gt=0)
    save_steps: int = Field(default=500, gt=0)
    save_total_limit: int | None = Field(default=2, gt=0)
    resume: Literal["auto"] | bool | str = "auto"
    wandb: bool = False

    cache_dir: str | None = None
    on_error: Literal["fail", "skip"] = "fail"
    trust_remote_code: bool = False
    dataloader_num_workers: int = Field(default=0, ge=0)
    export: ExportSettings = Field(default_factory=ExportSettings)

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
