"""`agentflan build` throughput and peak memory on ToolBench answer files replicated to a size.

The shared ToolBench answers (15 files, 1.4 MB) are copied into a temp folder until they reach
``--mb`` (default 50 MB: "1x"); each scale in ``--scales`` multiplies that. Every build runs in
its own process (`python -m agentflan build`), timed from outside, and its peak resident memory
(the largest process of the build, pool workers included) is read with getrusage. The recipe is
the ToolBench half of recipes/agent-flan.yaml: react 10 % / tflan 60 % (balanced r10r5u7) /
cot 30 % and the format-following set. Prints a table.

    .venv/bin/python benchmarks/bench_build.py [--mb 50] [--scales 1 10] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT.parent / "shared" / "data" / "toolbench" / "answers"

RECIPE = """
name: bench-toolbench
seed: 0
sources:
  toolbench: {path: answers, format: toolbench, filter: {final_answer: true}}
splits:
  - {name: toolbench_react_10p, sources: [toolbench], share: {group: tb, fraction: 0.1}, style: react}
  - {name: toolbench_tflan_60p_r10r5u7, sources: [toolbench], share: {group: tb, fraction: 0.6}, style: tflan,
     tool_names: qualified, balance: {preset: r10r5u7}}
  - {name: toolbench_tflan_cot_30p, sources: [toolbench], share: {group: tb, fraction: 0.3}, style: cot, tool_names: qualified}
  - {name: toolbench_instruct_j1s1_3k, kind: format_following, sources: [toolbench], n: 3000, tool_names: qualified}
"""

# Runs one build and prints the peak RSS (KiB) of its largest process.
MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def replicate(target: Path, megabytes: float) -> tuple[int, int]:
    """Copy the answer files into ``target`` (one sub-folder per copy) until it holds ``megabytes``."""
    files = sorted(ANSWERS.rglob("*.json"))
    size = sum(f.stat().st_size for f in files)
    copies = max(1, -(-int(megabytes * 1e6) // size))
    for c in range(copies):
        for f in files:
            dest = target / f"copy{c:04d}" / f.relative_to(ANSWERS)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
    return copies * len(files), copies * size


def run_build(work: Path, workers: int) -> tuple[float, float, dict]:
    out = work / f"out-w{workers}"
    cmd = [sys.executable, "-c", MEASURE, sys.executable, "-m", "agentflan", "build", str(work / "recipe.yaml"), "--out", str(out), "--workers", str(workers), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    manifest = json.loads((out / "manifest.json").read_text())
    shutil.rmtree(out)
    return elapsed, int(done.stdout.strip()) / 1024, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the 1x input in MB (default 50)")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10], help="input sizes as multiples of --mb (default 1 10)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time (default 1 2)")
    args = parser.parse_args()
    if not ANSWERS.is_dir():
        sys.exit(f"needs the shared ToolBench answers at {ANSWERS}")
    rows = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
            work = Path(tmp)
            n_files, n_bytes = replicate(work / "answers", args.mb * scale)
            (work / "recipe.yaml").write_text(RECIPE, encoding="utf-8")
            for workers in args.workers:
                elapsed, peak_mb, manifest = run_build(work, workers)
                trajectories = manifest["inputs"]["toolbench"]["conversations"]
                rows.append((scale, n_files, n_bytes / 1e6, workers, trajectories, manifest["rows"], elapsed, peak_mb))
    print(f"{'scale':>5} {'files':>6} {'input MB':>9} {'workers':>7} {'trajectories':>12} {'rows out':>8} {'seconds':>8} {'traj/s':>8} {'MB/s':>6} {'peak RSS MB':>11}")
    for scale, n_files, mb, workers, traj, out_rows, sec, peak in rows:
        print(f"{scale:>4}x {n_files:>6} {mb:>9.1f} {workers:>7} {traj:>12} {out_rows:>8} {sec:>8.1f} {traj / sec:>8.0f} {mb / sec:>6.2f} {peak:>11.0f}")


if __name__ == "__main__":
    main()
