"""MMLU: k-shot multiple choice, accuracy per subject and overall.

Data: the original CSV layout, ``DATA/{dev,test}/<subject>_{dev,test}.csv`` with rows
``question, A, B, C, D, answer`` and no header. The k solved examples are the first k dev
rows of the same subject (the benchmark's own convention, so no random choice is involved).

Two modes. ``loglikelihood`` (the default) is lm-evaluation-harness's own scoring: the
log-likelihood of " A" ... " D" after the plain prompt, on the ``hf`` backend's model or an
OpenAI-compatible server that returns prompt log-probs (see :mod:`agentflan.evaluate.mmlu_lmeval`);
its numbers are the ones users compare. ``generative``
is for servers without log-probs only: the backend writes a reply (through the chat template)
and the first answer letter in it is read (see :func:`extract_choice`); "A good answer here is
C." reads as A, so its numbers are not comparable to lm-eval's.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from agentflan.conversation import Message
from agentflan.errors import ConfigError, InputError, Location
from agentflan.evaluate.base import EvalItem, ItemResult, Suite
from agentflan.evaluate.datafiles import load_yaml
from agentflan.evaluate.registry import split_specs, suite_options
from agentflan.generation.base import Sampling
from agentflan.options import option

LETTERS = ("A", "B", "C", "D")
MODES = ("loglikelihood", "generative")

# Most specific first: a bare letter opening the reply, "the answer is (C)", any standalone letter.
_CHOICE_PATTERNS = (
    re.compile(r"^\s*[(\[]?([ABCD])(?:$|[\s.,:;)\]])"),
    re.compile(r"answer\s*(?:is|:)\s*:?\s*[(\[]?([ABCDabcd])(?:$|[\s.,:;)\]])", re.IGNORECASE),
    re.compile(r"(?<![A-Za-z0-9])([ABCD])(?:$|[\s.,:;)\]])"),
)


def extract_choice(text: str) -> str | None:
    """The letter a response picks, or None when it names none."""
    for pattern in _CHOICE_PATTERNS:
        m = pattern.search(text)
        if m:
            return m.group(1).upper()
    return None


@dataclass(slots=True)
class Question:
    subject: str
    index: int
    question: str
    choices: tuple[str, str, str, str]
    answer: str


def read_questions(path: Path, subject: str) -> list[Question]:
    """Every row of one subject's CSV; a bad row raises naming the file, line and field."""
    out: list[Question] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        for row in reader:
            where = Location(str(path), line=reader.line_num)
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 6:
                raise InputError(where, f"expected 6 columns (question, A, B, C, D, answer), got {len(row)}")
            answer = row[5].strip().upper()
            if answer not in LETTERS:
                raise InputError(where, f"the answer must be one of A, B, C, D, got {row[5]!r}", field="answer")
            out.append(Question(subject, len(out), row[0], (row[1], row[2], row[3], row[4]), answer))
    return out


@dataclass(slots=True)
class MMLUOptions:
    data: str | None = option(None, "folder with dev/ and test/ holding <subject>_<split>.csv", none="required", metavar="DIR")
    subjects: list[str] | str | None = option(None, "comma-separated subjects", none="all found", metavar="A,B")
    split: str = option("test", "split to score", metavar="NAME")
    shots: int = option(5, "solved dev questions before each question", metavar="K")
    per_subject: int | None = option(None, "at most N questions per subject (the first ones)", none="all", metavar="N")
    mode: str = option(
        "loglikelihood",
        "loglikelihood: lm-eval's own MMLU task and scoring, offline on the local CSVs, on the hf backend's model or an openai "
        "server returning prompt log-probs (vLLM; through lm-eval's local-completions); "
        "generative: the model writes a reply and its first A-D letter counts (for servers without log-probs; not comparable to lm-eval)",
        choices=MODES,
    )
    max_new_tokens: int = option(32, "tokens per generation (generative mode)", metavar="N")
    tokenizer: str | None = option(
        None, "openai backend, loglikelihood mode: the served model's Hugging Face tokenizer folder (lm-eval counts prompt tokens with it)",
        none="the served model name", metavar="DIR",
    )


class MMLUSuite(Suite):
    name: ClassVar[str] = "mmlu"

    def __init__(self, options: MMLUOptions):
        if options.mode not in MODES:
            raise ConfigError(f"mmlu mode must be one of {', '.join(MODES)}, got {options.mode!r}")
        if options.data is None:
            raise ConfigError("mmlu needs --data DIR: a folder holding dev/ and test/ with <subject>_<split>.csv files")
        self.options = options
        self.root = Path(options.data)
        if not (self.root / options.split).is_dir():
            raise ConfigError(f"{self.root / options.split} is not a folder; --data must hold dev/ and {options.split}/")
        if options.shots and not (self.root / "dev").is_dir():
            raise ConfigError(f"{self.root / 'dev'} is missing; it holds the solved examples (or use shots=0)")
        available = sorted(p.name[: -len(f"_{options.split}.csv")] for p in (self.root / options.split).glob(f"*_{options.split}.csv"))
        wanted = split_specs(options.subjects)
        if wanted:
            missing = sorted(set(wanted) - set(available))
            if missing:
                raise ConfigError(f"no such MMLU subject(s): {', '.join(missing)}; found {len(available)} under {self.root / options.split}")
            self.subjects = sorted(set(wanted))
        else:
            self.subjects = available
        if not self.subjects:
            raise ConfigError(f"no *_{options.split}.csv files under {self.root / options.split}")
        self.prompt: dict[str, str] = dict(load_yaml("mmlu.yaml"))

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {"suite": self.name, "data": str(self.root.resolve()), "split": o.split, "shots": o.shots,
                "subjects": self.subjects, "mode": o.mode, "max_new_tokens": o.max_new_tokens}

    def sampling(self) -> Sampling:
        return Sampling(max_new_tokens=self.options.max_new_tokens)

    def questions(self) -> dict[str, list[Question]]:
        """Each subject's questions to score, in file order."""
        return self._questions

    @cached_property
    def _questions(self) -> dict[str, list[Question]]:
        split = self.options.split
        out = {}
        for s in self.subjects:
            qs = read_questions(self.root / split / f"{s}_{split}.csv", s)
            out[s] = qs[: self.options.per_subject] if self.options.per_subject is not None else qs
        return out

    def _shots(self, subject: str) -> str:
        if not self.options.shots:
            return ""
        dev = read_questions(self.root / "dev" / f"{subject}_dev.csv", subject)
        if len(dev) < self.options.shots:
            raise ConfigError(f"{subject} has {len(dev)} dev questions, fewer than shots={self.options.shots}")
        return "".join(self._block(q) + self.prompt["solved"].format(answer=q.answer) for q in dev[: self.options.shots])

    def _block(self, q: Question) -> str:
        return str(self.prompt["question"]).format(question=q.question, **dict(zip(LETTERS, q.choices, strict=True)))

    def items(self) -> Iterator[EvalItem]:
        """Round-robin over subjects (question 0 of each, then 1...), so ``--limit`` samples them all."""
        prefix = {s: self.prompt["header"].format(subject=s.replace("_", " ")) + self._shots(s) for s in self.subjects}
        questions = self._questions
        depth = max((len(v) for v in questions.values()), default=0)
        for i in range(depth):
            for s in self.subjects:
                if i < len(questions[s]):
                    q = questions[s][i]
                    yield EvalItem(
                        id=f"{s}/{q.index}",
                        messages=[Message("user", prefix[s] + self._block(q))],
                        expected={"answer": q.answer},
                        meta={"subject": s},
                    )

    def score(self, item: EvalItem, response: str) -> dict[str, Any]:
        if self.options.mode != "generative":
            raise ConfigError("mmlu scores generated replies only with mode=generative; the default mode runs through "
                              "agentflan.evaluate.mmlu_lmeval.run_mmlu_loglikelihood (what `agentflan eval mmlu` does)")
        choice = extract_choice(response)
        return {"choice": choice, "correct": choice == item.expected["answer"]}

    def summarize(self, results: Iterable[ItemResult]) -> dict[str, Any]:
        per: dict[str, list[bool]] = {}
        unanswered = 0
        for r in results:
            per.setdefault(str(r.meta.get("subject")), []).append(bool(r.scores.get("correct")))
            unanswered += r.scores.get("choice") is None
        n = sum(len(v) for v in per.values())
        per_subject = {s: round(100.0 * sum(v) / len(v), 2) for s, v in sorted(per.items())}
        return {
            "accuracy": round(100.0 * sum(sum(v) for v in per.values()) / n, 2) if n else 0.0,
            "macro_accuracy": round(sum(per_subject.values()) / len(per_subject), 2) if per_subject else 0.0,
            "no_letter": round(100.0 * unanswered / n, 2) if n else 0.0,
            "per_subject": per_subject,
        }


def make_suite(**options: Any) -> MMLUSuite:
    """``data`` (folder with dev/ and test/), ``subjects`` (list or comma string), ``split``, ``shots``, ``per_subject``,
    ``mode`` (loglikelihood | generative)."""
    return MMLUSuite(suite_options(MMLUOptions, "mmlu", options))
