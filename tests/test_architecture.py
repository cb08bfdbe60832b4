"""The package layout holds: floors that import only downwards, stages that never import one
another, no package cycle, and no module over the size limit.

Every ``import`` counts, including those inside functions and under ``TYPE_CHECKING``: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "agentflan"

#: lowest first; a package may import its own modules and anything on a lower floor, never a
#: neighbour on its own floor (sources/writers, the three stages) and never upwards.
FLOORS: list[set[str]] = [
    {"core"},  # conversation, errors, io, jsonutil, batch, locking, options and the package root
    {"protocols"},
    {"formats"},
    {"sources", "writers"},
    {"generation"},
    {"agent"},
    {"recipe", "train", "evaluate"},
    {"report"},
    {"demo"},  # where the embedded demo data lies
    {"quickstart"},
    {"cli"},
]
CORE = {"conversation", "errors", "io", "jsonutil", "batch", "locking", "options"}
MAX_LINES = 450
#: plots draw SVG from plain data; nothing of the project below them
NO_PROJECT_IMPORTS = {"report/plots.py"}


def _floor_of(package: str) -> int:
    for i, floor in enumerate(FLOORS):
        if package in floor:
            return i
    raise AssertionError(f"package {package!r} has no floor; add it to FLOORS in {__file__}")


def _package(module: str) -> str:
    """``agentflan.recipe.build`` -> ``recipe``; the top-level core modules and the root -> ``core``."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in CORE:
        return "core"
    return parts[1]


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _imports(path: Path) -> list[str]:
    """Every ``agentflan`` module this file imports (relative imports resolved)."""
    module, is_package = _module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(target)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [t for t in found if t == "agentflan" or t.startswith("agentflan.")]


def _sources() -> list[Path]:
    # ``__main__`` modules are entry points (``python -m agentflan.train`` runs the CLI): they sit
    # above everything and nothing imports them.
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in _sources():
        module, _ = _module_name(path)
        for target in _imports(path):
            a, b = _package(module), _package(target)
            if a != b:
                edges[(a, b)].append(f"{module} -> {target}")
    return edges


def _violations(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    wrong = []
    for (a, b), where in sorted(edges.items()):
        fa, fb = _floor_of(a), _floor_of(b)
        if fb > fa:
            wrong.append(f"{a} imports upward from {b}: {where}")
        elif fb == fa:
            wrong.append(f"{a} imports its neighbour {b} (same floor): {where}")
    return wrong


def test_every_import_goes_down_a_floor() -> None:
    wrong = _violations(_edges())
    assert not wrong, "\n".join(wrong)


def test_the_stages_never_import_one_another() -> None:
    stages = {"recipe", "train", "evaluate"}
    crossing = {k: v for k, v in _edges().items() if k[0] in stages and k[1] in stages}
    assert not crossing, crossing


def test_no_package_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in _edges():
        graph[a].add(b)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("package cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_plots_have_no_project_imports() -> None:
    for rel in NO_PROJECT_IMPORTS:
        assert _imports(PACKAGE / rel) == [], rel


def test_no_module_over_the_size_limit() -> None:
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    over = {rel: n for rel, n in sizes.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_the_floor_table_knows_every_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    for name in packages | (modules - CORE):
        _floor_of(name)


def test_the_checker_sees_a_violation() -> None:
    """The rules are not vacuous: an upward import and a sideways one are both reported."""
    assert _package("agentflan.evaluate.runner") == "evaluate" and _package("agentflan.io") == "core"
    assert ("report", "evaluate") in _edges()  # the report reads evaluation outputs: a real, allowed edge
    wrong = _violations({("evaluate", "report"): ["x"], ("recipe", "evaluate"): ["y"], ("cli", "core"): ["z"]})
    assert len(wrong) == 2 and "upward" in wrong[0] and "neighbour" in wrong[1]
