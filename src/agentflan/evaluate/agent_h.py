"""Agent-H: does a model hallucinate tool use or format when a plain reply is called for?

Every Agent-H item deserves a plain reply (the request needs no tool, or no offered tool
serves it; see :mod:`agentflan.evaluate.agent_h_build`). Each response gets one label:

``plain`` (correct)
    Under the protocol prompt (H-ReAct; ``react`` by default): the response parses under the
    protocol and calls no tool, i.e. ``Thought: ...\\nFinal Answer: ...`` (react),
    ``{"thought", "action": "Final Answer", "action_input"}`` (json), a ``FinishAction`` step
    (json-goal), ToolLLaMA's ``Action: Finish`` with its answer, or a think-only step where
    the protocol has one (fireact's ``Thought: ...`` is a whole step; react's prompt asks for
    ``Final Answer:`` after the thought, so a lone thought there is an unfinished step).
    Under the general prompt (H-General): any text with a word or number and no tool call.

``format`` (format-level hallucination)
    The paper's "output that breaks the requested protocol". The response is empty or
    degenerate (no letter or digit at all: ``.``, ``...``, ``?!``, under either prompt); under
    the protocol prompt it is a **bare reply** (prose with none of the protocol's markers:
    the prompt asked for ``Thought:``/``Final Answer:`` and got neither; ``bare`` is set), or
    it uses the protocol but breaks it (a thought with neither action nor answer, an answer
    followed by an invented ``Observation:``, a malformed JSON object); or it names a null
    action (``Action: None``, ``N/A``; the list is ``data/protocols/null_actions.txt``), which
    calls no tool (every consumer of :func:`~agentflan.protocols.detect_calls` agrees) but does not follow the protocol
    either. ``detail`` is the failure kind (``empty``, ``degenerate``, ``bare``,
    ``no_action``, or the parser's).

``action`` (action-level hallucination)
    The response calls a tool, in the protocol or in any other convention (a JSON call
    object, a ``<tool_call>`` block; see :mod:`agentflan.protocols.calls`), even when
    the call itself is broken. ``detail`` is ``unoffered`` when any called tool is not
    offered (every call is, when none is offered), else ``unneeded``. Action outranks format:
    a half-written call is an action-level hallucination.

Rates are the share of items not labelled ``plain``: ``H_ReAct`` over the protocol-prompt
items, ``H_General`` over the general-prompt items, and ``H = 0.5 * ((1 - H_ReAct) + (1 -
H_General)) * 100`` as in the paper. A model answering ``.`` to everything scores 0.
``H_lenient`` (with ``H_ReAct_lenient``) is the older, forgiving reading that counts a bare
prose reply under the protocol prompt as correct; it is reported beside ``H``, never instead.
Breakdowns by sample kind and label follow. The suite also runs the tool-need companion items
by default (``tool_need=True``) and reports their score beside ``H``, since a model that never
calls tools would otherwise win.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from agentflan.errors import ConfigError
from agentflan.evaluate.agent_h_build import BuildOptions, build_option
from agentflan.evaluate.base import EvalItem, ItemResult
from agentflan.evaluate.registry import OptionsSuite, split_specs, suite_options
from agentflan.evaluate.tool_corpus import prompts
from agentflan.evaluate.toolneed import score_tool_need, summarize_tool_need
from agentflan.options import option
from agentflan.protocols.base import AgentProtocol, AgentStep, get_protocol
from agentflan.protocols.calls import (
    detect_calls,
    is_answer_action,
    is_null_action,
    names_null_action,
    real_calls,
    step_of,
)

log = logging.getLogger(__name__)
Label = Literal["plain", "format", "action"]


@dataclass(slots=True)
class Verdict:
    label: Label
    detail: str
    calls: list[str]
    bare: bool = False

    def scores(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "detail": self.detail,
            "hallucinated": self.label != "plain",
            "calls": self.calls,
            "bare": self.bare,
        }


def classify(
    text: str,
    *,
    prompt: str,
    protocol: str | AgentProtocol = "react",
    offered: Collection[str] = (),
) -> Verdict:
    """The label of one response (see the module docstring); ``prompt`` is ``general`` or the protocol prompt."""
    if not text.strip():
        return Verdict("format", "empty", [])
    if prompt == "general":
        calls = detect_calls(text)
        if calls:
            return _action(calls, offered)
        if names_null_action(text):
            return Verdict("format", "no_action", [])
        return Verdict("plain", "reply", []) if is_wordful(text) else Verdict("format", "degenerate", [])
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    result = proto.parse(text)
    step = step_of(result)
    calls = real_calls(step)
    named_null = step is not None and any(is_null_action(c.name) for c in step.tool_calls)
    if isinstance(result, AgentStep):
        if calls:
            return _action(calls, offered)
        if named_null:
            return Verdict("format", "no_action", [])
        if any(is_answer_action(c.name) for c in result.tool_calls):
            return Verdict("plain", "finish_call", [])
        if result.final_answer is not None:
            wordful = is_wordful(result.final_answer)
            return Verdict("plain", "final_answer", []) if wordful else Verdict("format", "degenerate", [])
        return Verdict("plain", "thought_only", [])
    calls = calls or detect_calls(text)  # another convention's call
    if calls:
        return _action(calls, offered)
    if named_null:
        return Verdict("format", "no_action", [])
    if not is_wordful(text):
        return Verdict("format", "degenerate", [])
    if is_bare(text, proto.name):
        return Verdict("format", "bare", [], bare=True)
    return Verdict("format", result.kind.value, [])


def is_wordful(text: str) -> bool:
    """Whether ``text`` holds a letter or digit: ``.`` or ``?!`` answers nobody."""
    return any(ch.isalnum() for ch in text)


def is_bare(text: str, protocol: str) -> bool:
    """Whether ``text`` holds none of the protocol's markers (plain prose, no attempt at the format)."""
    markers: dict[str, list[str]] = prompts()["protocol_markers"]
    if protocol not in markers:
        raise ConfigError(f"no protocol markers for {protocol!r} in data/eval/agent_h/prompts.yaml")
    return not any(m in text for m in markers[protocol])


def _action(calls: list[Any], offered: Collection[str]) -> Verdict:
    names = [c.name for c in calls]
    detail = "unoffered" if any(n not in offered for n in names) else "unneeded"
    return Verdict("action", detail, names)


def score_agent_h(item: EvalItem, response: str) -> dict[str, Any]:
    exp = item.expected
    return classify(response, prompt=exp["prompt"], protocol=exp["protocol"], offered=exp["offered"]).scores()


def summarize_agent_h(results: Iterable[ItemResult]) -> dict[str, Any]:
    """H, tool-need, H-ReAct, H-General, the lenient reading, breakdowns."""
    hallu: list[ItemResult] = []
    need: list[ItemResult] = []
    for r in results:
        (need if r.meta.get("kind") == "tool_need" else hallu).append(r)
    per_prompt: dict[str, dict[str, Any]] = {}
    per_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for prompt in ("react", "general"):
        rows = [r.scores for r in hallu if r.meta.get("prompt") == prompt]
        per_prompt[prompt] = _rates(rows)
        kinds = sorted({str(r.meta.get("kind")) for r in hallu})
        for kind in kinds:
            kind_rows = [r.scores for r in hallu if r.meta.get("prompt") == prompt and r.meta.get("kind") == kind]
            per_kind.setdefault(kind, {})[prompt] = _rates(kind_rows)
    h_react, h_general = per_prompt["react"]["hallucination"], per_prompt["general"]["hallucination"]
    lenient_react = per_prompt["react"]["hallucination_lenient"]
    metrics: dict[str, Any] = {"H": round(50.0 * ((1 - h_react) + (1 - h_general)), 2)}
    if need:  # the counterweight, next to the headline (tables show the first rows)
        metrics["ToolNeed"] = summarize_tool_need(need)["tool_need"]
    metrics |= {
        "H_ReAct": h_react,
        "H_General": h_general,
        "H_lenient": round(50.0 * ((1 - lenient_react) + (1 - h_general)), 2),
        "H_ReAct_lenient": lenient_react,
        "n_samples": len({r.meta.get("sample") for r in hallu}),
        "per_prompt": per_prompt,
        "per_kind": per_kind,
    }
    if need:
        metrics["tool_need"] = summarize_tool_need(need)
    return metrics


def _rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)

    def rate(pred: Any) -> float:
        return round(sum(1 for s in rows if pred(s)) / n, 4) if n else 0.0

    return {
        "n": n,
        "hallucination": rate(lambda s: s["hallucinated"]),
        "hallucination_lenient": rate(lambda s: s["hallucinated"] and not s["bare"]),
        "format": rate(lambda s: s["label"] == "format"),
        "action": rate(lambda s: s["label"] == "action"),
        "action_unoffered": rate(lambda s: s["label"] == "action" and s["detail"] == "unoffered"),
        "action_unneeded": rate(lambda s: s["label"] == "action" and s["detail"] == "unneeded"),
        "bare": rate(lambda s: s["bare"]),
        "degenerate": rate(lambda s: s["detail"] in ("empty", "degenerate")),
    }


# --------------------------------------------------------------------------- suite


@dataclass(slots=True)
class AgentHOptions:
    """``data``: a file from ``agentflan eval build-agent-h``; otherwise the set is built here from
    ``sources`` and ``general_questions`` (comma lists) plus the built-in set when ``builtin``."""

    data: str | None = option(None, "an item file from `agentflan eval build-agent-h`", none="build the set here from --source/--general", metavar="PATH")
    sources: list[str] | str | None = option(
        None, "tool corpus to build items from (ToolBench queries/answers, Glaive); repeatable", none="only the built-in set", flag="source", metavar="PATH", repeatable=True
    )
    general_questions: list[str] | str | None = option(
        None, "general (no tool needed) questions; repeatable", none="only the built-in set", flag="general", metavar="PATH", repeatable=True
    )
    size: int = build_option("size")
    seed: int = build_option("seed")
    tool_fraction: float = build_option("tool_fraction")
    protocol: str = build_option("protocol")
    max_tools: int = build_option("max_tools")
    builtin: bool = build_option("builtin")
    tool_need: bool = option(True, "also run the tool-need companion items and report their score beside H")
    tool_need_size: int | None = build_option("tool_need_size")
    max_new_tokens: int = option(512, "tokens per generation", metavar="N")


class AgentHSuite(OptionsSuite):
    name: ClassVar[str] = "agent-h"

    def __init__(self, options: AgentHOptions):
        self.options = options
        #: What the items are made of (:func:`~agentflan.evaluate.agent_h_build.build_summary`).
        self.composition: dict[str, Any] = {}

    def build_items(self) -> list[EvalItem]:
        from agentflan.evaluate.agent_h_build import build_agent_h, build_summary, load_sources
        from agentflan.evaluate.itemfile import read_header, read_items

        o = self.options
        if o.data is not None:
            items = read_items(o.data)
            if o.tool_need and not any(it.expected.get("needs_tool") for it in items):
                raise ConfigError(
                    f"{o.data} holds no tool-need items, so H would stand alone (a model that never calls a tool wins it); "
                    "rebuild it with `agentflan eval build-agent-h`, or pass --set tool_need=false to accept that"
                )
            items = items if o.tool_need else [it for it in items if not it.expected.get("needs_tool")]
            header = read_header(o.data) or {}
            self.composition = header.get("composition") or build_summary(items)
            return items
        corpus = load_sources(split_specs(o.sources), split_specs(o.general_questions), builtin=o.builtin)
        if not corpus.tool_queries and not corpus.general:
            raise ConfigError("agent-h has nothing to build from: give sources= or keep builtin=true")
        items = build_agent_h(options=BuildOptions.of(o), corpus=corpus)
        self.composition = build_summary(items, o.size, o.tool_fraction)
        return items

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        if item.expected.get("needs_tool"):
            return score_tool_need(item, response)
        return score_agent_h(item, response)

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        """:func:`summarize_agent_h`, with the set's composition and its warning when the sources fell short."""
        self._items  # noqa: B018  (builds the items, which records their composition)
        metrics = summarize_agent_h(results)
        if not self.options.tool_need:
            metrics = {"H": metrics["H"], "ToolNeed": "not run (tool_need=false)", **metrics}
        if "warning" in self.composition:
            log.warning("agent-h: %s", self.composition["warning"])
            head = dict(list(metrics.items())[:2])
            metrics = {**head, "warning": self.composition["warning"], **metrics}
        metrics["composition"] = self.composition
        return metrics


def make_suite(**options: Any) -> AgentHSuite:
    """Options: ``data`` | ``sources``/``general_questions`` (comma lists), ``size``, ``seed``,
    ``tool_fraction``, ``protocol``, ``max_tools``, ``builtin``, ``tool_need``, ``tool_need_size``, ``max_new_tokens``."""
    return AgentHSuite(suite_options(AgentHOptions, "agent-h", options))
