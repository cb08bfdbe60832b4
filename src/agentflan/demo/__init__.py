"""The embedded demo data: where it lives inside the installed package, and the seeded generator
that writes it from ``data/demo/world.yaml`` (:mod:`agentflan.demo.generate`).

See ``src/agentflan/data/demo/README.md`` for what each file holds.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TRAJECTORIES = "tool_trajectories.jsonl"  # OpenAI messages + tools, training argument values
HELDOUT = "heldout_trajectories.jsonl"  # the same kind, held-out argument values (evaluation only)
CHAT = "chat.jsonl"  # ShareGPT general chat, no tools
QUESTIONS = "questions.jsonl"  # {"id", "question", "answer"}, tool-free, held out for evaluation
LAYOUTS = "eval_layouts.jsonl"  # request -> call in the evaluation's own prompts (format following)
NEGATIVE_LAYOUTS = "negative_layouts.jsonl"  # plain replies in the evaluation's own prompts (negatives)
EXTRACTION = "extraction.jsonl"  # requests with invented values -> their values as JSON (dense copying)
FILES = (TRAJECTORIES, HELDOUT, CHAT, QUESTIONS, LAYOUTS, NEGATIVE_LAYOUTS, EXTRACTION)


def demo_dir() -> Path:
    """The folder of the demo files in the installed package."""
    return Path(str(resources.files("agentflan") / "data" / "demo"))


def demo_file(name: str) -> Path:
    """One demo file by name (one of ``FILES``)."""
    path = demo_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no demo file {name!r} in {demo_dir()} (the package data is incomplete)")
    return path
