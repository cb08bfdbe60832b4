"""Build Agent-H (the paper's hallucination benchmark, never released) and its tool-need companion.

Agent-H samples all deserve a plain reply (Agent-FLAN section 3.3):

- ``tool_query/no_tools``: a request a tool would serve (ToolBench, Glaive, agentflan's own
  set), with no tools offered;
- ``tool_query/unrelated_tools``: the same kind of request with 1 to ``max_tools`` tools that
  cannot serve it;
- ``general/with_tools``: an ordinary question (tool-free chat, MMLU) with 1 to ``max_tools``
  tools offered.

"Unrelated" is decided by name: a tool whose name shares a content word with the request
(``get_weather_forecast`` for "will it rain in Tokyo this weekend?" shares none, so the check
is only a filter, not a proof) is never offered, and neither is a general-purpose tool (search,
calculator, translator, code runner: ``generic_tools.txt``), since calling one of those could be
fair for almost any question.

Each sample becomes two items: the same request under a ReAct-style system prompt (H-ReAct,
the protocol's own format instruction listing the offered tools) and under a general one
(H-General). ``tool_fraction`` of the samples are tool queries when the sources allow; when one
kind runs short the other fills the size, and when both run short the set is smaller than
asked (:func:`build_summary` says by how much).

The tool-need set is the counterweight: the same tool queries with the tools that serve them
offered, where the right answer is a call (scored in :mod:`agentflan.evaluate.toolneed`).

All random choices are seeded; the same inputs and seed give the same items, byte for byte.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from agentflan.batch import Rejects
from agentflan.conversation import Message, Tool
from agentflan.errors import ConfigError
from agentflan.evaluate.base import EvalItem
from agentflan.evaluate.itemfile import write_items
from agentflan.evaluate.tool_corpus import builtin_paths, load_corpus, prompts, word_list
from agentflan.options import option
from agentflan.protocols import describe_tools
from agentflan.protocols.base import get_protocol
from agentflan.sources.tool_queries import Corpus, GeneralQuestion, ToolQuery

KIND_NO_TOOLS = "tool_query/no_tools"
KIND_UNRELATED = "tool_query/unrelated_tools"
KIND_GENERAL = "general/with_tools"
KIND_TOOL_NEED = "tool_need"
#: Protocols whose format instruction lists the offered tools (FireAct's tools are fixed).
TOOL_LISTING_PROTOCOLS = ("react", "json", "json-goal")

T = TypeVar("T")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[^\W_]+")


@dataclass(slots=True)
class BuildOptions:
    """How a set is drawn: size (samples; each gives two items), seed, mix, protocol, tools per sample,
    and the tool-need companion items. The one home of these settings, their defaults and their
    documentation: :func:`build_agent_h` and :func:`build_tool_need` take one, the CLI, the suites and
    the demo generator make one (:meth:`of`), the suites' options declare theirs from it (:func:`build_option`)."""

    size: int = option(1845, "samples to draw (the paper's size; each gives a ReAct and a general item)", metavar="N")
    seed: int = option(0, "seed of every random choice: same inputs and seed give the same items", metavar="S")
    tool_fraction: float = option(0.5, "share of tool-needing samples", metavar="F")
    protocol: str = option("react", "protocol of the ReAct-style prompt: react, json or json-goal", metavar="NAME")
    max_tools: int = option(4, "most tools offered per item", metavar="N")
    builtin: bool = option(True, "add agentflan's built-in tool and question set")
    tool_need: bool = option(False, "mix the tool-need companion items into an Agent-H set, so one file scores both sides")
    tool_need_size: int | None = option(None, "tool-need companion samples", none="every usable tool query", metavar="N")

    @classmethod
    def of(cls, settings: object, **overrides: Any) -> BuildOptions:
        """The build settings ``settings`` (a suite's or the command line's options) holds under these
        fields' names, then ``overrides``."""
        fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(cls) if hasattr(settings, f.name)}
        return cls(**{**fields, **overrides})

    def check(self) -> None:
        if self.size < 1:
            raise ConfigError(f"size must be at least 1, got {self.size}")
        if self.tool_need_size is not None and self.tool_need_size < 0:
            raise ConfigError(f"tool_need_size must not be negative, got {self.tool_need_size}")
        if not 0.0 <= self.tool_fraction <= 1.0:
            raise ConfigError(f"tool_fraction must lie in [0, 1], got {self.tool_fraction}")
        if self.max_tools < 1:
            raise ConfigError(f"max_tools must be at least 1, got {self.max_tools}")
        if self.protocol not in TOOL_LISTING_PROTOCOLS:
            raise ConfigError(f"protocol must be one of {', '.join(TOOL_LISTING_PROTOCOLS)} (they list the offered tools), got {self.protocol!r}")


DEFAULTS = BuildOptions()


def build_option(name: str, *, help: str | None = None) -> Any:
    """An options-dataclass field for the build setting ``name``: the default and documentation of
    :class:`BuildOptions` (``help`` rewords it for a suite that reads the setting differently)."""
    f = next(f for f in dataclasses.fields(BuildOptions) if f.name == name)
    return dataclasses.field(default=f.default, metadata={**f.metadata, **({"help": help} if help else {})})


@dataclass(slots=True)
class _Sample:
    kind: str
    key: str
    query: str
    source: str
    source_id: str
    tools: list[Tool]


def load_sources(
    sources: Sequence[str | os.PathLike[str]], general_questions: Sequence[str | os.PathLike[str]] = (), *, builtin: bool = True,
    rejects: Rejects | None = None,
) -> Corpus:
    """The deduplicated corpus of the given inputs, after the built-in ones when ``builtin``."""
    specs: list[str | Path] = [*(builtin_paths() if builtin else []), *map(str, sources), *map(str, general_questions)]
    corpus = load_corpus(specs, rejects=rejects).dedupe()
    builtin_names = {str(p): f"builtin:{p.name}" for p in builtin_paths()}
    entries: list[ToolQuery | GeneralQuestion] = [*corpus.tool_queries, *corpus.general]
    for entry in entries:  # no install path in the items
        entry.source = builtin_names.get(entry.source, entry.source)
        entry.group = builtin_names.get(entry.group.partition(":")[2], entry.group)
    return corpus


def build_agent_h(
    sources: Sequence[str | os.PathLike[str]] = (),
    options: BuildOptions = DEFAULTS,
    *,
    general_questions: Sequence[str | os.PathLike[str]] = (),
    out: str | os.PathLike[str] | None = None,
    rejects: Rejects | None = None,
    corpus: Corpus | None = None,
) -> list[EvalItem]:
    """Agent-H items (two per sample) from ``sources`` + ``general_questions`` (or a loaded ``corpus``),
    drawn as ``options`` say; JSONL to ``out`` when given, after a header holding :func:`build_summary`
    (the composition, and its ``warning`` if short). ``options.tool_need`` mixes in the tool-need
    companion items (:func:`build_tool_need`) so that one file scores both sides."""
    o = options
    o.check()
    corpus = corpus if corpus is not None else load_sources(sources, general_questions, builtin=o.builtin, rejects=rejects)
    items = [it for s in _draw_agent_h(corpus, o) for it in render_sample(s, o.protocol)]
    if o.tool_need:
        items = spread(items, build_tool_need(options=o, corpus=corpus))
    if out is not None:
        write_items(items, out, header={"suite": "agent-h", "seed": o.seed, "protocol": o.protocol,
                                        "composition": build_summary(items, o.size, o.tool_fraction)})
    return items


def build_tool_need(
    sources: Sequence[str | os.PathLike[str]] = (),
    options: BuildOptions = DEFAULTS,
    *,
    out: str | os.PathLike[str] | None = None,
    rejects: Rejects | None = None,
    corpus: Corpus | None = None,
) -> list[EvalItem]:
    """Tool-need items: each tool query with the tools that serve it (plus unrelated ones when its
    source offered a single tool), expecting a call; ``options.tool_need_size`` of them (None: every
    query), drawn with its seed, protocol, tools per item and built-in set."""
    options.check()
    size, seed, protocol = options.tool_need_size, options.seed, options.protocol
    corpus = corpus if corpus is not None else load_sources(sources, builtin=options.builtin, rejects=rejects)
    pool = _Pool(corpus)
    queries = [q for q in corpus.tool_queries if _acceptable(q)]
    random.Random(f"{seed}/tool-need").shuffle(queries)
    if size is not None:
        queries = queries[:size]
    items: list[EvalItem] = []
    for n, q in enumerate(queries, start=1):
        tools = list(q.tools)
        if len(tools) < 2:
            rng = random.Random(f"{seed}/{KIND_TOOL_NEED}/{q.id}")
            tools += pool.unrelated(q.query, {t.name for t in tools}, rng, options.max_tools - 1 or 1)
            rng.shuffle(tools)
        sample = _Sample(KIND_TOOL_NEED, f"n{n:04d}", q.query, q.source, q.id, tools)
        expected = {
            "needs_tool": True,
            "acceptable": _acceptable(q),
            "reference": q.reference.to_dict() if q.reference is not None else None,
        }
        items.extend(render_sample(sample, protocol, expected))
    if out is not None:
        write_items(items, out)
    return items


def spread(first: list[EvalItem], second: list[EvalItem]) -> list[EvalItem]:
    """Both lists' samples (an item's ``meta["sample"]``) merged evenly in order, so the first N
    items (the runner's ``--limit``) hold both kinds in proportion."""

    def samples(items: list[EvalItem]) -> list[list[EvalItem]]:
        groups: dict[str, list[EvalItem]] = {}
        for it in items:
            groups.setdefault(str(it.meta.get("sample", it.id)), []).append(it)
        return list(groups.values())

    a, b = samples(first), samples(second)
    keyed = [((i + 1) / len(a), 0, g) for i, g in enumerate(a)] + [((i + 1) / len(b), 1, g) for i, g in enumerate(b)]
    return [it for _, _, group in sorted(keyed, key=lambda k: (k[0], k[1])) for it in group]


def _acceptable(q: ToolQuery) -> list[str]:
    offered = {t.name for t in q.tools}
    names = q.acceptable or ([q.reference.name] if q.reference is not None else [])
    return [n for n in names if n in offered]


def _draw_agent_h(corpus: Corpus, opts: BuildOptions) -> list[_Sample]:
    rng = random.Random(f"{opts.seed}/agent-h")
    tool_cands = interleave(
        [((k, q), q.group) for q in corpus.tool_queries for k in (KIND_NO_TOOLS, KIND_UNRELATED)], rng
    )
    general_cands = interleave([(g, g.group) for g in corpus.general], rng)
    want_tool = round(opts.size * opts.tool_fraction)
    n_tool = min(len(tool_cands), want_tool)
    n_general = min(len(general_cands), opts.size - n_tool)
    n_tool = min(len(tool_cands), opts.size - n_general)  # the tool side fills what the general side lacks
    pool = _Pool(corpus)
    samples: list[_Sample] = []
    for kind, q in tool_cands[:n_tool]:
        srng = random.Random(f"{opts.seed}/{kind}/{q.id}")
        tools = [] if kind == KIND_NO_TOOLS else pool.unrelated(q.query, {t.name for t in q.tools}, srng, opts.max_tools)
        if kind == KIND_UNRELATED and not tools:
            kind = KIND_NO_TOOLS  # nothing in the pool is unrelated enough: offer none
        samples.append(_Sample(kind, "", q.query, q.source, q.id, tools))
    for g in general_cands[:n_general]:
        srng = random.Random(f"{opts.seed}/{KIND_GENERAL}/{g.id}")
        samples.append(_Sample(KIND_GENERAL, "", g.text, g.source, g.id, pool.unrelated(g.text, set(), srng, opts.max_tools)))
    rng.shuffle(samples)
    for n, s in enumerate(samples, start=1):
        s.key = f"h{n:04d}"
    return samples


def interleave(entries: Sequence[tuple[T, str]], rng: random.Random) -> list[T]:
    """Entries shuffled within their group, then taken from each group in turn: every input
    contributes evenly until it runs out, however large the others are."""
    groups: dict[str, list[T]] = {}
    for value, group in entries:
        groups.setdefault(group, []).append(value)
    lanes = []
    for name in sorted(groups):
        lane = groups[name]
        rng.shuffle(lane)
        lanes.append(lane)
    out: list[T] = []
    for i in range(max((len(lane) for lane in lanes), default=0)):
        out.extend(lane[i] for lane in lanes if i < len(lane))
    return out


class _Pool:
    """The tools Agent-H may offer: sorted by name, generic ones removed, name words precomputed."""

    def __init__(self, corpus: Corpus):
        generic = word_list("generic_tools.txt")
        self.tools: list[tuple[Tool, frozenset[str]]] = []
        for name in sorted(corpus.pool):
            tool = corpus.pool[name]
            text = f"{_split_camel(tool.name)} {tool.description}".lower()
            if any(re.search(rf"\b{re.escape(g)}\b", text) for g in generic):
                continue
            self.tools.append((tool, content_words(_split_camel(tool.name))))

    def unrelated(self, text: str, exclude: set[str], rng: random.Random, max_tools: int) -> list[Tool]:
        words = content_words(text)
        families = {f for f in map(tool_family, exclude) if f}
        eligible = [
            t for t, w in self.tools if t.name not in exclude and not (w & words) and tool_family(t.name) not in families
        ]
        if not eligible:
            return []
        return rng.sample(eligible, min(rng.randint(1, max_tools), len(eligible)))


def tool_family(name: str) -> str | None:
    """The toolkit a function belongs to: ToolBench's ``<api>_for_<tool>``, T-Eval's ``Tool.api``."""
    if "_for_" in name:
        return name.rsplit("_for_", 1)[1]
    if "." in name:
        return name.split(".", 1)[0]
    return None


def content_words(text: str) -> frozenset[str]:
    """Words that carry meaning, cut to a 5-letter stem (``forecasting`` ~ ``forecast``)."""
    stop = set(word_list("stopwords.txt"))
    return frozenset(w[:5] for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in stop and not w.isdigit())


def _split_camel(name: str) -> str:
    return _CAMEL.sub(r"\1 \2", name).replace("_", " ").replace(".", " ")


def render_sample(sample: _Sample, protocol: str, expected: dict[str, Any] | None = None) -> list[EvalItem]:
    """The H-ReAct and H-General items of one sample."""
    p = prompts()
    offered = [t.name for t in sample.tools]
    react_system = string.Template(p["react_system"]).substitute(
        format_instruction=get_protocol(protocol).format_instruction(sample.tools)
    )
    general_system = p["general_system"]
    if sample.tools:
        general_system += string.Template(p["general_tools"]).substitute(tools=describe_tools(sample.tools))
    items = []
    for prompt, system in (("react", react_system), ("general", general_system)):
        exp = {"needs_tool": False, **(expected or {}), "offered": offered, "prompt": prompt, "protocol": protocol}
        items.append(
            EvalItem(
                id=f"{sample.key}/{prompt}",
                messages=[Message("system", system), Message("user", sample.query)],
                tools=list(sample.tools),
                expected=exp,
                meta={
                    "sample": sample.key,
                    "kind": sample.kind,
                    "prompt": prompt,
                    "source": sample.source,
                    "source_id": sample.source_id,
                },
            )
        )
    return items


def build_summary(items: Sequence[EvalItem], requested: int | None = None, tool_fraction: float | None = None) -> dict[str, Any]:
    """The composition of a built set: samples per kind and per source file, the share of tool
    queries among the Agent-H samples and how many distinct ones they come from, and a
    ``warning`` when the sources fell short of the requested size or tool fraction."""
    samples = {it.meta["sample"]: it.meta for it in items}
    kinds = Counter(m["kind"] for m in samples.values())
    sources = Counter(Path(str(m["source"])).name for m in samples.values())
    hallu = [m for m in samples.values() if m["kind"] != KIND_TOOL_NEED]
    tool = [m for m in hallu if m["kind"] in (KIND_NO_TOOLS, KIND_UNRELATED)]
    summary: dict[str, Any] = {"samples": len(samples), "items": len(items), "kinds": dict(sorted(kinds.items()))}
    summary["tool_fraction"] = round(len(tool) / len(hallu), 4) if hallu else 0.0
    summary["distinct_tool_queries"] = len({m["source_id"] for m in tool})
    summary["sources"] = dict(sorted(sources.items()))
    problems = []
    if requested is not None:
        summary["requested"] = requested
        summary["short_by"] = max(0, requested - len(hallu))
        if summary["short_by"]:
            problems.append(f"{len(hallu)} Agent-H samples of {requested} requested")
    if tool_fraction is not None:
        summary["tool_fraction_requested"] = tool_fraction
        if summary["tool_fraction"] < tool_fraction - 0.005:
            problems.append(
                f"tool queries are {summary['tool_fraction']:.0%} of the samples, not the requested {tool_fraction:.0%} "
                f"({len(tool)} tool samples from {summary['distinct_tool_queries']} distinct queries)"
            )
    if problems:
        summary["warning"] = "; ".join(problems) + ". " + prompts()["short_sources_advice"]
    return summary
