"""`agentflan build RECIPE` against the parse floor: an orjson parse-only pass of the same inputs.

Each arm runs as its own process (start-up included), alternating, ``--repeats`` times; the table
shows CPU seconds (user + sys of the process and its children, from getrusage) as median and
range, and each arm's ratio to the floor. Then the same in one process (imports paid once,
before timing): ``build()`` of the recipe against the orjson pass, by ``time.process_time``. The floor reads every input file the build reads, once
per source that names it (as the build does), and parses it with orjson (JSONL line by line)
without building anything. ``--before SRC`` adds a third arm: the same build with another
checkout's ``src`` first on the path (e.g. ``main`` before a change), alternating with the others.
One discarded warm-up run per arm first, byte-code writing allowed (``PYTHONDONTWRITEBYTECODE``
dropped), so the timed runs load ``.pyc`` files as an installed package does.
``--instructions`` also counts each arm's instructions once under valgrind's callgrind (every
process of the arm, start-up included; ~50x slower): on a shared machine whose CPU seconds swing
by a third from run to run, the count does not move with the load (skipped, with the reason, when
valgrind is absent).

    .venv/bin/python benchmarks/bench_build_floor.py [--recipe recipes/shared-data.yaml] [--repeats 5] [--before ../main/src] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR = """
import sys, orjson
for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        if path.endswith((".jsonl", ".ndjson")):
            for line in fh:
                if line.strip():
                    orjson.loads(line)
        else:
            orjson.loads(fh.read())
"""


def input_files(recipe: Path) -> list[str]:
    """Every file the build reads, once per source that names it, in task order."""
    sys.path.insert(0, str(ROOT / "src"))
    from agentflan.recipe.collect import plan_tasks
    from agentflan.recipe.config import load_recipe

    return [t.spec for t in plan_tasks(load_recipe(recipe))]


def cpu_of(cmd: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def instructions_of(cmd: list[str], env: dict[str, str], tmp: Path) -> int:
    """Instructions executed by ``cmd`` and its children (callgrind's ``Collected``, summed)."""
    log = tmp / "callgrind.log"
    out = str(tmp / "callgrind.%p.out")
    with log.open("w") as fh:
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={out}", *cmd],
            check=True, stdout=subprocess.DEVNULL, stderr=fh, env=env,
        )
    return sum(int(n) for n in re.findall(r"Collected : (\d+)", log.read_text()))


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "shared-data.yaml")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each arm, alternating (default 5)")
    parser.add_argument("--before", type=Path, help="another checkout's src folder, timed as a third arm")
    parser.add_argument("--instructions", action="store_true", help="also count each arm's instructions once (valgrind callgrind)")
    args = parser.parse_args()
    files = input_files(args.recipe)
    size = sum(Path(f).stat().st_size for f in files)
    with tempfile.TemporaryDirectory(prefix="bench-build-floor-") as tmp:
        def build_cmd(tag: str) -> list[str]:
            return [sys.executable, "-m", "agentflan", "build", str(args.recipe), "--out", str(Path(tmp) / tag), "--quiet"]

        arms: dict[str, tuple[list[str], dict[str, str]]] = {
            "orjson parse only": ([sys.executable, "-c", FLOOR, *files], _env()),
            "agentflan build": (build_cmd("after"), _env(PYTHONPATH=str(ROOT / "src"))),
        }
        if args.before is not None:
            arms["agentflan build (--before)"] = (build_cmd("before"), _env(PYTHONPATH=str(args.before.resolve())))
        for cmd, env in arms.values():
            cpu_of(cmd, env)  # warm-up: byte-code written, page cache filled
        times: dict[str, list[float]] = {name: [] for name in arms}
        for i in range(args.repeats):
            for name in list(arms) if i % 2 == 0 else list(reversed(arms)):
                cmd, env = arms[name]
                times[name].append(cpu_of(cmd, env))
        counts: dict[str, int] = {}
        if args.instructions and shutil.which("valgrind"):
            counts = {name: instructions_of(cmd, env, Path(tmp)) for name, (cmd, env) in arms.items()}
        inproc = in_process(args.recipe, files, args.repeats, Path(tmp))
    floor = statistics.median(times["orjson parse only"])
    print(
        f"recipe {args.recipe.name}: {len(files)} input file reads, {size / 1e6:.2f} MB; "
        f"{args.repeats} alternating runs per arm; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'arm':<28} {'CPU s median':>12} {'range':>15} {'x floor':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<28} {med:>12.3f} {min(ts):>7.3f}-{max(ts):<7.3f} {med / floor:>8.1f}")
    if counts:
        print("instructions (valgrind callgrind, one run, whole process):")
        for name, n in counts.items():
            print(f"{name:<28} {n / 1e9:>11.3f}G {'':>15} {n / counts['orjson parse only']:>8.1f}")
    elif args.instructions:
        print("instructions: skipped, valgrind is not installed")
    floor = statistics.median(inproc["orjson parse only"])
    print("in process (imports excluded):")
    for name, ts in inproc.items():
        med = statistics.median(ts)
        print(f"{name:<28} {med:>12.3f} {min(ts):>7.3f}-{max(ts):<7.3f} {med / floor:>8.1f}")


def in_process(recipe: Path, files: list[str], repeats: int, tmp: Path) -> dict[str, list[float]]:
    import time

    import orjson

    from agentflan.recipe.build import build
    from agentflan.recipe.config import load_recipe
    from agentflan.report.datacard import write_datacard

    def floor() -> None:
        for path in files:
            with open(path, "rb") as fh:
                if path.endswith((".jsonl", ".ndjson")):
                    for line in fh:
                        if line.strip():
                            orjson.loads(line)
                else:
                    orjson.loads(fh.read())

    def agentflan() -> None:
        out = tmp / "in-process"
        write_datacard(out / "datacard.html", build(load_recipe(recipe), out, recipe_path=recipe))

    times: dict[str, list[float]] = {"orjson parse only": [], "agentflan build": []}
    for _ in range(repeats):
        for name, run in (("orjson parse only", floor), ("agentflan build", agentflan)):
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return times


if __name__ == "__main__":
    main()
