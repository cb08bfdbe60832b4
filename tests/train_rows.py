"""Training rows for the train tests, built from the real data in ../shared/data.

FireAct trajectories read through :func:`agentflan.sources.read`; capability spans are added the
way the recipe tags a ReAct step (thought -> reasoning, action name -> retrieval, its argument ->
understanding, the ``Thought:``/``Action:`` keywords -> instruction), so per-capability losses have
every capability to report.
"""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import orjson

from agentflan.conversation import Capability, Conversation, Span
from conftest import shared_path

STEP = re.compile(r"^(Thought:)(.*?)\n(Action:) ?(\w+)\[(.*)\]\s*$", re.S)


def tag_react(conv: Conversation) -> Conversation:
    """Add capability spans to each ``Thought: ...\\nAction: name[arg]`` assistant turn."""
    for m in conv.messages:
        match = STEP.match(m.content) if m.role == "assistant" else None
        if match is None:
            continue
        m.spans = [
            Span(match.start(1), match.end(1), Capability.INSTRUCTION),
            Span(match.start(2), match.end(2), Capability.REASONING),
            Span(match.start(3), match.end(3), Capability.INSTRUCTION),
            Span(match.start(4), match.end(4), Capability.RETRIEVAL),
            Span(match.start(5), match.end(5), Capability.UNDERSTANDING),
        ]
    return conv


def fireact(n: int, file: str = "hotpotqa_react_gpt.jsonl", tagged: bool = True) -> list[Conversation]:
    from agentflan.sources import read

    convs = list(islice(read(shared_path("fireact", file)), n))
    return [tag_react(c) for c in convs] if tagged else convs


def glaive(n: int) -> list[Conversation]:
    from agentflan.sources import read

    return list(islice(read(shared_path("glaive", "glaive_toolcall_en_demo.json")), n))


def release_samples() -> list[Conversation]:
    from agentflan.sources import read

    return list(read(shared_path("agentflan_release", "samples.jsonl")))


def write_native(convs: list[Conversation], path: Path) -> Path:
    """Our native JSONL (spans and loss flags kept), read back by the trainer through the readers."""
    path.write_bytes(b"".join(orjson.dumps(c.to_dict()) + b"\n" for c in convs))
    return path
