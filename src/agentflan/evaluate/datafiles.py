"""The evaluation's prompt and phrasing files under ``agentflan/data/eval``."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def load_yaml(name: str) -> Any:
    """A YAML file from ``agentflan/data/eval`` (parsed once per process; treat it as read-only)."""
    text = resources.files("agentflan").joinpath("data").joinpath("eval").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)
