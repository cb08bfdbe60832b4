"""The package data the Agent-H and tool-need builders use (``data/eval/agent_h``: built-in tool
queries and questions, the tool catalogue, word lists, prompt templates), and :func:`load_corpus`,
the reader of :mod:`agentflan.sources.tool_queries` bound to that catalogue and templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from agentflan.batch import Rejects
from agentflan.conversation import Tool
from agentflan.sources.tool_queries import Corpus, read_corpus, text_lines


def data_file(*parts: str) -> Path:
    node = resources.files("agentflan").joinpath("data").joinpath("eval")
    for part in parts:
        node = node.joinpath(part)
    return Path(str(node))


@cache
def word_list(name: str) -> tuple[str, ...]:
    """A one-entry-per-line list under ``data/eval/agent_h`` (``#`` comments and blanks skipped)."""
    return tuple(text_lines(data_file("agent_h", name)))


def builtin_paths() -> list[Path]:
    """The built-in sources: agentflan's own tool queries and tool-free questions."""
    return [data_file("agent_h", "tool_queries.jsonl"), data_file("agent_h", "general_questions.txt")]


@cache
def prompts() -> dict[str, Any]:
    """The prompt templates of ``data/eval/agent_h/prompts.yaml``."""
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(data_file("agent_h", "prompts.yaml").read_text(encoding="utf-8"))
    return loaded


@cache
def builtin_tools() -> dict[str, Tool]:
    from agentflan.jsonutil import loads

    raw = loads(data_file("agent_h", "tools.json").read_bytes())
    return {t.name: t for t in map(Tool.from_dict, raw)}


def load_corpus(specs: Sequence[str | Path], *, rejects: Rejects | None = None) -> Corpus:
    """Every tool query, question and tool in ``specs``; tool-query rows may call the built-in
    catalogue's tools, and MMLU rows are asked with the built-in template."""
    return read_corpus(specs, catalogue=builtin_tools(), mmlu_question=prompts()["mmlu_question"], rejects=rejects)
