"""``agentflan inspect PATH``: what a corpus holds, at a glance, in one streaming pass."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentflan.batch import OnError, Rejects
from agentflan.cli._common import add_from_option, progress
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.conversation import Conversation
from agentflan.errors import InputError
from agentflan.jsonutil import dumps

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English BPE vocabularies
SAMPLE_CHARS = 240

EPILOG = """\
what it reports:
  rows, read errors, roles, turns per row (min/median/mean/max), tools offered and called,
  supervised vs. context-only assistant turns, approximate tokens (characters / 4),
  protocol turns and how many of them fail to parse (by protocol and failure kind),
  and the first --sample conversations, shortened.

examples:
  agentflan inspect ../shared/data/fireact/hotpotqa_react_gpt.jsonl
  agentflan inspect corpus.jsonl --sample 3
  agentflan inspect ../shared/data/glaive/glaive_toolcall_en_demo.json --json > stats.json
"""


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Summarise a corpus: rows, roles, tools, turns, approximate tokens, protocol parse failures and a short sample.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="file, glob, folder, parquet, save_to_disk folder[:split] or hf://owner/name[:split]")
    add_from_option(p)
    p.add_argument("--sample", type=int, default=1, metavar="N", help="conversations to show, shortened (default: 1; 0 for none)")
    p.add_argument("--json", action="store_true", help="print the statistics as one JSON object instead of text")
    p.add_argument(
        "--on-error",
        choices=[e.value for e in OnError],
        default="skip",
        help="skip: count unreadable records, name each on stderr, and go on (default); fail: stop at the first one",
    )


@dataclass
class CorpusStats:
    """Counts gathered conversation by conversation (memory grows with distinct tools, not rows)."""

    rows: int = 0
    roles: Counter[str] = field(default_factory=Counter)
    turns: list[int] = field(default_factory=list)
    tools_offered: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    rows_with_tools: int = 0
    supervised_turns: int = 0
    context_assistant_turns: int = 0
    chars: int = 0
    supervised_chars: int = 0
    protocol_turns: Counter[str] = field(default_factory=Counter)
    parse_failures: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)

    def add(self, conv: Conversation) -> None:
        from agentflan.protocols.base import ParseFailure, get_protocol

        self.rows += 1
        self.turns.append(len(conv.messages))
        self.sources[conv.source or "(unset)"] += 1
        if conv.tools:
            self.rows_with_tools += 1
            self.tools_offered.update(t.name for t in conv.tools)
        for m in conv.messages:
            self.roles[m.role] += 1
            self.chars += len(m.content)
            self.calls.update(c.name for c in m.tool_calls)
            if m.role == "assistant":
                if m.trains:
                    self.supervised_turns += 1
                    self.supervised_chars += len(m.content)
                else:
                    self.context_assistant_turns += 1
            if m.protocol is not None:
                self.protocol_turns[m.protocol] += 1
                result = get_protocol(m.protocol).parse(m.content)
                if isinstance(result, ParseFailure):
                    self.parse_failures[f"{m.protocol}: {result.kind.value}"] += 1

    def to_dict(self) -> dict[str, Any]:
        turns = self.turns or [0]
        return {
            "rows": self.rows,
            "sources": dict(self.sources.most_common()),
            "roles": dict(self.roles.most_common()),
            "turns_per_row": {
                "min": min(turns),
                "median": statistics.median(turns),
                "mean": round(statistics.fmean(turns), 2),
                "max": max(turns),
            },
            "tools": {
                "rows_with_tools": self.rows_with_tools,
                "distinct_offered": len(self.tools_offered),
                "calls": sum(self.calls.values()),
                "distinct_called": len(self.calls),
                "most_called": dict(self.calls.most_common(10)),
            },
            "assistant_turns": {"supervised": self.supervised_turns, "context_only": self.context_assistant_turns},
            "approx_tokens": {
                "total": self.chars // CHARS_PER_TOKEN,
                "supervised": self.supervised_chars // CHARS_PER_TOKEN,
                "per_row_mean": round(self.chars / CHARS_PER_TOKEN / max(self.rows, 1), 1),
            },
            "protocols": {
                "turns": dict(self.protocol_turns.most_common()),
                "parse_failures": dict(self.parse_failures.most_common()),
            },
        }


class _SayingRejects(Rejects):
    """Counts each unreadable record and says where it is and why (on stderr: stdout holds the report)."""

    def handle(self, error: InputError, record: Any = None) -> None:
        super().handle(error, record)
        print(f"skipped: {error}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from agentflan.sources import read

    stats = CorpusStats()
    samples: list[Conversation] = []
    with _SayingRejects(None, OnError(args.on_error)) as rejects:
        for conv in progress(read(args.path, args.from_format, rejects=rejects), desc="inspect"):
            stats.add(conv)
            if len(samples) < args.sample:
                samples.append(conv)
    report = stats.to_dict()
    report["read_errors"] = rejects.stats.rejected
    if args.json:  # stdout is the JSON document alone (`--json > stats.json`); the counts go to stderr
        report["sample"] = [c.to_dict() for c in samples]
        print(dumps(report, indent=True))
        print(rejects.stats.summary(writes=False), file=sys.stderr)
    else:
        print(render_text(report, samples))
        print(rejects.stats.summary(writes=False))
    return 0


def render_text(report: dict[str, Any], samples: list[Conversation]) -> str:
    t, tools, tok, proto = report["turns_per_row"], report["tools"], report["approx_tokens"], report["protocols"]
    failures = sum(proto["parse_failures"].values())
    lines = [
        f"rows            {report['rows']}  (unreadable records: {report['read_errors']})",
        f"sources         {_pairs(report['sources'])}",
        f"roles           {_pairs(report['roles'])}",
        f"turns per row   min {t['min']}, median {t['median']}, mean {t['mean']}, max {t['max']}",
        f"tools           {tools['rows_with_tools']} rows offer tools; {tools['distinct_offered']} distinct offered, "
        f"{tools['calls']} calls to {tools['distinct_called']} distinct",
        f"most called     {_pairs(tools['most_called']) or '-'}",
        f"assistant turns {report['assistant_turns']['supervised']} supervised, {report['assistant_turns']['context_only']} context only (loss false)",
        f"tokens (≈c/4)   {tok['total']} total, {tok['supervised']} supervised, {tok['per_row_mean']} per row",
        f"protocol turns  {_pairs(proto['turns']) or '-'}",
        f"parse failures  {failures}" + (f"  ({_pairs(proto['parse_failures'])})" if failures else ""),
    ]
    for conv in samples:
        lines.append("")
        lines.append(f"sample {conv.id!r} ({len(conv.messages)} turns, {len(conv.tools)} tools)")
        for m in conv.messages:
            text = " ".join(m.content.split())
            text = text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1] + "…"
            calls = "".join(f" -> {c.name}({c.arguments_text()[:80]})" for c in m.tool_calls)
            tag = m.role + (f"/{m.protocol}" if m.protocol else "") + ("" if m.loss is None else f" loss={str(m.loss).lower()}")
            lines.append(f"  [{tag}] {text}{calls}")
    return "\n".join(lines)


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
