"""Built evaluation items as JSONL (one :class:`EvalItem` per line), written atomically.

A built benchmark file is what gets shared and re-run: ``agentflan eval build-agent-h`` writes
one, and ``agentflan eval agent-h --option data=FILE`` scores exactly those items.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from agentflan.conversation import Message, Tool
from agentflan.errors import InputError, Location
from agentflan.evaluate.base import EvalItem
from agentflan.io import atomic_open, iter_records
from agentflan.jsonutil import dumps

T = TypeVar("T")
#: The key of a file's optional first line, ``{"header": {...}}``, which holds no item.
HEADER_KEY = "header"


def item_to_dict(item: EvalItem) -> dict[str, Any]:
    d: dict[str, Any] = {"id": item.id, "messages": [m.to_dict() for m in item.messages]}
    if item.tools:
        d["tools"] = [t.to_dict() for t in item.tools]
    d["expected"] = item.expected
    if item.meta:
        d["meta"] = item.meta
    return d


def item_from_dict(d: Any, where: Location | str) -> EvalItem:
    if not isinstance(d, dict):
        raise InputError(where, f"expected a JSON object, got {type(d).__name__}")
    for key, kind in (("id", str), ("messages", list), ("expected", dict)):
        if not isinstance(d.get(key), kind):
            raise InputError(where, f"missing or not a {kind.__name__}", key)
    tools = d.get("tools") or []
    if not isinstance(tools, list):
        raise InputError(where, "not a list", "tools")
    meta = d.get("meta") or {}
    if not isinstance(meta, dict):
        raise InputError(where, "not an object", "meta")
    return EvalItem(
        id=d["id"],
        messages=[_entry(Message.from_dict, m, where, f"messages[{i}]") for i, m in enumerate(d["messages"])],
        tools=[_entry(Tool.from_dict, t, where, f"tools[{i}]") for i, t in enumerate(tools)],
        expected=dict(d["expected"]),
        meta=dict(meta),
    )


def _entry(parse: Callable[[dict[str, Any]], T], value: Any, where: Location | str, field: str) -> T:
    """One message or tool of an item; a bad one names its index (``messages[2]``)."""
    if not isinstance(value, dict):
        raise InputError(where, f"expected an object, got {type(value).__name__}", field)
    try:
        return parse(value)
    except KeyError as exc:
        raise InputError(where, f"missing key {exc.args[0]!r}", field) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(where, f"malformed: {exc}", field) from None


def write_items(items: Iterable[EvalItem], path: str | os.PathLike[str], header: dict[str, Any] | None = None) -> int:
    """Write items as JSONL atomically, after a ``{"header": ...}`` line when given; returns how many."""
    n = 0
    with atomic_open(path) as fh:
        if header is not None:
            fh.write(dumps({HEADER_KEY: header}))
            fh.write("\n")
        for item in items:
            fh.write(dumps(item_to_dict(item)))
            fh.write("\n")
            n += 1
    return n


def read_header(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The file's header (what built it and its composition), or None when it has none."""
    for rec in iter_records(Path(path)):
        if rec.error is not None:
            raise rec.error
        return _header(rec.value)
    return None


def _header(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and set(value) == {HEADER_KEY} and isinstance(value[HEADER_KEY], dict):
        return dict(value[HEADER_KEY])
    return None


def read_items(path: str | os.PathLike[str]) -> list[EvalItem]:
    """Items from a JSONL file; a bad line raises an error naming the file, line and field."""
    items: list[EvalItem] = []
    first_seen: dict[str, Location] = {}
    for rec in iter_records(Path(path)):
        if rec.error is not None:
            raise rec.error
        if not items and not first_seen and _header(rec.value) is not None:
            continue
        item = item_from_dict(rec.value, rec.location)
        if item.id in first_seen:
            raise InputError(rec.location, f"item id {item.id!r} appears more than once (first at {first_seen[item.id]})", "id")
        first_seen[item.id] = rec.location
        items.append(item)
    return items
