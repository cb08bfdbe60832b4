"""The ToolLLaMA format's fixed parts (``data/formats/toolllama.json``): ToolBench's format hint,
the API-list prefix of the system prompt, the assistant step layout, and its role names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import orjson

from agentflan import DATA_DIR

#: ToolLLaMA's ``from`` tag -> our role, and back
ROLE_OF = {"system": "system", "user": "user", "assistant": "assistant", "function": "tool"}
FROM_OF = {"system": "system", "user": "user", "assistant": "assistant", "tool": "function"}


@dataclass(frozen=True, slots=True)
class ToolLlamaText:
    """The fixed strings of the format."""

    #: ``format_hint`` is inserted into the AutoGPT system prompt right after this text
    format_hint_anchor: str
    format_hint: str
    #: appended to the system prompt, followed by Python's repr() of the list of function schemas
    api_list_prefix: str
    #: one assistant step exactly as ToolBench lays it out (the ``react`` protocol parses it)
    assistant_step: str


@cache
def toolllama_text() -> ToolLlamaText:
    text = (DATA_DIR / "formats" / "toolllama.json").read_bytes()
    return ToolLlamaText(**{k: v for k, v in orjson.loads(text).items() if not k.startswith("_")})  # "_about": a note
