"""``agentflan convert IN OUT --to FORMAT``: any supported corpus format to any other."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from agentflan.batch import OnError, Origins, Rejects
from agentflan.cli._common import add_from_option, load_tokenizer, progress
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.conversation import Conversation
from agentflan.errors import AgentflanError, ConfigError

EPILOG = """\
input formats (--from; detected when omitted):
  agentflan        Agent-FLAN release JSONL {"conversation": [{role, content, loss}], "id"}
  native           agentflan's own JSONL (everything kept: spans, protocols, loss, meta)
  agentinstruct    AgentInstruct {"conversations": [{from|role, value|content, loss}], "id"}
  toolbench        ToolBench raw answer files (answer_generation.train_messages + function)
  toolllama        ToolLLaMA {"id": "Step N: ...", "conversations": [{from, value}]}
  react-messages   FireAct ReAct trajectories in OpenAI messages
  sharegpt-tools   ShareGPT / Glaive / LLaMA-Factory (human/gpt/function_call/observation + tools)
  openai           OpenAI / TRL chat messages with tool_calls, tools
IN may be a file, a glob ("answers/**/*.json"), a folder, a parquet file, a save_to_disk
folder or hf://owner/name[:split] (streamed from the Hugging Face hub; needs the hf extra).

output formats (--to): agentflan, native, sharegpt-tools (also writes LLaMA-Factory's
dataset_info.json beside OUT), openai, toolllama, hf-dataset (a save_to_disk folder), parquet,
tokenized (OUT.parquet of input_ids/labels/assistant_masks for --tokenizer and --template, as
`agentflan train` labels them; TRL's SFTTrainer trains it as is, masked turns and spans kept).
JSON formats write JSONL when OUT ends in .jsonl and one JSON array when it ends in .json.
sharegpt-tools and toolllama train every assistant turn: rows with masked turns (loss: false,
Agent-FLAN's capability balancing) are refused unless --drop-loss-masks says to train them.
OUT appears only when the whole run succeeded (an error or Ctrl-C leaves nothing behind).

examples:
  agentflan convert ../shared/data/toolbench/answers toolllama.json --to toolllama
  agentflan convert glaive.json train.jsonl --to openai --on-error skip --rejects bad.jsonl
  agentflan convert hf://OWNER/NAME:train corpus.parquet --to parquet --from openai
  agentflan convert build/demo/native corpus.parquet --to tokenized --tokenizer MODEL_DIR --template llama3
"""


TOKENIZED = "tokenized"


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    from agentflan.writers import writer_names

    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Convert an agent corpus between formats, streaming. Prints 'read N, written N, rejected N' at the end.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN", help="input: file, glob, folder, parquet, save_to_disk folder[:split] or hf://owner/name[:split]")
    p.add_argument("output", metavar="OUT", help="output file (or folder for hf-dataset); written atomically")
    formats = [*writer_names(), TOKENIZED]
    p.add_argument("--to", required=True, choices=formats, metavar="FORMAT", help=f"output format, one of: {', '.join(formats)}")
    add_from_option(p)
    p.add_argument(
        "--on-error",
        choices=[e.value for e in OnError],
        default="fail",
        help="fail: stop at the first bad record, writing nothing (default); skip: set bad records aside in the rejects file and go on",
    )
    p.add_argument(
        "--drop-loss-masks",
        action="store_true",
        help="sharegpt-tools and toolllama train every assistant turn: rows with masked turns (loss: false) are "
        "refused unless this flag is given; with it they are written and a warning counts the turns that lose their mask",
    )
    p.add_argument("--tokenizer", metavar="PATH", help="--to tokenized: the tokenizer (a local folder or hub id) to tokenize with")
    p.add_argument("--template", default="agentflan", metavar="NAME", help="--to tokenized: chat template, as in `agentflan train` (default: agentflan)")
    p.add_argument("--max-length", type=int, default=8192, metavar="N", help="--to tokenized: keep the first N tokens of a row (default: 8192)")
    p.add_argument("--rejects", type=Path, metavar="PATH", help="rejects JSONL for --on-error skip (default: OUT.rejects.jsonl)")


def run(args: argparse.Namespace) -> int:
    from agentflan.sources import iter_located
    from agentflan.writers import write

    output = Path(args.output)
    mismatch = suffix_problem(args.to, output)
    if mismatch:
        print(f"agentflan convert: error: {mismatch}", file=sys.stderr)
        return 2
    rejects_path = args.rejects or output.with_name(output.name + ".rejects.jsonl")
    status = 0
    with Rejects(rejects_path, OnError(args.on_error)) as rejects:
        try:
            # a row the writer refuses is named by the file and line it was read from
            rejects.origins = Origins()
            located = iter_located(args.input, args.from_format, rejects=rejects)
            conversations = progress(rejects.origins.track(located), desc="convert")
            if args.to == TOKENIZED:
                rejects.stats.written = _tokenized(args, conversations, output, rejects)
            else:
                rejects.stats.written = write(conversations, output, args.to, rejects=rejects, drop_loss_masks=args.drop_loss_masks)
        except AgentflanError as exc:
            print(f"agentflan convert: error: {exc}", file=sys.stderr)
            status = 2
    stats = rejects.stats
    if status == 0:
        print(f"wrote {output} ({args.to})")
        if args.to == "sharegpt-tools":
            from agentflan.jsonutil import loads
            from agentflan.writers.sharegpt import DATASET_INFO

            entry = {output.stem: loads((output.parent / DATASET_INFO).read_bytes())[output.stem]}
            print(f"LLaMA-Factory entry (merged into {output.parent / DATASET_INFO}):")
            print(json.dumps(entry, indent=2))
    if stats.rejected:
        print(f"rejects: {rejects_path} ({', '.join(f'{k}: {v}' for k, v in sorted(stats.reasons.items()))})")
    print(stats.summary())
    return status


def _tokenized(args: argparse.Namespace, conversations: Iterable[Conversation], output: Path, rejects: Rejects) -> int:
    """``--to tokenized``: TRL pre-tokenized rows that keep every loss mask (see agentflan.train.tokenized)."""
    from agentflan.generation.templates import get_template
    from agentflan.train.tokenized import write_tokenized

    if not args.tokenizer:
        raise ConfigError("--to tokenized needs --tokenizer PATH (and --template NAME, default agentflan)")
    if output.suffix != ".parquet":
        raise ConfigError(f"--to tokenized writes parquet; name OUT *.parquet, not {output.name!r}")
    tokenizer = load_tokenizer(args.tokenizer)
    stats = write_tokenized(conversations, output, tokenizer, get_template(args.template, tokenizer), args.max_length, rejects)
    print(
        f"tokenized: {stats.rows} rows, {stats.tokens} tokens, {stats.supervised} trained; "
        f"{stats.truncated} truncated to {args.max_length}, {stats.dropped_no_loss} dropped with no trained token"
    )
    return stats.rows


def suffix_problem(fmt: str, output: Path) -> str | None:
    """Why OUT's name does not fit FORMAT (``--to parquet out.jsonl`` would write parquet bytes into a .jsonl)."""
    binary = fmt in ("parquet", TOKENIZED)
    if binary and output.suffix != ".parquet":
        return f"--to {fmt} writes parquet; name OUT *.parquet, not {output.name!r}"
    if not binary and output.suffix == ".parquet":
        return f"OUT {output.name!r} ends in .parquet but --to {fmt} does not write parquet (use --to parquet)"
    if fmt == "hf-dataset" and output.suffix in (".json", ".jsonl", ".ndjson"):
        return f"--to hf-dataset writes a folder; name OUT without the {output.suffix} suffix"
    return None
