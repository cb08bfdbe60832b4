"""``agentflan build``: a recipe -> one file per split and ``manifest.json`` (the command then adds the data card).

Three passes, all streaming:

1. *scan* (:mod:`agentflan.recipe.collect`; parallel over input files with ``workers > 1``):
   each file is read once; agent and general rows go to per-file shards, candidates for the
   format-following and negative splits are sampled (fixed-size, order-free samples);
2. *merge* (sequential, in file order): each split's kind (:mod:`agentflan.recipe.kinds`) makes
   its rows once (shards concatenated and balanced, samples turned into rows) and they are
   written to every requested format in that one pass;
3. *report*: the :class:`~agentflan.recipe.manifest.Manifest` (inputs with sha256, counts per
   split and source, supervised tokens per capability before/after balancing, seeds, versions),
   from which :mod:`agentflan.report` draws the data card once the build has returned.

Everything lands in a temp folder that replaces ``out`` only when the build succeeded.
Same inputs + seed give byte-identical outputs for any number of workers.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentflan.batch import OnError
from agentflan.io import atomic_dir, atomic_open
from agentflan.locking import output_lock
from agentflan.recipe.collect import LIST_FILES, Collected, plan_tasks, run_tasks
from agentflan.recipe.config import Recipe
from agentflan.recipe.kinds import Merging, SplitKind, kinds_of, write_order
from agentflan.recipe.manifest import Capabilities, InputSummary, Manifest, SplitReport
from agentflan.recipe.phrasings import Phrasings, load_phrasings
from agentflan.recipe.scan import Context, rejects_path
from agentflan.recipe.tags import CapabilityStats
from agentflan.recipe.tokens import make_counter

if TYPE_CHECKING:
    from collections.abc import Iterator

    from agentflan.conversation import Conversation
    from agentflan.generation.base import Backend

#: file suffix per output format (hf-dataset writes a folder)
SUFFIX = {"hf-dataset": "", "parquet": ".parquet"}


def build(
    recipe: Recipe,
    out: str | Path,
    *,
    workers: int = 1,
    on_error: OnError | str = OnError.FAIL,
    progress: bool = False,
    generator: Backend | None = None,
    recipe_path: str | Path | None = None,
    finish: Callable[[Manifest, Path], None] | None = None,
) -> Manifest:
    """Build every split of ``recipe`` into ``out`` (replaced as a whole on success); the manifest.

    ``generator`` writes the negative replies of every negatives split (overriding the
    recipe's ``generator``); without either, replies come from the offline sources.
    ``finish(manifest, folder)`` adds files of the caller's (the data card) to the staged
    folder, so they appear with the build, under its lock, or not at all."""
    phrasings = load_phrasings(recipe.phrasings)
    count, counter_name = make_counter(recipe.tokenizer)
    tasks = plan_tasks(recipe)
    out = Path(out)
    # The lock refuses a concurrent build of this folder, so staging left by a killed one can go.
    with output_lock(out, f"build {recipe_path or ''}".rstrip()), atomic_dir(out, remove_stale=True) as staging:
        work = staging / "_work"
        ctx = Context(recipe, phrasings, work, OnError(on_error))
        collected = run_tasks(tasks, ctx, workers, progress)
        merge = Merging(recipe, phrasings, collected, work, count, generator)
        done = {kind.name: _write(kind, merge, staging, progress) for kind in write_order(kinds_of(recipe))}
        reports = [done[split.name] for split in recipe.splits]
        _merge_rejects(collected, work, staging)
        manifest = _manifest(recipe, recipe_path, phrasings, counter_name, collected, reports, OnError(on_error))
        manifest.write(staging / "manifest.json")
        shutil.rmtree(work, ignore_errors=True)
        if finish is not None:
            finish(manifest, staging)
    return manifest


def output_path(root: Path, split: str, fmt: str, first: bool) -> Path:
    name = split + SUFFIX.get(fmt, ".jsonl")
    return root / name if first else root / fmt / name


def _write(kind: SplitKind[Any], merge: Merging, staging: Path, progress: bool) -> SplitReport:
    """Make the split's rows once and write them in every format it asks for."""
    from agentflan.writers import get_writer
    from agentflan.writers.agentflan import with_tools_shown
    from agentflan.writers.fanout import write_each
    from agentflan.writers.loss import LossGuard

    report = SplitReport(kind.name, kind.spec.kind)
    targets = []
    for i, fmt in enumerate(merge.recipe.formats_of(kind.spec)):
        path = output_path(staging, kind.name, fmt, first=i == 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        targets.append((fmt, path))
        report.files[fmt] = path.relative_to(staging).as_posix()
    # every format gets the rows with their tools shown, so a native row trains as its JSONL row does
    rows: Iterator[Conversation] = map(with_tools_shown, kind.rows(merge, report))
    # rows with masked turns reach a format that trains every turn only with drop_loss_masks (the
    # recipe check refuses balancing into one, the scan refuses masked source rows): count them
    untrained = [fmt for fmt, _ in targets if not get_writer(fmt).carries_turn_loss]
    guard = LossGuard(", ".join(untrained), drop=True)
    if untrained:
        rows = guard.check(rows, None)
    if progress:  # tqdm only when it shows: its import is ~30 ms of a quiet build
        from tqdm import tqdm

        with tqdm(rows, unit="row", desc=kind.name, leave=False) as bar:
            write_each(bar, targets)
    else:
        write_each(rows, targets)
    if guard.turns:
        report.notes.append(
            f"drop_loss_masks: {guard.turns} masked assistant turns in {guard.rows} rows are trained in {guard.format}"
        )
        import logging  # here, where a warning is logged: its import is ~0.5 % of a build

        logging.getLogger(__name__).warning("split %s: %s", kind.name, report.notes[-1])
    if not kind.general:
        merge.agent_rows += report.rows
    return report


def _merge_rejects(collected: Collected, work: Path, staging: Path) -> None:
    if not collected.rejected_tasks:
        return
    with atomic_open(staging / "rejects.jsonl", "wb", encoding=None) as out:
        for index in collected.rejected_tasks:
            path = rejects_path(work, index)
            if path.is_file():
                with path.open("rb") as fh:
                    shutil.copyfileobj(fh, out)


def _manifest(
    recipe: Recipe,
    recipe_path: str | Path | None,
    phrasings: Phrasings,
    counter_name: str,
    collected: Collected,
    reports: list[SplitReport],
    on_error: OnError,
) -> Manifest:
    totals = CapabilityStats()
    for rep in reports:
        totals.merge(rep.capabilities)
    recipe_info: dict[str, Any] = {"name": recipe.name, "config": recipe.model_dump(mode="json")}
    if recipe_path is not None:
        recipe_info["path"] = str(recipe_path)
        recipe_info["sha256"] = hashlib.sha256(Path(recipe_path).read_bytes()).hexdigest()
    return Manifest(
        recipe=recipe_info,
        seed=recipe.seed,
        seeds={
            "recipe": recipe.seed,
            "how": "every choice hashes '<seed>|<split or group>|<content key>': phrasings, split parts, samples, balancing urns",
        },
        on_error=on_error.value,
        token_counter=counter_name,
        phrasings={"sha256": phrasings.digest, "files": phrasings.origins},
        inputs=inputs_of(recipe, collected),
        rejected=collected.rejected,
        splits={rep.name: rep.summary() for rep in reports},
        rows=sum(rep.rows for rep in reports),
        capabilities=Capabilities.of(totals),
        versions=_versions(),
    )


def inputs_of(recipe: Recipe, collected: Collected) -> dict[str, InputSummary]:
    """What was read of each source the splits use."""
    out: dict[str, InputSummary] = {}
    for name, source in recipe.sources.items():
        t = collected.sources.get(name)
        if t is None:
            continue
        out[name] = InputSummary(
            specs=source.specs,
            format=source.format,
            files=t.files,
            bytes=t.bytes,
            conversations=t.conversations,
            kept=t.kept,
            filtered=dict(sorted(t.filtered.items())),
            rejected=t.rejected,
            sha256_of_listing=t.listing.hexdigest(),
            file_list=t.file_list if t.files <= LIST_FILES else None,
        )
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
