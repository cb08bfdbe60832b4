"""``agentflan build RECIPE.yaml --out DIR``: an Agent-FLAN training corpus from a recipe file."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from agentflan.batch import OnError
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.errors import ConfigError

EPILOG = """\
A recipe names its sources (files, globs, folders or hf://owner/name[:split]), the splits to
write (agent trajectories in a style: tflan, cot, react or json; a disjoint share of a group;
capability balancing; the format-following set; negative samples; general chat) and a seed.
Shipped recipes: recipes/agent-flan.yaml (the seven released Agent-FLAN splits from
AgentInstruct and ToolBench), recipes/shared-data.yaml (the public samples in ../shared/data),
recipes/demo.yaml (the embedded demo data).

balancing: balance: {preset: paper | r10r5u7, ratios: {retrieval: 0.25, ...}, mode: mask | drop,
count: spans | samples}. mask keeps an unsampled turn in context with loss: false; drop drops
whole conversations. The manifest counts supervised span tokens; count: samples also states the
reduction in whole samples with their context (one sample per supervised step) as a split note.
drop_loss_masks: true (top level) writes masked turns trained in formats without per-turn loss
(sharegpt-tools, toolllama) and counts them; without it such rows are refused.
A recipe mistake names the file, line and key, with the closest valid name ("did you mean").

outputs (DIR is replaced as a whole, only when the build succeeded):
  DIR/<split>.jsonl             each split in the recipe's first format (Agent-FLAN JSONL by default)
  DIR/<format>/<split>.jsonl    the other formats (e.g. native/: keeps capability spans and meta)
  DIR/manifest.json             inputs with sha256, rows per split and source, supervised tokens
                                per capability before/after balancing, seeds, versions
  DIR/datacard.html             one self-contained page with plots of the above
  DIR/rejects.jsonl             with --on-error skip: every record set aside, with its location

The same inputs and seed give byte-identical outputs, with any --workers.

examples:
  agentflan build recipes/shared-data.yaml --out build/shared
  agentflan build recipes/agent-flan.yaml --out build/agent-flan --source toolbench=ToolBench/data/answer --workers 8
  agentflan build recipes/demo.yaml --out build/demo --dry-run
  agentflan build recipes/shared-data.yaml --out build/s1 --seed 1 --on-error skip
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description=(
            "Build an Agent-FLAN corpus from a recipe: chat-aligned trajectories (tflan/cot/react/json), "
            "capability tags and balancing, the format-following set, negative samples and general chat, "
            "with a manifest and a data card."
        ),
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("recipe", metavar="RECIPE.yaml", type=Path, help="the recipe file")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (replaced atomically on success)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes reading and rewriting input files in parallel (default 1; 0 = one per CPU); output is identical for any N",
    )
    p.add_argument("--dry-run", action="store_true", help="read the inputs and print the plan with counts; write nothing")
    p.add_argument(
        "--on-error",
        choices=[e.value for e in OnError],
        default="fail",
        help="fail: stop at the first bad record, leaving DIR untouched (default); skip: set bad records aside in DIR/rejects.jsonl and go on",
    )
    p.add_argument("--seed", type=int, metavar="S", help="override the recipe's seed (different phrasings, split parts and samples)")
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="replace the path of the recipe's source NAME (repeatable), e.g. --source toolbench=/data/ToolBench/data/answer",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from agentflan.recipe.build import build
    from agentflan.recipe.config import load_recipe
    from agentflan.recipe.plan import dry_run, format_plan
    from agentflan.report.datacard import write_datacard

    overrides = {}
    for item in args.source:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--source expects NAME=PATH, got {item!r}")
        overrides[name] = path
    recipe = load_recipe(args.recipe, sources=overrides, seed=args.seed)
    workers = args.workers if args.workers > 0 else (os.cpu_count() or 1)
    progress = not args.quiet and sys.stderr.isatty()
    if args.dry_run:
        plan = dry_run(recipe, workers=workers, on_error=args.on_error, progress=progress)
        print(format_plan(plan, args.out))
        return 0
    start = time.perf_counter()
    manifest = build(
        recipe, args.out, workers=workers, on_error=args.on_error, progress=progress, recipe_path=args.recipe,
        finish=lambda built, folder: write_datacard(folder / "datacard.html", built),
    )
    elapsed = time.perf_counter() - start
    width = max(len(n) for n in manifest.splits)
    for name, split in manifest.splits.items():
        print(f"  {name:<{width}}  {split.rows:>8} rows  {split.main_file}")
        for note in split.notes:
            print(f"  {'':<{width}}  note: {note}")
    caps = manifest.capabilities
    tokens = ", ".join(f"{c} {caps.before[c].tokens}->{caps.after[c].tokens}" for c in caps.before)
    print(f"supervised tokens per capability (before->after balancing): {tokens}")
    if manifest.rejected:
        print(f"rejected {manifest.rejected} record(s): see {args.out / 'rejects.jsonl'}")
    print(f"built {manifest.rows} rows in {len(manifest.splits)} splits into {args.out} in {elapsed:.1f} s (manifest.json, datacard.html)")
    return 0
