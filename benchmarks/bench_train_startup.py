"""Start-up of training: ``agentflan train --prepare-only`` against the TRL script a user would write.

Both sides do everything before the first optimizer step on the same small corpus (``--rows``
FireAct trajectories from ../shared/data), the same tiny random Llama and tokenizer (ChatML with
generation markers), max length 1024, best-fit-decreasing packing, assistant-only loss:

* **agentflan**: ``agentflan train RUN.yaml --prepare-only`` — config, tokenizer, template, data
  read, tokenised, labelled and packed, statistics written (a fresh cache folder each run, so the
  data is prepared every time). It does not load the model: training would, next.
* **TRL**: a script that imports ``trl``, loads the tokenizer and the model, builds a
  ``datasets.Dataset`` of the same messages, and constructs ``SFTTrainer`` (which tokenises and
  packs) with ``SFTConfig(packing=True, packing_strategy="bfd", assistant_only_loss=True)``.
* beside them ``python -c pass`` and ``python -c "import torch, transformers"``: what every
  Hugging Face training process pays before its own code runs.

Each arm is its own process, alternating ``--repeats`` times; user+sys CPU of the child from
``getrusage``, medians with [min – max]. Prints a table.

    .venv/bin/python benchmarks/bench_train_startup.py [--rows 30] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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
print(len(trainer.train_dataset))
"""


def child_cpu(argv: list[str], env: dict[str, str]) -> float:
    """User + sys CPU seconds of one child process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-train-startup-") as tmp:
        work = Path(tmp)
        model_dir, native, messages = prepare(work, args.rows)
        trl_script = work / "trl_startup.py"
        trl_script.write_text(TRL_SCRIPT, encoding="utf-8")
        arms = {
            "python -c pass": lambda i: [sys.executable, "-c", "pass"],
            "import torch, transformers": lambda i: [sys.executable, "-c", "import torch, transformers"],
            "agentflan train --prepare-only": lambda i: _agentflan_argv(work, model_dir, native, i),
            "TRL SFTTrainer script": lambda i: [sys.executable, str(trl_script), str(model_dir), str(messages), str(work / f"trl-{i}"), str(MAX_LENGTH)],
        }
        for argv in (arms["agentflan train --prepare-only"](-1), arms["TRL SFTTrainer script"](-1)):
            subprocess.run(argv, env=env, check=True, capture_output=True)  # warm-up: byte-code, page cache
        cpu: dict[str, list[float]] = {name: [] for name in arms}
        for i in range(args.repeats):
            order = list(arms) if i % 2 == 0 else list(reversed(arms))
            for name in order:
                cpu[name].append(child_cpu(arms[name](i), env))
    load = os.getloadavg()[0]
    print(f"training start-up, {args.rows} FireAct rows, max length {MAX_LENGTH}; {args.repeats} alternating runs; load average {load:.1f}")
    width = max(len(n) for n in cpu)
    print(f"{'process':<{width}}  CPU s median [min - max]")
    for name, xs in cpu.items():
        print(f"{name:<{width}}  {statistics.median(xs):.2f} [{min(xs):.2f} - {max(xs):.2f}]")
    ours, theirs = statistics.median(cpu["agentflan train --prepare-only"]), statistics.median(cpu["TRL SFTTrainer script"])
    print(f"agentflan / TRL: {ours / theirs:.2f}x")
    return 0


def _agentflan_argv(work: Path, model_dir: Path, native: Path, i: int) -> list[str]:
    """A run config with its own cache folder, so every run prepares the data."""
    config = work / f"run-{i}.yaml"
    config.write_text(
        f"model: {model_dir}\ndata: [{native}]\ncache_dir: {work / f'cache-{i}'}\nmax_length: {MAX_LENGTH}\ntemplate: chatml\n",
        encoding="utf-8",
    )
    return [sys.executable, "-m", "agentflan", "train", str(config), "--output_dir", str(work / f"out-{i}"), "--prepare-only"]


if __name__ == "__main__":
    raise SystemExit(main())
