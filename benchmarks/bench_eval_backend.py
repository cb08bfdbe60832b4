"""Evaluation throughput: the openai backend against a local server that answers after a fixed
delay (concurrency 1 vs 32; the gain should approach 32x), the whole runner (cache writes
included), and the HotpotQA / MMLU scorers alone. Prints a table.

    .venv/bin/python benchmarks/bench_eval_backend.py [--delay 0.05] [--items 320]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the stub server the tests use

from agentflan.conversation import Message  # noqa: E402
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


def runner_rate(url: str, concurrency: int, subjects: str, per_subject: int) -> tuple[float, int]:
    from agentflan.evaluate.registry import make_suite
    from agentflan.evaluate.runner import run_suite

    suite = make_suite("mmlu", data=str(SHARED / "mmlu"), subjects=subjects, per_subject=per_subject)
    backend = make_backend("openai", "bench", base_url=url, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        outcome = run_suite(suite, backend, out, progress=False)
        elapsed = time.perf_counter() - start
    return outcome.new / elapsed, outcome.new


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

    suite = make_suite("mmlu", data=str(SHARED / "mmlu"), subjects="anatomy")
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
    ap.add_argument("--items", type=int, default=320, help="requests at concurrency 32 (concurrency 1 gets a tenth)")
    args = ap.parse_args()

    rows: list[tuple[str, str, str]] = []
    with StubServer(delay=args.delay) as server:
        c1 = backend_rate(server.url, 1, max(args.items // 10, 8))
        c32 = backend_rate(server.url, 32, args.items)
        rows.append((f"openai backend, concurrency 1, {args.delay * 1000:.0f} ms server", f"{c1:,.1f} items/s", f"ideal {1 / args.delay:,.1f}"))
        rows.append((f"openai backend, concurrency 32, {args.delay * 1000:.0f} ms server", f"{c32:,.1f} items/s", f"gain {c32 / c1:.1f}x (ideal 32x)"))
        rate, n = runner_rate(server.url, 32, "anatomy,astronomy,virology,world_religions", 80)
        rows.append((f"runner: MMLU {n} items, concurrency 32 (cache + summary)", f"{rate:,.1f} items/s", ""))
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
