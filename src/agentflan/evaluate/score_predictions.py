"""Score responses generated elsewhere, as T-Eval separates inference from scoring.

``predictions`` is JSONL, one ``{"id": ..., "response": ...}`` per line. An id is the item's
own id (as a generating run writes it in ``results.jsonl``) or, for data files keyed by id
like T-Eval's, the key alone when exactly one item ends with ``/KEY``. The outputs are a
generating run's: ``OUT/<suite>/results.jsonl`` (every item, in the suite's order) and
``OUT/<suite>/summary.json``, both written atomically; ``backend`` is ``"predictions"`` and
``model`` the name given (default: the predictions file's name).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentflan.errors import ConfigError, InputError, Location
from agentflan.evaluate.base import EvalItem, ItemResult, Suite
from agentflan.evaluate.results import RESULTS_FILE, SUMMARY_FILE, versions, write_summary
from agentflan.io import atomic_open
from agentflan.jsonutil import dumps_bytes, loads


def read_predictions(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{id: response}`` from a JSONL file; a bad line or a repeated id is an error naming the line."""
    path = Path(path)
    out: dict[str, str] = {}
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = Location(str(path), line=line_no)
            try:
                row = loads(raw)
            except ValueError as exc:
                raise InputError(where, f"not JSON: {exc}") from None
            if not isinstance(row, dict):
                raise InputError(where, f"expected an object {{\"id\", \"response\"}}, got {type(row).__name__}")
            if not isinstance(row.get("id"), (str, int)):
                raise InputError(where, "missing or not a string", "id")
            if not isinstance(row.get("response"), str):
                raise InputError(where, "missing or not a string", "response")
            key = str(row["id"])
            if key in out:
                raise InputError(where, f"id {key!r} appears twice", "id")
            out[key] = row["response"]
    return out


def match_predictions(items: Sequence[EvalItem], predictions: dict[str, str], source: str) -> list[str]:
    """Each item's response, in item order; unknown ids and items left without one are errors."""
    by_key: dict[str, list[str]] = {}
    for it in items:
        by_key.setdefault(it.id.rsplit("/", 1)[-1], []).append(it.id)
    responses: dict[str, str] = {}
    unknown = []
    for key, response in predictions.items():
        if any(it.id == key for it in items):
            responses[key] = response
        elif len(by_key.get(key, [])) == 1:
            responses[by_key[key][0]] = response
        else:
            unknown.append(key)
    if unknown:
        raise InputError(source, f"{len(unknown)} prediction id(s) match no single item: {', '.join(unknown[:5])}", "id")
    missing = [it.id for it in items if it.id not in responses]
    if missing:
        raise InputError(source, f"{len(missing)} item(s) have no prediction: {', '.join(missing[:5])}", "id")
    return [responses[it.id] for it in items]


def score_predictions(
    suite: Suite, predictions: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, model: str | None = None
) -> dict[str, Any]:
    """Score every item of ``suite`` with its given response; returns the summary written."""
    items = list(suite.items())
    responses = match_predictions(items, read_predictions(predictions), str(predictions))
    try:
        scores = suite.score_responses(items, responses)
    except NotImplementedError:
        raise ConfigError(f"suite {suite.name!r} has no scorer for one response per item") from None
    results = [ItemResult(it.id, r, s, dict(it.meta)) for it, r, s in zip(items, responses, scores, strict=True)]
    directory = Path(out_dir) / suite.name
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_open(directory / RESULTS_FILE, "wb", encoding=None) as fh:
        for r in results:
            fh.write(dumps_bytes(r.to_dict(), numpy=True, default=str) + b"\n")
    summary = {
        "suite": suite.name,
        "model": model or Path(predictions).name,
        "backend": "predictions",
        "metrics": suite.summarize(results),
        "n_items": len(items),
        "versions": versions(),
    }
    write_summary(directory / SUMMARY_FILE, summary)
    return summary
