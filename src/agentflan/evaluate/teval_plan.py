"""Plan matching as T-Eval scores it: weighted similarity, maximum-weight matching, increasing run.

Two steps may match when ``name_weight * sim(names) + (1 - name_weight) * sim(args) >
threshold``. Among those pairs T-Eval takes a maximum-weight matching (networkx, the library
it uses, on the same graph built in the same order, so that ties break as they do there), and
counts the longest run of predicted steps whose matched reference steps increase. Its run
starts at one for every step, matched or not, so a plan with no matching step still counts
one (``f1``); ``f1_matched_only`` counts matched steps only (0 when none match).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentflan.evaluate.similarity import Similarity

FINISH = "FinishAction"
WEIGHT_DIGITS = 5


@dataclass(frozen=True, slots=True)
class PlanStep:
    id: int
    name: str
    args: str  # the arguments as T-Eval compares them: text (a dict's Python repr, or a plan's line)


@dataclass(frozen=True, slots=True)
class PlanMatch:
    precision: float
    recall: float
    f1: float
    f1_matched_only: float


NO_MATCH = PlanMatch(0.0, 0.0, 0.0, 0.0)


def _prepared(steps: Sequence[PlanStep]) -> list[PlanStep]:
    ordered = sorted(steps, key=lambda s: s.id)
    return ordered[:-1] if ordered and ordered[-1].name == FINISH else ordered


def _f1(hits: int, n_pred: int, n_ref: int) -> tuple[float, float, float]:
    precision, recall = hits / n_pred, hits / n_ref
    return precision, recall, (2 * precision * recall / (precision + recall) if hits else 0.0)


def match_plans(pred: Sequence[PlanStep], ref: Sequence[PlanStep], sim: Similarity, *, name_weight: float = 0.75, threshold: float = 0.8) -> PlanMatch:
    """Precision, recall and F1 of ``pred`` against ``ref`` (see the module docstring)."""
    if not pred or not ref:
        return NO_MATCH
    p, r = _prepared(pred), _prepared(ref)
    if not p or not r:
        return NO_MATCH
    import networkx as nx

    names = sim.matrix([s.name for s in p], [s.name for s in r])
    args = sim.matrix([s.args for s in p], [s.args for s in r])
    graph = nx.Graph()
    for i in range(len(p)):
        for j in range(len(r)):
            # rounded so that equal steps tie exactly, as they do in T-Eval's runs (float noise of
            # batched encoding would otherwise break its ties the other way)
            weight = round(names[i][j] * name_weight + args[i][j] * (1 - name_weight), WEIGHT_DIGITS)
            if weight > threshold:
                graph.add_edge(i, str(j), weight=weight)  # T-Eval's node labels: int for pred, str for ref
    matched = [-1] * len(p)
    for a, b in nx.max_weight_matching(graph):
        i, j = (a, b) if isinstance(a, int) else (b, a)
        matched[i] = int(j)
    run = [1] * len(p)  # longest increasing run of matched reference positions ending at each step
    for i in range(len(p)):
        for k in range(i):
            if matched[i] >= 0 and matched[k] >= 0 and matched[i] > matched[k]:
                run[i] = max(run[i], run[k] + 1)
    precision, recall, f1 = _f1(max(run), len(p), len(r))
    matched_run = max((n for n, m in zip(run, matched, strict=True) if m >= 0), default=0)
    return PlanMatch(precision, recall, f1, _f1(matched_run, len(p), len(r))[2])
