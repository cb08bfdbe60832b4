"""Scoring speed of the Agent-H, tool-need and tool-step scorers alone (no model, no backend).

Items are built from ../shared/data (ToolBench, Glaive, T-Eval tools, MMLU) plus the built-in
set; responses are a fixed, seeded mix per scorer of every outcome the scorer tells apart
(correct, broken format, tool calls in several conventions, empty). Each row is the best of
``--repeats`` passes over the same items, in items scored per second on one CPU thread; the
embedding rows exclude the one-off model load (reported separately).

Run: ``.venv/bin/python benchmarks/bench_scorers.py`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _best(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def agent_h_responses(n: int, rng: random.Random) -> list[str]:
    pool = [
        "Thought: No tool is needed here.\nFinal Answer: The capital of France is Paris, on the Seine.",
        "The capital of France is Paris. It has been the capital for most of the last millennium.",
        'Thought: I should check.\nAction: get_current_weather\nAction Input: {"city": "Paris", "unit": "celsius"}',
        "Thought: I know this.",
        'Thought: x\nFinal Answer: Paris\nObservation: {"ok": true}',
        '<tool_call>\n{"name": "get_stock_price", "arguments": {"ticker": "AAPL"}}\n</tool_call>',
        '{"thought": "easy", "action": "Final Answer", "action_input": "Paris"}',
        "",
    ]
    return [rng.choice(pool) for _ in range(n)]


def tool_need_responses(items: Sequence[Any], rng: random.Random) -> list[str]:
    from agentflan.conversation import ToolCall
    from agentflan.jsonutil import dumps
    from agentflan.protocols import get_protocol
    from agentflan.protocols.base import AgentStep

    out = []
    for it in items:
        name = rng.choice([t.name for t in it.tools])
        args = (it.expected.get("reference") or {}).get("arguments") or {}
        kind = rng.randrange(3)
        if kind == 0:
            out.append(get_protocol("react").render(AgentStep("I will call it.", [ToolCall(name, args)])).text)
        elif kind == 1:
            out.append(dumps({"name": name, "arguments": args}))
        else:
            out.append("I cannot look that up, sorry.")
    return out


def step_responses(items: Sequence[Any], rng: random.Random) -> list[str]:
    from agentflan.conversation import ToolCall
    from agentflan.jsonutil import dumps
    from agentflan.protocols import get_protocol
    from agentflan.protocols.base import AgentStep

    out = []
    for it in items:
        e = it.expected
        names = [t.name for t in it.tools] or ["x"]
        dim = e["dimension"]
        if dim in ("rru", "instruct"):
            name = e["name"] if rng.random() < 0.6 else rng.choice(names)
            out.append(get_protocol(e["protocol"]).render(AgentStep(e.get("thought") or "Let me call it.", [ToolCall(name, e["args"])])).text)
        elif dim == "plan":
            steps = [{"id": i, "name": s["name"], "args": s["args"]} for i, s in enumerate(e["plan"])]
            rng.shuffle(steps)
            out.append(dumps(steps) if e["format"] == "json" else "\n".join(f"Use {s['name']} with {dumps(s['args'])}" for s in steps))
        else:
            out.append(dumps({"thought": "t", "is_success": rng.random() < 0.5}) if e["format"] == "json" else rng.choice(["Answer: A", "Answer: B"]))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="passes per row; the best counts (default 3)")
    parser.add_argument("--agent-h-size", type=int, default=1845, help="Agent-H samples (two items each; default 1845)")
    parser.add_argument("--no-embedding", action="store_true", help="skip the embedding-similarity rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    from agentflan.evaluate.agent_h import score_agent_h
    from agentflan.evaluate.agent_h_build import BuildOptions, build_agent_h, build_tool_need, load_sources
    from agentflan.evaluate.similarity import EmbeddingSimilarity, LexicalSimilarity, embedding_available
    from agentflan.evaluate.tool_steps import score_items
    from agentflan.evaluate.tool_steps_build import build_tool_steps, read_trajectories
    from agentflan.evaluate.toolneed import score_tool_need

    rng = random.Random(0)
    sources = [
        DATA / "toolbench" / "queries",
        DATA / "toolbench" / "answers",
        DATA / "glaive" / "glaive_toolcall_en_demo.json",
        DATA / "teval" / "api_descrip.json",
        DATA / "mmlu" / "test",
    ]
    rows: list[tuple[str, int, float]] = []

    t0 = time.perf_counter()
    corpus = load_sources([str(s) for s in sources])
    h_items = build_agent_h(options=BuildOptions(size=args.agent_h_size), corpus=corpus)
    rows.append(("agent-h build (load sources + draw)", len(h_items), time.perf_counter() - t0))

    h_resp = agent_h_responses(len(h_items), rng)
    rows.append(("agent-h classify", len(h_items), _best(lambda: [score_agent_h(i, r) for i, r in zip(h_items, h_resp, strict=True)], args.repeats)))

    n_items = build_tool_need(corpus=corpus)
    n_resp = tool_need_responses(n_items, rng)
    rows.append(("tool-need score", len(n_items), _best(lambda: [score_tool_need(i, r) for i, r in zip(n_items, n_resp, strict=True)], args.repeats)))

    s_items = build_tool_steps(read_trajectories([DATA / "toolbench" / "answers"]))
    s_resp = step_responses(s_items, rng)
    lexical = LexicalSimilarity()
    rows.append(("tool-steps score, lexical", len(s_items), _best(lambda: score_items(s_items, s_resp, lexical), args.repeats)))
    if not args.no_embedding and embedding_available():
        emb = EmbeddingSimilarity()
        t0 = time.perf_counter()
        emb.pairs(["warm"], ["up"])
        rows.append(("embedding model load (once, imports done)", 1, time.perf_counter() - t0))
        rows.append(("tool-steps score, embedding", len(s_items), _best(lambda: score_items(s_items, s_resp, emb), args.repeats)))

    print(f"{'scorer':<38} {'items':>7} {'seconds':>9} {'items/s':>10}")
    for name, n, secs in rows:
        print(f"{name:<38} {n:>7} {secs:>9.3f} {n / secs:>10.0f}")


if __name__ == "__main__":
    main()
