"""Start-up: CPU of a whole ``agentflan convert`` of ONE ToolBench answer file (a process that does
almost no work, so it is interpreter start-up plus imports), beside a bare ``python -c pass``, and
optionally beside the same command run from another source tree (``--baseline-src``, e.g. a
checkout before a change). Alternating runs; user+sys CPU of each child from ``getrusage``;
medians with range. Prints a table. One discarded warm-up run per arm first, with byte-code
writing allowed (``PYTHONDONTWRITEBYTECODE`` dropped), so that every timed run loads ``.pyc`` files
as an installed package does instead of compiling agentflan's sources each time.

    .venv/bin/python benchmarks/bench_startup.py [--file ANSWER.json] [--runs 7] [--baseline-src ../main/src]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _child_cpu import alternate, bytecode_env, print_table

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT.parent / "shared" / "data" / "toolbench" / "answers" / "G1_answer"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, help="the answer file (default: the first of shared G1_answer)")
    ap.add_argument("--runs", type=int, default=7, help="alternating runs per arm (default 7)")
    ap.add_argument("--baseline-src", type=Path, help="another src/ folder to run the same command from")
    args = ap.parse_args()
    answer = args.file or min(ANSWERS.glob("*.json"))
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.json")
        convert = [sys.executable, "-m", "agentflan", "convert", str(answer), out, "--to", "toolllama"]
        here = bytecode_env(PYTHONPATH=str(ROOT / "src"))
        arms = {
            "python -c pass": (lambda i: [sys.executable, "-c", "pass"], bytecode_env()),
            "agentflan convert (this tree)": (lambda i: convert, here),
        }
        if args.baseline_src is not None:
            arms[f"agentflan convert ({args.baseline_src})"] = (lambda i: convert, bytecode_env(PYTHONPATH=str(args.baseline_src.resolve())))
        cpu = alternate(arms, args.runs)
    print_table(f"one-file convert ({answer.name}, {answer.stat().st_size:,} bytes) -> toolllama; {args.runs} alternating runs", cpu)


if __name__ == "__main__":
    main()
