"""Options dataclasses that document themselves: each field carries its help text once, and the
command line (``agentflan eval --help``) is made from those fields and their real defaults, so a
default shown to users cannot drift from the one the code uses."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def option(
    default: Any,
    help: str,
    *,
    none: str | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    choices: Sequence[str] | None = None,
    repeatable: bool = False,
) -> Any:
    """A dataclass field with its documentation.

    ``none`` says what a ``None`` default means ("all found"); ``flag`` is the command-line name
    when it differs from the field's; ``repeatable`` makes the flag collect a list."""
    meta = {"help": help, "none": none, "flag": flag, "metavar": metavar, "choices": tuple(choices) if choices else None, "repeatable": repeatable}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class OptionDoc:
    """One documented option: what the help shows and what argparse needs."""

    name: str
    help: str
    default: Any
    default_text: str
    flag: str
    kind: type
    metavar: str | None
    choices: tuple[str, ...] | None
    repeatable: bool


def option_docs(cls: type[Any]) -> list[OptionDoc]:
    """The documented options of an options dataclass, in field order; a field without help is an error."""
    hints = typing.get_type_hints(cls)
    docs = []
    for f in dataclasses.fields(cls):
        if not f.metadata.get("help"):
            raise TypeError(f"{cls.__name__}.{f.name} has no help text (declare it with agentflan.options.option)")
        default = f.default if f.default is not dataclasses.MISSING else None
        docs.append(
            OptionDoc(
                name=f.name,
                help=f.metadata["help"],
                default=default,
                default_text=default_text(default, f.metadata.get("none")),
                flag="--" + (f.metadata.get("flag") or f.name).replace("_", "-"),
                kind=_scalar_kind(hints[f.name]),
                metavar=f.metadata.get("metavar"),
                choices=f.metadata.get("choices"),
                repeatable=bool(f.metadata.get("repeatable")),
            )
        )
    return docs


def default_text(value: Any, none: str | None = None) -> str:
    """A default as the help shows it: booleans lower-case, lists comma-joined, None as its meaning."""
    if value is None:
        return none or "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _scalar_kind(annotation: Any) -> type:
    """The type one command-line value converts to: bool, int, float or str (lists take comma text)."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else (annotation,)
    for kind in (bool, int, float):
        if kind in args:
            return kind
    return str
