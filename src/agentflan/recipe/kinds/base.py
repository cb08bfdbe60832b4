"""A split kind is one class with the three things a build does with a split: *offer* (the scan
pass hands it each kept conversation of a source it reads), *plan* (the dry run's counts) and
*rows* (the merge pass makes its output rows, once, for every output format).

The build, the scan and the dry run ask the split's kind; none of them dispatches on the type
of the split's configuration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from agentflan.conversation import Conversation
from agentflan.errors import Location
from agentflan.jsonutil import loads
from agentflan.recipe.config import Recipe, SplitSpec
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.split import BottomK
from agentflan.recipe.tokens import TokenCounter
from agentflan.recipe.trajectory import Event

if TYPE_CHECKING:
    from agentflan.generation.base import Backend
    from agentflan.recipe.collect import Collected
    from agentflan.recipe.manifest import SplitReport
    from agentflan.recipe.scan import TaskResult

S = TypeVar("S", bound=SplitSpec)


@dataclass(slots=True)
class Offered:
    """One kept conversation of the scan pass, as every kind sees it."""

    conv: Conversation
    #: its parsed steps (None when no split reading this source needs them)
    events: list[Event] | None
    #: its content key (:func:`agentflan.recipe.split.trajectory_key`)
    key: str
    #: the id it came with, before any split renames it
    origin: str
    #: where it was read (file and line or record), for a row a split must reject
    location: Location


class Scanning(Protocol):
    """What the scan pass of one input file gives a kind."""

    source: str
    result: TaskResult
    recipe: Recipe
    phrasings: Phrasings
    dry_run: bool

    def write(self, split: str, conv: Conversation, item: Offered) -> bool:
        """Append ``conv`` (a row of ``split``) to this file's shard of the split; False when one
        of the split's output formats cannot express it (it went to the rejects instead)."""


@dataclass(slots=True)
class Merging:
    """What the merge pass gives a kind to make its rows."""

    recipe: Recipe
    phrasings: Phrasings
    collected: Collected
    work: Path
    count: TokenCounter
    generator: Backend | None = None
    #: rows of the agent (non-general) splits written so far
    agent_rows: int = 0

    def shard_rows(self, split: str) -> Iterator[Conversation]:
        """The rows the scan pass wrote for ``split``, in file order."""
        from agentflan.recipe.scan import shard_path

        for index in self.collected.shards.get(split, ()):
            with shard_path(self.work, split, index).open("rb") as fh:
                for line in fh:
                    yield Conversation.from_dict(loads(line))


class SplitKind(ABC, Generic[S]):
    """One split of a recipe, with its configuration ``spec``."""

    #: general chat is measured against the agent rows, so it is written after them
    general: ClassVar[bool] = False

    def __init__(self, spec: S, recipe: Recipe):
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def source_names(self) -> list[str]:
        """Every source this split reads."""
        return [name for refs in self.spec.source_refs().values() for name in refs]

    def needs_events(self, source: str) -> bool:
        """Whether the scan must parse the steps of ``source``'s conversations for this split."""
        return False

    def start(self, result: TaskResult, recipe: Recipe) -> None:
        """Make this split's empty samples in one file's result (before any offer)."""

    @abstractmethod
    def offer(self, item: Offered, scan: Scanning) -> None:
        """Take what this split needs from one kept conversation of a source it reads."""

    @abstractmethod
    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        """The dry run's entry: what the split would hold (always with ``rows``)."""

    @abstractmethod
    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        """The split's output rows, counted into ``report`` as they go (made once)."""


def sample_of(samples: dict[str, BottomK[Any]], split: str) -> BottomK[Any]:
    """The merged sample of ``split`` (empty when no file offered one)."""
    return samples.get(split) or BottomK(0, "")


def offered(samples: dict[str, BottomK[Any]], split: str) -> int:
    sample = samples.get(split)
    return 0 if sample is None else int(sample.offered)


def tagged_row(conv: Conversation, report: SplitReport, count: TokenCounter) -> None:
    """Count a made row (not balanced: its spans are kept as tagged)."""
    report.capabilities.add_unchanged(conv, count)
    report.count(conv)

