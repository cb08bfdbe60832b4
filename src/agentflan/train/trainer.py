"""A transformers ``Trainer`` that reports the loss of each agent capability as it trains.

The paper's second observation is that a model learns reasoning, retrieval, understanding and
instruction following at different speeds. Every supervised token carries a capability id (from
the corpus' spans; ``untagged`` otherwise). The loss is computed once per batch from the model's
logits, token by token; its sum over each capability's tokens is accumulated beside the usual loss,
and every log line (training and evaluation) carries ``loss_<capability>``: the mean loss over that
capability's tokens since the last line, summed over all processes. No second forward pass.

The output head runs only on supervised positions, in chunks (``train.loss``), so long agent
trajectories with large vocabularies never hold their full logits.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate.utils import DistributedType
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from agentflan.generation.templates import CAPABILITY_NAMES, UNTAGGED
from agentflan.io import atomic_open
from agentflan.train.loss import chunkable_head, chunked_token_losses, hidden_states_as_logits
from agentflan.train.tokenize import IGNORE_INDEX

METRICS_COLUMNS: tuple[str, ...] = (
    "step",
    "epoch",
    "split",
    "loss",
    *(f"loss_{name}" for name in CAPABILITY_NAMES),
    "learning_rate",
    "tokens",
)


class _CapabilityMeter:
    """Per-capability sums of token losses and token counts, kept on the model's device."""

    def __init__(self) -> None:
        self.sums: torch.Tensor | None = None
        self.counts: torch.Tensor | None = None

    def add(self, capability: torch.Tensor, losses: torch.Tensor) -> None:
        capability = torch.where(capability < 0, UNTAGGED, capability)
        if self.sums is None or self.counts is None:
            self.sums = torch.zeros(len(CAPABILITY_NAMES), dtype=torch.float32, device=losses.device)
            self.counts = torch.zeros(len(CAPABILITY_NAMES), dtype=torch.float32, device=losses.device)
        self.sums.index_add_(0, capability, losses.float())
        self.counts.index_add_(0, capability, torch.ones_like(losses, dtype=torch.float32))

    def flush(self, reduce: Any, device: torch.device) -> dict[str, float]:
        """Means since the last flush, summed across processes by ``reduce`` (every process must call)."""
        sums = self.sums if self.sums is not None else torch.zeros(len(CAPABILITY_NAMES), device=device)
        counts = self.counts if self.counts is not None else torch.zeros(len(CAPABILITY_NAMES), device=device)
        both = reduce(torch.stack([sums, counts]).to(device))
        self.sums = self.counts = None
        return {
            name: float(both[0, i] / both[1, i]) for i, name in enumerate(CAPABILITY_NAMES) if float(both[1, i]) > 0
        }


class AgentflanTrainer(Trainer):
    """``Trainer`` with token-level cross-entropy and per-capability loss logging.

    Batches carry ``capability`` (one id per token) beside ``input_ids``/``labels``; it is taken out
    before the forward pass. The loss is the sum of token losses over the number of supervised tokens
    in the whole (accumulated, all-process) batch, as transformers computes it for causal LMs.

    ``loss_chunk_tokens`` > 0 computes the head and the loss on supervised positions only, that many
    at a time; 0, a sharded model (FSDP, DeepSpeed: their head weights exist only inside forward) or
    a model that post-processes its logits falls back to the full logits.
    """

    def __init__(self, *args: Any, loss_chunk_tokens: int = 0, **kwargs: Any) -> None:
        kwargs["compute_loss_func"] = self._token_loss
        super().__init__(*args, **kwargs)
        self.loss_chunk_tokens = loss_chunk_tokens
        self._capability: torch.Tensor | None = None
        self._head: torch.nn.Module | None = None
        self._meters = {"train": _CapabilityMeter(), "eval": _CapabilityMeter()}

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        self._capability = inputs.pop("capability", None)
        inputs["use_cache"] = False  # a cache object would switch off packed-sequence masking
        unwrapped = self.accelerator.unwrap_model(model)
        self._head = chunkable_head(unwrapped) if self._may_chunk() else None
        if self._head is None:
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        with hidden_states_as_logits(unwrapped, self._head):
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def _may_chunk(self) -> bool:
        sharded = self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        return self.loss_chunk_tokens > 0 and not sharded

    def _token_loss(self, outputs: Any, labels: torch.Tensor, num_items_in_batch: torch.Tensor | int | None = None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        targets = labels[:, 1:].reshape(-1)
        trained = targets != IGNORE_INDEX
        rows = logits[:, :-1].reshape(-1, logits.shape[-1])
        if self._head is not None:  # ``logits`` are the last hidden states here
            token_losses = chunked_token_losses(rows[trained], self._head, targets[trained], self.loss_chunk_tokens)
        else:
            token_losses = F.cross_entropy(rows[trained].float(), targets[trained], reduction="none")
        total = token_losses.sum()
        if num_items_in_batch is None:
            loss = total / trained.sum().clamp(min=1)
        else:
            loss = total / num_items_in_batch
        if self._capability is not None:
            capability = self._capability[:, 1:].reshape(-1).to(token_losses.device)
            split = "train" if getattr(self.model, "training", False) else "eval"
            self._meters[split].add(capability[trained], token_losses.detach())
        return loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            logs.update({f"loss_{k}": v for k, v in self._flush("train").items()})
        elif "eval_loss" in logs:
            logs.update({f"eval_loss_{k}": v for k, v in self._flush("eval").items()})
        super().log(logs, start_time)

    def _flush(self, split: str) -> dict[str, float]:
        reduce = (lambda t: self.accelerator.reduce(t, reduction="sum")) if self.accelerator.num_processes > 1 else (lambda t: t)
        return self._meters[split].flush(reduce, self.args.device)


class MetricsCsvCallback(TrainerCallback):
    """``OUT/metrics.csv``: one row per training or evaluation log, rewritten atomically each time.
    On resume, rows after the checkpoint's step are dropped (they are logged again)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        self.rows = []
        if state.global_step > 0 and self.path.is_file():
            with self.path.open(encoding="utf-8", newline="") as fh:
                self.rows = [r for r in csv.DictReader(fh) if r.get("step") and int(r["step"]) <= state.global_step]

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        prefix = "eval_" if "eval_loss" in logs else "" if "loss" in logs else None
        if prefix is None:
            return
        row: dict[str, Any] = {
            "step": state.global_step,
            "epoch": _fmt(logs.get("epoch", state.epoch)),
            "split": "eval" if prefix else "train",
            "loss": _fmt(logs.get(f"{prefix}loss")),
            "learning_rate": _fmt(logs.get("learning_rate")) if not prefix else "",
            "tokens": state.num_input_tokens_seen,
        }
        for name in CAPABILITY_NAMES:
            row[f"loss_{name}"] = _fmt(logs.get(f"{prefix}loss_{name}"))
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(METRICS_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_open(self.path) as fh:
            fh.write(buf.getvalue())


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


class ConsoleLogCallback(TrainerCallback):
    """One readable line per log instead of transformers' raw dicts: step, loss, the loss of
    each capability present, learning rate and throughput (the paper's observation 2, live)."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.started: float | None = None
        self.first_step = 0

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        self.started, self.first_step = time.monotonic(), state.global_step  # a resumed run counts from where it resumed

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        prefix = "eval_" if "eval_loss" in logs else "" if "loss" in logs else None
        if prefix is None:
            return
        caps = " ".join(
            f"{name} {float(logs[f'{prefix}loss_{name}']):.3f}"
            for name in CAPABILITY_NAMES
            if f"{prefix}loss_{name}" in logs and math.isfinite(float(logs[f"{prefix}loss_{name}"]))
        )
        parts = [f"{'eval' if prefix else 'train'} step {state.global_step}/{state.max_steps}", f"loss {float(logs[f'{prefix}loss']):.4f}"]
        if caps:
            parts.append(caps)
        if not prefix and "learning_rate" in logs:
            parts.append(f"lr {float(logs['learning_rate']):.2e}")
        if not prefix and "train_tokens_per_second" in logs:
            parts.append(f"{float(logs['train_tokens_per_second']):,.0f} tok/s")
        if not prefix and self.started is not None:
            parts.append(elapsed_and_eta(time.monotonic() - self.started, state.global_step - self.first_step, state.max_steps - state.global_step))
        self.say(" · ".join(parts))


def clock(seconds: float) -> str:
    """``1:02:03`` / ``2:03``: how long, at a glance."""
    s = round(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def elapsed_and_eta(elapsed: float, done_steps: int, left_steps: int) -> str:
    """``elapsed 2:03, ETA 10:15`` from the pace of the steps done so far in this process."""
    if done_steps <= 0:
        return f"elapsed {clock(elapsed)}"
    return f"elapsed {clock(elapsed)}, ETA {clock(elapsed / done_steps * max(left_steps, 0))}"
