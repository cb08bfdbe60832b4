"""The ToolLLaMA format's fixed parts (``data/formats/toolllama.yaml``): ToolBench's format hint,
the API-list prefix of the system prompt, the assistant step layout, and its role names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

#: ToolLLaMA's ``from`` tag -> our role, and back
ROLE_OF = {"system": "system", "user": "user", "assistant": "assistant", "function": "tool"}
FROM_OF = {"system": "system", "user": "user", "assistant": "assistant", "tool": "function"}


@dataclass(frozen=True, slots=True)
class ToolLlamaText:
    """The fixed strings of the format."""

    format_hint_anchor: str
    format_hint: str
    api_list_prefix: str
    assistant_step: str


@cache
def toolllama_text() -> ToolLlamaText:
    text = resources.files("agentflan").joinpath("data/formats/toolllama.yaml").read_text(encoding="utf-8")
    return ToolLlamaText(**yaml.safe_load(text))
