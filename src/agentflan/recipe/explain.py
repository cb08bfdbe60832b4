"""A recipe's validation errors as lines a person can act on: where the mistake is in the YAML
file (its line), and for a misspelt key, value or name the closest one that exists."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError

# A model validator's error has no location of its own; ours start their message with it:
# "splits[2] (name).sources: unknown source ..."
_PLACE = re.compile(r"^(\w+)\[(\d+)\][^.:]*\.(\w+):")
_QUOTED = re.compile(r"'([^']*)'")


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def explain(exc: ValidationError, text: str, model: type[BaseModel]) -> str:
    """One line per error: ``line N: key.path: message[ (did you mean 'x'?)]``."""
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    lines = []
    for err in exc.errors():
        tags = _tags(model)
        loc: list[str | int] = [p for p in err["loc"] if not (isinstance(p, str) and p in tags)]
        message = err["msg"].removeprefix("Value error, ")
        named = bool(loc)
        if not named and (m := _PLACE.match(message)):  # the message names its place itself
            loc = [m[1], int(m[2]), m[3]]
        if err["type"] == "extra_forbidden" and loc:
            message += did_you_mean(str(loc[-1]), _fields_at(model, list(err["loc"])[:-1]))
        elif err["type"] == "literal_error":
            message += did_you_mean(str(err.get("input")), _QUOTED.findall(str(err.get("ctx", {}).get("expected", ""))))
        line = _line(root, loc)
        where = ".".join(str(p) for p in loc) + ": " if named else "" if loc else "(recipe): "
        lines.append(f"  {f'line {line}: ' if line else ''}{where}{message}")
    return "\n".join(lines)


def _line(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest part of ``loc`` found in the YAML tree (a key's own line)."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model accepts at ``loc`` (a discriminated union is resolved by the tag in ``loc``)."""
    candidates: dict[str | None, type[BaseModel]] = {None: model}
    in_mapping = False  # the next part is a key of a dict field (a source's name), not a field
    for part in loc:
        if isinstance(part, int) or in_mapping:
            in_mapping = False
            continue
        if part in candidates:  # the tag of a union member
            candidates = {None: candidates[part]}
            continue
        current = candidates.get(None) or next(iter(candidates.values()))
        field = current.model_fields.get(part)
        if field is None:
            return []
        in_mapping = get_origin(field.annotation) is dict
        candidates = dict(_models_in(field.annotation))
        if not candidates:
            return []
    last = candidates.get(None) or (next(iter(candidates.values())) if len(candidates) == 1 else None)
    return list(last.model_fields) if last is not None else []


def _models_in(annotation: Any, tag: str | None = None) -> Iterator[tuple[str | None, type[BaseModel]]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield tag, annotation
        return
    own = next((m.tag for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Tag)), tag)
    for arg in get_args(annotation):
        yield from _models_in(arg, own)


def _tags(model: type[BaseModel]) -> set[str]:
    """Union tags anywhere in the model (pydantic puts them in an error's location)."""
    found: set[str] = set()
    stack, seen = [model], set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for field in cls.model_fields.values():
            for tag, sub in _models_in(field.annotation):
                if tag:
                    found.add(tag)
                stack.append(sub)
    return found
