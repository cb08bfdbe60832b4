"""``agentflan quickstart``: build -> train -> evaluate -> report on the embedded demo data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.quickstart import ABLATIONS, DEFAULT_STEPS

EPILOG = """\
examples:
  agentflan quickstart                                   # everything under agentflan-out/quickstart
  agentflan quickstart --out /tmp/qs --steps 50          # a quicker, rougher run
  agentflan quickstart --ablation negatives              # with vs without negative samples, side by side
  agentflan quickstart --ablation format                 # Agent-FLAN mix vs ReAct-only corpus
  agentflan quickstart --ablation balance                # with vs without capability balancing
  agentflan quickstart --model Qwen/Qwen2.5-0.5B-Instruct --steps 200   # LoRA on a real model (GPU advised)

What it does: builds the Agent-FLAN corpus from the demo recipe (recipes/demo.yaml, shipped in the
package) over the demo world generated for --seed (request -> call trajectories over 8 invented
tools, fact chat, rows in the evaluation's own prompt layouts; see python -m agentflan.demo.generate), trains a
tiny Llama from scratch on it (or LoRA-tunes --model), evaluates the model on Agent-H, tool-need
and tool-steps built from requests whose argument values training never shows, and writes
report.html (it opens with one table: Agent-H, tool-need, tool steps, supervised tokens per run).
A toy world and a tiny model: the report shows the direction of the paper's effects, not its numbers.
Nothing is downloaded unless --model names a hub model. Re-running with the same --out replaces
the earlier quickstart output there (a folder that holds anything else is refused).
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Run the whole Agent-FLAN method on the embedded demo data in minutes on a CPU: build the "
        "corpus, train a tiny model (or tune a given one), evaluate it, and write one HTML report.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="agentflan-out/quickstart", metavar="DIR",
                   help="output folder (default: %(default)s); an earlier quickstart output there is replaced")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, metavar="N",
                   help="optimizer steps per training run (default: %(default)s; fewer is faster and learns less)")
    p.add_argument("--model", default=None, metavar="PATH_OR_ID",
                   help="a causal LM folder or hub id to LoRA-tune instead of training a tiny model from scratch")
    p.add_argument("--ablation", choices=sorted(ABLATIONS), default=None,
                   help="train two arms from the same tiny model and compare Agent-H and tool-need side by side: "
                   "'negatives' (with / without the negative samples), 'format' (the Agent-FLAN mix / ReAct only, "
                   "no format-following rows), 'balance' (with / without capability balancing: supervised tokens "
                   "and per-capability loss)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    p.add_argument("--eval-limit", type=int, default=None, metavar="N",
                   help="score only the first N items of each suite (a smoke run; default: all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from agentflan.cli._common import check_model, model_errors
    from agentflan.quickstart import QuickstartOptions, describe, run_quickstart

    if args.no_progress:
        # The libraries underneath draw bars of their own (dataset caching, weight loading).
        import datasets
        from transformers.utils import logging as hf_logging

        datasets.disable_progress_bars()
        hf_logging.disable_progress_bar()
    options = QuickstartOptions(out=args.out, steps=args.steps, model=args.model, ablation=args.ablation, seed=args.seed,
                                eval_limit=args.eval_limit, progress=not args.no_progress)
    if args.model is not None:
        check_model(args.model)
    try:
        with model_errors(args.model or ""):
            # Stage lines are progress (stderr); stdout carries only where everything is.
            result = run_quickstart(options, say=lambda line: print(line, file=sys.stderr, flush=True))
    except BaseException as exc:
        mark_failed(Path(args.out), exc)
        raise
    print(describe(result))
    return 0


def mark_failed(out: Path, exc: BaseException) -> None:
    """A quickstart that died says so in quickstart.json (not "running" forever), with the error's first line."""
    from agentflan.io import write_json
    from agentflan.jsonutil import loads
    from agentflan.quickstart import MARKER

    marker = out / MARKER
    try:
        state = loads(marker.read_bytes())
    except (OSError, ValueError):
        return
    if state.get("status") == "running":
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else (str(exc).splitlines() or [type(exc).__name__])[0]
        write_json(marker, {**state, "status": "failed", "error": reason})
