"""The scan pass of a build, folded: one task per input file (:func:`plan_tasks`), run inline or
in a process pool (:func:`run_tasks`), and their results merged in task order into one
:class:`Collected` as they arrive, so memory does not grow with the number of files."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentflan.errors import ConfigError, InputError
from agentflan.io import expand_paths
from agentflan.recipe.config import Recipe
from agentflan.recipe.format_following import CallExample
from agentflan.recipe.kinds import kinds_of
from agentflan.recipe.negatives import ChatPair, ToolSet
from agentflan.recipe.scan import Context, Task, TaskResult, init_worker, run_task, scan
from agentflan.recipe.split import BottomK
from agentflan.sources.tool_queries import ToolQuery

#: up to this many input files are listed one by one in the manifest; beyond, a digest of the list
LIST_FILES = 200


def plan_tasks(recipe: Recipe) -> list[Task]:
    """One task per input file of every source a split uses, in recipe order."""
    from agentflan.sources.hub import saved_dataset_split

    used = {name for kind in kinds_of(recipe) for name in kind.source_names()}
    tasks: list[Task] = []
    for name, source in recipe.sources.items():
        if name not in used:
            continue
        for spec in source.specs:
            if spec.startswith("hf://") or saved_dataset_split(spec) is not None:
                files = [spec]
            else:
                try:
                    files = [str(p) for p in expand_paths(spec)]
                except InputError as exc:
                    raise ConfigError(f"source {name!r}: {exc}") from None
            base = len(tasks)
            tasks.extend(Task(base + i, name, f) for i, f in enumerate(files))
    return tasks


def run_tasks(tasks: Sequence[Task], ctx: Context, workers: int, progress: bool) -> Collected:
    """Run every task (a pool with ``workers > 1``, inline otherwise) and fold the results in
    task order into one :class:`Collected` as they arrive (memory does not grow with the files)."""
    collected = Collected(ctx.recipe)
    tick = close = _nothing
    if progress:  # tqdm costs ~30 ms to import; a quiet build does not pay it
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="file", desc="read", leave=False)
        tick, close = bar.update, bar.close
    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                collected.add(_checked(scan(task, ctx)))
                tick()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor  # with multiprocessing: only for a pool

            mp = multiprocessing.get_context("spawn")
            chunk = max(1, min(64, len(tasks) // (workers * 8)))
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=init_worker, initargs=(ctx, os.getpid())) as pool:
                for result in pool.map(run_task, tasks, chunksize=chunk):
                    collected.add(_checked(result))
                    tick()
    finally:
        close()
    return collected


def _nothing() -> None:
    """The progress bar's calls when there is no bar."""


@dataclass(slots=True)
class SourceTotals:
    files: int = 0
    bytes: int = 0
    conversations: int = 0
    kept: int = 0
    rejected: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    listing: Any = field(default_factory=hashlib.sha256)
    file_list: list[dict[str, Any]] = field(default_factory=list)


class Collected:
    """What the scan pass found, folded task by task: totals per source, the task indexes that
    wrote shards per split, and the merged candidate samples."""

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.sources: dict[str, SourceTotals] = {}
        self.rows: Counter[str] = Counter()
        self.shards: dict[str, list[int]] = {}
        self.rejected_tasks: list[int] = []
        self.examples: dict[str, BottomK[CallExample]] = {}
        self.queries: dict[str, BottomK[ToolQuery]] = {}
        self.chats: dict[str, BottomK[ChatPair]] = {}
        self.toolsets: dict[str, BottomK[ToolSet]] = {}
        self.general_hashes: dict[str, list[float]] = {}
        #: trajectory key -> source of each chat a negatives split answers (planned or made): the
        #: general splits, planned and written last, leave those chats out
        self.negative_chats: dict[str, str] = {}

    def add(self, r: TaskResult) -> None:
        totals = self.sources.setdefault(r.source, SourceTotals())
        if r.file is not None:
            totals.files += 1
            totals.bytes += r.file["bytes"] or 0
            totals.listing.update(f"{r.file['path']}\t{r.file['sha256']}\n".encode())
            if len(totals.file_list) <= LIST_FILES:
                totals.file_list.append(r.file)
        totals.conversations += r.read
        totals.kept += r.kept
        totals.rejected += r.rejected
        totals.filtered.update(r.filtered)
        if r.rejected:
            self.rejected_tasks.append(r.index)
        for split, n in r.rows.items():
            self.rows[split] += n
            if n:
                self.shards.setdefault(split, []).append(r.index)
        for mine, theirs in ((self.examples, r.examples), (self.queries, r.queries), (self.chats, r.chats), (self.toolsets, r.toolsets)):
            for split, sample in theirs.items():
                if split in mine:
                    mine[split].merge(sample)  # type: ignore[arg-type]
                else:
                    mine[split] = sample  # type: ignore[assignment]
        for split, hashes in r.general_hashes.items():
            self.general_hashes.setdefault(split, []).extend(hashes)

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.sources.values())


def _checked(result: TaskResult) -> TaskResult:
    if result.error is not None:
        location, reason, field_name = result.error
        raise InputError(location, reason, field_name)
    return result
