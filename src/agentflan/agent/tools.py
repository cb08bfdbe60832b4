"""Tools an agent can run: Python callables with a JSON schema, from a typed function or by name.

The schema is the conversation model's :class:`~agentflan.conversation.Tool` (what a protocol
lists in a prompt and what arguments are checked against); a :class:`Tool` here pairs it with
the function that answers the call.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentflan import conversation
from agentflan.errors import ConfigError

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


@dataclass(slots=True)
class Tool:
    """A callable the agent may use: ``fn(**arguments)``, with arguments checked against ``spec``'s parameters."""

    spec: conversation.Tool
    fn: Callable[..., Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Tool:
        """A tool from a typed function: the schema from its signature, the description from its docstring."""
        doc = inspect.getdoc(fn) or ""
        spec = conversation.Tool(
            name=name or fn.__name__,
            description=description if description is not None else doc.split("\n\n", 1)[0].replace("\n", " "),
            parameters=parameters if parameters is not None else schema_of(fn),
        )
        return cls(spec, fn)


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Any:
    """Decorator: ``@tool`` or ``@tool(name=..., description=...)`` turns a function into a :class:`Tool`."""
    if fn is None:
        return functools.partial(tool, name=name, description=description, parameters=parameters)
    return Tool.from_function(fn, name=name, description=description, parameters=parameters)


def schema_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """A JSON Schema object for a function's keyword parameters (types from its annotations)."""
    hints = typing.get_type_hints(fn)
    props: dict[str, Any] = {}
    required = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        hint = typing.get_origin(hints.get(p.name)) or hints.get(p.name)
        props[p.name] = {"type": _JSON_TYPES[hint]} if hint in _JSON_TYPES else {}
        if p.default is p.empty:
            required.append(p.name)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def load_tools(spec: str) -> list[Tool]:
    """Tools named ``module:attribute``: a :class:`Tool`, a plain function, or a list of either."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"--tools takes module:callable, got {spec!r}")
    try:
        value = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load tool {spec!r}: {exc}") from None
    values = value if isinstance(value, (list, tuple)) else [value]
    tools = []
    for v in values:
        if isinstance(v, Tool):
            tools.append(v)
        elif callable(v):
            tools.append(Tool.from_function(v))
        else:
            raise ConfigError(f"{spec!r} is neither a tool nor a callable (got {type(v).__name__})")
    return tools
