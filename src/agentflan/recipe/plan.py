"""``agentflan build --dry-run``: the plan with counts (inputs read and filtered, the rows each
split would get), from a scan pass that writes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agentflan.batch import OnError
from agentflan.conversation import CAPABILITIES
from agentflan.recipe.build import inputs_of
from agentflan.recipe.collect import plan_tasks, run_tasks
from agentflan.recipe.config import FormatFollowingSplit, NegativesSplit, Recipe
from agentflan.recipe.kinds import kinds_of, write_order
from agentflan.recipe.phrasings import load_phrasings
from agentflan.recipe.scan import Context


def dry_run(recipe: Recipe, *, workers: int = 1, on_error: OnError | str = OnError.FAIL, progress: bool = False) -> dict[str, Any]:
    """The plan with counts: inputs read and filtered, and the rows each split would get."""
    phrasings = load_phrasings(recipe.phrasings)
    tasks = plan_tasks(recipe)
    with tempfile.TemporaryDirectory(prefix="agentflan-plan-") as tmp:
        ctx = Context(recipe, phrasings, Path(tmp), OnError(on_error), dry_run=True)
        collected = run_tasks(tasks, ctx, workers, progress)
    splits: dict[str, Any] = {}
    agent_rows = 0
    for kind in write_order(kinds_of(recipe)):
        info: dict[str, Any] = {"kind": kind.spec.kind, "formats": recipe.formats_of(kind.spec), **kind.plan(collected, agent_rows)}
        if not kind.general:
            agent_rows += info["rows"]
        splits[kind.name] = info
    splits = {s.name: splits[s.name] for s in recipe.splits}
    inputs = {k: v.to_dict() for k, v in inputs_of(recipe, collected).items()}
    rows = {name: info["rows"] for name, info in splits.items()}
    for spec in recipe.splits:
        estimate = _full_size_rows(recipe, spec, splits[spec.name], inputs, rows)
        if estimate is not None:
            splits[spec.name]["full_size_rows"] = estimate
    return {"recipe": recipe.name, "seed": recipe.seed, "inputs": inputs, "splits": splits}


def _scale(recipe: Recipe, names: list[str], inputs: dict[str, Any]) -> float | None:
    """Full size / conversations read, over ``names``; None unless each declares ``full_size``."""
    sizes = [recipe.sources[n].full_size for n in names]
    read = sum(inputs[n]["conversations"] for n in names)
    if not names or any(size is None for size in sizes) or read == 0:
        return None
    return sum(s for s in sizes if s is not None) / read


def _full_size_rows(recipe: Recipe, spec: Any, info: dict[str, Any], inputs: dict[str, Any], rows: dict[str, int]) -> int | None:
    """The rows a split would get from the full sources, scaled from the sample this dry run read
    (each source's kept share is assumed to hold at full size); None without ``full_size``."""
    if isinstance(spec, NegativesSplit):
        tools, chats = _scale(recipe, spec.tool_sources, inputs), _scale(recipe, spec.chat_sources, inputs)
        if tools is None or chats is None:
            return None
        return min(spec.n_no_tools, round(info["no_tools_candidates"] * tools)) + min(spec.n_chat, round(info["chat_candidates"] * chats))
    scale = _scale(recipe, spec.sources, inputs)
    if scale is None:
        return None
    if isinstance(spec, FormatFollowingSplit):
        return min(spec.n, round(info["candidates"] * scale))
    share = getattr(spec, "share", None)
    if share is not None:  # the group's total times the fraction: a small sample splits unevenly
        group = sum(rows[s.name] for s in recipe.groups()[share.group])
        return round(group * scale * share.fraction)
    return round(info["rows"] * scale)


def format_plan(plan: dict[str, Any], out: str | Path) -> str:
    """The dry-run plan as a terminal table."""
    lines = [f"recipe {plan['recipe']} (seed {plan['seed']})", "", "inputs:"]
    for name, inp in plan["inputs"].items():
        filtered = ", ".join(f"{k}: {v}" for k, v in inp["filtered"].items()) or "none"
        lines.append(
            f"  {name:<24} {inp['files']:>6} file(s) {inp['bytes'] / 1e6:>9.2f} MB  {inp['conversations']:>8} read"
            f"  {inp['kept']:>8} kept  {inp['rejected']:>5} rejected  (filtered: {filtered})"
        )
    lines += ["", "splits:"]
    for name, s in plan["splits"].items():
        detail = s.get("style") or s["kind"]
        if "share" in s:
            detail += f", {s['share']}"
        if "balance" in s:
            ratios = "/".join(f"{s['balance']['ratios'][c]:g}" for c in CAPABILITIES)
            detail += f", balance {s['balance']['mode']} {ratios} (reasoning/retrieval/understanding/instruction)"
        if "candidates" in s:
            detail += f", {s['candidates']} candidate calls"
        if "no_tools_candidates" in s:
            detail += f", {s['no_tools_candidates']} tool requests, {s['chat_candidates']} chats, replies: {s['replies']}"
        if "available" in s:
            detail += f", {s['available']} available"
        full = f"  (~{s['full_size_rows']:,} at full size)" if "full_size_rows" in s else ""
        lines.append(f"  {name:<36} {s['rows']:>8} rows{full}  {detail}")
    out = Path(out)
    lines += ["", f"outputs under {out}/: <split>.jsonl (first format), <format>/<split> (others), manifest.json, datacard.html"]
    return "\n".join(lines)
