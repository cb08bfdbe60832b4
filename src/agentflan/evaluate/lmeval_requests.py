"""lm-eval's requests to an OpenAI-compatible server: each answer kept as it comes, a failure costs only its item.

lm-eval asks all of a run's requests of one kind in one call, and one request that still fails
after the client's retries ends that call and the whole run. :class:`AnsweringLM` stands between
lm-eval and its model (``local-completions``) so that a server failure is handled as every suite's
runner handles it (:mod:`agentflan.evaluate.runner`):

- every answer is appended to ``OUT/<suite>/requests.jsonl`` as it arrives (through lm-eval's own
  cache hook, keyed by a hash of the request's arguments), and a later run answers those requests
  from it: a rerun with the same ``--out`` asks the server only what it did not answer before;
- when lm-eval's call fails, the requests it left unanswered are asked again one at a time: one that
  still fails is recorded with the reason against its item (task, document) and answered with a
  placeholder, and the caller leaves that item out of the scores;
- :data:`~agentflan.evaluate.runner.STOP_AFTER_FAILED` requests failing in a row stop the run: that
  is the server, the model name or the key, not an item.

lm-eval scores the whole set at once, so a rerun gives lm-eval every item again; its prompts (few-shot
examples included) are the same, so the answered ones come from the file, not the server.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from agentflan.errors import InputError, Location
from agentflan.evaluate.runner import STOP_AFTER_FAILED
from agentflan.generation.backends import BackendError

REQUESTS_FILE = "requests.jsonl"
#: What a request that failed is answered with; its item is left out of the scores.
PLACEHOLDER: dict[str, Any] = {"loglikelihood": (float("-inf"), False), "generate_until": "", "loglikelihood_rolling": float("-inf")}


def request_key(method: str, args: Any) -> str:
    """One request's identity: its kind and arguments (prompt, continuation or generation settings)."""
    return hashlib.sha256(orjson.dumps([method, args], default=str, option=orjson.OPT_SORT_KEYS)).hexdigest()


class RequestStore:
    """``requests.jsonl``: one ``{"key", "answer"}`` per answered request, appended as answers arrive."""

    def __init__(self, path: Path):
        self.path = path
        self.answers: dict[str, Any] = {}
        self._lock = threading.Lock()
        if path.exists():
            self._read()
        self._fh = path.open("ab")

    def _read(self) -> None:
        lines = self.path.read_bytes().split(b"\n")
        whole = 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                whole += len(line) + 1
                continue
            try:
                row = orjson.loads(line)
                self.answers[row["key"]] = row["answer"]
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                if any(rest.strip() for rest in lines[number:]):
                    raise InputError(Location(str(self.path), line=number), f"not an answered request ({exc}); the file is corrupt") from None
                break  # a last line torn by a kill: that request is asked again
            whole += len(line) + 1
        with self.path.open("r+b") as fh:
            fh.truncate(min(whole, self.path.stat().st_size))

    def add(self, key: str, answer: Any) -> None:
        with self._lock:
            self.answers[key] = answer
            self._fh.write(orjson.dumps({"key": key, "answer": answer}) + b"\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


class _Hook:
    """lm-eval's cache hook (``add_partial``), writing each answer to the store as lm-eval gets it."""

    def __init__(self, store: RequestStore):
        self.store = store

    def add_partial(self, method: str, args: Any, answer: Any) -> None:
        if args is not None:  # a rolling log-likelihood's windows come without arguments
            self.store.add(request_key(method, args), answer)


def answering_lm(inner: Any, store: RequestStore, workers: int) -> Any:
    """``inner`` (an lm-eval model) behind :class:`AnsweringLM`, an lm-eval model itself."""
    from lm_eval.api.model import LM

    class AnsweringLM(LM):
        """Answers from the store, asks ``inner`` the rest; :attr:`failed` maps (task, doc id) to why."""

        def __init__(self) -> None:
            super().__init__()
            self.failed: dict[tuple[str, int], str] = {}
            inner.set_cache_hook(_Hook(store))

        def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            return self._answer("loglikelihood", requests, tuple)

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            return self._answer("generate_until", requests, str)

        def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            return self._answer("loglikelihood_rolling", requests, float)

        def _answer(self, method: str, requests: list[Any], restore: Callable[[Any], Any]) -> list[Any]:
            keys = [request_key(method, r.args) for r in requests]
            # a request lm-eval repeats (sampled generations) is asked each time, never given one kept answer
            repeated = {key for key, n in Counter(keys).items() if n > 1}

            def kept(indices: Sequence[int]) -> dict[int, Any]:
                return {i: restore(store.answers[keys[i]]) for i in indices if keys[i] not in repeated and keys[i] in store.answers}

            answers = kept(range(len(keys)))
            pending = [i for i in range(len(keys)) if i not in answers]
            if pending:
                try:
                    answers.update(zip(pending, getattr(inner, method)([requests[i] for i in pending]), strict=True))
                except Exception:  # any failure of the call: what it left unanswered is asked alone
                    answers.update(kept(pending))
                    answers.update(self._one_by_one(method, requests, [i for i in pending if i not in answers]))
            return [answers.get(i, PLACEHOLDER[method]) for i in range(len(keys))]

        def _one_by_one(self, method: str, requests: Sequence[Any], left: Sequence[int]) -> dict[int, Any]:
            """Each request alone, ``workers`` at a time; a failure is recorded against its item."""
            answers: dict[int, Any] = {}
            size, in_a_row = max(1, workers), 0
            with ThreadPoolExecutor(max_workers=size, thread_name_prefix="lm-eval-request") as pool:
                for start in range(0, len(left), size):
                    window = left[start : start + size]
                    outcomes = list(pool.map(lambda i: _ask_alone(inner, method, requests[i]), window))
                    for i, outcome in zip(window, outcomes, strict=True):
                        if isinstance(outcome, Exception):
                            self.failed.setdefault((requests[i].task_name, int(requests[i].doc_id)), _why(outcome))
                        else:
                            answers[i] = outcome
                    in_a_row = in_a_row + len(window) if not any(i in answers for i in window) else 0
                    if in_a_row >= STOP_AFTER_FAILED:
                        first = next(iter(self.failed.values()))
                        raise BackendError(f"{first}; none of the last {in_a_row} requests could be answered, so the run stops "
                                           f"(answers are kept in {store.path}: run the same command again to resume)")
            return answers

    return AnsweringLM()


def _ask_alone(inner: Any, method: str, request: Any) -> Any:
    try:
        return getattr(inner, method)([request])[0]
    except Exception as exc:  # recorded against the request's item with its reason
        return exc


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()
