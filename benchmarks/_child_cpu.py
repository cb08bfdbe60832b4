"""CPU of whole child processes, alternating arms, medians with range: what the start-up benchmarks share."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
from collections.abc import Callable, Mapping

Argv = Callable[[int], list[str]]


def bytecode_env(**extra: str) -> dict[str, str]:
    """This environment with byte-code writing allowed (a warm-up run then leaves ``.pyc`` files, so
    timed runs load them as an installed package does) plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **extra}


def child_cpu(argv: list[str], env: Mapping[str, str]) -> float:
    """User + sys CPU seconds of one child process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=dict(env), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def alternate(arms: Mapping[str, tuple[Argv, Mapping[str, str]]], repeats: int) -> dict[str, list[float]]:
    """One discarded warm-up run per arm, then ``repeats`` rounds, every other round in reverse order
    (so neither arm always runs on a cache the other warmed). Arm ``i`` gets the round number."""
    for argv, env in arms.values():
        child_cpu(argv(-1), env)
    cpu: dict[str, list[float]] = {name: [] for name in arms}
    for i in range(repeats):
        for name in list(arms) if i % 2 == 0 else list(reversed(arms)):
            argv, env = arms[name]
            cpu[name].append(child_cpu(argv(i), env))
    return cpu


def print_table(title: str, cpu: Mapping[str, list[float]], digits: int = 3) -> None:
    """``title`` with the load average, then one line per arm: median (min - max) CPU seconds."""
    print(f"{title}; load average {os.getloadavg()[0]:.1f}")
    width = max(len(n) for n in cpu)
    print(f"{'process':<{width}}  CPU s, median (min - max)")
    for name, xs in cpu.items():
        print(f"{name:<{width}}  {statistics.median(xs):.{digits}f} ({min(xs):.{digits}f} - {max(xs):.{digits}f})")
