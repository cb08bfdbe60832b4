"""Command-line flags made from documented options dataclasses (:mod:`agentflan.options`): the flag,
its help and the default it shows come from the field, so nothing is copied here."""

from __future__ import annotations

import argparse
from typing import Any

from agentflan.options import OptionDoc


def option_help(doc: OptionDoc) -> str:
    """The text ``--help`` shows for one option: its description and real default."""
    return f"{doc.help} (default: {doc.default_text})"


def add_option(group: Any, doc: OptionDoc, help_text: str | None = None) -> None:
    """Add ``doc`` as a flag; unset stays None, so the options dataclass keeps its own default."""
    kwargs: dict[str, Any] = {"dest": _dest(doc), "default": None, "help": (help_text or option_help(doc)).replace("%", "%%")}
    if doc.kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        if doc.kind is not str:
            kwargs["type"] = doc.kind
        if doc.choices:
            kwargs["choices"] = doc.choices
        else:
            kwargs["metavar"] = doc.metavar or doc.kind.__name__.upper()
        if doc.repeatable:
            kwargs["action"] = "append"
    group.add_argument(doc.flag, **kwargs)


def given(args: argparse.Namespace, docs: list[OptionDoc]) -> dict[str, Any]:
    """The options among ``docs`` the user set on the command line."""
    return {d.name: getattr(args, _dest(d)) for d in docs if getattr(args, _dest(d), None) is not None}


def _dest(doc: OptionDoc) -> str:
    """Named after the flag, which is unique in a parser (``--vllm-seed`` beside a suite's ``--seed``)."""
    return doc.flag[2:].replace("-", "_")
