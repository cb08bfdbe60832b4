"""ToolBench raw answers -> ToolLLaMA: agentflan vs. a plain ``json``-module implementation.

The 15 shared answer files are replicated into a temp folder (many files, >= --mb MB), then each
implementation converts the folder in its own subprocess, which reports wall and CPU time and
its peak resident memory (``VmHWM``; Linux). The same is done at --scale times the input, to show that
agentflan's memory stays flat (reading streams file by file, the ToolLLaMA array is written
element by element); the plain implementation builds its output list and grows with the input.
Both outputs are checked to be the same samples before any figure is printed. Wall time
includes agentflan's fsync of its output (atomic, durable writes); CPU time does not, and is the
steadier figure on a shared machine.

    .venv/bin/python benchmarks/bench_toolbench_io.py [--mb 50] [--scale 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
ANSWERS = SHARED / "toolbench" / "answers"

# ToolBench's additions to the system prompt (the facts the reference output shows).
ANCHOR = "with a function call to actually excute your step."
HINT = " Your output should follow this format:\nThought:\nAction\nAction Input:\n"
API_PREFIX = "\nSpecifically, you have access to the following APIs: "


# ----------------------------------------------------------------------------- the peer


def plain_json_convert(src: str, out: str) -> int:
    """The same conversion as a developer would write it with the json module alone."""
    samples = []
    for path in sorted(glob.glob(os.path.join(src, "**", "*.json"), recursive=True)):
        with open(path, encoding="utf-8") as fh:
            answer = json.load(fh)["answer_generation"]
        if not answer.get("valid_data") or "train_messages" not in answer:
            continue
        query, functions = answer["query"], answer["function"]
        for messages in answer["train_messages"]:
            if messages[-1]["role"] != "assistant" or "function_call" not in messages[-1]:
                continue
            turns, thought = [], ""
            for m in messages:
                if m["role"] == "system":
                    value = m["content"].replace(ANCHOR, ANCHOR + HINT, 1) + API_PREFIX + str(functions)
                    turns.append({"from": "system", "value": value})
                elif m["role"] == "assistant" and "function_call" not in m:
                    thought = m["content"]
                elif m["role"] == "assistant":
                    call = m["function_call"]
                    value = f"\nThought: {thought}\nAction: {call['name']}\nAction Input: {call['arguments']}"
                    turns.append({"from": "assistant", "value": value})
                    thought = ""
                else:
                    turns.append({"from": m["role"], "value": m["content"]})
            samples.append({"id": f"Step {len(messages) - 1}: {query}", "conversations": turns})
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(samples, ensure_ascii=False))
    return len(samples)


def agentflan_convert(src: str, out: str) -> int:
    from agentflan.sources import read
    from agentflan.writers import write

    return write(read(src), out, "toolllama")


IMPLEMENTATIONS = {"agentflan": agentflan_convert, "plain-json": plain_json_convert}


def worker(name: str, src: str, out: str) -> None:
    """One timed run in a fresh process: prints seconds, rows and peak RSS as JSON."""
    if name == "agentflan":  # one-time imports and data-file loads are not part of the conversion
        import agentflan.sources.hub
        import agentflan.writers  # noqa: F401
        from agentflan.sources.toolllama import toolllama_text

        toolllama_text()
    base = peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    rows = IMPLEMENTATIONS[name](src, out)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows, "peak_rss_mb": peak_rss_mb(), "base_rss_mb": base}))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space (reset at exec);
    ru_maxrss would carry the parent's peak over into the child on Linux."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- harness


def replicate(target: Path, min_bytes: int) -> int:
    """Copies of the 15 answer files in rep_NNN/G*_answer/ folders until >= min_bytes; total bytes."""
    files = sorted(ANSWERS.glob("G*_answer/*.json"))
    if not files:
        raise SystemExit(f"no ToolBench answer files under {ANSWERS} (set AGENTFLAN_SHARED_DATA)")
    total, rep = 0, 0
    while total < min_bytes:
        for f in files:
            dest = target / f"rep_{rep:04d}" / f.parent.name / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
            total += dest.stat().st_size
        rep += 1
    return total


def run(name: str, src: Path, out: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--worker", name, str(src), str(out)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def same_samples(a: Path, b: Path) -> bool:
    with a.open(encoding="utf-8") as fa, b.open(encoding="utf-8") as fb:
        return json.load(fa) == json.load(fb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="input size in MB (default 50)")
    parser.add_argument("--scale", type=int, default=10, help="the memory-flatness run uses this many times the input (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per implementation at 1x; the best is reported (default 3)")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "SRC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    with tempfile.TemporaryDirectory(prefix="bench-toolbench-") as tmp:
        work = Path(tmp)
        small, large = work / "in_1x", work / "in_scaled"
        size = replicate(small, int(args.mb * 1e6))
        size_large = replicate(large, int(args.mb * 1e6 * args.scale))
        rows: list[tuple[str, float, dict[str, float]]] = []
        best: dict[str, dict[str, float]] = {}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in IMPLEMENTATIONS}
        for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
            for name in IMPLEMENTATIONS:
                runs[name].append(run(name, small, work / f"{name}.json"))
        for name in IMPLEMENTATIONS:
            best[name] = min(runs[name], key=lambda r: r["seconds"])
            rows.append((f"{name} (1x)", size, best[name]))
        if not same_samples(work / "agentflan.json", work / "plain-json.json"):
            raise SystemExit("the two implementations disagree: no figures")
        for name in IMPLEMENTATIONS:
            rows.append((f"{name} ({args.scale}x)", size_large, run(name, large, work / f"{name}-scaled.json")))

        print(f"ToolBench raw answers -> ToolLLaMA, input replicated from {ANSWERS} (outputs checked identical)")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
        print("| run | input MB | samples | wall s | CPU s | MB/s | samples/s | peak RSS MB (after imports) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, nbytes, r in rows:
            mb = nbytes / 1e6
            print(
                f"| {label} | {mb:.1f} | {r['rows']:.0f} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {mb / r['seconds']:.1f} "
                f"| {r['rows'] / r['seconds']:.0f} | {r['peak_rss_mb']:.0f} ({r['base_rss_mb']:.0f}) |"
            )
        speedup = best["plain-json"]["seconds"] / best["agentflan"]["seconds"]
        cpu = {name: min(r["cpu_seconds"] for r in runs[name]) for name in IMPLEMENTATIONS}
        cpu_speedup = cpu["plain-json"] / cpu["agentflan"]
        ours = [r for label, _, r in rows if label.startswith("agentflan")]
        print(f"\nspeed-up of agentflan over plain json at 1x (best of {args.repeats}): {speedup:.2f}x wall, {cpu_speedup:.2f}x CPU (goal >= 2x)")
        print(f"agentflan peak RSS at {args.scale}x / at 1x: {ours[1]['peak_rss_mb'] / ours[0]['peak_rss_mb']:.2f} (flat = 1.0)")


if __name__ == "__main__":
    main()
