"""The full predictions behind ``official_scores_sample.jsonl``, whose ``pred`` is cut at 400 characters.

The official scores were given to the whole prediction, and 733 of the 1,480 are stored cut.
Each kind of prediction is a fixed rendering of the item's reference plan (gold, Python
literal, fenced, one step dropped, two swapped...), so the whole text is rebuilt from the
reference and accepted only when it starts with the stored 400 characters. Kinds with a
random change (``wrong_arg``; ``wrong_tool`` when no rendering fits) keep the stored text and
take the rest from the gold rendering, joined where the two agree again nearest the cut;
``malformed_truncated`` is kept as stored (cut on purpose, it parses in no reader either way).
A prediction that cannot be told apart from another past the cut is not guessed: it comes back
as ``None`` with the reason, and the parity test counts it as left out.
"""

from __future__ import annotations

import json
from typing import Any

CUT = 400
UNKNOWN_TOOL = "Weather.get_forecast_xyz"
FINISH = "FinishAction"


def _steps(gt: list[dict[str, Any]], kind: str, other_tool: str | None = None) -> list[dict[str, Any]]:
    real = [dict(s) for s in gt if s["name"] != FINISH]
    finish = [dict(s) for s in gt if s["name"] == FINISH]
    mid = len(real) // 2
    if kind == "drop_step" and real:
        real.pop(mid)
    elif kind in ("swap_steps", "swap_steps_keep_ids") and len(real) > 1:
        real[0], real[1] = real[1], real[0]
    elif kind == "wrong_tool" and other_tool is not None:
        real[mid]["name"] = other_tool
    elif kind == "unknown_tool_all":
        for s in real:
            s["name"] = UNKNOWN_TOOL
    steps = real + finish
    if kind != "swap_steps_keep_ids":
        for i, s in enumerate(steps):
            s["id"] = i
    return steps


def _json(steps: list[dict[str, Any]], *, args_as_text: bool = True, ids: bool = True) -> str:
    return json.dumps(
        [{**({"id": s["id"]} if ids else {}), "name": s["name"], "args": str(s["args"]) if args_as_text else s["args"]} for s in steps],
        ensure_ascii=False,
    )


def _lines(steps: list[dict[str, Any]]) -> str:
    return "\n".join(f"Use {s['name']} to call it with {s['args']}" for s in steps if s["name"] != FINISH)


def _trailing_commas(steps: list[dict[str, Any]]) -> str:
    blocks = []
    for s in steps:
        fields = "".join(f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n" for k, v in (("id", s["id"]), ("name", s["name"]), ("args", str(s["args"]))))
        blocks.append("  {\n" + fields + "  }")
    return "[\n" + ",\n".join(blocks) + "\n]"


def render(file: str, kind: str, gt: list[dict[str, Any]], other_tool: str | None = None) -> str:
    """The prediction of ``kind`` for a plan item, as the reference file's maker wrote it
    (``wrong_tool`` gives the middle step ``other_tool``, another step's tool)."""
    steps = _steps(gt, kind, other_tool)
    if file.startswith("plan_str"):
        text = {"json_instead_of_lines": _json(steps)}.get(kind, _lines(steps))
        return text.lower() if kind == "lowercase_names" else text
    return {
        "python_literal": repr([{"id": s["id"], "name": s["name"], "args": str(s["args"])} for s in steps]),
        "args_as_dict": _json(steps, args_as_text=False),
        "trailing_comma_prompt_style": _trailing_commas(steps),
        "fenced_json": "```json\n" + _json(steps) + "\n```",
        "prose_then_json": "Here is the plan:\n" + _json(steps),
        "no_id_field": _json(steps, ids=False),
        "malformed_missing_quote": _json(steps).replace('"name": "', '"name": ', 1),
    }.get(kind, _json(steps))


#: how a reference row's prediction was obtained; the last two are left out of the comparison
VERBATIM, RENDERED, SPLICED, CUT_ON_PURPOSE, AMBIGUOUS, CHANGE_PAST_CUT, NO_ANCHOR = (
    "verbatim (under the cut)",
    "rebuilt: the item's rendering of that kind starts with the stored text",
    "rebuilt: stored text (random change before the cut) + the gold rendering's rest",
    "kept as stored: cut on purpose, no reader parses it",
    "left out: the changed tool lies past the cut, several whole texts fit",
    "left out: the stored text is gold's own start, the random change lies past the cut",
    "left out: the stored text rejoins the gold rendering nowhere",
)


def full_prediction(row: dict[str, Any], gt: Any) -> tuple[str | None, str]:
    """The whole prediction of a reference row (``None`` when it cannot be rebuilt faithfully) and how."""
    stored = row["pred"]
    if len(stored) < CUT or row["dim"] != "plan":
        return stored, VERBATIM
    if row["kind"] == "malformed_truncated":
        return stored, CUT_ON_PURPOSE
    others = sorted({s["name"] for s in gt if s["name"] != FINISH}) if row["kind"] == "wrong_tool" else [None]
    wholes = {render(row["file"], row["kind"], gt, other) for other in others}
    fits = [w for w in wholes if w.startswith(stored)]
    if len(fits) == 1:
        return fits[0], RENDERED
    if len(fits) > 1:
        return None, AMBIGUOUS
    gold = render(row["file"], "gold", gt)
    if gold.startswith(stored):
        return None, CHANGE_PAST_CUT
    for size in (60, 40, 25):  # a random change before the cut: the stored text, then gold's rest
        anchor = stored[-size:]
        spots = [i for i in range(len(gold)) if gold.startswith(anchor, i)]
        if spots:
            at = min(spots, key=lambda i: abs(i - (CUT - size)))  # the one where the cut fell
            return stored + gold[at + size :], SPLICED
    return None, NO_ANCHOR
