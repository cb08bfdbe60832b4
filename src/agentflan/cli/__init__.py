"""The ``agentflan`` command: a thin argparse shell over the library.

Each subcommand lives in its own module under :mod:`agentflan.cli` with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; modules are imported only when their
command runs, so ``agentflan --help`` stays fast and the core install needs no torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agentflan import __version__
from agentflan.cli._help import HelpFormatter
from agentflan.errors import AgentflanError

# command name -> (module, one-line help). Order is the order of `agentflan --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("agentflan.cli.quickstart", "build -> train -> evaluate -> report on the embedded demo data"),
    "convert": ("agentflan.cli.convert", "convert an agent corpus from one format to another"),
    "inspect": ("agentflan.cli.inspect", "summarise a corpus: rows, roles, tools, turns, tokens, parse failures"),
    "validate": ("agentflan.cli.validate", "check every conversation and report each problem with its location"),
    "build": ("agentflan.cli.build", "build an Agent-FLAN training corpus from a recipe file"),
    "train": ("agentflan.cli.train", "supervised tuning of a Hugging Face causal LM on a built corpus"),
    "eval": ("agentflan.cli.eval", "evaluate a model: Agent-H, tool steps, HotpotQA, MMLU"),
    "chat": ("agentflan.cli.chat", "talk to a model that can call tools, in the terminal"),
    "report": ("agentflan.cli.report", "one self-contained HTML page from build, training and evaluation outputs"),
}


def _add_command(subparsers: argparse._SubParsersAction, name: str) -> None:
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    module.add_parser(subparsers, name, help_text)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentflan",
        description="Agent-FLAN end to end: turn agent corpora into chat-aligned, capability-balanced "
        "training data with negative samples; fine-tune a causal LM on it; evaluate tool use and hallucination.",
        epilog="Run `agentflan COMMAND --help` for the options of a command.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentflan {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        if only is None or name != only:
            # Listed in the overview without importing the module.
            subparsers.add_parser(name, help=help_text, add_help=False)
        else:
            _add_command(subparsers, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except AgentflanError as exc:
        print(f"agentflan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"agentflan {args.command}: interrupted; no partial output was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
