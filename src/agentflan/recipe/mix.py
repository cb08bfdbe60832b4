"""The general-data mix: ShareGPT-style chat added beside the agent data so a tuned model keeps
its general ability.

The paper concatenates the general data as it is ("1:1" in its appendix means plain
concatenation, no re-sampling); that is the default (``ratio`` None). With a ``ratio``, the
general rows are a seeded sample of ``ratio`` x (agent rows), drawn without replacement.
General rows pass through unchanged and carry no capability tags (they are not agent turns).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from agentflan.conversation import Conversation
from agentflan.recipe.split import sample, trajectory_key


def general_quota(agent_rows: int, ratio: float | None) -> int | None:
    """How many general rows to keep beside ``agent_rows`` agent rows (None: all of them)."""
    return None if ratio is None else round(ratio * agent_rows)


def general_rows(convs: Iterable[Conversation], quota: int | None, seed: int | str) -> Iterator[Conversation]:
    """All of ``convs`` (``quota`` None), else a uniform seeded sample of ``quota`` of them."""
    if quota is None:
        yield from convs
        return
    yield from sample(((trajectory_key(c), c) for c in convs), quota, f"{seed}|general")


def mix(agent: Sequence[Conversation], general: Iterable[Conversation], *, ratio: float | None = None, seed: int | str = 0) -> list[Conversation]:
    """Agent rows followed by the general rows, concatenated or sampled to ``ratio``."""
    return [*agent, *general_rows(general, general_quota(len(agent), ratio), seed)]
