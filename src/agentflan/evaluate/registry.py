"""Suites by name: ``SUITES[name]`` is ``"module:OptionsClass"``; the module's ``make_suite(**options)``
builds the suite from that options dataclass, whose documented fields are also the command line's.

Modules are imported only when their suite is asked for, so listing suites is free and a
missing optional dependency only breaks the suite that needs it.
"""

from __future__ import annotations

import dataclasses
import importlib
from abc import abstractmethod
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from agentflan.errors import ConfigError
from agentflan.evaluate.base import EvalItem, Suite
from agentflan.generation.base import Sampling

SUITES: dict[str, str] = {
    "agent-h": "agentflan.evaluate.agent_h:AgentHOptions",
    "tool-need": "agentflan.evaluate.toolneed:ToolNeedOptions",
    "tool-steps": "agentflan.evaluate.tool_steps:ToolStepsOptions",
    "hotpotqa": "agentflan.evaluate.hotpotqa:HotpotQAOptions",
    "mmlu": "agentflan.evaluate.mmlu:MMLUOptions",
    "lm-eval": "agentflan.evaluate.lmeval_tasks:LMEvalOptions",
}


def make_suite(name: str, **options: Any) -> Suite:
    """Build a suite; options left as None are dropped so each factory keeps its own defaults."""
    suite: Suite = _suite_module(name).make_suite(**{k: v for k, v in options.items() if v is not None})
    return suite


def options_class(name: str) -> type[Any]:
    """The options dataclass of a suite (its fields document every option and its default)."""
    cls: type[Any] = getattr(_suite_module(name), SUITES[name].partition(":")[2])
    return cls


def _suite_module(name: str) -> Any:
    try:
        spec = SUITES[name]
    except KeyError:
        raise ConfigError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)}") from None
    module_name = spec.partition(":")[0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(f"suite {name!r} is not available in this install ({module_name} is missing)") from None


def suite_options(cls: type[Any], suite: str, options: dict[str, Any]) -> Any:
    """A suite's options dataclass from factory keywords; an unknown keyword names what is accepted."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"suite {suite!r} does not take option(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))}")
    return cls(**options)


def split_specs(value: list[str] | str | None) -> list[str]:
    """A list option given as a list or a comma-separated string (the CLI's ``--option a,b``)."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else value
    return [p.strip() for p in parts if p.strip()]


class OptionsSuite(Suite):
    """A suite configured by one options dataclass (with ``max_new_tokens``) whose items are built once.

    The whole options dataclass is its description, so any option change makes the runner
    refuse to resume into earlier results.
    """

    options: Any

    def describe(self) -> dict[str, Any]:
        return {"suite": self.name, **dataclasses.asdict(self.options)}

    def sampling(self) -> Sampling:
        return Sampling(max_new_tokens=self.options.max_new_tokens)

    @abstractmethod
    def build_items(self) -> list[EvalItem]:
        """Every item, in a fixed order; called once (on first use) and kept."""

    @cached_property
    def _items(self) -> list[EvalItem]:
        return self.build_items()

    def items(self) -> Iterator[EvalItem]:
        return iter(self._items)
