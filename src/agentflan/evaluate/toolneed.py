"""The tool-need set: Agent-H's counterweight, where the right answer is a call to an offered tool.

Agent-H only rewards *not* calling tools, so a model that never calls one scores 100 there.
Each tool-need item is a tool query (ToolBench, Glaive, agentflan's own set) with tools that
serve it offered, under the same two system prompts as Agent-H (the agent protocol's and the
general one). A response scores when:

- ``tool_ok``: its first call names an acceptable tool (ToolBench: any tool the trajectory
  calls, or the query's ``relevant APIs``; Glaive and agentflan's set: the reference call's);
- ``args_valid``: the arguments are a JSON object that validates against that tool's JSON
  Schema (required parameters present, types right);
- ``format_ok``: under the protocol prompt, the response parses under the protocol (a call
  followed by an invented ``Observation:`` does not); under the general prompt any call
  convention counts (see :mod:`agentflan.protocols.calls`).

``success`` needs all three. ``args_match`` (T-Eval's argument match: the share of the
reference call's arguments given with the same value) is reported when the model chose the
reference tool. The summary's ``tool_need`` is 100 x the mean success over both prompts;
report it next to Agent-H's ``H`` (the Agent-H suite does so itself when it runs the
companion items, its default). ``tool_need_values`` is the stricter share of successes whose
every argument value also equals the reference's (``args_match`` 1): a schema-valid call with
the wrong city counts in ``tool_need`` but not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from agentflan.conversation import Tool, ToolCall
from agentflan.errors import ConfigError
from agentflan.evaluate.agent_h_build import DEFAULTS, BuildOptions, build_option
from agentflan.evaluate.base import EvalItem, ItemResult
from agentflan.evaluate.registry import OptionsSuite, split_specs, suite_options
from agentflan.options import option
from agentflan.protocols.base import AgentStep, get_protocol
from agentflan.protocols.calls import canonical, detect_calls, real_calls, step_of


def score_tool_need(item: EvalItem, response: str) -> dict[str, Any]:
    """The tool-need fields of one response (see the module docstring)."""
    exp = item.expected
    offered = {t.name: t for t in item.tools}
    if exp["prompt"] == "general":
        calls = detect_calls(response)
        format_ok = True
    else:
        result = get_protocol(exp["protocol"]).parse(response)
        format_ok = isinstance(result, AgentStep)
        calls = real_calls(step_of(result)) or ([] if format_ok else detect_calls(response))
    call = calls[0] if calls else None
    scores: dict[str, Any] = {
        "called": call is not None,
        "tool": call.name if call else None,
        "tool_ok": call is not None and call.name in exp["acceptable"],
        "unoffered": call is not None and call.name not in offered,
        "format_ok": format_ok,
        "args_valid": False,
        "args_errors": [],
        "args_match": None,
    }
    if call is not None and call.name in offered:
        errors = argument_errors(offered[call.name], call)
        scores["args_valid"] = not errors
        scores["args_errors"] = errors[:3]
    reference = exp.get("reference")
    if call is not None and reference and call.name == reference["name"]:
        scores["args_match"] = args_match(dict(reference.get("arguments") or {}), call.arguments)
    scores["success"] = bool(scores["tool_ok"] and scores["args_valid"] and format_ok)
    return scores


def argument_errors(tool: Tool, call: ToolCall) -> list[str]:
    """Why ``call``'s arguments do not fit ``tool`` (empty when they do)."""
    if not call.arguments_ok:
        return [f"arguments are not a JSON object: {call.arguments_error}"]
    return tool.argument_errors(call.arguments)


def args_match(reference: dict[str, Any], predicted: dict[str, Any]) -> float:
    """T-Eval's argument match: the share of reference arguments given with an equal value
    (compared as text, so 5 and "5" agree); two empty argument sets match fully."""
    if not reference:
        return float(not predicted)
    hits = sum(1 for k, v in reference.items() if k in predicted and _text(predicted[k]) == _text(v))
    return hits / len(reference)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else canonical(value)


def summarize_tool_need(results: Iterable[ItemResult]) -> dict[str, Any]:
    """Per prompt and overall: success (the headline), calls, right tool, valid arguments."""
    per: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        per.setdefault(str(r.meta.get("prompt", "?")), []).append(r.scores)
    everything = [s for v in per.values() for s in v]
    out: dict[str, Any] = {
        "tool_need": round(100.0 * _mean(s["success"] for s in everything), 2),
        "tool_need_values": round(100.0 * _mean(s["success"] and s.get("args_match") == 1.0 for s in everything), 2),
        "n": len(everything),
    }
    out["per_prompt"] = {prompt: _rates(scores) for prompt, scores in sorted(per.items())}
    return out


def _rates(scores: list[dict[str, Any]]) -> dict[str, Any]:
    matches = [s["args_match"] for s in scores if s.get("args_match") is not None]
    return {
        "n": len(scores),
        "success": round(_mean(s["success"] for s in scores), 4),
        "called": round(_mean(s["called"] for s in scores), 4),
        "tool_ok": round(_mean(s["tool_ok"] for s in scores), 4),
        "args_valid": round(_mean(s["args_valid"] for s in scores), 4),
        "format_ok": round(_mean(s["format_ok"] for s in scores), 4),
        "unoffered": round(_mean(s["unoffered"] for s in scores), 4),
        "args_match": round(sum(matches) / len(matches), 4) if matches else None,
    }


def _mean(values: Iterable[Any]) -> float:
    vals = [float(bool(v)) for v in values]
    return sum(vals) / len(vals) if vals else 0.0


# --------------------------------------------------------------------------- suite


@dataclass(slots=True)
class ToolNeedOptions:
    """``data``: a built item file; otherwise built from ``sources`` (+ the built-in set when ``builtin``)."""

    data: str | None = option(None, "an item file from `agentflan eval build-agent-h` (its tool-need items)", none="build the set here from --source", metavar="PATH")
    sources: list[str] | str | None = option(
        None, "tool corpus to build items from (ToolBench queries/answers, Glaive); repeatable", none="only the built-in set", flag="source", metavar="PATH", repeatable=True
    )
    size: int | None = option(None, "tool queries to draw", none="every usable tool query", metavar="N")
    seed: int = build_option("seed")
    protocol: str = build_option("protocol", help="protocol of the prompts: react, json or json-goal")
    max_tools: int = build_option("max_tools")
    builtin: bool = build_option("builtin", help="add agentflan's built-in tool queries")
    max_new_tokens: int = option(512, "tokens per generation", metavar="N")


class ToolNeedSuite(OptionsSuite):
    name: ClassVar[str] = "tool-need"

    def __init__(self, options: ToolNeedOptions):
        self.options = options

    def build_items(self) -> list[EvalItem]:
        from agentflan.evaluate.agent_h_build import build_tool_need
        from agentflan.evaluate.itemfile import read_items

        o = self.options
        if o.data is not None:
            items = [it for it in read_items(o.data) if it.expected.get("needs_tool")]
            if not items:
                raise ConfigError(f"{o.data} holds no tool-need items (expected.needs_tool true)")
            return items
        return build_tool_need(split_specs(o.sources), BuildOptions.of(o, size=DEFAULTS.size, tool_need_size=o.size))  # this suite's size counts tool-need items

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        return score_tool_need(item, response)

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        return summarize_tool_need(results)


def make_suite(**options: Any) -> ToolNeedSuite:
    """Options: ``data`` | ``sources`` (comma list), ``size``, ``seed``, ``protocol``, ``max_tools``, ``builtin``, ``max_new_tokens``."""
    return ToolNeedSuite(suite_options(ToolNeedOptions, "tool-need", options))
