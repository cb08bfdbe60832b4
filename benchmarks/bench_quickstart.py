"""Time ``agentflan quickstart`` stage by stage (the README promises under 10 minutes on 2 CPU cores).

Usage: ``.venv/bin/python benchmarks/bench_quickstart.py [--steps N] [--ablation negatives|format|balance] [--cores 2]``

``--cores`` pins the process to that many CPU cores (Linux ``sched_setaffinity``) so a bigger
machine measures what a 2-core laptop would see. Output goes to ``benchmarks/.work/quickstart``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 600.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the quickstart's default)")
    parser.add_argument("--ablation", choices=["negatives", "format", "balance"], default=None)
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / ".work" / "quickstart")
    args = parser.parse_args(argv)
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    import torch

    from agentflan.quickstart import QuickstartOptions, run_quickstart

    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    options = QuickstartOptions(out=args.out, ablation=args.ablation, progress=False)
    if args.steps is not None:
        options.steps = args.steps
    load = os.getloadavg()[0]
    result = run_quickstart(options, say=lambda msg: print(msg, file=sys.stderr))
    total = result.seconds["total"]
    print(f"\nagentflan quickstart, steps={options.steps}, ablation={args.ablation or 'none'}; {cores} cores "
          f"({platform.processor() or platform.machine()}), torch threads {torch.get_num_threads()}, "
          f"load average at start {load:.1f}\n")
    width = max(len(k) for k in result.seconds)
    print(f"| {'stage':<{width}} | seconds |")
    print(f"|{'-' * (width + 2)}|--------:|")
    for stage, secs in result.seconds.items():
        print(f"| {stage:<{width}} | {secs:7.1f} |")
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"\n{verdict} the {BUDGET_S / 60:.0f}-minute budget ({total / 60:.1f} min)")
    for run in result.runs:
        for suite, metrics in run.metrics.items():
            head = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            print(f"  {run.name:<18} {suite:<10} {head}")
    return 0 if total <= BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
