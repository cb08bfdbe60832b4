"""Training data preparation and training speed, agentflan vs TRL's SFTTrainer, side by side.

Same data (FireAct trajectories from ../shared/data), same tokenizer (a byte-level BPE trained on
them), same ChatML template with generation markers (assistant-only loss on both sides), same tiny
random Llama, same max length, best-fit-decreasing packing on both sides, CPU only.

* data prep: conversations in memory -> token ids + labels + packed sequences (agentflan:
  ``encode`` + ``best_fit_decreasing``; TRL: building an ``SFTTrainer`` on a ``datasets.Dataset`` of
  messages, minus building it on two rows). The two sides alternate ``--repeats`` times.
* training: tokens/s between step ``--warmup`` and the last step, full fine-tuning, batch 1, the two
  sides alternating ``--train-repeats`` times. Gradient checkpointing is the same on both sides (off
  unless ``--gradient-checkpointing``): TRL's ``SFTConfig`` turns it on by default, which alone
  made TRL look 1.36x slower in an earlier version of this script.

Every figure is a median with its range [min – max] over the alternating repeats.

Throughput is given per CPU second of this process (stable on a shared machine, where other jobs
stretch wall time at random) and per wall second.

Run: ``.venv/bin/python benchmarks/bench_train.py`` (about two minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
WORK = ROOT / "benchmarks" / ".work" / "train"
FILES = ("fireact/multitask_multimethod_gpt.jsonl", "fireact/hotpotqa_react_gpt.jsonl")


class StepTimer:
    """Wall time and tokens seen at the end of each optimizer step (a TrainerCallback)."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        timer = self

        class _Callback(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer.marks.append((time.perf_counter(), time.process_time(), state.num_input_tokens_seen))

        self.callback = _Callback()
        self.marks: list[tuple[float, float, int]] = []

    def tokens_per_second(self, warmup: int) -> tuple[float, float]:
        """(per wall second, per CPU second) from step ``warmup`` to the last step."""
        (w0, c0, n0), (w1, c1, n1) = self.marks[warmup - 1], self.marks[-1]
        return (n1 - n0) / (w1 - w0), (n1 - n0) / (c1 - c0)


def load_conversations(limit: int | None) -> list[Any]:
    from agentflan.sources import read

    convs = [c for f in FILES for c in read(DATA / f)]
    return convs[:limit] if limit else convs


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def prep_agentflan(convs: list[Any], tokenizer: Any, max_length: int) -> tuple[Timing, int, float]:
    from agentflan.generation.templates import get_template
    from agentflan.train.packing import best_fit_decreasing, packing_efficiency
    from agentflan.train.tokenize import encode

    start = _clock()
    encoded = encode(convs, tokenizer, get_template("chatml", tokenizer), max_length)
    bins = best_fit_decreasing(encoded.lengths, max_length)
    took = _since(start)
    return took, int(encoded.lengths.sum()), packing_efficiency(encoded.lengths, bins, max_length)


def trl_dataset(convs: list[Any]) -> Any:
    import datasets

    rows = [{"messages": [{"role": m.role, "content": m.content} for m in c.messages]} for c in convs]
    return datasets.Dataset.from_list(rows)


def trl_config(out: Path, max_length: int, steps: int, lr: float, checkpointing: bool = False) -> Any:
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out),
        max_length=max_length,
        packing=True,
        packing_strategy="bfd",
        assistant_only_loss=True,
        per_device_train_batch_size=1,
        max_steps=steps,
        learning_rate=lr,
        lr_scheduler_type="cosine",
        logging_steps=10_000,
        save_strategy="no",
        report_to=[],
        seed=0,
        bf16=False,
        gradient_checkpointing=checkpointing,
        include_num_input_tokens_seen="all",
        dataloader_pin_memory=False,
        disable_tqdm=True,
    )


def prep_trl(model: Any, dataset: Any, tokenizer: Any, max_length: int) -> tuple[Timing, int, float]:
    """SFTTrainer's construction time on the corpus minus that on two rows: its dataset preparation."""
    from trl import SFTTrainer

    cfg = trl_config(WORK / "trl-prep", max_length, 1, 1e-3)

    def build(ds: Any) -> tuple[Timing, Any]:
        start = _clock()
        trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tokenizer)
        return _since(start), trainer.train_dataset

    base, _ = build(dataset.select(range(2)))
    took, packed = build(dataset)
    lengths = np.array([len(x) for x in packed["input_ids"]])
    tokens = int(lengths.sum())
    return (took[0] - base[0], took[1] - base[1]), tokens, tokens / (len(lengths) * max_length)


def train_agentflan(
    model_dir: Path, data_file: Path, max_length: int, steps: int, lr: float, warmup: int, checkpointing: bool
) -> tuple[float, float]:
    from agentflan.train.config import load_config
    from agentflan.train.run import run_training

    out = WORK / "agentflan-run"
    shutil.rmtree(out, ignore_errors=True)
    cfg = load_config(
        None,
        base={
            "model": str(model_dir),
            "template": "chatml",
            "data": [str(data_file)],
            "max_length": max_length,
            "method": "full",
            "max_steps": steps,
            "learning_rate": lr,
            "warmup_ratio": 0.0,
            "logging_steps": 10_000,
            "save_steps": 10_000,
            "seed": 0,
            "gradient_checkpointing": checkpointing,
            "output_dir": str(out),
            "cache_dir": str(WORK / "cache"),
            "resume": False,
        },
    )
    timer = StepTimer()
    run_training(cfg, callbacks=[timer.callback], say=lambda _m: None)
    return timer.tokens_per_second(warmup)


def train_trl(
    model_dir: Path, dataset: Any, tokenizer: Any, max_length: int, steps: int, lr: float, warmup: int, checkpointing: bool
) -> tuple[float, float]:
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    timer = StepTimer()
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation="sdpa")
    trainer = SFTTrainer(
        model=model,
        args=trl_config(WORK / "trl-run", max_length, steps, lr, checkpointing),
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[timer.callback],
    )
    trainer.train()
    return timer.tokens_per_second(warmup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="use only the first N conversations")
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="steps excluded from the training speed")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="alternating data-prep repeats")
    parser.add_argument("--train-repeats", type=int, default=3, help="alternating training repeats")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="on both sides (default: off on both)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (more than the free cores slows both sides badly)")
    parser.add_argument("--no-training", action="store_true", help="measure data preparation only")
    args = parser.parse_args(argv)
    if not all((DATA / f).is_file() for f in FILES):
        print(f"needs {', '.join(FILES)} under {DATA}", file=sys.stderr)
        return 2

    import torch
    import transformers

    from agentflan.jsonutil import dumps
    from agentflan.train.tiny import save_tiny

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    WORK.mkdir(parents=True, exist_ok=True)
    convs = load_conversations(args.rows)
    texts = [m.content for c in convs[:300] for m in c.messages]
    model_dir = save_tiny(WORK / "model", texts, arch="llama", hidden_size=args.hidden, layers=args.layers)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    data_file = WORK / "data.jsonl"
    data_file.write_text("".join(dumps(c.to_dict()) + "\n" for c in convs), encoding="utf-8")
    dataset = trl_dataset(convs)

    model = transformers.AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation="sdpa")
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeats):  # interleaved, so both sides see the same machine load
        ours_runs.append(prep_agentflan(convs, tokenizer, args.max_length))
        theirs_runs.append(prep_trl(model, dataset, tokenizer, args.max_length))
    ours, theirs = ours_runs[0], theirs_runs[0]
    if ours[1] != theirs[1]:
        print(f"note: token totals differ (agentflan {ours[1]}, TRL {theirs[1]})", file=sys.stderr)

    lr = 1e-3
    train_ours: list[tuple[float, float]] = []
    train_theirs: list[tuple[float, float]] = []
    for _ in range(0 if args.no_training else args.train_repeats):
        ckpt = args.gradient_checkpointing
        train_ours.append(train_agentflan(model_dir, data_file, args.max_length, args.steps, lr, args.warmup, ckpt))
        train_theirs.append(train_trl(model_dir, dataset, tokenizer, args.max_length, args.steps, lr, args.warmup, ckpt))

    n = len(convs)
    rows = [
        ("data prep, conversations/CPU s", [n / r[0][1] for r in ours_runs], [n / r[0][1] for r in theirs_runs]),
        ("data prep, tokens/CPU s", [r[1] / r[0][1] for r in ours_runs], [r[1] / r[0][1] for r in theirs_runs]),
        ("data prep, conversations/wall s", [n / r[0][0] for r in ours_runs], [n / r[0][0] for r in theirs_runs]),
        ("packing efficiency (%)", [100 * ours[2]], [100 * theirs[2]]),
        ("training, tokens/CPU s", [t[1] for t in train_ours], [t[1] for t in train_theirs]),
        ("training, tokens/wall s", [t[0] for t in train_ours], [t[0] for t in train_theirs]),
    ]
    print(
        f"{n} conversations, {ours[1]} tokens, max length {args.max_length}, tiny Llama "
        f"(hidden {args.hidden}, {args.layers} layers), {args.steps} steps (speed after step {args.warmup}), "
        f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'} on both sides, "
        f"torch threads {torch.get_num_threads()}, medians [min – max] of {args.repeats} (prep) / {args.train_repeats} (training) "
        "alternating repeats, CPU"
    )
    print(f"| {'measure':<32} | {'agentflan':>26} | {'TRL SFTTrainer':>26} | {'ratio':>6} |")
    print(f"|{'-' * 34}|{'-' * 27}:|{'-' * 27}:|{'-' * 7}:|")
    for name, a, b in rows:
        if not a or not b:
            continue
        ratio = statistics.median(a) / statistics.median(b)
        print(f"| {name:<32} | {_spread(a):>26} | {_spread(b):>26} | {ratio:>5.2f}x |")
    return 0


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):,.1f} [{min(xs):,.1f} – {max(xs):,.1f}]"


if __name__ == "__main__":
    raise SystemExit(main())
