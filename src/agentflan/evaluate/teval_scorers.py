"""T-Eval's per-item scores, as its official evaluators compute them, one scorer per dimension.

Each dimension has one typed expectation, built from an entry of a T-Eval data file by
:func:`expectation` (bad entries raise :class:`ExpectationError` naming the field), and one
scorer taking that expectation and the model's raw text. The semantics are T-Eval's,
including its quirks, because its numbers are what users compare against:

- **instruct**: JSON answers are read whole (no cutting to the braces) and need the template's
  three keys; string answers are cut by the template (:func:`~agentflan.evaluate.teval_load.fill_template`).
  ``format`` is 1 when read, ``args_em`` = (action equal + reference arguments equal) /
  (reference arguments + 1), compared with Python's ``==``; ``instruct`` = their mean.
- **plan**: JSON plans are read from the first ``[`` to the last ``]`` and every step needs
  ``name``, ``id`` (an int) and ``args``; a string plan takes one step per line (or ``". "``),
  named by the API of the entry's list found earliest in the line, the whole line as its
  arguments. Steps are sorted by ``id``, a final ``FinishAction`` dropped, and matched by
  :mod:`agentflan.evaluate.teval_plan`.
- **reason / retrieve / understand** (``rru`` files score all three): JSON answers are cut to
  the braces; a string answer is the thought, the tool name or the arguments as it stands.
  ``reason`` is embedding similarity, ``retrieve`` exact name (string files: the name appears
  and no other ``a.b`` name or FinishAction does), ``understand`` the share of reference
  arguments given with an equal ``str`` (string files: the text equals the arguments' Python
  repr).
- **review**: a string answer's verdict is the first character after the first colon, when it
  is one of A-E; a JSON answer's ``is_finished`` must be a boolean.

Official bugs are kept in the default fields and the corrected value is given beside them:
``plan_matched_only`` (T-Eval counts one matched step even when none matches) and
``review_json_fixed`` (T-Eval compares the parsed ``{"review": ...}`` object with the answer,
so every JSON review scores 0).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from agentflan.evaluate.similarity import Similarity
from agentflan.evaluate.teval_load import fill_template, lenient_load
from agentflan.evaluate.teval_plan import PlanStep, match_plans

_STEP_DIMENSIONS = ("reason", "retrieve", "understand")
STEP_KINDS = (*_STEP_DIMENSIONS, "rru")
_REVIEW_LETTERS = "ABCDE"
_TEMPLATE_PARTS = ("thought", "action", "args")
_NOT_A_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


class ExpectationError(ValueError):
    """An entry T-Eval itself could not score; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class InstructExpectation:
    response_format: str  # "json" or "str"
    action: Any
    args: dict[str, Any]
    template: dict[str, str]


@dataclass(frozen=True, slots=True)
class PlanExpectation:
    response_format: str
    steps: tuple[PlanStep, ...]  # empty when T-Eval cannot read the reference (the item scores 0)
    api_list: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepExpectation:
    """A reason / retrieve / understand / rru item; ``None`` fields are absent from the reference."""

    kind: str  # reason, retrieve, understand or rru (the file's evaluation type)
    file_format: str  # the format the file is scored in (T-Eval's default prompt type)
    response_format: str  # the item's own format
    thought: str | None
    name: str | None
    args: dict[str, Any] | str | None


@dataclass(frozen=True, slots=True)
class ReviewExpectation:
    response_format: str
    answer: Any


Expectation = InstructExpectation | PlanExpectation | StepExpectation | ReviewExpectation


def expectation(dimension: str, file_format: str, response_format: str, entry: dict[str, Any]) -> Expectation:
    """The typed expectation of one T-Eval entry (its ``ground_truth``, ``template``, meta)."""
    gt = entry.get("ground_truth")
    if dimension == "instruct":
        if not isinstance(gt, dict) or "action" not in gt or not isinstance(gt.get("args"), dict):
            raise ExpectationError("ground_truth", "instruct needs an object with 'action' and 'args' (an object)")
        template = entry.get("template")
        keys = _TEMPLATE_PARTS if response_format == "json" else [f"{p}_{e}" for p in _TEMPLATE_PARTS for e in ("start", "end")]
        if not isinstance(template, dict) or any(not isinstance(template.get(k), str) for k in keys):
            raise ExpectationError("template", f"instruct ({response_format}) needs a template with string {', '.join(keys)}")
        return InstructExpectation(response_format, gt["action"], gt["args"], template)
    if dimension == "plan":
        meta = entry.get("meta") or entry.get("meta_data") or {}
        api_list = meta.get("API_list") if isinstance(meta, dict) else None
        return PlanExpectation(response_format, tuple(read_plan(gt)), tuple(str(a) for a in api_list or ()))
    if dimension == "review":
        if not isinstance(gt, dict) or "answer" not in gt:
            raise ExpectationError("ground_truth", "review needs an object with 'answer'")
        return ReviewExpectation(response_format, gt["answer"])
    if dimension in STEP_KINDS:
        ref = _read_step(gt, file_format)
        return StepExpectation(dimension, file_format, response_format, ref.get("thought"), ref.get("name"), ref.get("args"))
    raise ExpectationError("dimension", f"unknown T-Eval dimension {dimension!r}")


# --------------------------------------------------------------------------- instruct


def score_instruct(exp: InstructExpectation, text: str) -> dict[str, Any]:
    got = _instruct_json(exp, text) if exp.response_format == "json" else _instruct_str(exp, text)
    if got is None:
        return {"parse_ok": False, "format": 0.0, "args_em": 0.0, "instruct": 0.0}
    action, args = got
    hits = float(action == exp.action) + sum(1.0 for k, v in exp.args.items() if args.get(k, "") == v)
    em = hits / (len(exp.args) + 1)
    return {"parse_ok": True, "format": 1.0, "args_em": em, "instruct": (1.0 + em) / 2}


def _instruct_json(exp: InstructExpectation, text: str) -> tuple[Any, dict[str, Any]] | None:
    value = lenient_load(text)
    keys = [exp.template[p] for p in _TEMPLATE_PARTS]
    if not isinstance(value, dict) or any(k not in value for k in keys):
        return None
    args = value[keys[2]]
    return value[keys[1]], args if isinstance(args, dict) else {}


def _instruct_str(exp: InstructExpectation, text: str) -> tuple[Any, dict[str, Any]] | None:
    t = exp.template
    pattern = "".join(t[f"{p}_start"] + "{" + p + "}" + t[f"{p}_end"] for p in _TEMPLATE_PARTS)
    found = fill_template(pattern, text)
    if found is None or "action" not in found:
        return None
    try:
        args = ast.literal_eval(found.get("args", "").strip())
    except _NOT_A_LITERAL:
        args = {}
    return found["action"].strip(), args if isinstance(args, dict) else {}


# --------------------------------------------------------------------------- plan


def read_plan(value: Any) -> list[PlanStep]:
    """A JSON plan as T-Eval reads it: ``[]`` unless every step has a name, an int id and args."""
    plan = lenient_load(value, "[", "]")
    if not isinstance(plan, list):
        return []
    steps = []
    for s in plan:
        try:
            steps.append(PlanStep(int(s["id"]), str(s["name"]), str(s["args"])))
        except (KeyError, TypeError, ValueError, IndexError, OverflowError):
            return []
    return steps


def read_plan_lines(text: str, api_list: tuple[str, ...]) -> list[PlanStep]:
    """A string plan: per line (or sentence), the API named earliest; the line is its arguments."""
    steps: list[PlanStep] = []
    for line in text.replace(". ", "\n").split("\n"):
        found = [(line.find(api), n, api) for n, api in enumerate(api_list) if api in line]
        if found:
            steps.append(PlanStep(len(steps), min(found)[2], line))
    return steps


def score_plan(exp: PlanExpectation, text: str, sim: Similarity, *, name_weight: float = 0.75, threshold: float = 0.8) -> dict[str, Any]:
    pred = read_plan(text) if exp.response_format == "json" else read_plan_lines(text, exp.api_list)
    m = match_plans(pred, list(exp.steps), sim, name_weight=name_weight, threshold=threshold)
    return {
        "parse_ok": bool(pred and exp.steps),
        "precision": m.precision,
        "recall": m.recall,
        "plan": m.f1,
        "plan_matched_only": m.f1_matched_only,
        "similarity": getattr(sim, "name", "?"),
    }


# --------------------------------------------------------------------------- reason / retrieve / understand


def _read_step(value: Any, file_format: str) -> dict[str, Any]:
    """T-Eval's reading of one step: ``{}`` when unreadable, else thought, name and args filled in."""
    obj = lenient_load(value, "{", "}")
    if not isinstance(obj, dict):
        return {}
    args = obj.get("args")
    if file_format == "json":
        args = args if isinstance(args, dict) else {}
    else:
        args = str(args) if "args" in obj else ""
    return {"thought": str(obj.get("thought", "")), "name": str(obj.get("name", "")), "args": args}


def score_step(exp: StepExpectation, text: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The scores, and the (predicted, reference) thoughts still to compare for ``reason``."""
    ref = {k: v for k, v in (("thought", exp.thought), ("name", exp.name), ("args", exp.args)) if v is not None}
    pred: dict[str, Any]
    if exp.response_format == "json":
        pred = _read_step(text, exp.file_format) if ref else {}
    else:
        key = {"reason": "thought", "retrieve": "name", "understand": "args"}.get(exp.kind)
        pred = {key: text} if key else {}
    wanted = _STEP_DIMENSIONS if exp.file_format == "json" else tuple(d for d in _STEP_DIMENSIONS if d == exp.kind)
    s: dict[str, Any] = {"parse_ok": bool(pred), **{dim: 0.0 for dim in wanted}}
    if "name" in pred and "name" in ref and "retrieve" in s:
        s["retrieve"] = _name_score(str(pred["name"]), str(ref["name"]), exact=exp.file_format == "json")
    if "args" in pred and "args" in ref and "understand" in s:
        s["understand"] = _args_score(pred["args"], ref["args"])
    pair = None
    if "thought" in pred and "thought" in ref and "reason" in s:
        pair = (str(pred["thought"]), str(ref["thought"]))
    return s, pair


def _name_score(pred: str, ref: str, *, exact: bool) -> float:
    if exact:
        return float(pred == ref)
    named = re.findall(r"\w+\.\w+", pred) + re.findall("FinishAction", pred)
    return float(ref in pred and all(n == ref for n in named))


def _args_score(pred: Any, ref: Any) -> float:
    if isinstance(ref, dict):
        given = pred if isinstance(pred, dict) else {}
        if not ref:
            return 0.0 if given else 1.0
        hits = sum(1 for k, v in ref.items() if k in given and str(given[k]) == str(v))
        return hits / (len(ref) + 1e-5)  # T-Eval's smoothing: a perfect answer scores 0.99999
    return float(str(pred).strip("'").strip('"') == ref)


# --------------------------------------------------------------------------- review


def review_verdict(text: str) -> str | None:
    """A string review's letter: the first character after the first colon (or of the text), if A-E."""
    rest = text[text.find(":") + 1 :].strip()
    return rest[0] if rest and rest[0] in _REVIEW_LETTERS else None


def score_review(exp: ReviewExpectation, text: str) -> dict[str, Any]:
    if exp.response_format == "json":
        value = lenient_load(text)
        finished = value.get("is_finished") if isinstance(value, dict) else None
        ok = finished is not None and finished in (True, False)
        # T-Eval compares {"review": finished} with the answer: never equal (kept), fixed beside it
        return {"parse_ok": ok, "predicted": finished if ok else None, "review": 0.0,
                "review_json_fixed": float(ok and finished == exp.answer)}
    letter = review_verdict(text)
    return {"parse_ok": letter is not None, "predicted": letter, "review": float(letter is not None and letter == exp.answer)}
