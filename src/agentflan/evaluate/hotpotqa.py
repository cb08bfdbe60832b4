"""HotpotQA answered by a ReAct agent over each question's own paragraphs, scored by exact
match and F1 after the official answer normalisation.

The "Wikipedia" is offline: the question's context paragraphs (the distractor setting, gold
and distractor pages mixed), served by :class:`~agentflan.evaluate.localwiki.LocalWiki`.
Both record layouts are read: agentflan's/AgentTuning's ``{"id", "context": [{"title",
"sentences"}]}`` and the official ``{"_id", "context": [[title, [sentences]]]}``.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import yaml

from agentflan.agent import Agent, AgentConfig, Tool, system_prompt
from agentflan.conversation import Message, ToolCall
from agentflan.conversation import Tool as ToolSpec
from agentflan.errors import ConfigError, InputError, Location
from agentflan.evaluate.base import EvalItem, ItemResult, Suite
from agentflan.evaluate.datafiles import load_yaml
from agentflan.evaluate.localwiki import LocalWiki, Page
from agentflan.evaluate.registry import suite_options
from agentflan.generation.base import Backend
from agentflan.io import iter_records
from agentflan.options import option
from agentflan.protocols import is_answer_action
from agentflan.protocols.base import AgentStep, get_protocol

# --------------------------------------------------------------------------- answer metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
_SPECIAL = ("yes", "no", "noanswer")


def normalize_answer(text: str) -> str:
    """HotpotQA's normalisation: lowercase, drop punctuation, drop a/an/the, squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(gold)


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1; a yes/no/noanswer on either side must match exactly or scores 0."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or ref in _SPECIAL) and pred != ref:
        return 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    common = collections.Counter(pred_tokens) & collections.Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- data


@dataclass(slots=True)
class Question:
    id: str
    question: str
    answer: str
    pages: list[Page]
    type: str = ""
    level: str = ""


def read_questions(path: Path) -> Iterator[Question]:
    """Questions with their context pages; a bad record raises naming file, line and field.

    Ids must be unique: the runner caches results by id, so a repeated one would be scored once."""
    seen: dict[str, Location] = {}
    for rec in iter_records(path):
        if rec.error is not None:
            raise rec.error
        value = rec.value
        if not isinstance(value, dict):
            raise InputError(rec.location, f"expected a JSON object, got {type(value).__name__}")
        qid = value.get("id", value.get("_id"))
        for key, got in (("id", qid), ("question", value.get("question")), ("answer", value.get("answer"))):
            if not isinstance(got, str) or not got:
                raise InputError(rec.location, "missing or not a non-empty string", field=key)
        assert isinstance(qid, str)
        context = value.get("context")
        if not isinstance(context, list) or not context:
            raise InputError(rec.location, "missing or empty list of paragraphs", field="context")
        pages = []
        for i, para in enumerate(context):
            if isinstance(para, dict):
                title, sentences = para.get("title"), para.get("sentences")
            elif isinstance(para, list) and len(para) == 2:
                title, sentences = para
            else:
                title, sentences = None, None
            if not isinstance(title, str) or not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
                raise InputError(rec.location, "a paragraph is {title, sentences: [str]} or [title, [str]]", field=f"context[{i}]")
            pages.append(Page(title, [s.strip() for s in sentences if s.strip()]))
        if qid in seen:
            raise InputError(rec.location, f"question id {qid!r} appears more than once (first at {seen[qid]})", field="id")
        seen[qid] = rec.location
        yield Question(qid, value["question"], value["answer"], pages, str(value.get("type") or ""), str(value.get("level") or ""))


# --------------------------------------------------------------------------- suite


@dataclass(slots=True)
class HotpotQAOptions:
    data: str | None = option(None, "distractor-setting JSONL: questions with their context paragraphs", none="required", metavar="PATH")
    protocol: str = option("fireact", "agent protocol: fireact (search[...]/lookup[...]/finish[...]) or react", metavar="NAME")
    shots: int = option(2, "worked examples in the system prompt", metavar="K")
    max_steps: int = option(8, "model turns per question before giving up", metavar="N")
    max_new_tokens: int = option(256, "tokens per model turn", metavar="N")
    examples: str | None = option(
        None, "your own worked examples (a YAML file in the layout of agentflan/data/eval/hotpotqa_examples.yaml)",
        none="agentflan's own", metavar="YAML",
    )
    seed: int = option(0, "seed of the agent's sampling", metavar="S")


class HotpotQASuite(Suite):
    name: ClassVar[str] = "hotpotqa"

    def __init__(self, options: HotpotQAOptions):
        if options.data is None:
            raise ConfigError(
                "hotpotqa needs --data PATH: a JSONL of questions with their context paragraphs "
                "(the distractor setting, e.g. distractor_easy_medium.jsonl)"
            )
        self.path = Path(options.data)
        if not self.path.is_file():
            raise ConfigError(f"{self.path} is not a file")
        cfg = load_yaml("hotpotqa.yaml")
        self.cfg = cfg
        self.protocol = options.protocol
        self.shots = options.shots
        self.agent_config = AgentConfig(
            protocol=self.protocol,
            max_steps=options.max_steps,
            max_new_tokens=options.max_new_tokens,
            seed=options.seed,
        )
        examples = load_yaml("hotpotqa_examples.yaml") if options.examples is None else yaml.safe_load(Path(options.examples).read_text(encoding="utf-8"))
        if self.shots > len(examples):
            raise ConfigError(f"shots={self.shots} but only {len(examples)} worked examples are available")
        self.examples = examples[: self.shots]
        self.options = options
        self.system = system_prompt(get_protocol(self.protocol), self.tools(LocalWiki([])), self._examples_text())

    def describe(self) -> dict[str, Any]:
        c = self.agent_config
        return {"suite": self.name, "data": str(self.path.resolve()), "protocol": self.protocol, "shots": self.shots,
                "max_steps": c.max_steps, "max_new_tokens": c.max_new_tokens, "examples": self.examples}

    def tools(self, wiki: LocalWiki) -> list[Tool]:
        """``search`` and ``lookup`` bound to one question's pages."""
        out = []
        for name, method in (("search", wiki.search), ("lookup", wiki.lookup)):
            spec = self.cfg["tools"][name]
            param = spec["parameter"]
            out.append(
                Tool(
                    ToolSpec(name, spec["description"], {"type": "object", "properties": {param: {"type": "string"}}, "required": [param]}),
                    fn=lambda _m=method, _p=param, **kw: _m(kw[_p]),
                )
            )
        return out

    def _examples_text(self) -> str:
        if not self.examples:
            return ""
        protocol = get_protocol(self.protocol)
        params = {name: spec["parameter"] for name, spec in self.cfg["tools"].items()}
        blocks = []
        for ex in self.examples:
            lines = [f"{self.cfg['question_prefix']}{ex['question']}"]
            for st in ex["steps"]:
                if is_answer_action(st["action"]):
                    step = AgentStep(thought=st["thought"], final_answer=st["argument"])
                else:
                    step = AgentStep(thought=st["thought"], tool_calls=[ToolCall(st["action"], {params[st["action"]]: st["argument"]})])
                lines.append(protocol.render(step).text.strip("\n"))
                if "observation" in st:
                    lines.append(protocol.render_observation(st["observation"]))
            blocks.append("\n".join(lines))
        return self.cfg["examples_header"] + "\n\n" + "\n\n".join(blocks)

    @cached_property
    def _questions(self) -> dict[str, Question]:
        return {q.id: q for q in read_questions(self.path)}

    def items(self) -> Iterator[EvalItem]:
        for q in self._questions.values():
            yield EvalItem(
                id=q.id,
                messages=[Message("system", self.system), Message("user", q.question)],
                expected={"answer": q.answer},
                meta={"type": q.type, "level": q.level},
            )

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        gold = str(item.expected["answer"])
        return {"em": exact_match(response, gold), "f1": round(f1_score(response, gold), 4)}

    def score_responses(self, items: Sequence[EvalItem], responses: Sequence[str]) -> list[dict[str, Any]]:
        """Answers given elsewhere (``agentflan eval score hotpotqa``): each response is the final
        answer, or the agent's last turn, whose finish action the protocol reads (``finish[...]``)."""
        protocol = get_protocol(self.protocol)
        answers = []
        for response in responses:
            parsed = protocol.parse(response)
            step = parsed if isinstance(parsed, AgentStep) else parsed.partial
            answers.append(step.final_answer if step is not None and step.final_answer is not None else response.strip())
        return [self.score(it, a) for it, a in zip(items, answers, strict=True)]

    def run_batch(self, items: Sequence[EvalItem], backend: Backend) -> list[ItemResult]:
        agent = Agent(backend, config=self.agent_config)
        episodes = []
        for it in items:
            q = self._questions[it.id]
            wiki = LocalWiki(q.pages, intro_sentences=self.cfg["intro_sentences"], max_similar=self.cfg["max_similar"], replies=self.cfg["replies"])
            episodes.append(agent.start(q.question, tools=self.tools(wiki), system=self.system))
        agent.run(episodes)
        results = []
        for it, ep in zip(items, episodes, strict=True):
            answer = ep.answer or ""
            scores = self.score(it, answer)
            scores.update({"finished": ep.status == "finished", "steps": len(ep.steps), "format_errors": ep.format_errors})
            results.append(ItemResult(id=it.id, response=answer, scores=scores, meta={**it.meta, "trajectory": ep.trajectory()}))
        return results

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        rows = list(results)

        def block(rs: list[ItemResult]) -> dict[str, Any]:
            n = len(rs)
            return {
                "em": round(100.0 * sum(bool(r.scores["em"]) for r in rs) / n, 2) if n else 0.0,
                "f1": round(100.0 * sum(float(r.scores["f1"]) for r in rs) / n, 2) if n else 0.0,
                "n": n,
            }

        steps = sum(int(r.scores.get("steps", 0)) for r in rows)
        out = block(rows)
        out.update(
            {
                "finished": round(100.0 * sum(bool(r.scores.get("finished")) for r in rows) / len(rows), 2) if rows else 0.0,
                "avg_steps": round(steps / len(rows), 2) if rows else 0.0,
                "format_error_steps": round(100.0 * sum(int(r.scores.get("format_errors", 0)) for r in rows) / steps, 2) if steps else 0.0,
            }
        )
        for key in ("type", "level"):
            groups: dict[str, list[ItemResult]] = {}
            for r in rows:
                if r.meta.get(key):
                    groups.setdefault(str(r.meta[key]), []).append(r)
            if groups:
                out[f"by_{key}"] = {g: block(rs) for g, rs in sorted(groups.items())}
        return out


def make_suite(**options: Any) -> HotpotQASuite:
    """The fields of :class:`HotpotQAOptions`."""
    return HotpotQASuite(suite_options(HotpotQAOptions, "hotpotqa", options))
