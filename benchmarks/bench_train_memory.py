"""Peak memory of one long agent trajectory with a large vocabulary: agentflan vs TRL's SFTTrainer.

Modern vocabularies are large (Llama-3: 128,256) and agent trajectories long: the full logits of
an 8k-token row are 4 GB in fp32, and autograd keeps them and their gradient. Both sides train the
same tiny random Llama (the vocabulary set to ``--vocab``) on the same pre-tokenized row of
``--tokens`` tokens whose last ``--supervised`` share carries labels (an agent row: most tokens are
prompt and observations), full fine-tuning, fp32, batch 1, no gradient checkpointing on either
side, AdamW, ``--steps`` optimizer steps. agentflan runs with its default ``loss_chunk_tokens``
(1024) and with ``0`` (full logits) as a control.

Each run is its own process (peak RSS is per process: ``VmHWM``); arms alternate, ``--repeats``
times; the table gives medians with the range. Reported: peak RSS, and the training peak above
the RSS just before ``train()`` (model, optimizer-free baseline), plus seconds per step.

Run: ``.venv/bin/python benchmarks/bench_train_memory.py [--tokens 8192] [--vocab 128256]``
(needs ~16 GB free memory at 8k tokens for the TRL arm; use ``--tokens 4096`` on smaller machines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("agentflan", "trl", "agentflan-full-logits")


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _row(tokens: int, vocab: int, supervised: float) -> dict[str, list[int]]:
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (tokens,), generator=g).tolist()
    start = int(tokens * (1 - supervised))
    return {"input_ids": ids, "assistant_masks": [0] * start + [1] * (tokens - start)}


def _model(vocab: int, hidden: int, layers: int, tokens: int) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=tokens, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )
    return LlamaForCausalLM(config)


def _tokenizer() -> Any:
    from agentflan.train.tiny import train_tokenizer

    return train_tokenizer(["Thought: search. Action: finish[yes] Observation: done."] * 20, vocab_size=300)


def child(arm: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    import datasets
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    model = _model(args.vocab, args.hidden, args.layers, args.tokens)
    row = _row(args.tokens, args.vocab, args.supervised)
    common: dict[str, Any] = {
        "output_dir": str(out), "per_device_train_batch_size": 1, "max_steps": args.steps, "learning_rate": 1e-4,
        "logging_steps": 10_000, "save_strategy": "no", "report_to": [], "seed": 0, "bf16": False, "use_cpu": True,
        "gradient_checkpointing": False, "disable_tqdm": True, "dataloader_pin_memory": False,
    }
    if arm == "trl":
        from trl import SFTConfig, SFTTrainer

        trainer: Any = SFTTrainer(
            model=model, args=SFTConfig(**common, max_length=args.tokens, packing=False),
            train_dataset=datasets.Dataset.from_list([row] * args.steps), processing_class=_tokenizer(),
        )
    else:
        from transformers import TrainingArguments

        from agentflan.train.packing import PackedCollator
        from agentflan.train.trainer import AgentflanTrainer

        ids = np.asarray(row["input_ids"], dtype=np.int64)
        labels = np.where(np.asarray(row["assistant_masks"]) == 1, ids, -100)
        feature = [{"input_ids": ids, "labels": labels, "capability": np.zeros_like(ids)}]
        trainer = AgentflanTrainer(
            model=model, args=TrainingArguments(**common, remove_unused_columns=False, prediction_loss_only=True),
            train_dataset=[feature] * args.steps, data_collator=PackedCollator(),
            loss_chunk_tokens=0 if arm == "agentflan-full-logits" else 1024,
        )
    before = _rss_kb("VmRSS")
    start = time.perf_counter()
    trainer.train()
    seconds = (time.perf_counter() - start) / args.steps
    peak = _rss_kb("VmHWM")
    return {"peak_mb": peak / 1024, "train_peak_mb": (peak - before) / 1024, "s_per_step": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=8192)
    parser.add_argument("--vocab", type=int, default=128_256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--supervised", type=float, default=0.3, help="share of the row that carries labels")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--child", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = ROOT / "benchmarks" / ".work" / "train-memory"
    if args.child:
        import transformers

        transformers.logging.set_verbosity_error()
        print(json.dumps(child(args.child, args, work / args.child)))
        return 0
    runs: dict[str, list[dict[str, float]]] = {arm: [] for arm in args.arms}
    flags = [f"--{k}={getattr(args, k)}" for k in ("tokens", "vocab", "hidden", "layers", "supervised", "steps", "threads")]
    for _ in range(args.repeats):  # alternating, so both sides see the same machine
        for arm in args.arms:
            done = subprocess.run([sys.executable, __file__, f"--child={arm}", *flags], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            runs[arm].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"one row of {args.tokens} tokens ({args.supervised:.0%} supervised), vocabulary {args.vocab:,}, tiny Llama "
        f"(hidden {args.hidden}, {args.layers} layers), fp32, full fine-tuning, {args.steps} steps, CPU, "
        f"median [min – max] of {args.repeats} alternating runs"
    )
    print("| arm | peak RSS MB | training peak above baseline MB | s / step |")
    print("|---|---:|---:|---:|")

    def cell(arm: str, key: str) -> str:
        xs = [r[key] for r in runs[arm]]
        fmt = "{:,.2f}" if key == "s_per_step" else "{:,.0f}"
        return f"{fmt.format(statistics.median(xs))} [{fmt.format(min(xs))} – {fmt.format(max(xs))}]"

    for arm in args.arms:
        print(f"| {arm} | {cell(arm, 'peak_mb')} | {cell(arm, 'train_peak_mb')} | {cell(arm, 's_per_step')} |")
    if "agentflan" in runs and "trl" in runs:
        ratio = statistics.median(r["train_peak_mb"] for r in runs["agentflan"]) / statistics.median(r["train_peak_mb"] for r in runs["trl"])
        print(f"\nagentflan / TRL training peak: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
