"""ToolBench raw answers -> ToolLLaMA: agentflan against ToolBench's own preprocessing script.

The peer is the script ToolBench users run, ``preprocess/preprocess_toolllama_data.py`` (Apache-2.0),
taken from a ToolBench checkout given with ``--toolbench PATH`` (never copied here; without it the
peer rows are skipped and the reason printed). The 15 shared answer files are replicated into one
flat folder (the script lists one folder) until it holds ``--mb`` MB, then, alternating,
``--repeats`` times each:

* **ToolBench** ``python preprocess_toolllama_data.py --tool_data_dir IN --output_file OUT`` (whole
  process; its ``toolbench.utils`` imports torch and transformers, as it does for every user);
* **agentflan** ``agentflan convert IN OUT --to toolllama`` (whole process);
* **orjson floor**: a process that only parses every input file with orjson — the cost no
  converter can go below;
* **ToolBench's imports alone** (``import torch, transformers`` and the Llama modelling module, as
  ``toolbench.utils`` does), so that the script's conversion work can be read off as the difference.

Each is timed from outside (wall, and user+sys CPU of the child from ``getrusage``). In-process
figures beside them: agentflan's read+write with imports excluded, and the same conversion in
plain ``json`` written here. Outputs are checked to be the same samples (as multisets: the script's
order follows ``os.listdir``) before any figure is printed. Medians with [min – max]. ``--baseline-src
SRC`` adds agentflan run from another source tree (e.g. a checkout before a change) as one more
alternating arm. One discarded warm-up run of each agentflan arm first, byte-code writing allowed
(``PYTHONDONTWRITEBYTECODE`` dropped), so the timed runs load ``.pyc`` files as an installed package does.

    .venv/bin/python benchmarks/bench_toolbench_io.py --toolbench ../ToolBench [--mb 55] [--repeats 5] [--baseline-src SRC]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
ANSWERS = SHARED / "toolbench" / "answers"
PEER_SCRIPT = Path("preprocess") / "preprocess_toolllama_data.py"

# ToolBench's additions to the system prompt (the facts the reference output shows).
ANCHOR = "with a function call to actually excute your step."
HINT = " Your output should follow this format:\nThought:\nAction\nAction Input:\n"
API_PREFIX = "\nSpecifically, you have access to the following APIs: "


def plain_json_convert(src: str, out: str) -> int:
    """The same conversion as a developer would write it with the json module alone."""
    samples = []
    for path in sorted(glob.glob(os.path.join(src, "*.json"))):
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


def orjson_parse(src: str) -> None:
    import orjson

    for path in sorted(glob.glob(os.path.join(src, "*.json"))):
        with open(path, "rb") as fh:
            orjson.loads(fh.read())


IN_PROCESS = {"agentflan": agentflan_convert, "plain-json": plain_json_convert}


def in_process_worker(name: str, src: str, out: str) -> None:
    """One in-process timing in a fresh process, imports excluded: prints seconds as JSON."""
    if name == "agentflan":
        import agentflan.sources
        import agentflan.writers  # noqa: F401
    start, cpu = time.perf_counter(), time.process_time()
    rows = IN_PROCESS[name](src, out)
    print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": rows}))


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall s, child user+sys CPU s, stdout) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(cmd, capture_output=True, text=True, env={**base, **(env or {})}, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def replicate(target: Path, min_bytes: int) -> int:
    """Copies of the 15 answer files, flat in ``target`` (names keep the method tag), until >= min_bytes."""
    files = sorted(ANSWERS.glob("G*_answer/*.json"))
    if not files:
        raise SystemExit(f"no ToolBench answer files under {ANSWERS} (set AGENTFLAN_SHARED_DATA)")
    target.mkdir(parents=True, exist_ok=True)
    total, rep = 0, 0
    while total < min_bytes:
        for f in files:
            dest = target / f"r{rep:04d}_{f.parent.name}_{f.name}"
            shutil.copyfile(f, dest)
            total += dest.stat().st_size
        rep += 1
    return total


def samples(path: Path) -> Counter[str]:
    with path.open(encoding="utf-8") as fh:
        return Counter(json.dumps(s, sort_keys=True, ensure_ascii=False) for s in json.load(fh))


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} [{min(xs):.2f} – {max(xs):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--toolbench", type=Path, help="a ToolBench checkout (holds preprocess/preprocess_toolllama_data.py)")
    parser.add_argument("--mb", type=float, default=55.0, help="input size in MB (default 55)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per arm (default 5)")
    parser.add_argument("--baseline-src", type=Path, help="another src/ folder to run agentflan convert from, as one more arm")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "SRC", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--parse-only", metavar="SRC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        in_process_worker(*args.worker)
        return
    if args.parse_only:
        orjson_parse(args.parse_only)
        return
    peer = args.toolbench / PEER_SCRIPT if args.toolbench else None
    skip_reason = None
    if peer is None:
        skip_reason = "no --toolbench checkout given"
    elif not peer.is_file():
        skip_reason = f"{peer} does not exist"
        peer = None

    agentflan_cli = [sys.executable, "-m", "agentflan", "convert"]
    with tempfile.TemporaryDirectory(prefix="bench-toolbench-") as tmp:
        work = Path(tmp)
        src = work / "answers"
        size_mb = replicate(src, int(args.mb * 1e6)) / 1e6
        arms: dict[str, list[tuple[float, float]]] = {"agentflan convert": [], "orjson parse only": []}
        trees = {"agentflan convert": ROOT / "src"}
        if args.baseline_src is not None:
            trees["agentflan convert (baseline)"] = args.baseline_src.resolve()
            arms["agentflan convert (baseline)"] = []
        for tree in trees.values():  # warm-up: byte-code written, page cache filled
            timed([*agentflan_cli, str(src), str(work / "warm.json"), "--to", "toolllama"], env={"PYTHONPATH": str(tree)})
        if peer is not None:
            arms["ToolBench script"] = []
            arms["ToolBench's imports alone"] = []
        inproc: dict[str, list[tuple[float, float]]] = {name: [] for name in IN_PROCESS}
        for _ in range(args.repeats):  # alternating, so load from other processes hits every arm alike
            if peer is not None:
                w, c, _ = timed([sys.executable, str(peer), "--tool_data_dir", str(src), "--output_file", str(work / "toolbench.json")],
                                env={"PYTHONPATH": str(args.toolbench)})
                arms["ToolBench script"].append((w, c))
            w, c, _ = timed([sys.executable, "-c", "import torch, transformers, transformers.models.llama.modeling_llama"])
            arms["ToolBench's imports alone"].append((w, c))
            for name, tree in trees.items():
                out_name = "agentflan.json" if tree == ROOT / "src" else "baseline.json"
                w, c, _ = timed([*agentflan_cli, str(src), str(work / out_name), "--to", "toolllama"], env={"PYTHONPATH": str(tree)})
                arms[name].append((w, c))
            w, c, _ = timed([sys.executable, __file__, "--parse-only", str(src)])
            arms["orjson parse only"].append((w, c))
            for name in IN_PROCESS:
                _, _, out = timed([sys.executable, __file__, "--worker", name, str(src), str(work / f"inproc-{name}.json")])
                r = json.loads(out.strip().splitlines()[-1])
                inproc[name].append((r["wall"], r["cpu"]))
        ours = samples(work / "agentflan.json")
        if peer is not None and samples(work / "toolbench.json") != ours:
            raise SystemExit("agentflan and ToolBench's script disagree: no figures")
        if samples(work / "inproc-plain-json.json") != ours:
            raise SystemExit("agentflan and the plain-json conversion disagree: no figures")
        if args.baseline_src is not None and samples(work / "baseline.json") != ours:
            raise SystemExit("agentflan and its baseline tree disagree: no figures")

        print(f"ToolBench answers -> ToolLLaMA: {size_mb:.1f} MB, {sum(ours.values()):,} samples (outputs checked identical), "
              f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, medians [min – max] of {args.repeats} alternating runs, "
              f"load average {os.getloadavg()[0]:.1f} at the end")
        if skip_reason:
            print(f"ToolBench script: skipped ({skip_reason})")
        print("\n| whole process | wall s | CPU s | CPU vs agentflan | CPU vs orjson floor |")
        print("|---|---:|---:|---:|---:|")
        base = statistics.median(c for _, c in arms["agentflan convert"])
        floor = statistics.median(c for _, c in arms["orjson parse only"])
        for name, runs in arms.items():
            cpu = [c for _, c in runs]
            med = statistics.median(cpu)
            print(f"| {name} | {spread([w for w, _ in runs])} | {spread(cpu)} | {med / base:.2f}x | {med / floor:.2f}x |")
        print("\n| in process (imports excluded) | wall s | CPU s |")
        print("|---|---:|---:|")
        for name, runs in inproc.items():
            print(f"| {name} | {spread([w for w, _ in runs])} | {spread([c for _, c in runs])} |")


if __name__ == "__main__":
    main()
