"""Built evaluation items as JSONL (one :class:`EvalItem` per line), written atomically.

A built benchmark file is what gets shared and re-run: ``agentflan eval build-agent-h`` writes
one, and ``agentflan eval agent-h --option data=FILE`` scores exactly those items.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.conversation import Message, Tool
from agentflan.errors import InputError
from agentflan.evaluate.base import EvalItem
from agentflan.io import atomic_open, iter_records
from agentflan.jsonutil import dumps


def item_to_dict(item: EvalItem) -> dict[str, Any]:
    d: dict[str, Any] = {"id": item.id, "messages": [m.to_dict() for m in item.messages]}
    if item.tools:
        d["tools"] = [t.to_dict() for t in item.tools]
    d["expected"] = item.expected
    if item.meta:
        d["meta"] = item.meta
    return d


def item_from_dict(d: Any, where: str) -> EvalItem:
    if not isinstance(d, dict):
        raise InputError(where, f"expected a JSON object, got {type(d).__name__}")
    for key, kind in (("id", str), ("messages", list), ("expected", dict)):
        if not isinstance(d.get(key), kind):
            raise InputError(where, f"missing or not a {kind.__name__}", key)
    try:
        return EvalItem(
            id=d["id"],
            messages=[Message.from_dict(m) for m in d["messages"]],
            tools=[Tool.from_dict(t) for t in d.get("tools") or ()],
            expected=dict(d["expected"]),
            meta=dict(d.get("meta") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(where, f"malformed item: {exc}") from None


def write_items(items: Iterable[EvalItem], path: str | os.PathLike[str]) -> int:
    """Write items as JSONL atomically; returns how many."""
    n = 0
    with atomic_open(path) as fh:
        for item in items:
            fh.write(dumps(item_to_dict(item)))
            fh.write("\n")
            n += 1
    return n


def read_items(path: str | os.PathLike[str]) -> list[EvalItem]:
    """Items from a JSONL file; a bad line raises an error naming the file, line and field."""
    items = []
    for rec in iter_records(Path(path)):
        if rec.error is not None:
            raise rec.error
        items.append(item_from_dict(rec.value, str(rec.location)))
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(str(path), f"item id {dup!r} appears more than once", "id")
    return items
