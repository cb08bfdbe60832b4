"""``agentflan eval SUITE --model ...``: run a benchmark suite with a per-item cache, and
``agentflan eval build-agent-h``: build the Agent-H item file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agentflan.cli._backend import add_backend_options, backend_from_args

EPILOG = """\
suites:
  agent-h     hallucination: tool queries with no/unrelated tools and general queries with tools
              (H-ReAct, H-General, H), reported beside the tool-need companion set
  tool-need   queries an offered tool answers: right tool, valid arguments
  tool-steps  T-Eval-style single steps: instruct, plan, reason, retrieve, understand, review
  hotpotqa    a ReAct agent with search/lookup over each question's own paragraphs: EM and F1
  mmlu        5-shot multiple choice as lm-eval scores it (log-likelihoods; --mode generative for
              servers without log-probs): accuracy per subject and overall

outputs (OUT defaults to eval_results):
  OUT/SUITE/results.jsonl   one scored item per line, appended as items finish
  OUT/SUITE/summary.json    {"suite", "model", "backend", "metrics", "n_items", "versions"}
  OUT/index.html            every suite under OUT with its table and charts
Re-running the same command resumes: finished items are skipped, so an interrupted run loses
nothing. A folder holding another model's results is refused (use --fresh or another --out).

examples:
  agentflan eval hotpotqa --model out/final --data ../shared/data/hotpotqa/distractor_easy_medium.jsonl --limit 50
  agentflan eval mmlu --model out/final --data ../shared/data/mmlu --subjects anatomy,astronomy
  agentflan eval mmlu --backend openai --base-url http://127.0.0.1:8000/v1 --model m --data ../shared/data/mmlu --mode generative
  agentflan eval agent-h --backend openai --base-url http://127.0.0.1:8000/v1 --model my-model --concurrency 32 --data agent_h.jsonl
  agentflan eval build-agent-h --out agent_h.jsonl --source ../shared/data/toolbench/queries --source ../shared/data/glaive/glaive_toolcall_en_demo.json
"""

# Options each suite's factory takes, beyond --set KEY=VALUE: (flags, argparse keywords).
_DATA = (("--data",), {"metavar": "PATH", "help": "the suite's data (file or folder; see the suite's description)"})
_SEED = (("--seed",), {"type": int, "metavar": "S", "help": "seed for every random choice (default 0)"})
_PROTOCOL = (("--protocol",), {"metavar": "NAME", "help": "agent protocol of the prompts: react, fireact, json, json-goal..."})
_MAX_NEW = (("--max-new-tokens",), {"type": int, "metavar": "N", "help": "tokens per generation"})
_SOURCE = (("--source",), {"dest": "sources", "action": "append", "metavar": "PATH", "help": "tool corpus to build items from (ToolBench queries/answers, Glaive); repeatable"})
_SIZE = (("--size",), {"type": int, "metavar": "N", "help": "number of samples to build"})

SUITE_HELP: dict[str, tuple[str, list[tuple[tuple[str, ...], dict[str, Any]]]]] = {
    "agent-h": (
        "Agent-H hallucination benchmark (--data: a file from build-agent-h, or build it here from --source)",
        [_DATA, _SOURCE, (("--general",), {"dest": "general_questions", "action": "append", "metavar": "PATH", "help": "general (no tool needed) questions; repeatable"}), _SIZE, _SEED, _PROTOCOL, _MAX_NEW],
    ),
    "tool-need": ("queries an offered tool answers: right tool, valid arguments", [_DATA, _SOURCE, _SIZE, _SEED, _PROTOCOL, _MAX_NEW]),
    "tool-steps": (
        "T-Eval-style tool use step by step (six dimensions, JSON and string protocols)",
        [
            _DATA,
            (("--source",), {"dest": "sources", "action": "append", "metavar": "PATH", "help": "trajectories to build steps from (e.g. ToolBench answer files); repeatable"}),
            (("--teval",), {"action": "append", "metavar": "PATH", "help": "original T-Eval data files; repeatable"}),
            (("--protocols",), {"metavar": "A,B", "help": "protocols to ask each step in (default json,react)"}),
            (("--dimensions",), {"metavar": "A,B", "help": "subset of instruct,plan,reason,retrieve,understand,review"}),
            (("--max-per-dimension",), {"type": int, "metavar": "N", "help": "at most N items per dimension"}),
            _SEED,
            _MAX_NEW,
        ],
    ),
    "hotpotqa": (
        "HotpotQA with a ReAct agent over each question's context paragraphs (--data: distractor-setting JSONL)",
        [
            _DATA,
            (("--protocol",), {"metavar": "NAME", "help": "fireact (default: search[...]/lookup[...]/finish[...]) or react"}),
            (("--shots",), {"type": int, "metavar": "K", "help": "worked examples in the system prompt (default 2)"}),
            (("--max-steps",), {"type": int, "metavar": "N", "help": "model turns per question before giving up (default 8)"}),
            (("--examples",), {"metavar": "YAML", "help": "your own worked examples (layout of agentflan/data/eval/hotpotqa_examples.yaml)"}),
            _MAX_NEW,
            _SEED,
        ],
    ),
    "mmlu": (
        "MMLU k-shot multiple choice (--data: folder with dev/ and test/ CSVs), scored as lm-evaluation-harness scores it "
        "(log-likelihood of ' A'..' D' after the plain prompt; --backend hf), or --mode generative for servers without log-probs",
        [
            _DATA,
            (("--subjects",), {"metavar": "A,B", "help": "comma-separated subjects (default: all found)"}),
            (("--split",), {"metavar": "NAME", "help": "split to score (default test)"}),
            (("--shots",), {"type": int, "metavar": "K", "help": "solved dev questions before each question (default 5)"}),
            (("--per-subject",), {"type": int, "metavar": "N", "help": "at most N questions per subject"}),
            (("--mode",), {"choices": ["loglikelihood", "generative"], "help": "loglikelihood (default): lm-eval's own MMLU task and scoring on the hf backend's model, offline on the local CSVs; generative: the model writes a reply and its first A-D letter counts (for servers without log-probs; not comparable to lm-eval)"}),
            _MAX_NEW,
        ],
    ),
}


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Evaluate a model on a suite, caching each item's result as it finishes; or build the Agent-H item file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    suites = p.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for suite, (description, options) in SUITE_HELP.items():
        sp = suites.add_parser(suite, help=description, description=description, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        add_backend_options(sp)
        g = sp.add_argument_group("suite")
        for flags, kwargs in options:
            g.add_argument(*flags, **kwargs)
        g.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE", help="any other option of the suite's factory (VALUE read as JSON when it parses, else text); repeatable")
        r = sp.add_argument_group("run")
        r.add_argument("--out", type=Path, default=Path("eval_results"), metavar="DIR", help="output folder (default eval_results); results go to DIR/SUITE/")
        r.add_argument("--limit", type=int, metavar="N", help="score only the first N items (the order is fixed)")
        r.add_argument("--fresh", action="store_true", help="discard earlier results in DIR/SUITE instead of resuming")
        r.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_build_agent_h(suites)


def _add_build_agent_h(suites: argparse._SubParsersAction) -> None:
    from agentflan.batch import OnError

    b = suites.add_parser(
        "build-agent-h",
        help="build the Agent-H item file from tool corpora and general questions",
        description="Build Agent-H items: tool-needing queries offered no or unrelated tools, and general queries offered "
        "tools, each under a ReAct-style and a general system prompt, plus the tool-need companion items (the same kind "
        "of queries with the tools that serve them, where the right reply is a call). The file's first line is a header "
        "with its composition; when the sources cannot give --size or --tool-fraction, a WARNING says so and the header "
        "records it. Seeded; written atomically.",
        epilog="example:\n  agentflan eval build-agent-h --out agent_h.jsonl --source ../shared/data/toolbench/queries "
        "--source ../shared/data/glaive/glaive_toolcall_en_demo.json --size 1845 --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--out", type=Path, required=True, metavar="FILE", help="the item file to write (JSONL)")
    b.add_argument("--source", dest="sources", action="append", default=[], metavar="PATH", help="ToolBench query/answer files, Glaive tools data (file, glob or folder); repeatable")
    b.add_argument("--general", dest="general_questions", action="append", default=[], metavar="PATH", help="general questions that need no tool; repeatable")
    b.add_argument("--size", type=int, default=1845, metavar="N", help="samples to draw (default 1845, the paper's size; each gives a ReAct and a general item)")
    b.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default 0): same inputs and seed give a byte-identical file")
    b.add_argument("--tool-fraction", type=float, default=0.5, metavar="F", help="share of tool-needing samples (default 0.5)")
    b.add_argument("--protocol", default="react", metavar="NAME", help="protocol of the ReAct-style prompt (default react)")
    b.add_argument("--max-tools", type=int, default=4, metavar="N", help="most tools offered per item (default 4)")
    b.add_argument("--tool-need-size", type=int, metavar="N", help="tool-need companion samples (queries with the tools that serve them, scored beside H; default --size, at most every usable tool query)")
    b.add_argument("--no-builtin", dest="builtin", action="store_false", help="do not add agentflan's built-in tool and question set")
    b.add_argument("--on-error", choices=[e.value for e in OnError], default="fail", help="fail (default) or skip bad source records into the rejects file")
    b.add_argument("--rejects", type=Path, metavar="PATH", help="rejects JSONL for --on-error skip (default: FILE.rejects.jsonl)")


def _parse_extra(pairs: list[str]) -> dict[str, Any]:
    from agentflan.errors import ConfigError
    from agentflan.jsonutil import loads

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            out[key.replace("-", "_")] = loads(value)
        except ValueError:
            out[key.replace("-", "_")] = value
    return out


def suite_options(args: argparse.Namespace) -> dict[str, Any]:
    """The factory keywords the user gave (unset options stay with the factory's defaults)."""
    options: dict[str, Any] = {}
    for flags, kwargs in SUITE_HELP[args.suite][1]:
        dest = kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")
        value = getattr(args, dest, None)
        if value is not None:
            options[dest] = value
    options.update(_parse_extra(args.extra))
    return options


def run(args: argparse.Namespace) -> int:
    if args.suite == "build-agent-h":
        return _build_agent_h(args)
    from agentflan.evaluate.mmlu import MMLUSuite
    from agentflan.evaluate.mmlu_lmeval import run_mmlu_loglikelihood
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.runner import run_suite
    from agentflan.report.evalpage import write_eval_page

    suite = make_suite(args.suite, **suite_options(args))
    backend = backend_from_args(args)
    try:
        if isinstance(suite, MMLUSuite) and suite.options.mode == "loglikelihood":
            outcome = run_mmlu_loglikelihood(suite, backend, args.out, limit=args.limit, console=sys.stdout)
        else:
            outcome = run_suite(suite, backend, args.out, limit=args.limit, fresh=args.fresh, progress=not args.no_progress, console=sys.stdout)
    except KeyboardInterrupt:
        print(
            f"agentflan eval: interrupted; finished items are kept in {args.out / suite.name}; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        backend.close()
    page = write_eval_page(args.out)
    print(f"{outcome.new} scored now, {outcome.cached} from the cache; results in {outcome.directory}, page {page}")
    return 0


def _build_agent_h(args: argparse.Namespace) -> int:
    from agentflan.batch import OnError, Rejects
    from agentflan.evaluate.agent_h_build import build_agent_h, build_summary

    rejects_path = args.rejects or args.out.with_name(args.out.name + ".rejects.jsonl")
    with Rejects(rejects_path, OnError(args.on_error)) as rejects:
        items = build_agent_h(
            args.sources,
            general_questions=args.general_questions,
            size=args.size,
            seed=args.seed,
            tool_fraction=args.tool_fraction,
            protocol=args.protocol,
            max_tools=args.max_tools,
            builtin=args.builtin,
            out=args.out,
            rejects=rejects,
            tool_need=True,
            tool_need_size=args.tool_need_size if args.tool_need_size is not None else args.size,
        )
    comp = build_summary(items, args.size, args.tool_fraction)
    kinds = ", ".join(f"{k} {n}" for k, n in comp["kinds"].items())
    print(f"wrote {len(items)} items to {args.out}: {kinds}; tool queries {comp['tool_fraction']:.0%} of the Agent-H samples "
          f"({comp['distinct_tool_queries']} distinct); {rejects.stats.rejected} source records rejected")
    if "warning" in comp:
        print(f"agentflan eval build-agent-h: WARNING: {comp['warning']}", file=sys.stderr)
    return 0
