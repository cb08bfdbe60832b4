"""``agentflan eval SUITE --model ...``: run a benchmark suite with a per-item cache;
``agentflan eval score SUITE --data ... --predictions ...``: score responses generated elsewhere;
``agentflan eval build-agent-h``: build the Agent-H item file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agentflan.cli._backend import add_backend_options, backend_from_args
from agentflan.cli._help import RawDescriptionHelpFormatter
from agentflan.cli._options import add_option, given
from agentflan.options import OptionDoc, option_docs

EPILOG = """\
suites:
  agent-h     hallucination: tool queries with no/unrelated tools and general queries with tools
              (H-ReAct, H-General, H), reported beside the tool-need companion set
  tool-need   queries an offered tool answers: right tool, valid arguments
  tool-steps  T-Eval-style single steps: instruct, plan, reason, retrieve, understand, review
  hotpotqa    a ReAct agent with search/lookup over each question's own paragraphs: EM and F1
  mmlu        k-shot multiple choice as lm-eval scores it (log-likelihoods; --mode generative for
              servers without log-probs): accuracy per subject and overall
  lm-eval     any lm-evaluation-harness task (gsm8k, humaneval...), lm-eval's own definition and
              scoring, on local files with --data TASK=FILE; humaneval needs --confirm-run-unsafe-code

outputs (OUT defaults to eval_results):
  OUT/SUITE/results.jsonl   one scored item per line, appended as items finish
  OUT/SUITE/summary.json    {"suite", "model", "backend", "metrics", "n_items", "n_failed", "versions"}
  OUT/SUITE/failed.jsonl    items the backend still failed after its retries, with why (exit status 1)
  OUT/SUITE/requests.jsonl  mmlu and lm-eval on --backend openai: every answered request, kept as it comes
  OUT/index.html            every suite under OUT with its table and charts
Re-running the same command resumes: finished items are skipped, so an interrupted run loses
nothing, and failed items are asked again. mmlu (log-likelihood mode) and lm-eval hand the whole
set to lm-eval again, which gets the answered requests from requests.jsonl and sends the server only
the rest. A folder holding another model's results is refused (use --fresh or another --out).

examples:
  agentflan eval hotpotqa --model out/final --data ../shared/data/hotpotqa/distractor_easy_medium.jsonl --limit 50
  agentflan eval mmlu --model out/final --data ../shared/data/mmlu --subjects anatomy,astronomy
  agentflan eval mmlu --backend openai --base-url http://127.0.0.1:8000/v1 --model m --data ../shared/data/mmlu --mode generative
  agentflan eval lm-eval --model out/final --tasks gsm8k --data gsm8k=test.jsonl,gsm8k:train=train.jsonl
  agentflan eval lm-eval --model out/final --tasks humaneval --data humaneval=HumanEval.jsonl --confirm-run-unsafe-code
  agentflan eval agent-h --backend openai --base-url http://127.0.0.1:8000/v1 --model my-model --concurrency 32 --data agent_h.jsonl
  agentflan eval build-agent-h --out agent_h.jsonl --source ../shared/data/toolbench/queries --source ../shared/data/glaive/glaive_toolcall_en_demo.json
"""

# Each suite's one-line description; its options and their defaults come from its options dataclass.
SUITE_DESCRIPTIONS: dict[str, str] = {
    "agent-h": "Agent-H hallucination benchmark (--data: a file from build-agent-h, or build it here from --source)",
    "tool-need": "queries an offered tool answers: right tool, valid arguments",
    "tool-steps": "T-Eval-style tool use step by step (six dimensions, JSON and string protocols)",
    "hotpotqa": "HotpotQA with a ReAct agent over each question's context paragraphs (--data: distractor-setting JSONL)",
    "mmlu": "MMLU k-shot multiple choice (--data: folder with dev/ and test/ CSVs), scored as lm-evaluation-harness scores it "
    "(log-likelihood of ' A'..' D' after the plain prompt; --backend hf, or openai on a server giving prompt log-probs), "
    "or --mode generative for servers without log-probs",
    "lm-eval": "any lm-evaluation-harness task by name (gsm8k, humaneval, ...), defined and scored by lm-eval itself on this "
    "backend's model (hf, or openai through lm-eval's local-completions); --data points a task at local files; tasks that "
    "run model-written code (humaneval) need --confirm-run-unsafe-code",
}
#: Agent-H options that ``build-agent-h`` takes (the rest concern running, not building).
BUILD_AGENT_H_OPTIONS = ("sources", "general_questions", "size", "seed", "tool_fraction", "protocol", "max_tools", "builtin")


def add_parser(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(
        name,
        help=help_text,
        description="Evaluate a model on a suite, caching each item's result as it finishes; or build the Agent-H item file.",
        epilog=EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    suites = p.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for suite, description in SUITE_DESCRIPTIONS.items():
        sp = suites.add_parser(suite, help=description, description=description, epilog=EPILOG, formatter_class=RawDescriptionHelpFormatter)
        add_backend_options(sp)
        g = sp.add_argument_group("suite")
        for doc in _suite_docs(suite):
            add_option(g, doc)
        g.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE", help="any option of the suite as KEY=VALUE (VALUE read as JSON when it parses, else text); repeatable")
        r = sp.add_argument_group("run")
        r.add_argument("--out", type=Path, default=Path("eval_results"), metavar="DIR", help="output folder (default: %(default)s); results go to DIR/SUITE/")
        r.add_argument("--limit", type=int, metavar="N", help="score only the first N items (the order is fixed)")
        r.add_argument("--fresh", action="store_true", help="discard earlier results in DIR/SUITE instead of resuming")
        r.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_build_agent_h(suites)
    _add_score(suites)


def _add_score(suites: argparse._SubParsersAction) -> None:
    sc = suites.add_parser(
        "score",
        help="score responses generated elsewhere (JSONL of {\"id\", \"response\"}) without a model",
        description="Score a suite's items with responses generated elsewhere, as T-Eval separates inference from scoring. "
        "Writes OUT/SUITE/results.jsonl and OUT/SUITE/summary.json exactly as a generating run does (backend "
        "\"predictions\"). MMLU replies are read by their first answer letter (--mode generative). Each prediction's id is the item's id (as results.jsonl of a run writes it) or, for files keyed "
        "by id such as T-Eval's, the key alone. Every item needs one prediction. HotpotQA's response is the final "
        "answer, or the agent's last turn (its finish[...] is read).",
        epilog="example:\n  agentflan eval score tool-steps --data ../shared/data/teval/plan_json_v1_sample.json "
        "--predictions preds.jsonl --out scored\n"
        "  (T-Eval's reason/plan similarity: all-mpnet-base-v2 when installed, else all-MiniLM-L6-v2; choose with "
        "--set similarity_model=PATH)",
        formatter_class=RawDescriptionHelpFormatter,
    )
    sc.add_argument("score_suite", metavar="SUITE", choices=list(SUITE_DESCRIPTIONS), help="the suite whose scorer to use: " + ", ".join(SUITE_DESCRIPTIONS))
    sc.add_argument("--data", required=True, metavar="PATH", help="the suite's data, as for a generating run (comma list for several files)")
    sc.add_argument("--predictions", required=True, type=Path, metavar="FILE", help="JSONL, one {\"id\", \"response\"} per item")
    sc.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE", help="any other option of the suite's factory (VALUE read as JSON when it parses); repeatable")
    sc.add_argument("--out", type=Path, default=Path("eval_results"), metavar="DIR", help="output folder (default: %(default)s); results go to DIR/SUITE/")
    sc.add_argument("--model-name", metavar="NAME", help="the model named in summary.json (default: the predictions file's name)")


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
        formatter_class=RawDescriptionHelpFormatter,
    )
    b.add_argument("--out", type=Path, required=True, metavar="FILE", help="the item file to write (JSONL)")
    for doc in _build_agent_h_docs():
        add_option(b, doc)
    b.add_argument(
        "--tool-need-size", type=int, metavar="N",
        help="tool-need companion samples (queries with the tools that serve them, scored beside H; default --size, at most every usable tool query)",
    )
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


def _suite_docs(suite: str) -> list[OptionDoc]:
    from agentflan.evaluate.registry import options_class

    return option_docs(options_class(suite))


def _build_agent_h_docs() -> list[OptionDoc]:
    return [d for d in _suite_docs("agent-h") if d.name in BUILD_AGENT_H_OPTIONS]


def suite_options(args: argparse.Namespace) -> dict[str, Any]:
    """The factory keywords the user gave (unset options stay with the factory's defaults)."""
    options = given(args, _suite_docs(args.suite))
    options.update(_parse_extra(args.extra))
    return options


def run(args: argparse.Namespace) -> int:
    if args.suite == "build-agent-h":
        return _build_agent_h(args)
    if args.suite == "score":
        return _score(args)
    from agentflan.evaluate.lmeval_tasks import LMEvalSuite, run_lm_eval
    from agentflan.evaluate.mmlu import MMLUSuite
    from agentflan.evaluate.mmlu_lmeval import run_mmlu_loglikelihood
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.runner import run_suite
    from agentflan.report.evalpage import write_eval_page

    suite = make_suite(args.suite, **suite_options(args))
    backend = backend_from_args(args)
    try:
        if isinstance(suite, MMLUSuite) and suite.options.mode == "loglikelihood":
            outcome = run_mmlu_loglikelihood(suite, backend, args.out, limit=args.limit, fresh=args.fresh, console=sys.stdout)
        elif isinstance(suite, LMEvalSuite):
            outcome = run_lm_eval(suite, backend, args.out, limit=args.limit, fresh=args.fresh, console=sys.stdout)
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
    failed = f", {outcome.failed} failed (listed in failed.jsonl)" if outcome.failed else ""
    print(f"{outcome.new} scored now, {outcome.cached} from the cache{failed}; results in {outcome.directory}, page {page}")
    return 1 if outcome.failed else 0


def _build_agent_h(args: argparse.Namespace) -> int:
    from agentflan.batch import OnError, Rejects
    from agentflan.evaluate.agent_h import AgentHOptions
    from agentflan.evaluate.agent_h_build import BuildOptions, build_agent_h, build_summary
    from agentflan.evaluate.registry import split_specs
    from agentflan.locking import output_lock

    o = AgentHOptions(**given(args, _build_agent_h_docs()))
    rejects_path = args.rejects or args.out.with_name(args.out.name + ".rejects.jsonl")
    # The lock keeps a second build of the same file from mixing its items, rejects and tool-need file with ours.
    with output_lock(args.out, "eval build-agent-h"), Rejects(rejects_path, OnError(args.on_error)) as rejects:
        need_size = args.tool_need_size if args.tool_need_size is not None else o.size
        options = BuildOptions.of(o, tool_need=True, tool_need_size=need_size)
        items = build_agent_h(split_specs(o.sources), options, general_questions=split_specs(o.general_questions), out=args.out, rejects=rejects)
    comp = build_summary(items, o.size, o.tool_fraction)
    kinds = ", ".join(f"{k} {n}" for k, n in comp["kinds"].items())
    print(f"wrote {len(items)} items to {args.out}: {kinds}; tool queries {comp['tool_fraction']:.0%} of the Agent-H samples "
          f"({comp['distinct_tool_queries']} distinct); {rejects.stats.rejected} source records rejected")
    if "warning" in comp:
        print(f"agentflan eval build-agent-h: WARNING: {comp['warning']}", file=sys.stderr)
    return 0


def _score(args: argparse.Namespace) -> int:
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.results import format_table
    from agentflan.evaluate.score_predictions import score_predictions

    # predictions are written replies: MMLU reads them by their first answer letter (its generative mode)
    defaults = {"mode": "generative"} if args.score_suite == "mmlu" else {}
    suite = make_suite(args.score_suite, data=args.data, **{**defaults, **_parse_extra(args.extra)})
    summary = score_predictions(suite, args.predictions, args.out, model=args.model_name)
    sys.stdout.write(format_table(summary))
    print(f"{summary['n_items']} items scored; results in {args.out / suite.name}")
    return 0
