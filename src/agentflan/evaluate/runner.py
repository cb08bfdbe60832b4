"""Run a suite against a backend with a per-item cache, so an interrupted run loses nothing.

Layout: ``OUT/<suite>/results.jsonl`` (one ItemResult per line, appended and fsynced per
batch), ``OUT/<suite>/run.json`` (what produced them: suite and backend descriptions, item
ids) and ``OUT/<suite>/summary.json``; the ``eval`` command then writes ``OUT/index.html``
(:mod:`agentflan.report`). Re-running the same command skips every item already in the cache; a folder holding another model's or setting's results is
refused rather than silently mixed, and a second run writing into the same folder at the same time is
refused (:mod:`agentflan.locking`).

An item the backend cannot answer after its retries (a request the server keeps failing, a prompt
it refuses) does not stop the run: the rest of its batch is asked again item by item, the item is
listed with the reason in ``OUT/<suite>/failed.jsonl``, counted as ``n_failed`` in the summary (whose
metrics then cover the scored items), and asked again by the next run. A batch in which no item
can be answered, or several failed items in a row, stop the run: that is the server, the model
name or the key, not an item.
"""

from __future__ import annotations

import itertools
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from agentflan.errors import AgentflanError, ConfigError
from agentflan.evaluate.base import EvalItem, ItemResult, Suite
from agentflan.evaluate.progress_lines import ProgressLines, logs_above_bar
from agentflan.evaluate.results import (
    RESULTS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    append_results,
    format_table,
    read_cache,
    repair,
    versions,
    write_summary,
)
from agentflan.generation.backends import BackendError
from agentflan.generation.base import Backend
from agentflan.io import atomic_open, write_json
from agentflan.locking import output_lock

# Backend options that change speed, not answers: a resume may change them freely.
OPERATIONAL = frozenset(
    {"batch_size", "concurrency", "timeout", "max_retries", "device", "base_url", "api_key_env",
     "tensor_parallel_size", "gpu_memory_utilization"}
)
FAILED_FILE = "failed.jsonl"
# Items failed in a row (none answered between them) that stop a run even when batches hold one item.
STOP_AFTER_FAILED = 8


@dataclass(slots=True)
class RunOutcome:
    suite: str
    directory: Path
    summary: dict[str, Any]
    new: int
    cached: int
    failed: int = 0


def run_suite(
    suite: Suite,
    backend: Backend,
    out_dir: str | Path,
    *,
    batch_size: int | None = None,
    limit: int | None = None,
    fresh: bool = False,
    progress: bool = True,
    console: TextIO | None = None,
) -> RunOutcome:
    """Score every item not yet in ``OUT/<suite>/results.jsonl``, then summarise all of them.

    ``limit`` keeps the first N items (the suite's order is fixed); ``fresh`` discards
    earlier results instead of resuming; ``console`` receives the metric table.
    """
    with output_lock(out_dir, f"eval {suite.name} ({backend.model})"):
        return _run_locked(suite, backend, Path(out_dir), batch_size, limit, fresh, progress, console)


def _run_locked(
    suite: Suite,
    backend: Backend,
    out_dir: Path,
    batch_size: int | None,
    limit: int | None,
    fresh: bool,
    progress: bool,
    console: TextIO | None,
) -> RunOutcome:
    from tqdm.auto import tqdm

    directory = out_dir / suite.name
    directory.mkdir(parents=True, exist_ok=True)
    items = list(itertools.islice(suite.items(), limit)) if limit is not None else list(suite.items())
    _check_unique(items)
    results_path, run_path, failed_path = directory / RESULTS_FILE, directory / RUN_FILE, directory / FAILED_FILE
    if fresh:
        for name in (RESULTS_FILE, RUN_FILE, SUMMARY_FILE, FAILED_FILE):
            (directory / name).unlink(missing_ok=True)
    run_info: dict[str, Any] = {"suite": suite.describe(), "backend": backend.describe()}
    if results_path.exists() and run_path.exists():
        check_same_run(directory, orjson.loads(run_path.read_bytes()), run_info)
    cache = read_cache(results_path)
    repair(results_path, cache)
    write_json(run_path, {**run_info, "item_ids": [it.id for it in items]})

    pending = [it for it in items if it.id not in cache.results]
    cached = len(items) - len(pending)
    size = max(1, batch_size or backend.batch_size)
    # tqdm draws nothing when stderr is not a terminal: plain lines then, now and then, with an ETA
    lines = ProgressLines(suite.name, len(items), cached, sys.stderr) if progress and not sys.stderr.isatty() else None
    failed: dict[str, str] = {}
    in_a_row = 0
    with (
        tqdm(total=len(items), initial=cached, desc=suite.name, unit="item", disable=None if progress else True) as bar,
        logs_above_bar() if not bar.disable else nullcontext(),
        results_path.open("ab") as fh,
    ):
        try:
            for batch, results, failures in _scored_batches(suite, backend, pending, size):
                in_a_row = 0 if results else in_a_row + len(failures)
                failed.update((item_id, str(exc)) for item_id, exc in failures.items())
                _stop_if_nothing_answers(batch, failures, bool(results), in_a_row)
                _check_batch(suite, [it for it in batch if it.id not in failures], results)
                append_results(fh, results)
                cache.results.update((r.id, r) for r in results)
                bar.update(len(batch))
                if lines is not None:
                    lines.update(len(batch))
        finally:  # this run's failures, also when it stops: the items pending from earlier runs were asked again
            write_failed(failed_path, [(it.id, failed[it.id]) for it in items if it.id in failed])

    scored = [cache.results[it.id] for it in items if it.id in cache.results]
    summary = {
        "suite": suite.name,
        "model": backend.model,
        "backend": backend.name,
        "metrics": suite.summarize(scored),
        "n_items": len(items),
        "n_failed": len(failed),
        "versions": versions(),
    }
    write_summary(directory / SUMMARY_FILE, summary)
    if console is not None:
        console.write(format_table(summary))
        if failed:
            console.write(failed_note(len(failed), len(items), failed_path))
        console.flush()
    return RunOutcome(suite=suite.name, directory=directory, summary=summary, new=len(pending) - len(failed), cached=cached,
                      failed=len(failed))


def failed_note(n_failed: int, n_items: int, path: Path) -> str:
    return (f"{n_failed} of {n_items} items failed after the backend's retries (why: {path}); the metrics cover the "
            f"{n_items - n_failed} scored; run the same command again to retry only those\n")


def write_failed(path: Path, failed: Sequence[tuple[str, str]]) -> None:
    """The items this run could not answer, with why (no file when none failed: a stale list would mislead)."""
    if not failed:
        path.unlink(missing_ok=True)
        return
    with atomic_open(path, "wb") as fh:
        fh.writelines(orjson.dumps({"id": item_id, "error": why}) + b"\n" for item_id, why in failed)


Scored = tuple[Sequence[EvalItem], list[ItemResult], dict[str, BackendError]]


def _scored_batches(suite: Suite, backend: Backend, pending: Sequence[EvalItem], size: int) -> Iterator[Scored]:
    """Each batch with its results and its failed items' reasons, in order. Where the backend allows it,
    the next batch is already generating while the current one finishes, so its slowest request does
    not idle the backend's bounded pool; results still come back batch by batch, in order, for the
    cache to append."""
    batches = [pending[start : start + size] for start in range(0, len(pending), size)]
    ahead = max(1, backend.batches_in_flight)
    if ahead == 1 or len(batches) < 2:
        for batch in batches:
            yield batch, *_run_batch(suite, backend, batch)
        return
    running: deque[tuple[Sequence[EvalItem], Future[tuple[list[ItemResult], dict[str, BackendError]]]]] = deque()
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="eval-batch") as pool:
        try:
            for batch in batches:
                running.append((batch, pool.submit(_run_batch, suite, backend, batch)))
                if len(running) == ahead:
                    done, future = running.popleft()
                    yield done, *future.result()
            while running:
                done, future = running.popleft()
                yield done, *future.result()
        finally:  # a failed or interrupted run starts no further batch
            for _, future in running:
                future.cancel()


def _run_batch(suite: Suite, backend: Backend, batch: Sequence[EvalItem]) -> tuple[list[ItemResult], dict[str, BackendError]]:
    """The batch's results and, for items the backend could not answer after its retries, its error.

    The backend's error does not say which item failed, and the batch's other answers are lost
    with it: each item is asked again alone, so one bad item costs only itself."""
    try:
        return suite.run_batch(batch, backend), {}
    except BackendError as exc:
        if len(batch) == 1:
            return [], {batch[0].id: exc}
    with ThreadPoolExecutor(max_workers=len(batch), thread_name_prefix="eval-item") as pool:
        alone = list(pool.map(lambda item: _run_alone(suite, backend, item), batch))
    results = [r for outcome in alone if isinstance(outcome, list) for r in outcome]
    return results, {item.id: outcome for item, outcome in zip(batch, alone, strict=True) if isinstance(outcome, BackendError)}


def _run_alone(suite: Suite, backend: Backend, item: EvalItem) -> list[ItemResult] | BackendError:
    try:
        return suite.run_batch([item], backend)
    except BackendError as exc:
        return exc


def _stop_if_nothing_answers(batch: Sequence[EvalItem], failures: dict[str, BackendError], answered: bool, in_a_row: int) -> None:
    """A batch of which no item could be answered, or :data:`STOP_AFTER_FAILED` failed items in a row, stop
    the run: that is the server, the model name or the key, not an item."""
    if failures and not answered and (len(batch) > 1 or in_a_row >= STOP_AFTER_FAILED):
        first = next(iter(failures.values()))
        raise BackendError(f"{first}; none of the last {in_a_row} items could be answered, so the run stops "
                           "(finished items are kept: run the same command again to resume)") from None


def _check_unique(items: Sequence[EvalItem]) -> None:
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise ConfigError(f"two items share the id {it.id!r}; ids must be unique for the cache to work")
        seen.add(it.id)


def _comparable(info: dict[str, Any]) -> dict[str, Any]:
    backend = {k: v for k, v in (info.get("backend") or {}).items() if k not in OPERATIONAL}
    return {"suite": info.get("suite"), "backend": backend}


def check_same_run(directory: Path, previous: dict[str, Any], current: dict[str, Any]) -> None:
    before, now = _comparable(previous), _comparable(current)
    if before == now:
        return
    diffs = []
    for part in ("suite", "backend"):
        old, new = before.get(part) or {}, now.get(part) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                diffs.append(f"{part} {key}: {old.get(key)!r} then, {new.get(key)!r} now")
    raise ConfigError(
        f"{directory} holds results of a different run ({'; '.join(diffs)}); "
        "use another --out folder, or --fresh to discard them"
    )


def _check_batch(suite: Suite, batch: Sequence[EvalItem], results: Sequence[ItemResult]) -> None:
    """Every item of a batch scored exactly once, nothing else: the cache's invariant."""
    expected = [it.id for it in batch]
    got = [r.id for r in results]
    if sorted(expected) != sorted(got):
        raise AgentflanError(
            f"suite {suite.name!r} returned results for {sorted(got)[:5]}... but the batch held {sorted(expected)[:5]}...; "
            "run_batch must return one result per item"
        )
