"""Where the embedded demo data lives (inside the installed package, so nothing is downloaded).

See ``src/agentflan/data/demo/README.md`` for what each file holds.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TRAJECTORIES = "tool_trajectories.jsonl"  # OpenAI messages + tools
CHAT = "chat.jsonl"  # ShareGPT general chat, no tools
QUESTIONS = "questions.jsonl"  # {"id", "question", "answer"}, tool-free, held out for evaluation


def demo_dir() -> Path:
    """The folder of the demo files in the installed package."""
    return Path(str(resources.files("agentflan") / "data" / "demo"))


def demo_file(name: str) -> Path:
    """One demo file by name (``TRAJECTORIES``, ``CHAT`` or ``QUESTIONS``)."""
    path = demo_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no demo file {name!r} in {demo_dir()} (the package data is incomplete)")
    return path
