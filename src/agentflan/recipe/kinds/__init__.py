"""The split kinds of a recipe, one class each: :func:`kinds_of` turns a recipe's split
configurations into them, in recipe order."""

from __future__ import annotations

from typing import Any

from agentflan.recipe.config import Recipe
from agentflan.recipe.kinds.agent import Agent
from agentflan.recipe.kinds.base import Merging, Offered, Scanning, SplitKind
from agentflan.recipe.kinds.format_following import FormatFollowing
from agentflan.recipe.kinds.general import General
from agentflan.recipe.kinds.negatives import Negatives

#: the class of each ``kind:`` a recipe's split may name
KINDS: dict[str, type[SplitKind[Any]]] = {"agent": Agent, "format_following": FormatFollowing, "negatives": Negatives, "general": General}


def kinds_of(recipe: Recipe) -> list[SplitKind[Any]]:
    """Each split of ``recipe`` as its kind, in recipe order."""
    return [KINDS[spec.kind](spec, recipe) for spec in recipe.splits]


def write_order(kinds: list[SplitKind[Any]]) -> list[SplitKind[Any]]:
    """The order both passes visit splits in: general chat last (its ratio counts the agent rows,
    and its shard rows carry build meta that an aligned copy made after them would inherit)."""
    return sorted(kinds, key=lambda k: k.general)


__all__ = ["KINDS", "Agent", "FormatFollowing", "General", "Merging", "Negatives", "Offered", "Scanning", "SplitKind", "kinds_of", "write_order"]
