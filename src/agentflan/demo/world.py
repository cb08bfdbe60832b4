"""The demo world (``data/demo/world.yaml``) turned into conversations: request -> tool call ->
observation -> answer trajectories, and tool-free fact questions.

Every table of argument values is split once, by a seeded shuffle, into training and held-out
values, so evaluation asks for cities, countries, tickers... the model never saw in training.
Training requests also name invented values (``invented`` in world.yaml: made-up city names,
tickers, restaurants...) for a share of their arguments: with a few dozen real values a small
model memorises the list and answers every held-out request with a value it knows; with values it
can never memorise, the only way to lower the loss is to copy what the user wrote -- the skill the
held-out requests test. Invented values never equal a table value of either side.
All choices come from one ``random.Random`` per output, so a seed gives the same rows byte for byte.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agentflan.conversation import Tool, ToolCall
from agentflan.errors import ConfigError
from agentflan.formats.openai import openai_call, openai_tools

TRAIN, HELDOUT = "train", "heldout"
#: The kinds of a negative row's further turns (world.yaml's ``negative_turns``).
NEGATIVE_TURNS = ("question", "unserved", "served")


@dataclass(frozen=True, slots=True)
class Call:
    """One drawn request: the tool, its argument values, and the words of the request."""

    tool: dict[str, Any]
    arguments: dict[str, Any]
    request: str

    def fill(self, template: str, extra: dict[str, Any] | None = None) -> str:
        return string.Template(template).substitute({**self.arguments, **(extra or {})})


def load_world(path: Path | None = None) -> dict[str, Any]:
    """The world file (by default the package's); a missing key is a :class:`ConfigError` naming it."""
    path = path or Path(str(resources.files("agentflan") / "data" / "demo" / "world.yaml"))
    world: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("tables", "numbers", "tools", "facts", "system", "heldout_fraction", "negative_tool_fraction", "negative_turns"):
        if key not in world:
            raise ConfigError(f"{path}: missing key {key!r}")
    unknown = set(world["negative_turns"]) - set(NEGATIVE_TURNS)
    if unknown:
        raise ConfigError(f"{path}: negative_turns: unknown kind {sorted(unknown)[0]!r} (kinds: {', '.join(NEGATIVE_TURNS)})")
    for i, tool in enumerate(world["tools"]):
        for key in ("name", "description", "parameters", "arguments", "requests", "thoughts", "observation", "answer", "no_tool"):
            if key not in tool:
                raise ConfigError(f"{path}: tools[{i}] ({tool.get('name', '?')}): missing key {key!r}")
    return world


def split_values(values: list[Any], fraction: float, seed: int, name: str) -> dict[str, list[Any]]:
    """A table's values in two disjoint parts: ``train`` and ``heldout`` (at least one each)."""
    shuffled = list(values)
    random.Random(f"{seed}/split/{name}").shuffle(shuffled)
    n_held = max(1, round(len(shuffled) * fraction))
    return {HELDOUT: sorted(shuffled[:n_held], key=str), TRAIN: sorted(shuffled[n_held:], key=str)}


class World:
    """Draws requests, trajectories and questions for one side (``train`` or ``heldout``)."""

    def __init__(self, world: dict[str, Any], seed: int):
        self.world = world
        frac = float(world["heldout_fraction"])
        self.tables = {name: split_values(vals, frac, seed, name) for name, vals in world["tables"].items()}
        self.facts = {name: split_values(sorted(f["pairs"].items()), frac, seed, f"facts/{name}") for name, f in world["facts"].items()}
        self.tools = {t["name"]: t for t in world["tools"]}

    def schema(self, tool: dict[str, Any]) -> dict[str, Any]:
        """The tool in the OpenAI ``tools`` shape."""
        return openai_tools([Tool(tool["name"], tool["description"], tool["parameters"])])[0]

    def value(self, kind: str, side: str, rng: random.Random, invent: float | None = None) -> Any:
        """One value of an argument kind: a table entry of ``side`` (or, in training, an invented one
        with probability ``invent``, by default world.yaml's ``invented.fraction``), a number, a
        tracking number or a time."""
        if kind in self.tables:
            invented = self.world.get("invented") or {}
            share = float(invented.get("fraction", 0.0)) if invent is None else invent
            if side == TRAIN and kind in invented.get("kinds", {}) and rng.random() < share:
                return self.invented(kind, rng)
            return rng.choice(self.tables[kind][side])
        numbers = {k: v[side] if isinstance(v, dict) and side in v else v for k, v in self.world["numbers"].items()}
        if kind == "tracking":
            return f"PK{self._number(numbers['digits'], rng)}"
        if kind == "clock":
            return f"{self._number(numbers['hour'], rng):02d}:{self._number(numbers['minute'], rng):02d}"
        if kind in numbers:
            return self._number(numbers[kind], rng)
        raise ConfigError(f"world.yaml: argument kind {kind!r} is neither a table nor a number")

    def invented(self, kind: str, rng: random.Random) -> str:
        """A made-up value of a table kind, shaped as world.yaml's ``invented.kinds[kind]`` says:
        ``words`` capitalised words of ``syllables`` each, or ``letters`` upper-case letters; never
        a value, nor a word of a value, of any table (an invented ticker is no held-out currency code)."""
        spec = self.world["invented"]["kinds"][kind]
        known = {w for table in self.tables.values() for side in table.values() for v in side for w in [str(v), *str(v).split()]}
        while True:
            if "letters" in spec:
                n = rng.randint(int(spec["letters"]["min"]), int(spec["letters"]["max"]))
                value = "".join(rng.choice(string.ascii_uppercase) for _ in range(n))
            else:
                syllables = self.world["invented"]["syllables"]
                words = [
                    "".join(rng.choice(syllables) for _ in range(rng.randint(int(spec["syllables"]["min"]), int(spec["syllables"]["max"]))))
                    for _ in range(int(spec["words"]))
                ]
                value = " ".join(w.capitalize() for w in words)
            if value not in known and not known.intersection(value.split()):
                return value

    @staticmethod
    def _number(spec: Any, rng: random.Random) -> Any:
        if isinstance(spec, dict):
            return rng.randint(int(spec["min"]), int(spec["max"]))
        return rng.choice(spec)

    def draw_call(self, tool: dict[str, Any], side: str, rng: random.Random, invent: float | None = None) -> Call:
        arguments: dict[str, Any] = {}
        for arg, kind in tool["arguments"].items():
            value = self.value(kind, side, rng, invent)
            while value in arguments.values() and kind in self.tables:  # from and to differ
                value = self.value(kind, side, rng, invent)
            arguments[arg] = value
        return Call(tool, arguments, string.Template(rng.choice(tool["requests"])).substitute(arguments))

    def trajectory(self, conv_id: str, side: str, rng: random.Random) -> dict[str, Any]:
        """One OpenAI-messages trajectory: the tool it needs among 1-2 others, in a seeded order."""
        tool = rng.choice(self.world["tools"])
        call = self.draw_call(tool, side, rng)
        others = rng.sample([t for t in self.world["tools"] if t is not tool], rng.randint(1, 2))
        offered = [tool, *others]
        rng.shuffle(offered)
        observation = {k: self._observed(spec, rng) for k, spec in tool["observation"].items()}
        call_id = f"call_{conv_id.replace('-', '_')}"
        return {
            "id": conv_id,
            "messages": [
                {"role": "system", "content": self.world["system"]},
                {"role": "user", "content": call.request},
                {"role": "assistant", "content": call.fill(rng.choice(tool["thoughts"])),
                 "tool_calls": [openai_call(ToolCall(tool["name"], call.arguments, raw_arguments=json.dumps(call.arguments, ensure_ascii=False),
                                                     id=call_id), arguments="text")]},
                {"role": "tool", "tool_call_id": call_id, "name": tool["name"],
                 "content": json.dumps({**call.arguments, **observation}, ensure_ascii=False)},
                {"role": "assistant", "content": call.fill(tool["answer"], observation)},
            ],
            "tools": [self.schema(t) for t in offered],
        }

    def extraction(self, conv_id: str, rng: random.Random) -> dict[str, Any]:
        """One argument-extraction conversation (world.yaml's ``extraction``): requests whose table
        values are all invented, each answered with its arguments as one JSON object -- dense copy
        targets that no memorised value can predict."""
        spec = self.world["extraction"]
        messages = [{"role": "system", "content": spec["system"]}]
        repeat = spec.get("repeat") or {}
        for _ in range(rng.randint(int(spec["turns"]["min"]), int(spec["turns"]["max"]))):
            if rng.random() < float(repeat.get("share", 0.0)):
                n = rng.randint(int(repeat["count"]["min"]), int(repeat["count"]["max"]))
                values = " ".join(str(self.value(rng.choice(repeat["kinds"]), TRAIN, rng, invent=1.0)) for _ in range(n))
                messages += [{"role": "user", "content": string.Template(repeat["request"]).substitute(values=values)},
                             {"role": "assistant", "content": values}]
                continue
            call = self.draw_call(rng.choice(self.world["tools"]), TRAIN, rng, invent=1.0)
            messages += [{"role": "user", "content": call.request},
                         {"role": "assistant", "content": json.dumps(call.arguments, ensure_ascii=False)}]
        return {"id": conv_id, "messages": messages}

    def _observed(self, spec: Any, rng: random.Random) -> Any:
        return self._number(spec, rng)

    def no_tool_reply(self, conv: dict[str, Any]) -> str:
        """The plain reply to a trajectory's request when no offered tool can serve it."""
        call = conv["messages"][2]["tool_calls"][0]["function"]
        return string.Template(self.tools[call["name"]]["no_tool"]).substitute(json.loads(call["arguments"]))

    def unknown_questions(self, n: int, rng: random.Random) -> list[dict[str, str]]:
        """Fact questions about invented subjects, answered plainly that the subject is unknown
        (world.yaml's ``facts.*.unknown``). Held-out questions name subjects training never shows, as
        tool requests with invented values do: with these, a question's phrasing, not the novelty of
        its subject, tells it from a tool request."""
        facts = [(name, fact) for name, fact in sorted(self.world["facts"].items()) if "unknown" in fact]
        rows = []
        for i in range(n):
            name, fact = rng.choice(facts)
            spec = fact["unknown"]
            key = self.invented(spec["kind"], rng)
            key = key.lower() if spec.get("lower") else key
            rows.append({"id": f"unknown-{name}-{i:05d}",
                         "question": string.Template(rng.choice(fact["questions"])).substitute(key=key),
                         "answer": string.Template(spec["answer"]).substitute(key=key)})
        return rows

    def questions(self, side: str) -> list[dict[str, str]]:
        """Every fact question of ``side`` in every phrasing: ``{"id", "question", "answer"}``."""
        rows = []
        for name, fact in self.world["facts"].items():
            for key, value in self.facts[name][side]:
                for i, q in enumerate(fact["questions"]):
                    fields = {"key": key, "value": value}
                    answer = string.Template(fact["answer"]).substitute(fields)
                    rows.append({"id": f"{side}-{name}-{key.replace(' ', '_')}-{i}",
                                 "question": string.Template(q).substitute(fields), "answer": answer[:1].upper() + answer[1:]})
        return rows
