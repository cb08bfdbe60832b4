"""Read the original T-Eval data files, for users who have them (they are not redistributed here).

T-Eval ships one JSON object per file, ``{id: {"origin_prompt": [messages], "ground_truth":
..., "meta_data" | "meta": {...}, "template": ...}}``, named after what it tests:
``instruct_v2.json``, ``plan_json_v2.json``, ``plan_str_v2.json``, ``reason_str_v2.json``,
``retrieve_str_v2.json``, ``understand_str_v2.json``, ``reason_retrieve_understand_json_v2.json``
(older copies: ``rru_json_v2.json``), ``review_str_v2.json``; ``_v1`` the same; ``_subset``
for the official fifth, ``_zh`` for the Chinese set (either order), and ``_sample`` for
excerpts. The dimension and the format the file is scored in come from the file name unless
given; each entry's own format from its ``meta_data.response_format`` (instruct files hold
``json`` and ``string`` entries). Each entry becomes an :class:`EvalItem` whose prompt is
T-Eval's own and whose ``expected`` keeps the entry, checked here by
:func:`agentflan.evaluate.teval_scorers.expectation`, so it is scored as T-Eval scores it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from agentflan.conversation import Message
from agentflan.errors import InputError, Location
from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.teval_scorers import ExpectationError, expectation
from agentflan.jsonutil import loads

TEVAL_DIMENSIONS = ("instruct", "plan", "reason", "retrieve", "understand", "rru", "review")
_NAME = re.compile(
    r"^(instruct|plan|reason_retrieve_understand|reason|retrieve|understand|rru|review)(?:_(json|str))?_v\d+"
    r"(?:_(?:subset|sample|zh))*$"
)
_FORMATS = {"json": "json", "str": "str", "string": "str"}
_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}


def is_teval_file(path: str | os.PathLike[str]) -> bool:
    """Whether a path is named like a T-Eval data file."""
    return Path(path).suffix == ".json" and _NAME.match(Path(path).stem) is not None


def teval_kind(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """(dimension, format) from a T-Eval file name; format None for ``instruct`` (set per entry)."""
    m = _NAME.match(Path(path).stem)
    if m is None:
        raise InputError(
            str(path),
            "not a T-Eval file name (instruct_v2.json, plan_json_v2_subset.json, reason_retrieve_understand_json_v2.json, "
            "review_str_v1_zh.json, ...); pass dimension=",
        )
    dimension = "rru" if m.group(1) == "reason_retrieve_understand" else m.group(1)
    return dimension, m.group(2)


def read_teval(path: str | os.PathLike[str], dimension: str | None = None, fmt: str | None = None) -> list[EvalItem]:
    """Every entry of one T-Eval file as an item (in file order); errors name the file and entry id."""
    path = Path(path)
    if dimension is None:
        dimension, named_fmt = teval_kind(path)
        fmt = fmt or named_fmt
    if dimension not in TEVAL_DIMENSIONS:
        raise InputError(str(path), f"unknown T-Eval dimension {dimension!r}; one of {', '.join(TEVAL_DIMENSIONS)}")
    try:
        data = loads(path.read_bytes())
    except ValueError as exc:
        raise InputError(str(path), f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(str(path), f"expected a JSON object of entries keyed by id, got {type(data).__name__}")
    return [_item(path, str(key), entry, dimension, fmt) for key, entry in data.items()]


def _item(path: Path, key: str, entry: Any, dimension: str, fmt: str | None) -> EvalItem:
    where = Location(str(path), record_id=key)
    if not isinstance(entry, dict):
        raise InputError(where, f"expected an object, got {type(entry).__name__}")
    prompt = entry.get("origin_prompt")
    if not isinstance(prompt, list) or not prompt:
        raise InputError(where, "missing or not a non-empty list of messages", "origin_prompt")
    if "ground_truth" not in entry:
        raise InputError(where, "missing", "ground_truth")
    messages = []
    for i, m in enumerate(prompt):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise InputError(where, "each message needs a string 'content'", f"origin_prompt[{i}]")
        # tool results ("function") go back as user turns, as agentflan sends every observation
        messages.append(Message(_ROLES.get(str(m.get("role")), "user"), m["content"]))
    meta = entry.get("meta_data") or entry.get("meta") or {}
    if not isinstance(meta, dict):
        raise InputError(where, "expected an object", "meta_data")
    file_format = fmt or "json"
    given = str(meta.get("response_format") or meta.get("prompt_type") or file_format)
    if given not in _FORMATS:
        raise InputError(where, f"response format must be json, str or string, got {given!r}", "meta_data.response_format")
    item_format = _FORMATS[given]
    try:
        expectation(dimension, file_format, item_format, entry)
    except ExpectationError as exc:
        raise InputError(where, str(exc), exc.field) from None
    # instruct files mix formats, scored apart; elsewhere the file's format groups its items (as T-Eval reports)
    fmt = item_format if dimension == "instruct" else file_format
    expected = {
        "style": "teval",
        "dimension": dimension,
        "format": item_format,
        "file_format": file_format,
        "entry": {k: entry.get(k) for k in ("ground_truth", "template", "meta", "meta_data")},
    }
    language = "zh" if "_zh" in path.stem else "en"  # T-Eval's Chinese files are scored with another model
    return EvalItem(
        id=f"teval/{path.stem}/{key}",
        messages=messages,
        expected=expected,
        meta={"dimension": dimension, "format": fmt, "protocol": f"teval-{fmt}", "source": str(path), "language": language},
    )
