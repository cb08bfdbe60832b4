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
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT.parent / "shared" / "data" / "toolbench" / "answers" / "G1_answer"


def child_cpu(argv: list[str], src: Path | None) -> float:
    """User + sys CPU seconds of one child process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
        arms: dict[str, tuple[list[str], Path | None]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "agentflan convert (this tree)": (convert, ROOT / "src"),
        }
        if args.baseline_src is not None:
            arms[f"agentflan convert ({args.baseline_src})"] = (convert, args.baseline_src.resolve())
        for argv, src in arms.values():
            child_cpu(argv, src)  # warm-up: writes the byte-code, fills the page cache
        cpu: dict[str, list[float]] = {name: [] for name in arms}
        for i in range(args.runs):
            for name in list(arms) if i % 2 == 0 else list(reversed(arms)):
                argv, src = arms[name]
                cpu[name].append(child_cpu(argv, src))
    load = os.getloadavg()[0]
    print(f"one-file convert ({answer.name}, {answer.stat().st_size:,} bytes) -> toolllama; {args.runs} alternating runs; load average {load:.1f}")
    width = max(len(n) for n in arms)
    print(f"{'process':<{width}}  CPU s, median (range)")
    for name, xs in cpu.items():
        print(f"{name:<{width}}  {statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})")


if __name__ == "__main__":
    main()
