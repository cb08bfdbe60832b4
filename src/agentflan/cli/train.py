"""``agentflan train CONFIG [--key value ...]``: supervised tuning from a YAML config."""

from __future__ import annotations

import argparse
import json
import sys

from agentflan.cli._common import HelpWithEpilog
from agentflan.cli._help import RawDescriptionHelpFormatter

HEAD = """\
CONFIG is a YAML file; every key can be overridden after it with --key value, dotted for
nested keys and list items (values are read as YAML: 8, 3e-4, true, [q_proj, v_proj]).

config keys [defaults]:
"""

TAIL = """
outputs in output_dir: metrics.csv (step, epoch, split, loss, loss_<capability>..., learning_rate,
tokens), runs/ (TensorBoard), train_config.json, data_stats.json, checkpoint-*/, final/ (adapter
or model + tokenizer carrying the chat template) and, for LoRA, merged/.

examples:
  agentflan train configs/train/agentflan-llama2-7b-lora.yaml
  agentflan train --prepare-only run.yaml            # data statistics only
  agentflan train run.yaml --data.0.weight 0.5 --lora.r 8 --max_steps 200 --output_dir out/r8
  accelerate launch --config_file configs/accelerate/ddp.yaml -m agentflan.train run.yaml
"""


def epilog() -> str:
    """The help's key table, made from the config's own field descriptions and defaults."""
    import textwrap

    from agentflan.train.config import config_keys

    lines = []
    for key, description, default in config_keys():
        text = f"{description} [{default}]"
        first, *rest = textwrap.wrap(text, 78) if len(key) < 22 else ["", *textwrap.wrap(text, 78)]
        lines.append(f"  {key:<22} {first}".rstrip())
        lines.extend(f"  {'':<22} {line}" for line in rest)
    return HEAD + "\n".join(lines) + "\n" + TAIL


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Fine-tune a Hugging Face causal LM on agent conversations (LoRA, QLoRA or full), logging "
        "the loss of each capability (reasoning, retrieval, understanding, instruction, untagged).",
        formatter_class=RawDescriptionHelpFormatter,
        add_help=False,
    )
    p.add_argument("-h", "--help", action=HelpWithEpilog, epilog=epilog, help="show this help message and exit")
    p.add_argument("--prepare-only", action="store_true", help="tokenise, pack and print the data statistics, then stop")
    p.add_argument("config", metavar="CONFIG", help="training config (YAML)")
    p.add_argument("overrides", nargs=argparse.REMAINDER, metavar="--key value", help="config overrides, e.g. --lora.r 8")


def run(args: argparse.Namespace) -> int:
    from agentflan.cli._common import check_data_path, check_model, model_errors
    from agentflan.train.config import load_config
    from agentflan.train.run import run_training

    overrides = list(args.overrides)
    prepare_only = args.prepare_only or "--prepare-only" in overrides  # REMAINDER swallows it after CONFIG
    overrides = [o for o in overrides if o != "--prepare-only"]
    cfg = load_config(args.config, overrides)
    for source in [*cfg.data, *cfg.eval_data]:  # the data first: a typo there is cheaper to learn of
        check_data_path(source.path)
    check_model(cfg.model)
    if cfg.tokenizer is not None:
        check_model(cfg.tokenizer, "tokenizer")
    with model_errors(cfg.model):
        summary = run_training(cfg, prepare_only=prepare_only, say=lambda msg: print(msg, file=sys.stderr))
    if summary.get("process_index", 0) == 0:
        print(json.dumps({k: v for k, v in summary.items() if k not in ("data", "process_index")}, indent=2))
    return 0
