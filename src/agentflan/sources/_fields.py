"""Typed access to record fields: every reader fails with an :class:`InputError` that names the
location and the exact field (``conversations[3].value``), never with a KeyError or TypeError."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from agentflan.conversation import Tool, ToolCall
from agentflan.errors import InputError, Location
from agentflan.jsonutil import dumps, loads, loads_object


def expect_dict(value: Any, loc: Location, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(loc, f"expected a JSON object, got {_kind(value)}", field)
    return value


def expect_list(value: Any, loc: Location, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(loc, f"expected a JSON array, got {_kind(value)}", field)
    return value


def get_list(record: dict[str, Any], key: str, loc: Location, field: str | None = None) -> list[Any]:
    if key not in record:
        raise InputError(loc, "missing", field or key)
    return expect_list(record[key], loc, field or key)


def get_opt_dict(record: dict[str, Any], key: str, loc: Location, field: str) -> dict[str, Any]:
    """An optional object field; absent or null reads as empty (``[]`` or ``""`` is an error)."""
    value = record.get(key)
    return {} if value is None else dict(expect_dict(value, loc, field))


def get_opt_list(record: dict[str, Any], key: str, loc: Location, field: str) -> list[Any]:
    """An optional array field; absent or null reads as empty."""
    value = record.get(key)
    return [] if value is None else expect_list(value, loc, field)


def get_text(record: dict[str, Any], key: str, loc: Location, field: str, *, required: bool = True) -> str:
    """A string field; ``None`` (Arrow rows, OpenAI ``content: null``) reads as empty unless required."""
    if key not in record:
        if required:
            raise InputError(loc, "missing", field)
        return ""
    value = record[key]
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputError(loc, f"expected a string, got {_kind(value)}", field)
    return value


def get_opt_text(record: dict[str, Any], key: str, loc: Location, field: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(loc, f"expected a string, got {_kind(value)}", field)
    return value


def get_opt_bool(record: dict[str, Any], key: str, loc: Location, field: str) -> bool | None:
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InputError(loc, f"expected true, false or null, got {_kind(value)}", field)


def record_id(record: dict[str, Any], loc: Location, fallback: str) -> str:
    """The record's ``id`` as text (ints are common on the hub); ``fallback`` when absent."""
    value = record.get("id")
    if value is None:
        return fallback
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(loc, f"expected a string or integer id, got {_kind(value)}", "id")
    return str(value)


def open_record(record: Any, location: Location, *, require_id: bool = False) -> tuple[dict[str, Any], str, Location]:
    """The record as an object, its id (the file position when it has none, unless ``require_id``)
    and ``location`` naming that id: the opening every per-record reader shares."""
    record = expect_dict(record, location, "(record)")
    if require_id and "id" not in record:
        raise InputError(location, "missing", "id")
    conv_id = record_id(record, location, fallback_id(location))
    return record, conv_id, Location(location.path, location.line, location.index, conv_id)


def iter_objects(record: dict[str, Any], key: str, loc: Location) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """``(i, "key[i]", item)`` for each item of the required array ``key``; every item must be an object."""
    for i, item in enumerate(get_list(record, key, loc)):
        field = f"{key}[{i}]"
        yield i, field, expect_dict(item, loc, field)


def fallback_id(loc: Location) -> str:
    """A stable id for a record that has none: its file's stem and its position (portable across machines)."""
    stem = _stem(loc.path)
    if loc.line is not None:
        return f"{stem}:{loc.line}"
    if loc.index is not None:
        return f"{stem}#{loc.index}"
    return stem


@functools.lru_cache(maxsize=64)
def _stem(path: str) -> str:
    """The file's stem (or the whole path): asked once per record, the same few files each time."""
    return PurePath(path).stem or path


_OPT_STR = (str, type(None))
_OPT_DICT = (dict, type(None))


def parse_tools(value: Any, loc: Location, field: str) -> list[Tool]:
    """Tools given as a list of schemas or as a JSON string of one (Glaive, Arrow columns)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = loads(value)
        except ValueError as exc:
            raise InputError(loc, f"not valid JSON: {exc}", field) from None
    items = expect_list(value, loc, field)
    tools = []
    for i, item in enumerate(items):
        name, description, parameters = (item.get("name"), item.get("description"), item.get("parameters")) if type(item) is dict else (None, None, None)
        if type(name) is str and "function" not in item and type(description) in _OPT_STR and type(parameters) in _OPT_DICT:
            tools.append(Tool(name, description or "", dict(parameters or {})))  # the common case, checked above
            continue
        d = expect_dict(item, loc, f"{field}[{i}]")
        inner: dict[str, Any] = d["function"] if isinstance(d.get("function"), dict) else d
        if not isinstance(inner.get("name"), str):
            raise InputError(loc, "a tool needs a string name", f"{field}[{i}].name")
        if not isinstance(inner.get("description", ""), (str, type(None))):
            raise InputError(loc, "expected a string", f"{field}[{i}].description")
        if not isinstance(inner.get("parameters") or {}, dict):
            raise InputError(loc, "expected a JSON object (a JSON Schema)", f"{field}[{i}].parameters")
        tools.append(Tool.from_dict(d))
    return tools


def parse_call(name: Any, arguments: Any, loc: Location, field: str, call_id: str | None = None) -> ToolCall:
    """A call whose arguments are an object (TRL, Glaive) or JSON text (OpenAI wire format, ToolBench)."""
    if not isinstance(name, str) or not name:
        raise InputError(loc, "a tool call needs a non-empty string name", f"{field}.name")
    if arguments is None:
        return ToolCall(name=name, id=call_id)
    if isinstance(arguments, str):
        # As ToolCall.from_text: the text is kept, and why it is not a JSON object recorded.
        if arguments.startswith('"') and arguments.endswith('"'):
            # Text that is not JSON, stored as a JSON string (our parquet / hf-dataset arguments)
            inner = loads_json_string(arguments)
            if inner is not None:
                arguments = inner
        args, error = loads_object(arguments)
        raw: str | None = arguments
        if error is None and "\n" not in arguments and arguments == dumps(args):
            raw = None  # the canonical text carries nothing the object does not
        return ToolCall(name=name, arguments=args, raw_arguments=raw, id=call_id, arguments_error=error)
    if isinstance(arguments, dict):
        return ToolCall(name=name, arguments=arguments, id=call_id)
    if isinstance(arguments, (list, int, float, bool)):  # decoded JSON that is not an object: kept as its text
        return ToolCall.from_text(name, dumps(arguments), call_id)
    raise InputError(loc, f"arguments must be a JSON object or a string, got {_kind(arguments)}", f"{field}.arguments")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def loads_json_string(text: str) -> str | None:
    """The string a JSON string literal holds, or None when ``text`` is not one."""
    try:
        value = loads(text)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
