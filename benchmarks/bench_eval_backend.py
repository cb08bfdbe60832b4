"""Evaluation throughput against a local OpenAI-compatible server (tests/openai_stub.py) that
answers after a delay, fixed or stretched per request by a jitter (real servers' latencies vary).

Main comparison, alternating rounds, medians with range: agentflan's whole runner (``run_suite``
on MMLU items in generative mode: persistent pool, overlapped batches, scoring, per-batch fsync of
the cache) against the client a user would write — the plain ``openai`` client with ONE persistent
32-thread pool mapped over the same requests — both at 32 requests in flight. Also: the backend at
concurrency 1 vs 32, and the HotpotQA / MMLU scorers and local wiki alone. Prints tables.

    .venv/bin/python benchmarks/bench_eval_backend.py [--delay 0.05] [--jitter 1.0] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stub server the tests use

from agentflan.conversation import Message  # noqa: E402
from agentflan.formats.openai import openai_messages  # noqa: E402
from agentflan.generation.backends import make_backend  # noqa: E402
from agentflan.generation.base import GenerationRequest  # noqa: E402
from openai_stub import StubServer  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def backend_rate(url: str, concurrency: int, n: int) -> float:
    backend = make_backend("openai", "bench", base_url=url, concurrency=concurrency)
    requests = [GenerationRequest([Message("user", f"question {i}")]) for i in range(n)]
    backend.generate(requests[:concurrency])  # open the connections
    start = time.perf_counter()
    for i in range(0, n, backend.batch_size):
        backend.generate(requests[i : i + backend.batch_size])
    rate = n / (time.perf_counter() - start)
    backend.close()
    return rate


MMLU_SUBJECTS = "anatomy,astronomy,virology,world_religions"


def _mmlu(per_subject: int):  # type: ignore[no-untyped-def]
    from agentflan.evaluate.registry import make_suite

    return make_suite("mmlu", data=str(SHARED / "mmlu"), subjects=MMLU_SUBJECTS, per_subject=per_subject, mode="generative")


def runner_rate(url: str, concurrency: int, per_subject: int) -> tuple[float, int]:
    """agentflan's whole evaluation runner: items/s of a fresh run (nothing cached)."""
    from agentflan.evaluate.runner import run_suite

    suite = _mmlu(per_subject)
    backend = make_backend("openai", "bench", base_url=url, concurrency=concurrency)
    backend.generate([suite.request(it) for it in list(suite.items())[:concurrency]])  # open the connections
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        outcome = run_suite(suite, backend, out, progress=False)
        elapsed = time.perf_counter() - start
    backend.close()
    return outcome.new / elapsed, outcome.new


def plain_client_rate(url: str, concurrency: int, per_subject: int) -> tuple[float, int]:
    """The peer: the plain openai client, one persistent pool of ``concurrency`` threads over all items,
    same requests and sampling (items/s; answers collected in order, nothing scored or written)."""
    from concurrent.futures import ThreadPoolExecutor

    from openai import OpenAI

    suite = _mmlu(per_subject)
    bodies = []
    for it in suite.items():
        request = suite.request(it)
        s = request.sampling
        body = {"model": "bench", "messages": openai_messages(request.messages, arguments="text", request=True), "max_tokens": s.max_new_tokens,
                "temperature": s.temperature, "top_p": s.top_p}
        if s.stop:
            body["stop"] = list(s.stop)
        if s.temperature > 0:
            body["seed"] = s.seed
        bodies.append(body)
    client = OpenAI(api_key="EMPTY", base_url=url, max_retries=6)

    def ask(body: dict) -> str:  # type: ignore[type-arg]
        return client.chat.completions.create(**body).choices[0].message.content or ""

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(ask, bodies[:concurrency]))  # open the connections
        start = time.perf_counter()
        answers = list(pool.map(ask, bodies))
        elapsed = time.perf_counter() - start
    client.close()
    return len(answers) / elapsed, len(answers)


def compare(url: str, rounds: int, per_subject: int) -> tuple[list[float], list[float]]:
    """Alternating rounds (which side goes first alternates too): items/s of each side."""
    ours: list[float] = []
    peer: list[float] = []
    for r in range(rounds):
        order = (ours, peer) if r % 2 == 0 else (peer, ours)
        for side in order:
            side.append((runner_rate if side is ours else plain_client_rate)(url, 32, per_subject)[0])
    return ours, peer


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):,.1f} ({min(xs):,.1f}-{max(xs):,.1f})"


def hotpot_scorer_rate(repeat: int) -> tuple[float, int]:
    import orjson

    from agentflan.evaluate.hotpotqa import exact_match, f1_score

    golds = [q["answer"] for q in orjson.loads((SHARED / "hotpotqa" / "dev_questions.json").read_bytes())]
    rng = random.Random(0)
    preds = [g if rng.random() < 0.4 else f"the {g.split()[0]} of {rng.choice(golds)}" for g in golds]
    start = time.perf_counter()
    for _ in range(repeat):
        for p, g in zip(preds, golds, strict=True):
            exact_match(p, g)
            f1_score(p, g)
    return repeat * len(golds) / (time.perf_counter() - start), len(golds)


def mmlu_scorer_rate(repeat: int) -> tuple[float, int]:
    from agentflan.evaluate.base import EvalItem
    from agentflan.evaluate.registry import make_suite

    suite = make_suite("mmlu", data=str(SHARED / "mmlu"), subjects="anatomy", mode="generative")
    rng = random.Random(0)
    forms = ["{}", "{}.", "({}) because", "The answer is {}.", "I think it is {}, since", "no idea"]
    responses = [rng.choice(forms).format(rng.choice("ABCD")) for _ in range(5000)]
    item = EvalItem(id="x", messages=[], expected={"answer": "B"})
    start = time.perf_counter()
    for _ in range(repeat):
        for r in responses:
            suite.score(item, r)
    return repeat * len(responses) / (time.perf_counter() - start), len(responses)


def wiki_rate(repeat: int) -> float:
    import orjson

    from agentflan.evaluate.localwiki import LocalWiki, Page

    with (SHARED / "hotpotqa" / "distractor_easy_medium.jsonl").open("rb") as fh:
        recs = [orjson.loads(line) for line in fh]
    calls = 0
    start = time.perf_counter()
    for _ in range(repeat):
        for rec in recs:
            wiki = LocalWiki([Page(c["title"], c["sentences"]) for c in rec["context"]])
            wiki.search(rec["context"][0]["title"])
            wiki.lookup(rec["answer"].split()[0])
            wiki.search(rec["question"][:30])
            calls += 3
    return calls / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay", type=float, default=0.05, help="server answer delay in seconds (default 0.05)")
    ap.add_argument("--jitter", type=float, default=1.0,
                    help="each answer waits delay x (1 + jitter x u), u in [0, 1) fixed per request (default 1.0)")
    ap.add_argument("--items", type=int, default=320, help="requests at concurrency 32 (concurrency 1 gets a tenth)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds of the runner-vs-plain-client comparison")
    args = ap.parse_args()
    per_subject = max(1, args.items // 4)

    print(f"runner vs plain openai client, 32 in flight, {per_subject * 4} MMLU items, {args.rounds} alternating rounds; "
          "items/s, median (range)")
    print(f"{'server':<26}  {'agentflan runner':>22}  {'plain client, 1 pool':>22}  ratio (range)")
    for jitter in sorted({0.0, args.jitter}):
        with StubServer(delay=args.delay, jitter=jitter) as server:
            ours, peer = compare(server.url, args.rounds, per_subject)
        ratios = [o / p for o, p in zip(ours, peer, strict=True)]
        label = f"{args.delay * 1000:.0f} ms" + (f" +0-{jitter * 100:.0f}% jitter" if jitter else " fixed")
        print(f"{label:<26}  {_spread(ours):>22}  {_spread(peer):>22}  "
              f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    print()

    rows: list[tuple[str, str, str]] = []
    with StubServer(delay=args.delay) as server:
        c1 = backend_rate(server.url, 1, max(args.items // 10, 8))
        c32 = backend_rate(server.url, 32, args.items)
        rows.append((f"openai backend, concurrency 1, {args.delay * 1000:.0f} ms server", f"{c1:,.1f} items/s", f"ideal {1 / args.delay:,.1f}"))
        rows.append((f"openai backend, concurrency 32, {args.delay * 1000:.0f} ms server", f"{c32:,.1f} items/s", f"gain {c32 / c1:.1f}x (ideal 32x)"))
    rate, n = hotpot_scorer_rate(5)
    rows.append((f"HotpotQA scorer (EM + F1), {n} dev answers x5", f"{rate:,.0f} items/s", ""))
    rate, n = mmlu_scorer_rate(20)
    rows.append((f"MMLU scorer (letter extraction), {n} responses x20", f"{rate:,.0f} items/s", ""))
    rows.append(("local wiki search/lookup, 200 questions x5", f"{wiki_rate(5):,.0f} calls/s", ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'throughput':>18}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>18}  {note}")


if __name__ == "__main__":
    main()
