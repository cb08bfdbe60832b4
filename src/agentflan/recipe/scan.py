"""One unit of build work: read one input file, rewrite what the splits take from it, sample
candidates. Runs in a worker process (``--workers N``) or inline; results are merged in file
order, and every choice here is keyed by content and seed, so N workers give the output of one.

A task writes the rows of each agent/general split into its own shard file (memory stays flat
however large the file) and returns counts plus the small fixed-size candidate samples of the
format-following and negative splits.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentflan.batch import OnError, Rejects
from agentflan.conversation import FINISH_TOOL, Conversation, Tool
from agentflan.errors import InputError, Location
from agentflan.jsonutil import dumps_bytes
from agentflan.locking import die_with_parent
from agentflan.recipe.config import Recipe
from agentflan.recipe.format_following import CallExample
from agentflan.recipe.kinds import Offered, kinds_of, write_order
from agentflan.recipe.negatives import ChatPair, ToolSet
from agentflan.recipe.phrasings import Phrasings
from agentflan.recipe.split import BottomK, trajectory_key
from agentflan.recipe.trajectory import (
    Event,
    StepError,
    ends_with_answer,
    events,
    full_trajectories,
    has_thoughts,
)
from agentflan.sources.tool_queries import ToolQuery
from agentflan.writers import RecordWriter, get_writer
from agentflan.writers.loss import masked_turns

HUB = "hf://"


@dataclass(frozen=True, slots=True)
class Task:
    index: int
    source: str
    spec: str


@dataclass(slots=True)
class TaskResult:
    index: int
    source: str
    spec: str
    file: dict[str, Any] | None = None
    read: int = 0
    kept: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    examples: dict[str, BottomK[CallExample]] = field(default_factory=dict)
    queries: dict[str, BottomK[ToolQuery]] = field(default_factory=dict)
    chats: dict[str, BottomK[ChatPair]] = field(default_factory=dict)
    toolsets: dict[str, BottomK[ToolSet]] = field(default_factory=dict)
    general_hashes: dict[str, list[float]] = field(default_factory=dict)
    #: (location, reason, field) of the error that stopped the task (``--on-error fail``)
    error: tuple[str, str, str | None] | None = None


@dataclass(slots=True)
class Context:
    """What every task needs; sent to each worker once."""

    recipe: Recipe
    phrasings: Phrasings
    work: Path
    on_error: OnError
    dry_run: bool = False


def shard_path(work: Path, split: str, index: int) -> Path:
    return work / "shards" / split / f"{index:06d}.jsonl"


def rejects_path(work: Path, index: int) -> Path:
    return work / "rejects" / f"{index:06d}.jsonl"


_CONTEXT: Context | None = None


def init_worker(context: Context, parent: int) -> None:
    global _CONTEXT
    die_with_parent(parent)
    _CONTEXT = context


def run_task(task: Task) -> TaskResult:
    assert _CONTEXT is not None, "init_worker was not called"
    return scan(task, _CONTEXT)


def scan(task: Task, ctx: Context) -> TaskResult:
    """Read one file of one source and do everything the recipe's splits need from it."""
    result = TaskResult(task.index, task.source, task.spec)
    rejects = Rejects(None if ctx.dry_run else rejects_path(ctx.work, task.index), ctx.on_error)
    shards = _Shards(ctx.work, task.index, ctx.dry_run)
    try:
        with rejects, shards:
            result.file = _describe_file(task.spec)
            _Scanner(task, ctx, result, rejects, shards).run()
    except InputError as exc:
        result.error = (str(exc.location), exc.reason, exc.field)
    result.rejected = rejects.stats.rejected
    result.filtered.update(rejects.stats.unused)  # what the reader passed over, by why, beside the filters
    return result


class _Shards:
    """Per-split shard files of one task, opened on first use."""

    def __init__(self, work: Path, index: int, dry_run: bool):
        self.work, self.index, self.dry_run = work, index, dry_run
        self._files: dict[str, IO[bytes]] = {}

    def write(self, split: str, conv: Conversation) -> None:
        if self.dry_run:
            return
        fh = self._files.get(split)
        if fh is None:
            path = shard_path(self.work, split, self.index)
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self._files[split] = path.open("wb")
        fh.write(dumps_bytes(conv.to_dict()))
        fh.write(b"\n")

    def __enter__(self) -> _Shards:
        return self

    def __exit__(self, *exc: object) -> None:
        for fh in self._files.values():
            fh.close()


class _Scanner:
    """One input file through every split that reads its source (a :class:`Scanning`)."""

    def __init__(self, task: Task, ctx: Context, result: TaskResult, rejects: Rejects, shards: _Shards):
        self.task, self.result, self.rejects, self.shards = task, result, rejects, shards
        self.recipe, self.phrasings, self.dry_run = ctx.recipe, ctx.phrasings, ctx.dry_run
        self.source = task.source
        self.config = ctx.recipe.sources[task.source]
        self.extra_tools = [Tool.from_dict(t) for t in self.config.tools or ()]
        self.kinds = [k for k in write_order(kinds_of(ctx.recipe)) if task.source in k.source_names()]
        self.needs_events = self.config.filter.final_answer or self.config.filter.thoughts != "any" or any(k.needs_events(task.source) for k in self.kinds)
        self.writers = {
            k.name: [w for w in map(get_writer, ctx.recipe.formats_of(k.spec)) if isinstance(w, RecordWriter) and w.can_refuse]
            for k in self.kinds
        }
        for kind in self.kinds:
            kind.start(result, ctx.recipe)

    def run(self) -> None:
        limit = self.config.filter.limit
        for location, conv in self._conversations():
            if limit is not None and self.result.read >= limit:
                break
            self.result.read += 1
            try:
                self._one(location, conv)
            except StepError as exc:
                self.rejects.handle(InputError(location, exc.reason, exc.field), conv.to_dict())

    def _conversations(self) -> Iterator[tuple[Location, Conversation]]:
        from agentflan.sources import iter_located

        located = iter_located(self.task.spec, self.config.format, rejects=self.rejects)
        for item in full_trajectories(located, conversation=lambda x: x.conversation):
            conv = item.conversation
            if self.extra_tools and not conv.tools:
                conv.tools = list(self.extra_tools)
            yield item.location, conv

    def _one(self, location: Location, conv: Conversation) -> None:
        flt = self.config.filter
        calls = any(True for _ in conv.iter_tool_calls())
        if flt.tool_calls is not None and calls != flt.tool_calls:
            self.result.filtered["calls a tool" if calls else "calls no tool"] += 1
            return
        if flt.known_tools and conv.tools and _calls_unknown_tool(conv):
            self.result.filtered["calls a tool it does not offer"] += 1
            return
        evs: list[Event] | None = None
        if self.needs_events or flt.parses:
            try:
                evs = events(conv)
            except StepError:
                if not flt.parses:
                    raise
                self.result.filtered["does not parse"] += 1
                return
        if flt.final_answer and evs is not None and not ends_with_answer(evs):
            self.result.filtered["no final answer"] += 1
            return
        if evs is not None and not has_thoughts(evs, flt.thoughts):
            self.result.filtered[f"a step without a thought ({flt.thoughts})"] += 1
            return
        self.result.kept += 1
        item = Offered(conv, evs, trajectory_key(conv), conv.id, location)
        for kind in self.kinds:
            kind.offer(item, self)

    def write(self, split: str, conv: Conversation, item: Offered) -> bool:
        if self.dry_run:
            return True
        if not self._writable(split, conv, item.location):
            return False
        conv.meta = {**conv.meta, "origin_id": item.origin, "trajectory_key": item.key, "recipe_source": self.source}
        self.shards.write(split, conv)
        return True

    def _writable(self, split: str, conv: Conversation, location: Location) -> bool:
        """Every output format of ``split`` can express the row; else it is rejected here, where its
        source file and line are known (the merge only sees it under a generated id)."""
        for writer in self.writers[split]:
            try:
                if not writer.carries_turn_loss and not self.recipe.drop_loss_masks and (masked := masked_turns(conv)):
                    raise InputError(location, f"{masked} assistant turns have loss: false and {writer.name} trains every assistant turn; set drop_loss_masks: true in the recipe to train them anyway", "messages")
                writer.encode(conv)
            except InputError as exc:
                self.rejects.handle(InputError(location, f"split {split!r}, format {writer.name}: {exc.reason}", exc.field), conv.to_dict())
                return False
        return True


def _calls_unknown_tool(conv: Conversation) -> bool:
    offered = conv.tool_names() | {FINISH_TOOL}
    return any(c.name not in offered for c in conv.iter_tool_calls())


def _describe_file(spec: str) -> dict[str, Any]:
    """Path, size and sha256 of a local input file (hub datasets are named, not hashed)."""
    if spec.startswith(HUB):
        return {"path": spec, "bytes": None, "sha256": None}
    path = Path(spec)
    if path.is_dir():  # a save_to_disk folder
        return {"path": spec, "bytes": None, "sha256": None}
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"path": spec, "bytes": size, "sha256": h.hexdigest()}
