"""``agentflan report DIR...``: one self-contained HTML page from build, training and evaluation outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.errors import ConfigError

EPILOG = """\
examples:
  agentflan report out/quickstart
  agentflan report runs/with-negatives runs/without-negatives --out compare.html --title "Negative samples ablation"

The folders are searched recursively for build outputs (manifest.json and <split>.jsonl),
training outputs (metrics.csv, train_config.json) and evaluation outputs
(<suite>/summary.json, results.jsonl, run.json). Outputs of the same kind found more than once
are also shown side by side (grouped bars per run, overlaid loss curves).
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Write one self-contained HTML page (inline CSS and SVG plots, no script, no network) "
        "from the build, training and evaluation outputs found under the given folders: the data card, "
        "loss curves (total and per capability), evaluation tables and plots, and the configs and versions "
        "that produced them.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders to search for outputs (searched recursively)")
    p.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file to write (default: report.html)")
    p.add_argument("--title", default="agentflan report", help="the page title (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from agentflan.report.html import write_report

    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)}: no such folder; run `agentflan quickstart` (or `agentflan quickstart --ablation "
            "negatives` for the with/without-negatives comparison) to make one, or pass the --out of your build, "
            "train and eval runs"
        )
    path = write_report(args.dirs, args.out, title=args.title)
    print(f"report written to {path}")
    return 0
