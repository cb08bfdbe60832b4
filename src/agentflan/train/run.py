"""One training run from a :class:`TrainConfig`: data -> model -> ``Trainer`` -> exported model.

Works the same in one process and under ``accelerate launch`` (DDP, FSDP, DeepSpeed): the
tokenised cache is built by each node's first process while the others wait, and only the main
process writes logs and exports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentflan.errors import ConfigError, unloadable
from agentflan.generation.gguf import resolve_model
from agentflan.generation.templates import Template, get_template
from agentflan.io import write_json
from agentflan.locking import output_lock
from agentflan.train.checkpoints import finished, resume_from
from agentflan.train.config import DataSource, TrainConfig
from agentflan.train.data import SourceLoad, load_source, mix
from agentflan.train.export import merge_adapter, promote, with_template, write_model_files
from agentflan.train.packing import BinDataset, PackedCollator, PaddingCollator, make_dataset

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PreparedData:
    train: BinDataset
    eval: BinDataset | None
    stats: dict[str, Any] = field(default_factory=dict)


def prepare_data(cfg: TrainConfig, tokenizer: Any, template: Template, out: Path) -> PreparedData:
    """Tokenise (or load from the cache) every source, split, mix and pack; with the data statistics."""
    cache_dir = cfg.resolved_cache_dir()
    rejects = out / "rejects.jsonl" if cfg.on_error == "skip" else None

    def load(sources: Sequence[DataSource], tag: str) -> list[SourceLoad]:
        return [
            load_source(
                s,
                tokenizer,
                template,
                cfg.max_length,
                cache_dir,
                on_error=cfg.on_error,
                rejects_path=rejects.with_name(f"rejects-{tag}{i}.jsonl") if rejects else None,
            )
            for i, s in enumerate(sources)
        ]

    loads = load(cfg.data, "data")
    train_rows, eval_rows = mix(loads, cfg.seed, cfg.eval_fraction)
    if cfg.eval_data:
        eval_loads = load(cfg.eval_data, "eval")
        eval_rows, _ = mix([_unweighted(ld) for ld in eval_loads], cfg.seed)
        loads = [*loads, *eval_loads]
    if len(train_rows) == 0:
        raise ConfigError("data: no training rows left (every row was dropped or held out for evaluation)")
    if cfg.has_eval and len(eval_rows) == 0:  # the Trainer would refuse eval_strategy "steps" without eval rows
        key = "eval_data" if cfg.eval_data else f"eval_fraction ({cfg.eval_fraction})"
        raise ConfigError(f"{key}: no evaluation rows (raise it, or set eval_fraction: 0 to train without evaluation)")
    train_ds, efficiency = make_dataset(train_rows, cfg.max_length, cfg.packing, cfg.train_on_prompt)
    eval_ds = make_dataset(eval_rows, cfg.max_length, cfg.packing)[0] if len(eval_rows) else None
    stats = {
        "sources": [
            {"path": ld.source.path, "weight": ld.source.weight, "cache_hit": ld.cache_hit, "cache": str(ld.path), **ld.encoded.stats.to_dict()}
            for ld in loads
        ],
        "train_rows": len(train_rows),
        "train_tokens": int(train_rows.lengths().sum()),
        "eval_rows": len(eval_rows),
        "sequences": len(train_ds),
        "packing": cfg.packing,
        "packing_efficiency": efficiency,
        "max_length": cfg.max_length,
        "train_on_prompt": cfg.train_on_prompt,
    }
    return PreparedData(train_ds, eval_ds, stats)


def _unweighted(ld: SourceLoad) -> SourceLoad:
    return replace(ld, source=ld.source.model_copy(update={"weight": 1.0}))


def resolve_bf16(setting: bool | str) -> bool:
    import torch

    available = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "auto":
        return available
    if setting and not available:
        raise ConfigError("bf16: true, but this machine has no GPU with bfloat16 support (use bf16: auto)")
    return bool(setting)


def load_tokenizer(cfg: TrainConfig) -> Any:
    """The model's own tokenizer, or ``cfg.tokenizer``, whose load failure is named as the tokenizer's
    (the caller words the model's own)."""
    from transformers import AutoTokenizer

    if cfg.tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer, trust_remote_code=cfg.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise ConfigError(unloadable(cfg.tokenizer, exc, "tokenizer")) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(cfg: TrainConfig, bf16: bool) -> Any:
    """The model to train: full weights, or a LoRA adapter on a (4-bit, for QLoRA) frozen base."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"attn_implementation": cfg.attn_implementation, "trust_remote_code": cfg.trust_remote_code}
    if cfg.method == "qlora":
        if not torch.cuda.is_available():
            raise ConfigError("method: qlora needs a CUDA GPU (4-bit weights through bitsandbytes); use method: lora on CPU")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ConfigError("method: qlora needs bitsandbytes: pip install bitsandbytes") from None
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float16,
        )
    # Full training keeps fp32 master weights (bf16 runs under autocast); a frozen LoRA base can be bf16.
    kwargs["dtype"] = torch.bfloat16 if bf16 and cfg.method != "full" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(cfg.model, **kwargs)
    if cfg.method == "full":
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.method == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def training_arguments(cfg: TrainConfig, bf16: bool, has_eval: bool) -> Any:
    import torch
    from transformers import TrainingArguments

    if cfg.wandb:
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise ConfigError("wandb: true, but wandb is not installed (pip install wandb)") from None
    return TrainingArguments(
        output_dir=cfg.output_dir,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        logging_steps=cfg.logging_steps,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=cfg.eval_steps or cfg.save_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=bf16,
        # FSDP's own checkpointing (fsdp_activation_checkpointing) replaces ours: transformers refuses both.
        activation_checkpointing=cfg.gradient_checkpointing and not _fsdp_checkpoints(),
        activation_checkpointing_kwargs={"use_reentrant": False},
        report_to=["wandb"] if cfg.wandb else [],
        remove_unused_columns=False,
        label_names=["labels"],
        prediction_loss_only=True,  # evaluation reports losses; with chunked losses there are no full logits
        dataloader_num_workers=cfg.dataloader_num_workers,
        include_num_input_tokens_seen="all" if cfg.packing else "non_padding",
        ddp_find_unused_parameters=False,
        disable_tqdm=True,
        dataloader_pin_memory=torch.cuda.is_available(),
        # Several processes and no GPU (torchrun / accelerate launch on CPU): DDP over gloo.
        use_cpu=int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available(),
    )


def _fsdp_checkpoints() -> bool:
    return os.environ.get("FSDP_ACTIVATION_CHECKPOINTING", "false").lower() in ("true", "1")


def run_training(
    cfg: TrainConfig,
    *,
    callbacks: Sequence[Any] = (),
    say: Callable[[str], None] = print,
    prepare_only: bool = False,
) -> dict[str, Any]:
    """Train as configured; returns a summary (paths, steps, final loss, data statistics)."""
    out = Path(cfg.output_dir)
    # One writer per output folder: rank 0 holds the lock for all processes of this run.
    holding = output_lock(out, f"train {cfg.model}") if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext()
    with holding:
        return _train_locked(cfg, out, callbacks, say, prepare_only)


def _train_locked(cfg: TrainConfig, out: Path, callbacks: Sequence[Any], say: Callable[[str], None], prepare_only: bool) -> dict[str, Any]:
    from transformers import PrinterCallback
    from transformers.integrations import TensorBoardCallback

    from agentflan.train.trainer import AgentflanTrainer, ConsoleLogCallback, MetricsCsvCallback

    cfg = cfg.model_copy(update={"model": resolve_model(cfg.model)})  # a .gguf file: its converted folder
    checkpoint = resume_from(cfg.resume, out, say)
    if checkpoint is not None and not prepare_only and finished(checkpoint, out, cfg.max_steps, cfg.epochs):
        say(f"{out} already finished at step {checkpoint.step} (final/ exported); nothing to do")
        rank = int(os.environ.get("RANK", "0"))
        return {"output_dir": str(out), "process_index": rank, "global_step": checkpoint.step, "finished": True, "final": str(out / "final")}
    bf16 = resolve_bf16(cfg.bf16)
    tokenizer = load_tokenizer(cfg)
    template = get_template(cfg.template, tokenizer)
    with_template(tokenizer, template)
    args = training_arguments(cfg, bf16, cfg.has_eval)
    main = args.process_index == 0
    speak = say if main else (lambda _msg: None)
    with args.main_process_first(local=True, desc="tokenising the corpus"):
        data = prepare_data(cfg, tokenizer, template, out)
    _announce(data.stats, speak)
    if main:
        write_json(out / "train_config.json", cfg.model_dump(mode="json"))
        write_json(out / "data_stats.json", data.stats)
    if prepare_only:
        return {"output_dir": str(out), "process_index": args.process_index, "data": data.stats}

    model = load_model(cfg, bf16)
    collator: Any = (
        PackedCollator(flash_attention=cfg.attn_implementation.startswith("flash"))
        if cfg.packing
        else PaddingCollator(tokenizer.pad_token_id)
    )
    tensorboard = TensorBoardCallback()
    tensorboard.logging_dir = str(out / "runs")
    trainer = AgentflanTrainer(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=data.train,
        eval_dataset=data.eval,
        processing_class=tokenizer,
        loss_chunk_tokens=cfg.loss_chunk_tokens,
        callbacks=[MetricsCsvCallback(out / "metrics.csv"), tensorboard, ConsoleLogCallback(speak), *callbacks],
    )
    trainer.remove_callback(PrinterCallback)
    if checkpoint:
        speak(f"resuming from {checkpoint.path}")
    result = trainer.train(resume_from_checkpoint=str(checkpoint.path) if checkpoint else None)
    if trainer.control.should_training_stop and trainer.state.global_step < trainer.state.max_steps:
        speak(f"stopped early at step {trainer.state.global_step}; nothing exported")
        return {
            "output_dir": str(out),
            "process_index": args.process_index,
            "global_step": trainer.state.global_step,
            "stopped": True,
            "data": data.stats,
        }
    if data.eval is not None and trainer.state.global_step % (cfg.eval_steps or cfg.save_steps) != 0:
        trainer.evaluate()  # the last step was not an evaluation step: evaluate the final weights
    final = export(trainer, cfg, tokenizer, template, bf16)
    summary = {
        "output_dir": str(out),
        "process_index": args.process_index,
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "data": data.stats,
        **final,
    }
    speak(f"trained {trainer.state.global_step} steps; model in {final['final']}")
    return summary


def export(trainer: Any, cfg: TrainConfig, tokenizer: Any, template: Template, bf16: bool) -> dict[str, str]:
    """``OUT/final`` (the adapter or the full model, with the tokenizer) and, for LoRA, ``OUT/merged``."""
    import torch

    out = Path(cfg.output_dir)
    staging = out / ".final.partial"
    main = trainer.is_world_process_zero()
    if main:
        shutil.rmtree(staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))
    paths = {"final": str(out / "final")}
    if main:
        model = trainer.accelerator.unwrap_model(trainer.model)
        write_model_files(staging, tokenizer, template, model if cfg.method == "full" else None)
        promote(staging, out / "final")
        if cfg.method != "full" and cfg.export.merge:
            dtype = torch.bfloat16 if bf16 else torch.float32
            merge_adapter(cfg.model, out / "final", out / "merged", tokenizer, template, dtype=dtype, trust_remote_code=cfg.trust_remote_code)
            paths["merged"] = str(out / "merged")
    trainer.accelerator.wait_for_everyone()
    return paths


def _announce(stats: dict[str, Any], say: Callable[[str], None]) -> None:
    for s in stats["sources"]:
        by_cap = ", ".join(f"{k} {v}" for k, v in s["supervised_by_capability"].items() if v)
        origin = "cache" if s["cache_hit"] else "tokenised"
        say(
            f"{s['path']}: {s['rows']} rows, {s['tokens']} tokens, {s['supervised']} trained ({by_cap}); "
            f"{s['truncated']} truncated, {s['dropped_no_loss']} dropped with nothing to train [{origin}]"
        )
    layout = f"packed into {stats['sequences']} sequences, efficiency {stats['packing_efficiency']:.1%}" if stats["packing"] else f"{stats['sequences']} padded rows"
    say(f"training on {stats['train_rows']} rows / {stats['train_tokens']} tokens, {layout}; {stats['eval_rows']} eval rows")

