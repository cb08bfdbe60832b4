"""``agentflan train CONFIG [--key value ...]``: supervised tuning from a YAML config."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """\
CONFIG is a YAML file; every key can be overridden after it with --key value, dotted for
nested keys and list items (values are read as YAML: 8, 3e-4, true, [q_proj, v_proj]).

config keys (defaults in brackets):
  model              path or hub id of a causal LM, or a .gguf file (converted once) (required)
  template           agentflan | llama2 | llama3 | chatml | gemma | tokenizer (its own chat_template) [agentflan]
  data               corpora: a path, a list of paths, or [{path, format, weight}]; weight 0.5 keeps a
                     seeded half, 2 repeats twice; any format `agentflan convert` reads (required)
  eval_data          held-out corpora, or eval_fraction: a share of each corpus by id hash [none]
  max_length         tokens per sequence; longer rows keep their start [8192]
  packing            pack rows into max_length sequences without cross-attention; false pads [true]
  method             lora | qlora (CUDA + bitsandbytes) | full [lora]
  lora.r, lora.alpha, lora.dropout, lora.targets                          [16, 32, 0.05, all-linear]
  learning_rate, lr_scheduler, warmup_ratio, weight_decay, max_grad_norm  [2e-5, cosine, 0.03, 0, 1]
  epochs, max_steps (overrides epochs when > 0)                           [3, -1]
  batch_size, eval_batch_size, grad_accum (per device)                    [1, 1, 1]
  gradient_checkpointing, bf16 (auto: when the GPU has it), attn_implementation  [false, auto, sdpa]
  loss_chunk_tokens  supervised positions whose logits exist at once; flat memory for long trajectories and
                     large vocabularies, same loss and gradients; 0: full logits [1024]
  seed, output_dir, logging_steps, eval_steps, save_steps, save_total_limit  [42, out/train, 10, save_steps, 500, 2]
  resume             auto (from the last complete checkpoint in output_dir; a finished run is left as is) | true | false | a checkpoint path [auto]
  wandb              also log to Weights & Biases (needs wandb installed) [false]
  cache_dir          tokenised-data cache [$AGENTFLAN_CACHE or ~/.cache/agentflan/tokenized]
  on_error           fail | skip (bad records go to OUT/rejects-*.jsonl) [fail]
  export.merge       with LoRA, also write OUT/merged (adapter merged into the base) [true]
  trust_remote_code  run the model repository's own code (only for repositories you trust) [false]
  dataloader_num_workers  worker processes feeding batches [0]

outputs in output_dir: metrics.csv (step, epoch, split, loss, loss_<capability>..., learning_rate,
tokens), runs/ (TensorBoard), train_config.json, data_stats.json, checkpoint-*/, final/ (adapter
or model + tokenizer carrying the chat template) and, for LoRA, merged/.

examples:
  agentflan train configs/train/agentflan-llama2-7b-lora.yaml
  agentflan train --prepare-only run.yaml            # data statistics only
  agentflan train run.yaml --data.0.weight 0.5 --lora.r 8 --max_steps 200 --output_dir out/r8
  accelerate launch --config_file configs/accelerate/ddp.yaml -m agentflan.train run.yaml
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Fine-tune a Hugging Face causal LM on agent conversations (LoRA, QLoRA or full), logging "
        "the loss of each capability (reasoning, retrieval, understanding, instruction, untagged).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    with model_errors(cfg.model):
        summary = run_training(cfg, prepare_only=prepare_only, say=lambda msg: print(msg, file=sys.stderr))
    if summary.get("process_index", 0) == 0:
        print(json.dumps({k: v for k, v in summary.items() if k not in ("data", "process_index")}, indent=2))
    return 0
