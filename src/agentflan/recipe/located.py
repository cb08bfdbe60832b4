"""Where in a recipe file a mistake is, and what was probably meant.

A recipe error names the YAML file and line of the offending key (found by walking PyYAML's node
tree along the error's path) and, for a misspelt key, split kind, style or format, the closest
valid name (:mod:`difflib`), so a typo is fixed without reading the docs.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
_QUOTED = re.compile(r"'([^']*)'")


class LocatedValueError(ValueError):
    """A check of a whole recipe that knows which key (``loc``, from the recipe's root) is wrong."""

    def __init__(self, loc: Loc, message: str):
        super().__init__(message)
        self.loc = loc


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    if not isinstance(word, str):
        return ""
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def loc_text(loc: Loc) -> str:
    """``splits[0].balance.mode``: one indexing style, the one the messages of the checks use."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(recipe)"


def compose(text: str) -> yaml.Node | None:
    """The YAML node tree (with line marks) of a recipe text; None when it does not parse."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node of ``root`` that ``loc`` reaches (a mapping key's own
    line for the last key, so an unknown key points at itself)."""
    node, line = root, None
    if node is not None:
        line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def keys_at(root: type[BaseModel], loc: Loc, tags: dict[str, type[BaseModel]]) -> list[str]:
    """The keys the recipe model accepts at ``loc`` (``tags``: split classes by kind, for the
    element of a discriminated list); empty when ``loc`` leads nowhere known."""
    model: type[BaseModel] | None = root
    dict_key = False
    for part in loc:
        if isinstance(part, int) or dict_key:
            dict_key = False  # a list index or a dict key (a source's name): the values' model stays
        elif model is None and part in tags:
            model = tags[part]
        elif model is not None and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            found = _models_in(annotation)
            if not found:
                return []
            # several models: a discriminated list, resolved by the kind tag that follows the index
            model = found[0] if len(found) == 1 else None
            dict_key = dict in {typing.get_origin(a) for a in (annotation, *typing.get_args(annotation))}
        else:
            return []
    return list(model.model_fields) if model is not None else []


def explain(exc: ValidationError, root: yaml.Node | None, model: type[BaseModel], tags: dict[str, type[BaseModel]]) -> list[str]:
    """One line per error: ``line N: splits[0].style: <message> (did you mean ...?)``."""
    lines = []
    for err in exc.errors():
        raw: Loc = tuple(err["loc"])
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, LocatedValueError):
            raw = raw + error.loc
        loc = _without_tags(raw, tags)
        msg = _message(err, raw, loc, model, tags)
        if err["type"] == "union_tag_invalid":
            loc = (*loc, "kind")
        line = line_of(root, loc)
        lines.append(f"  {'line ' + str(line) + ': ' if line else ''}{loc_text(loc)}: {msg}")
    return lines


def _without_tags(loc: Loc, tags: dict[str, type[BaseModel]]) -> Loc:
    """pydantic puts a split's kind tag after its index (``splits.0.agent.style``); the YAML has no such key."""
    if len(loc) >= 3 and loc[0] == "splits" and isinstance(loc[1], int) and loc[2] in tags:
        return loc[:2] + loc[3:]
    return loc


def _message(err: Any, raw: Loc, loc: Loc, model: type[BaseModel], tags: dict[str, type[BaseModel]]) -> str:
    """pydantic's message, or ours where we can say what was meant."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "extra_forbidden" and loc:
        keys = keys_at(model, raw[:-1], tags)
        return f"unknown key {loc[-1]!r}{did_you_mean(loc[-1], keys)}" + (f"; keys here: {', '.join(keys)}" if keys else "")
    if kind == "union_tag_invalid":
        return choices_error("split kind", str(ctx.get("tag")), _QUOTED.findall(str(ctx.get("expected_tags", ""))))
    if kind == "literal_error":
        return err["msg"] + did_you_mean(err.get("input"), _QUOTED.findall(str(ctx.get("expected", ""))))
    return str(err["msg"])


def choices_error(what: str, value: str, known: Sequence[str]) -> str:
    """``unknown input format 'toolbnech' (did you mean 'toolbench'?); known: ...``."""
    return f"unknown {what} {value!r}{did_you_mean(value, known)}; known: {', '.join(known)}"
