"""``agentflan validate PATH``: every problem in a corpus, each with its file:line (or id)."""

from __future__ import annotations

import argparse
from typing import Any

from agentflan.batch import OnError, Rejects
from agentflan.cli._common import add_from_option, progress
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.conversation import validate
from agentflan.errors import InputError

EPILOG = """\
checks:
  read errors (invalid JSON, missing or mistyped fields, unknown format), and for every
  conversation: unknown roles, loss set on a non-assistant turn, tool calls on a non-assistant
  turn, spans outside their text, calls to tools the conversation does not offer (errors);
  arguments that are not a JSON object or do not fit the tool's schema, and tool parameter
  schemas that are not valid JSON Schema ("type": "int", properties as a string) (warnings).
  Each problem is printed as "FILE:LINE (id ID): LEVEL: WHERE: MESSAGE"; a record of a JSON array,
  parquet file or dataset is FILE#INDEX (from 0; lines count from 1), and a dataset's split is
  SOURCE:SPLIT (hf://owner/name:test#3, a save_to_disk folder's out/ds:test#3).

exit status: 0 when no errors were found, 1 when any were (with --strict: or warnings).

examples:
  agentflan validate ../shared/data/glaive/glaive_toolcall_en_demo.json
  agentflan validate build/train.jsonl --from native --strict
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Check every conversation of a corpus and report each problem with its location; exit 1 on errors.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="file, glob, folder, parquet, save_to_disk folder[:split] or hf://owner/name[:split]")
    add_from_option(p)
    p.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1 on any problem)")


class _ReportingRejects(Rejects):
    """Prints each unreadable record as it is met and keeps reading."""

    def handle(self, error: InputError, record: Any = None) -> None:
        print(f"error: {error}")
        super().handle(error, record)


def run(args: argparse.Namespace) -> int:
    from agentflan.sources import iter_located

    errors = warnings = failing = 0
    with _ReportingRejects(None, OnError.SKIP) as rejects:
        for item in progress(iter_located(args.path, args.from_format, rejects=rejects), desc="validate"):
            problems = validate(item.conversation)
            for p in problems:
                print(f"{item.location}: {p}")
            n_errors = sum(p.level == "error" for p in problems)
            errors += n_errors
            warnings += len(problems) - n_errors
            failing += bool(n_errors or (args.strict and problems))
    stats = rejects.stats
    stats.rejected += failing
    print(f"{errors} errors, {warnings} warnings; {stats.rejected - failing} unreadable records, {failing} conversations failing")
    print(stats.summary(writes=False))
    return 1 if stats.rejected else 0
