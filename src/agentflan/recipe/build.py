"""``agentflan build``: a recipe -> one file per split and ``manifest.json`` (the command then adds the data card).

Three passes, all streaming:

1. *scan* (parallel over input files with ``workers > 1``): each file is read once; agent and
   general rows go to per-file shards, candidates for the format-following and negative
   splits are sampled (fixed-size, order-free samples);
2. *merge* (sequential, in file order): shards are concatenated, balanced (a sequential,
   seeded pass) and written by the writers in every requested format; the sampled
   candidates become the format-following and negative rows;
3. *report*: the manifest (inputs with sha256, counts per split and source, supervised tokens
   per capability before/after balancing, seeds, versions), from which :mod:`agentflan.report`
   draws the data card once the build has returned.

Everything lands in a temp folder that replaces ``out`` only when the build succeeded.
Same inputs + seed give byte-identical outputs for any number of workers.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentflan.batch import OnError
from agentflan.conversation import CAPABILITIES, Conversation
from agentflan.errors import ConfigError, InputError
from agentflan.io import atomic_dir, atomic_open, expand_paths, write_json
from agentflan.jsonutil import dumps_bytes, loads
from agentflan.locking import output_lock
from agentflan.recipe.balance import Balancer
from agentflan.recipe.config import AgentSplit, FormatFollowingSplit, GeneralSplit, NegativesSplit, Recipe
from agentflan.recipe.format_following import CallExample, format_following_rows
from agentflan.recipe.mix import general_quota
from agentflan.recipe.negatives import ChatPair, ToolQuery, ToolSet, distinct_chats, negatives, planned
from agentflan.recipe.phrasings import Phrasings, load_phrasings
from agentflan.recipe.scan import (
    Context,
    Task,
    TaskResult,
    init_worker,
    rejects_path,
    run_task,
    scan,
    shard_path,
)
from agentflan.recipe.split import BottomK, unit_hash
from agentflan.recipe.tags import CapabilityStats
from agentflan.recipe.tokens import TokenCounter, make_counter

if TYPE_CHECKING:
    from agentflan.generation.base import Backend

#: up to this many input files are listed one by one in the manifest; beyond, a digest of the list
LIST_FILES = 200
#: file suffix per output format (hf-dataset writes a folder)
SUFFIX = {"hf-dataset": "", "parquet": ".parquet"}


@dataclass(slots=True)
class SplitReport:
    name: str
    kind: str
    rows: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    turns: Counter[int] = field(default_factory=Counter)
    capabilities: CapabilityStats = field(default_factory=CapabilityStats)
    producers: Counter[str] = field(default_factory=Counter)
    #: what wrote each row's reply (negatives), by row id
    row_producers: dict[str, str] = field(default_factory=dict)
    dropped: int = 0
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, conv: Conversation) -> None:
        self.rows += 1
        self.by_source[str(conv.meta.get("recipe_source", conv.source or "?"))] += 1
        self.turns[len(conv.messages)] += 1

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "rows": self.rows,
            "by_source": dict(sorted(self.by_source.items())),
            "turns_per_row": {str(k): v for k, v in sorted(self.turns.items())},
            "capabilities": self.capabilities.to_dict(),
            "files": self.files,
        }
        if self.producers:
            d["producers"] = dict(sorted(self.producers.items()))
            d["row_producers"] = self.row_producers
        if self.dropped:
            d["dropped_by_balancing"] = self.dropped
        if self.notes:
            d["notes"] = self.notes
        return d


def plan_tasks(recipe: Recipe) -> list[Task]:
    """One task per input file of every source a split uses, in recipe order."""
    from agentflan.sources.hub import is_saved_dataset

    used: set[str] = set()
    for s in recipe.splits:
        used.update(s.tool_sources + s.chat_sources if isinstance(s, NegativesSplit) else s.sources)
    tasks: list[Task] = []
    for name, source in recipe.sources.items():
        if name not in used:
            continue
        for spec in source.specs:
            if spec.startswith("hf://") or is_saved_dataset(Path(spec)):
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
    from tqdm import tqdm

    collected = Collected(ctx.recipe)
    bar = tqdm(total=len(tasks), unit="file", desc="read", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                collected.add(_checked(scan(task, ctx)))
                bar.update()
        else:
            import multiprocessing

            mp = multiprocessing.get_context("spawn")
            chunk = max(1, min(64, len(tasks) // (workers * 8)))
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=init_worker, initargs=(ctx, os.getpid())) as pool:
                for result in pool.map(run_task, tasks, chunksize=chunk):
                    collected.add(_checked(result))
                    bar.update()
    finally:
        bar.close()
    return collected


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


def build(
    recipe: Recipe,
    out: str | Path,
    *,
    workers: int = 1,
    on_error: OnError | str = OnError.FAIL,
    progress: bool = False,
    generator: Backend | None = None,
    recipe_path: str | Path | None = None,
) -> dict[str, Any]:
    """Build every split of ``recipe`` into ``out`` (replaced as a whole on success); the manifest.

    ``generator`` writes the negative replies of every negatives split (overriding the
    recipe's ``generator``); without either, replies come from the offline sources."""
    phrasings = load_phrasings(recipe.phrasings)
    count, counter_name = make_counter(recipe.tokenizer)
    _check_formats(recipe)
    tasks = plan_tasks(recipe)
    out = Path(out)
    # The lock refuses a concurrent build of this folder, so staging left by a killed one can go.
    with output_lock(out, f"build {recipe_path or ''}".rstrip()), atomic_dir(out, remove_stale=True) as staging:
        work = staging / "_work"
        ctx = Context(recipe, phrasings, work, OnError(on_error))
        collected = run_tasks(tasks, ctx, workers, progress)
        merger = _Merger(recipe, phrasings, collected, work, staging, count, progress, generator)
        # general splits go last: a ratio is relative to all the agent rows
        order = sorted(recipe.splits, key=lambda sp: isinstance(sp, GeneralSplit))
        done = {split.name: merger.write(split) for split in order}
        reports = [done[split.name] for split in recipe.splits]
        _merge_rejects(collected, work, staging)
        manifest = _manifest(recipe, recipe_path, phrasings, counter_name, collected, reports, OnError(on_error))
        write_json(staging / "manifest.json", manifest)
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _check_formats(recipe: Recipe) -> None:
    from agentflan.writers import writer_names

    known = writer_names()
    for s in recipe.splits:
        for fmt in recipe.formats_of(s):
            if fmt not in known:
                raise ConfigError(f"split {s.name!r}: unknown output format {fmt!r}; known: {', '.join(known)}")


def output_path(root: Path, split: str, fmt: str, first: bool) -> Path:
    name = split + SUFFIX.get(fmt, ".jsonl")
    return root / name if first else root / fmt / name


class _Merger:
    def __init__(
        self,
        recipe: Recipe,
        phrasings: Phrasings,
        collected: Collected,
        work: Path,
        staging: Path,
        count: TokenCounter,
        progress: bool,
        generator: Backend | None,
    ):
        self.recipe, self.phrasings, self.collected = recipe, phrasings, collected
        self.work, self.staging, self.count, self.progress, self.generator = work, staging, count, progress, generator
        self.agent_rows = 0
        #: chats a negatives split answered: the general splits (written last) leave them out
        self.negative_chats: set[str] = set()

    def write(self, split: Any) -> SplitReport:
        from tqdm import tqdm

        from agentflan.writers import write
        from agentflan.writers.agentflan import with_tools_shown

        report = SplitReport(split.name, split.kind)
        source = self._rows(split, report)
        formats = self.recipe.formats_of(split)
        for i, fmt in enumerate(formats):
            path = output_path(self.staging, split.name, fmt, first=i == 0)
            rows = map(with_tools_shown, source(i == 0))
            bar = tqdm(rows, unit="row", desc=f"{split.name} ({fmt})", disable=not self.progress, leave=False)
            write(bar, path, fmt)
            bar.close()
            report.files[fmt] = path.relative_to(self.staging).as_posix()
        if not isinstance(split, GeneralSplit):
            self.agent_rows += report.rows
        return report

    # Each _rows returns a factory: called once per output format, it replays the same rows;
    # only the first call counts them into the report.

    def _rows(self, split: Any, report: SplitReport) -> Callable[[bool], Iterator[Conversation]]:
        if isinstance(split, AgentSplit):
            return lambda first: self._agent(split, report if first else None)
        if isinstance(split, FormatFollowingSplit):
            return lambda first: self._format_following(split, report if first else None)
        if isinstance(split, NegativesSplit):
            spool = self._negatives(split, report)
            return lambda first: self._spooled(spool)
        assert isinstance(split, GeneralSplit)
        return lambda first: self._general(split, report if first else None)

    def _shard_rows(self, name: str) -> Iterator[Conversation]:
        for index in self.collected.shards.get(name, ()):
            with shard_path(self.work, name, index).open("rb") as fh:
                for line in fh:
                    yield Conversation.from_dict(loads(line))

    def _agent(self, split: AgentSplit, report: SplitReport | None) -> Iterator[Conversation]:
        count = self.count if report is not None else _zero
        balancer = None
        if split.balance is not None:
            balancer = Balancer(split.balance.resolved(), mode=split.balance.mode, seed=f"{self.recipe.seed}|{split.name}", count=count)
        stats = balancer.stats if balancer is not None else CapabilityStats()
        i = 0
        for conv in self._shard_rows(split.name):
            if balancer is not None:
                kept = balancer(conv)
                if kept is None:
                    continue
            elif report is not None:
                stats.add_before(conv, count)
                stats.add_after(conv, count)
            conv.id = f"{split.name}_{i}"
            i += 1
            if report is not None:
                report.count(conv)
            yield conv
        if report is not None:
            report.capabilities = stats
            report.dropped = balancer.dropped if balancer is not None else 0

    def _format_following(self, split: FormatFollowingSplit, report: SplitReport | None) -> Iterator[Conversation]:
        merged = self.collected.examples.get(split.name) or BottomK(split.n, "")
        if report is not None and len(merged) < split.n:
            report.notes.append(f"asked for {split.n} rows; the sources hold {len(merged)} usable calls (a thought and one call)")
        rows = format_following_rows(merged.items(), self.phrasings, f"{self.recipe.seed}|{split.name}", json_share=split.json_share)
        for i, conv in enumerate(rows):
            conv.id = f"{split.name}_{i}"
            if report is not None:
                report.capabilities.add_before(conv, self.count)
                report.capabilities.add_after(conv, self.count)
                report.count(conv)
            yield conv

    def _negatives(self, split: NegativesSplit, report: SplitReport) -> Path:
        """Negatives may come from a generator (slow, not replayable): they are made once, spooled."""
        seed = self.recipe.seed
        queries = self.collected.queries.get(split.name) or BottomK[ToolQuery](0, "")
        chats = self.collected.chats.get(split.name) or BottomK[ChatPair](0, "")
        toolsets = self.collected.toolsets.get(split.name) or BottomK[ToolSet](0, "")
        generator, owned = self._generator(split)
        sampling = None
        if split.generator is not None or generator is not None:
            from agentflan.generation.base import Sampling

            cfg = split.generator
            sampling = Sampling(max_new_tokens=cfg.max_new_tokens if cfg else 512, temperature=cfg.temperature if cfg else 0.0, seed=seed)
        spool = self.work / "final" / f"{split.name}.jsonl"
        spool.parent.mkdir(parents=True, exist_ok=True)
        made = Counter[str]()
        try:
            rows = negatives(
                queries.items(),
                chats.items(),
                toolsets.items(),
                self.phrasings,
                f"{seed}|{split.name}",
                n_no_tools=split.n_no_tools,
                n_chat=split.n_chat,
                generator=generator,
                sampling=sampling,
            )
            with spool.open("wb") as fh:
                for i, neg in enumerate(rows):
                    conv = neg.conversation
                    conv.id = f"{split.name}_{i}"
                    made[neg.kind] += 1
                    if "trajectory_key" in conv.meta:
                        self.negative_chats.add(str(conv.meta["trajectory_key"]))
                    report.producers[neg.producer] += 1
                    report.row_producers[conv.id] = neg.producer
                    report.capabilities.add_before(conv, self.count)
                    report.capabilities.add_after(conv, self.count)
                    report.count(conv)
                    fh.write(dumps_bytes(conv.to_dict()))
                    fh.write(b"\n")
        finally:
            if owned and generator is not None:
                generator.close()
        for kind, asked in (("no_tools", split.n_no_tools), ("chat_with_tools", split.n_chat)):
            if made[kind] < asked:
                report.notes.append(f"{kind}: asked for {asked} rows, made {made[kind]} (not enough candidates in the sources)")
        return spool

    def _generator(self, split: NegativesSplit) -> tuple[Backend | None, bool]:
        if self.generator is not None:
            return self.generator, False
        if split.generator is None:
            return None, False
        from agentflan.generation.backends import make_backend

        cfg = split.generator
        return make_backend(cfg.backend, cfg.model, **cfg.options), True

    def _spooled(self, spool: Path) -> Iterator[Conversation]:
        with spool.open("rb") as fh:
            for line in fh:
                yield Conversation.from_dict(loads(line))

    def _general(self, split: GeneralSplit, report: SplitReport | None) -> Iterator[Conversation]:
        quota = general_quota(self.agent_rows, split.ratio)
        hashes = sorted(self.collected.general_hashes.get(split.name, ()))
        threshold = 1.0 if quota is None or quota >= len(hashes) else (hashes[quota - 1] if quota > 0 else -1.0)
        seed = f"{self.recipe.seed}|{split.name}"
        i = 0
        for conv in self._shard_rows(split.name):
            if quota is not None and unit_hash(seed, str(conv.meta.get("trajectory_key"))) > threshold:
                continue
            if conv.meta.get("trajectory_key") in self.negative_chats:
                if report is not None:
                    report.notes.append(f"left out {conv.meta.get('origin_id')}: its opening is a negative row")
                continue
            conv.id = f"{split.name}_{i}"
            i += 1
            if report is not None:
                report.capabilities.add_after(conv, self.count)
                report.count(conv)
            yield conv
        if report is not None and quota is not None and quota > len(hashes):
            report.notes.append(f"ratio {split.ratio} asks for {quota} rows; the sources hold {len(hashes)}")


def _zero(text: str) -> int:
    return 0


def _merge_rejects(collected: Collected, work: Path, staging: Path) -> None:
    if not collected.rejected_tasks:
        return
    with atomic_open(staging / "rejects.jsonl", "wb", encoding=None) as out:
        for index in collected.rejected_tasks:
            path = rejects_path(work, index)
            if path.is_file():
                with path.open("rb") as fh:
                    shutil.copyfileobj(fh, out)


# --------------------------------------------------------------------------- manifest


def _manifest(
    recipe: Recipe,
    recipe_path: str | Path | None,
    phrasings: Phrasings,
    counter_name: str,
    collected: Collected,
    reports: list[SplitReport],
    on_error: OnError,
) -> dict[str, Any]:
    totals = CapabilityStats()
    for rep in reports:
        totals.merge(rep.capabilities)
    recipe_info: dict[str, Any] = {"name": recipe.name, "config": recipe.model_dump(mode="json")}
    if recipe_path is not None:
        recipe_info["path"] = str(recipe_path)
        recipe_info["sha256"] = hashlib.sha256(Path(recipe_path).read_bytes()).hexdigest()
    return {
        "agentflan_build": 1,
        "recipe": recipe_info,
        "seed": recipe.seed,
        "seeds": {
            "recipe": recipe.seed,
            "how": "every choice hashes '<seed>|<split or group>|<content key>': phrasings, split parts, samples, balancing urns",
        },
        "on_error": on_error.value,
        "token_counter": counter_name,
        "phrasings": {"sha256": phrasings.digest, "files": phrasings.origins},
        "inputs": _inputs(recipe, collected),
        "rejected": collected.rejected,
        "splits": {rep.name: rep.to_dict() for rep in reports},
        "rows": sum(rep.rows for rep in reports),
        "capabilities": totals.to_dict(),
        "versions": _versions(),
    }


def _inputs(recipe: Recipe, collected: Collected) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, source in recipe.sources.items():
        t = collected.sources.get(name)
        if t is None:
            continue
        entry: dict[str, Any] = {
            "specs": source.specs,
            "format": source.format,
            "files": t.files,
            "bytes": t.bytes,
            "conversations": t.conversations,
            "kept": t.kept,
            "filtered": dict(sorted(t.filtered.items())),
            "rejected": t.rejected,
            "sha256_of_listing": t.listing.hexdigest(),
        }
        if t.files <= LIST_FILES:
            entry["file_list"] = t.file_list
        out[name] = entry
    return out


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from agentflan import __version__

    found = {"agentflan": __version__, "python": platform.python_version()}
    for dist in ("orjson", "pydantic", "pyyaml", "matplotlib"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


# --------------------------------------------------------------------------- dry run


def dry_run(recipe: Recipe, *, workers: int = 1, on_error: OnError | str = OnError.FAIL, progress: bool = False) -> dict[str, Any]:
    """The plan with counts: inputs read and filtered, and the rows each split would get."""
    import tempfile

    phrasings = load_phrasings(recipe.phrasings)
    _check_formats(recipe)
    tasks = plan_tasks(recipe)
    with tempfile.TemporaryDirectory(prefix="agentflan-plan-") as tmp:
        ctx = Context(recipe, phrasings, Path(tmp), OnError(on_error), dry_run=True)
        collected = run_tasks(tasks, ctx, workers, progress)
    splits: dict[str, Any] = {}
    agent_rows = 0
    answered: list[tuple[str, str]] = []
    for s in sorted(recipe.splits, key=lambda sp: isinstance(sp, GeneralSplit)):
        info: dict[str, Any] = {"kind": s.kind, "formats": recipe.formats_of(s)}
        if isinstance(s, AgentSplit):
            info.update(style=s.style, sources=s.sources, rows=collected.rows[s.name])
            if s.share:
                info["share"] = f"{s.share.fraction:g} of group {s.share.group}"
            if s.balance:
                info["balance"] = {"mode": s.balance.mode, "ratios": s.balance.resolved()}
        elif isinstance(s, FormatFollowingSplit):
            offered = _offered(collected.examples, s.name)
            info.update(sources=s.sources, candidates=offered, rows=min(s.n, offered))
        elif isinstance(s, NegativesSplit):
            queries = _offered(collected.queries, s.name)
            chats = _offered(collected.chats, s.name)
            toolsets = _offered(collected.toolsets, s.name)
            chat_items = _items(collected.chats, s.name)
            rows = planned(_items(collected.queries, s.name), chat_items, toolsets > 0, n_no_tools=s.n_no_tools, n_chat=s.n_chat)
            if toolsets:
                answered += [(c.source, c.key) for c in distinct_chats(chat_items, s.n_chat)]
            info.update(no_tools_candidates=queries, chat_candidates=chats, rows=rows)
            info["replies"] = f"generator {s.generator.backend}:{s.generator.model}" if s.generator else "offline (templates, chat data)"
        else:
            total = collected.rows[s.name]
            quota = general_quota(agent_rows, s.ratio)
            hashes = sorted(collected.general_hashes.get(s.name, ()))
            threshold = 1.0 if quota is None or quota >= len(hashes) else (hashes[quota - 1] if quota > 0 else -1.0)
            seed = f"{recipe.seed}|{s.name}"
            # the build leaves out the chats whose opening a negatives split answered
            # (a repeated conversation shares its key, so each copy goes)
            copies = Counter(hashes)
            gone = sum(copies[h] for src, key in dict.fromkeys(answered) if src in s.sources and (h := unit_hash(seed, key)) <= threshold)
            info.update(sources=s.sources, available=total, rows=(total if quota is None else min(quota, total)) - gone)
        if not isinstance(s, GeneralSplit):
            agent_rows += info["rows"]
        splits[s.name] = info
    splits = {s.name: splits[s.name] for s in recipe.splits}
    return {"recipe": recipe.name, "seed": recipe.seed, "inputs": _inputs(recipe, collected), "splits": splits}


def _items(samples: dict[str, Any], split: str) -> list[Any]:
    sample = samples.get(split)
    return [] if sample is None else list(sample.items())


def _offered(samples: dict[str, Any], split: str) -> int:
    sample = samples.get(split)
    return 0 if sample is None else int(sample.offered)


def format_plan(plan: dict[str, Any], out: str | Path) -> str:
    """The dry-run plan as a terminal table."""
    lines = [f"recipe {plan['recipe']} (seed {plan['seed']})", "", "inputs:"]
    for name, inp in plan["inputs"].items():
        filtered = ", ".join(f"{k}: {v}" for k, v in inp["filtered"].items()) or "none"
        lines.append(
            f"  {name:<24} {inp['files']:>6} file(s) {inp['bytes'] / 1e6:>9.2f} MB  {inp['conversations']:>8} read"
            f"  {inp['kept']:>8} kept  {inp['rejected']:>5} rejected  (filtered: {filtered})"
        )
    lines += ["", "splits:"]
    for name, s in plan["splits"].items():
        detail = s.get("style") or s["kind"]
        if "share" in s:
            detail += f", {s['share']}"
        if "balance" in s:
            ratios = "/".join(f"{s['balance']['ratios'][c]:g}" for c in CAPABILITIES)
            detail += f", balance {s['balance']['mode']} {ratios} (reasoning/retrieval/understanding/instruction)"
        if "candidates" in s:
            detail += f", {s['candidates']} candidate calls"
        if "no_tools_candidates" in s:
            detail += f", {s['no_tools_candidates']} tool requests, {s['chat_candidates']} chats, replies: {s['replies']}"
        if "available" in s:
            detail += f", {s['available']} available"
        lines.append(f"  {name:<36} {s['rows']:>8} rows  {detail}")
    out = Path(out)
    lines += ["", f"outputs under {out}/: <split>.jsonl (first format), <format>/<split> (others), manifest.json, datacard.html"]
    return "\n".join(lines)
