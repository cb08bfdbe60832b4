"""The Agent-FLAN data recipe: each step a pure, seeded transform over conversations, composed by
a recipe file (:func:`load_recipe`, :func:`build`) or used on its own from Python:

- :func:`align` rewrites a trajectory in a style (``tflan``, ``cot``, ``react``, ``json``);
- :func:`balance` / :class:`Balancer` keep each capability's supervised spans at a ratio;
- :func:`split` / :func:`assign` make disjoint seeded parts, :func:`sample` fixed-size samples;
- :func:`format_following_rows` makes the ``instruct_j1s1`` set from :func:`call_examples`;
- :func:`negatives` makes the negative samples, :func:`mix` adds general chat.
"""

from agentflan.recipe.align import STYLES, AlignOptions, align
from agentflan.recipe.balance import PRESETS, Balancer, balance
from agentflan.recipe.build import build
from agentflan.recipe.config import Recipe, load_recipe
from agentflan.recipe.format_following import call_examples, format_following_rows
from agentflan.recipe.mix import mix
from agentflan.recipe.negatives import contains_tool_call, negatives
from agentflan.recipe.phrasings import Phrasings, load_phrasings
from agentflan.recipe.plan import dry_run, format_plan
from agentflan.recipe.split import assign, sample, split, trajectory_key
from agentflan.recipe.trajectory import events, full_trajectories

__all__ = [
    "PRESETS",
    "STYLES",
    "AlignOptions",
    "Balancer",
    "Phrasings",
    "Recipe",
    "align",
    "assign",
    "balance",
    "build",
    "call_examples",
    "contains_tool_call",
    "dry_run",
    "events",
    "format_following_rows",
    "format_plan",
    "full_trajectories",
    "load_phrasings",
    "load_recipe",
    "mix",
    "negatives",
    "sample",
    "split",
    "trajectory_key",
]
