"""lm-evaluation-harness on our backends' models: lm-eval's own model classes, its own scoring.

- ``hf`` backend: lm-eval's ``HFLM`` around the model and tokenizer already loaded (nothing loads twice);
- ``openai`` backend: lm-eval's own ``local-completions`` model on the server's ``/completions``
  endpoint. Log-likelihoods come from the prompt's log-probs (``echo`` with ``logprobs``), which
  vLLM and llama.cpp's server return; lm-eval counts the prompt's tokens with the served model's
  Hugging Face tokenizer (``tokenizer``: a local folder; the served model name otherwise). A
  server that returns no prompt log-probs is refused up front with a :class:`ConfigError` saying so.
  A request the server still fails after the client's retries costs only its item, and a rerun with
  the same ``--out`` asks only the requests not answered before (:mod:`agentflan.evaluate.lmeval_requests`).

Every input is local: lm-eval runs with the hub switched off (:data:`OFFLINE_ENV`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from agentflan.errors import ConfigError
from agentflan.evaluate.base import ItemResult
from agentflan.evaluate.lmeval_requests import REQUESTS_FILE, RequestStore, answering_lm
from agentflan.evaluate.results import (
    RESULTS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    append_results,
    format_table,
    versions,
    write_summary,
)
from agentflan.evaluate.runner import FAILED_FILE, RunOutcome, check_same_run, failed_note, write_failed
from agentflan.generation.base import Backend
from agentflan.io import atomic_open, write_json
from agentflan.locking import output_lock

#: lm-eval reads these before it touches the hub; every input here is local.
OFFLINE_ENV = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
PROBE_PROMPT = "The capital of France is"


def lm_eval_model(backend: Backend, *, tokenizer: str | None = None, loglikelihood: bool = True) -> Any:
    """lm-eval's model object for ``backend`` (see the module docstring); ``loglikelihood``: the
    tasks compare log-likelihoods, so an OpenAI server is first checked for prompt log-probs."""
    from agentflan.generation.backends.hf import HFBackend
    from agentflan.generation.backends.openai_backend import OpenAIBackend

    os.environ.update(OFFLINE_ENV)
    if isinstance(backend, HFBackend):
        from lm_eval.models.huggingface import HFLM

        return HFLM(pretrained=backend.lm, tokenizer=backend.tokenizer, batch_size=backend.batch_size, max_length=backend.max_length)
    if isinstance(backend, OpenAIBackend):
        if backend.options.base_url is None:
            raise ConfigError("lm-eval tasks on the openai backend need --base-url (an OpenAI-compatible server's /v1)")
        url = backend.options.base_url.rstrip("/") + "/completions"
        key = os.environ.get(backend.options.api_key_env)
        if loglikelihood:
            check_prompt_logprobs(url, backend.model, key)
        from lm_eval.models.openai_completions import LocalCompletionsAPI

        return LocalCompletionsAPI(
            base_url=url, model=backend.model, tokenizer=tokenizer or backend.model, tokenizer_backend="huggingface",
            # lm-eval's max_retries counts attempts; ours counts retries after the first
            num_concurrent=backend.options.concurrency, max_retries=backend.options.max_retries + 1, timeout=int(backend.options.timeout),
            header={"Authorization": f"Bearer {key}"} if key else None,
        )
    raise ConfigError(f"lm-eval tasks run on the hf or openai backend, not {backend.name!r}")


def check_prompt_logprobs(url: str, model: str, key: str | None) -> None:
    """Fail clearly when the server at ``url`` does not give the log-probs of the prompt's own tokens."""
    import requests

    body: dict[str, Any] = {"model": model, "prompt": PROBE_PROMPT, "max_tokens": 1, "temperature": 0, "logprobs": 1, "echo": True}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    why = None
    try:
        reply = requests.post(url, json=body, headers=headers, timeout=60)
        if reply.status_code != 200:
            why = f"it answered HTTP {reply.status_code}: {reply.text[:200]}"
        else:
            logprobs = (reply.json().get("choices") or [{}])[0].get("logprobs") or {}
            values = logprobs.get("token_logprobs") or []
            if len(values) < 2 or not logprobs.get("top_logprobs"):
                why = "its completions carry no log-probs for the prompt's tokens"
    except (requests.RequestException, ValueError, AttributeError) as exc:
        why = f"the request failed ({exc})"
    if why is not None:
        raise ConfigError(
            f"{url}: log-likelihood scoring needs a completions endpoint that returns the prompt's log-probs "
            f"(echo=true with logprobs, as vLLM does), and {why}; use --mode generative (mmlu) or generative tasks with this server"
        )


def simple_evaluate(lm: Any, tasks: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
    """lm-eval's ``simple_evaluate`` with samples kept and no bootstrap (per-item results are ours to write)."""
    import lm_eval

    out = lm_eval.simple_evaluate(model=lm, tasks=list(tasks), log_samples=True, bootstrap_iters=0, verbosity="WARNING", **kwargs)
    if out is None:
        raise ConfigError("lm-eval returned no results")
    result: dict[str, Any] = out
    return result


@contextmanager
def lm_run(name: str, run_info: dict[str, Any], backend: Backend, out_dir: str | Path, *, fresh: bool = False,
           tokenizer: str | None = None, loglikelihood: bool = True) -> Iterator[Any]:
    """lm-eval's model for ``backend`` while ``OUT/<name>`` is locked; on an OpenAI server, behind the store of
    answered requests (``fresh`` discards it) that a rerun of the same run answers from; another run's store is refused."""
    from agentflan.generation.backends.openai_backend import OpenAIBackend

    directory = Path(out_dir) / name
    with output_lock(out_dir, f"eval {name} ({backend.model})"):
        directory.mkdir(parents=True, exist_ok=True)
        if fresh:
            for stale in (REQUESTS_FILE, RUN_FILE, RESULTS_FILE, SUMMARY_FILE, FAILED_FILE):
                (directory / stale).unlink(missing_ok=True)
        run_info = {**run_info, "backend": backend.describe()}
        if (directory / REQUESTS_FILE).exists() and (directory / RUN_FILE).exists():
            import orjson

            check_same_run(directory, orjson.loads((directory / RUN_FILE).read_bytes()), run_info)
        write_json(directory / RUN_FILE, run_info)
        lm = lm_eval_model(backend, tokenizer=tokenizer, loglikelihood=loglikelihood)
        if not isinstance(backend, OpenAIBackend):
            yield lm
            return
        store = RequestStore(directory / REQUESTS_FILE)
        try:
            yield answering_lm(lm, store, backend.options.concurrency)
        finally:
            store.close()


def failed_docs(lm: Any) -> dict[tuple[str, int], str]:
    """(task, doc id) -> why, for the documents with a request the server failed (none for a local model)."""
    failed: dict[tuple[str, int], str] = getattr(lm, "failed", {})
    return failed


def write_outcome(suite: str, backend: Backend, results: list[ItemResult], metrics: dict[str, Any], out_dir: str | Path,
                  console: TextIO | None, failed: Sequence[tuple[str, str]] = ()) -> RunOutcome:
    """``results.jsonl``, ``summary.json`` (metrics over ``results``, the answered items) and ``failed.jsonl``
    (item id, why) as every suite writes them (atomically), and the terminal table."""
    directory = Path(out_dir) / suite
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_open(directory / RESULTS_FILE, "wb") as fh:
        append_results(fh, results)
    write_failed(directory / FAILED_FILE, failed)
    n_items = len(results) + len(failed)
    summary = {"suite": suite, "model": backend.model, "backend": backend.name, "metrics": metrics,
               "n_items": n_items, "n_failed": len(failed), "n_scored": len(results), "versions": versions()}
    write_summary(directory / SUMMARY_FILE, summary)
    if console is not None:
        console.write(format_table(summary))
        if failed:
            console.write(failed_note(len(failed), n_items, directory / FAILED_FILE))
        console.flush()
    return RunOutcome(suite=suite, directory=directory, summary=summary, new=len(results), cached=0, failed=len(failed))


def lm_eval_version() -> str:
    import lm_eval

    return str(lm_eval.__version__)
