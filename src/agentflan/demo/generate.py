"""Write the demo data files from ``data/demo/world.yaml``, seeded and byte-reproducible.

    python -m agentflan.demo.generate [--out DIR] [--seed N]

Besides the trajectories, chat and questions, it writes the rows that teach a model the exact
prompts evaluation uses (the paper's format-following data: "answer in the format the system
prompt asks for"). Those prompts are not re-typed here: they are built by the evaluation's own
builders (:func:`~agentflan.evaluate.agent_h_build.build_tool_need` and
:func:`~agentflan.evaluate.agent_h_build.build_agent_h`) over the *training* trajectories and
questions, and the expected reply is appended, so training and evaluation prompts agree by
construction:

- ``eval_layouts.jsonl``: a tool request with the tools offered -> the call, as a ReAct step
  under the protocol prompt and as a ``{"name", "arguments"}`` line under the general prompt;
  then more requests for the offered tools under the same prompt;
- ``negative_layouts.jsonl``: a tool request with no or only unrelated tools, or an ordinary
  question with tools offered -> a plain reply (``Thought: ... Final Answer: ...`` under the
  protocol prompt, plain text under the general one): the paper's two kinds of negatives; then
  more questions, requests no offered tool serves, and requests an offered tool serves (called)
  under the same prompt, so calls and refusals stand side by side under one tool list;
- ``extraction.jsonl``: requests with freshly invented values -> the values as JSON, and lists of
  invented values repeated: dense copy targets (:meth:`~agentflan.demo.world.World.extraction`).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentflan.conversation import ToolCall
from agentflan.demo import (
    CHAT,
    EXTRACTION,
    HELDOUT,
    LAYOUTS,
    NEGATIVE_LAYOUTS,
    QUESTIONS,
    TRAJECTORIES,
    demo_dir,
)
from agentflan.demo.world import HELDOUT as HELD_SIDE
from agentflan.demo.world import TRAIN, World, load_world
from agentflan.evaluate.base import EvalItem
from agentflan.io import atomic_open
from agentflan.protocols.base import AgentStep, get_protocol

PROTOCOL = "react"


def generate(out: Path, seed: int = 0) -> dict[str, Path]:
    """Write every demo file under ``out``; returns name -> path."""
    world = World(load_world(), seed)
    sizes = world.world["sizes"]
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}/trajectories")
    train = [world.trajectory(f"demo-{i:05d}", TRAIN, rng) for i in range(int(sizes["trajectories"]))]
    held_rng = random.Random(f"{seed}/heldout")
    held = [world.trajectory(f"held-{i:05d}", HELD_SIDE, held_rng) for i in range(int(sizes["heldout_trajectories"]))]
    unknown = world.unknown_questions(int(sizes.get("unknown_questions", 0)), random.Random(f"{seed}/unknown"))
    train_questions, held_questions = world.questions(TRAIN) + unknown, world.questions(HELD_SIDE)
    chat = [{"id": f"chat-{q['id']}", "conversations": [{"from": "human", "value": q["question"]}, {"from": "gpt", "value": q["answer"]}]}
            for q in train_questions]
    extraction_rng = random.Random(f"{seed}/extraction")
    extraction = [world.extraction(f"extract-{i:05d}", extraction_rng) for i in range(int(sizes.get("extraction", 0)))]
    paths = {name: out / name for name in (TRAJECTORIES, HELDOUT, CHAT, QUESTIONS, LAYOUTS, NEGATIVE_LAYOUTS, EXTRACTION)}
    _write(paths[TRAJECTORIES], train)
    _write(paths[HELDOUT], held)
    _write(paths[CHAT], chat)
    _write(paths[QUESTIONS], held_questions)
    _write(paths[EXTRACTION], extraction)
    with tempfile.TemporaryDirectory() as tmp:  # the builders read files: the training side only
        traj_file, q_file = Path(tmp) / TRAJECTORIES, Path(tmp) / "train_questions.jsonl"
        _write(traj_file, train)
        _write(q_file, train_questions)
        _write(paths[LAYOUTS], layout_rows(world, traj_file, int(sizes["layout_samples"]), seed))
        _write(paths[NEGATIVE_LAYOUTS], negative_rows(world, traj_file, q_file, train, train_questions,
                                                      int(sizes["negative_samples"]), seed))
    return paths


def layout_rows(world: World, trajectories: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """Tool-need prompts of the training trajectories, answered with the reference call; then more
    requests for the offered tools under the same prompt (world.yaml's ``layout_turns``)."""
    from agentflan.evaluate.agent_h_build import BuildOptions, build_tool_need

    items = build_tool_need([str(trajectories)], BuildOptions(tool_need_size=n, seed=seed, protocol=PROTOCOL, builtin=False))
    thoughts = {c["id"]: c["messages"][2]["content"] for c in _read(trajectories)}
    rows = []
    for item in items:
        rng = random.Random(f"{seed}/layout/{item.id}")
        ref = item.expected["reference"]
        call = ToolCall(name=ref["name"], arguments=dict(ref["arguments"]))
        first = _call_reply(item, call, thoughts[item.meta["source_id"]])
        turns: list[tuple[str, str]] = []
        offered = [t for t in world.world["tools"] if t["name"] in {o.name for o in item.tools}]
        for _ in range(_extra_turns(world, rng)):
            drawn = world.draw_call(rng.choice(offered), TRAIN, rng)
            extra = ToolCall(name=drawn.tool["name"], arguments=drawn.arguments)
            turns.append((drawn.request, _call_reply(item, extra, drawn.fill(rng.choice(drawn.tool["thoughts"])))))
        rows.append(_row(f"layout-{item.id}", item, first, turns))
    return rows


def negative_rows(world: World, trajectories: Path, questions: Path, train: list[dict[str, Any]],
                  train_questions: list[dict[str, str]], n: int, seed: int) -> list[dict[str, Any]]:
    """Agent-H prompts of the training requests and questions, answered without a call; then more
    turns under the same prompt (``layout_turns``, of the kinds ``negative_turns`` weighs)."""
    from agentflan.evaluate.agent_h_build import BuildOptions, build_agent_h

    options = BuildOptions(size=n, seed=seed, protocol=PROTOCOL, builtin=False, tool_fraction=float(world.world["negative_tool_fraction"]))
    items = build_agent_h([str(trajectories)], options, general_questions=[str(questions)])
    by_id = {c["id"]: c for c in train}
    answers = {q["id"]: q["answer"] for q in train_questions}
    rows = []
    for item in items:
        rng = random.Random(f"{seed}/negative/{item.id}")
        source_id = item.meta["source_id"]
        if source_id in answers:
            first = _plain_reply(world, item, answers[source_id], "react_plain_thought", rng)
        else:
            first = _plain_reply(world, item, world.no_tool_reply(by_id[source_id]), "react_no_tool_thought", rng)
        offered = {t.name for t in item.tools}
        pools = {"question": train_questions, "unserved": [c for c in train if _wanted(c) not in offered],
                 "served": [c for c in train if _wanted(c) in offered]}
        weights = {k: float(w) for k, w in sorted(world.world["negative_turns"].items()) if float(w) > 0 and pools[k]}
        turns: list[tuple[str, str]] = []
        for _ in range(_extra_turns(world, rng)):
            kind = rng.choices(list(weights), list(weights.values()))[0]
            drawn = rng.choice(pools[kind])
            if kind == "question":
                turns.append((drawn["question"], _plain_reply(world, item, drawn["answer"], "react_plain_thought", rng)))
            elif kind == "unserved":
                turns.append((drawn["messages"][1]["content"], _plain_reply(world, item, world.no_tool_reply(drawn), "react_no_tool_thought", rng)))
            else:
                function = drawn["messages"][2]["tool_calls"][0]["function"]
                call = ToolCall(name=function["name"], arguments=json.loads(function["arguments"]))
                turns.append((drawn["messages"][1]["content"], _call_reply(item, call, drawn["messages"][2]["content"])))
        rows.append(_row(f"negative-{item.id}", item, first, turns))
    return rows


def _call_reply(item: EvalItem, call: ToolCall, thought: str) -> str:
    """A call in the item's prompt layout: a ``{"name", "arguments"}`` line under the general prompt,
    a ReAct step with ``thought`` under the other."""
    if item.expected["prompt"] == "general":
        return json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return get_protocol(PROTOCOL).render(AgentStep(thought=thought, tool_calls=[call])).text.strip()


def _plain_reply(world: World, item: EvalItem, text: str, thoughts: str, rng: random.Random) -> str:
    """A reply without a call: ``text`` under the general prompt, a ReAct final answer under the other
    (its thought drawn from world.yaml's list ``thoughts``)."""
    if item.expected["prompt"] == "general":
        return text
    thought = rng.choice(world.world[thoughts])
    return get_protocol(PROTOCOL).render(AgentStep(thought=thought, final_answer=text)).text.strip()


def _wanted(conv: dict[str, Any]) -> str:
    """The tool a training trajectory calls."""
    return str(conv["messages"][2]["tool_calls"][0]["function"]["name"])


def _extra_turns(world: World, rng: random.Random) -> int:
    spec = world.world.get("layout_turns") or {"min": 1, "max": 1}
    return rng.randint(int(spec["min"]), int(spec["max"])) - 1


def _row(row_id: str, item: EvalItem, first: str, more: list[tuple[str, str]]) -> dict[str, Any]:
    """An OpenAI-messages row: the evaluation item's own messages, its reply ``first``, then each
    further (request, reply) turn. The tools stay in the system prompt's text, as evaluation shows
    them (no ``tools`` field to render twice)."""
    messages = [{"role": m.role, "content": m.content} for m in item.messages]
    messages.append({"role": "assistant", "content": first})
    for request, reply in more:
        messages += [{"role": "user", "content": request}, {"role": "assistant", "content": reply}]
    return {"id": row_id, "messages": messages}


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentflan.demo.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=demo_dir(), help="output folder (default: the package's data/demo)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every choice (default: %(default)s)")
    args = parser.parse_args(argv)
    for name, path in generate(args.out, args.seed).items():
        print(f"{name}: {sum(1 for _ in path.open(encoding='utf-8'))} rows -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
