"""Start-up of training: ``agentflan train`` against the TRL script a user would write.

Both sides do the same work on the same small corpus (``--rows`` FireAct trajectories from
../shared/data), the same tiny random Llama and tokenizer (ChatML with generation markers), max
length 1024, best-fit-decreasing packing, assistant-only loss, full tuning in float32: load the
tokenizer and the model, prepare the data, take ONE optimizer step, save the model. With one
step on a tiny model, what is measured is everything a training run pays around its steps.

* **agentflan**: ``agentflan train RUN.yaml`` with ``max_steps: 1`` (a fresh cache folder each
  run, so the data is tokenised, labelled and packed every time).
* **TRL**: a script that imports ``trl``, loads the tokenizer and the model, builds a
  ``datasets.Dataset`` of the same messages, constructs ``SFTTrainer`` (which tokenises and
  packs) with ``SFTConfig(packing=True, packing_strategy="bfd", assistant_only_loss=True)``,
  trains one step and saves the model.
* beside them ``python -c pass`` and ``python -c "import torch, transformers"``: what every
  Hugging Face training process pays before its own code runs.

Each arm is its own process, alternating ``--repeats`` times; user+sys CPU of the child from
``getrusage``, medians with [min – max]. Prints a table.

    .venv/bin/python benchmarks/bench_train_startup.py [--rows 30] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _child_cpu import alternate, bytecode_env, print_table

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
FIREACT = DATA / "fireact" / "hotpotqa_react_gpt.jsonl"
MAX_LENGTH = 1024

TRL_SCRIPT = """
import sys, json
import transformers
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

model_dir, data, out, max_length = sys.argv[1:5]
transformers.logging.set_verbosity_error()
tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
model = transformers.AutoModelForCausalLM.from_pretrained(model_dir)
with open(data, encoding="utf-8") as fh:
    rows = [{"messages": json.loads(line)["messages"]} for line in fh]
args = SFTConfig(output_dir=out, max_length=int(max_length), packing=True, packing_strategy="bfd", assistant_only_loss=True,
                 per_device_train_batch_size=1, max_steps=1, save_strategy="no", report_to=[], seed=0, bf16=False,
                 gradient_checkpointing=False, disable_tqdm=True, dataloader_pin_memory=False)
trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
trainer.train()
trainer.save_model(out)
"""


def prepare(work: Path, rows: int) -> tuple[Path, Path, Path]:
    """The tiny model, the corpus as native JSONL (agentflan) and as OpenAI messages (TRL)."""
    from agentflan.sources import read
    from agentflan.train.tiny import save_tiny
    from agentflan.writers import write

    convs = [c for _, c in zip(range(rows), read(FIREACT), strict=False)]
    model_dir = save_tiny(work / "model", [m.content for c in convs for m in c.messages], arch="llama")
    native, messages = work / "data.jsonl", work / "messages.jsonl"
    write(convs, native, "native")
    write(convs, messages, "openai")
    return model_dir, native, messages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=30, help="FireAct trajectories in the corpus (default 30)")
    ap.add_argument("--repeats", type=int, default=5, help="alternating runs per arm (default 5)")
    args = ap.parse_args()
    if not FIREACT.is_file():
        print(f"skipped: needs {FIREACT}", file=sys.stderr)
        return 2
    env = bytecode_env(PYTHONPATH=str(ROOT / "src"), TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="bench-train-startup-") as tmp:
        work = Path(tmp)
        model_dir, native, messages = prepare(work, args.rows)
        trl_script = work / "trl_startup.py"
        trl_script.write_text(TRL_SCRIPT, encoding="utf-8")
        arms = {
            "python -c pass": lambda i: [sys.executable, "-c", "pass"],
            "import torch, transformers": lambda i: [sys.executable, "-c", "import torch, transformers"],
            "agentflan train (1 step)": lambda i: _agentflan_argv(work, model_dir, native, i),
            "TRL SFTTrainer script (1 step)": lambda i: [sys.executable, str(trl_script), str(model_dir), str(messages), str(work / f"trl-{i}"), str(MAX_LENGTH)],
        }
        cpu = alternate({name: (argv, env) for name, argv in arms.items()}, args.repeats)
    print_table(f"training start-up to one step, {args.rows} FireAct rows, max length {MAX_LENGTH}; {args.repeats} alternating runs", cpu, 2)
    ours, theirs = statistics.median(cpu["agentflan train (1 step)"]), statistics.median(cpu["TRL SFTTrainer script (1 step)"])
    print(f"agentflan / TRL: {ours / theirs:.2f}x")
    return 0


def _agentflan_argv(work: Path, model_dir: Path, native: Path, i: int) -> list[str]:
    """A run config with TRL's settings and its own cache folder, so every run prepares the data."""
    config = work / f"run-{i}.yaml"
    config.write_text(
        f"model: {model_dir}\ndata: [{native}]\ncache_dir: {work / f'cache-{i}'}\nmax_length: {MAX_LENGTH}\ntemplate: chatml\n"
        "method: full\nmax_steps: 1\nbatch_size: 1\nbf16: false\ngradient_checkpointing: false\nseed: 0\n",
        encoding="utf-8",
    )
    return [sys.executable, "-m", "agentflan", "train", str(config), "--output_dir", str(work / f"out-{i}")]


if __name__ == "__main__":
    raise SystemExit(main())
