"""MMLU: prompts from the real CSVs, answer-letter extraction, scoring, and a tiny-model run."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from agentflan.errors import ConfigError, InputError
from agentflan.evaluate.mmlu import extract_choice
from agentflan.evaluate.registry import make_suite
from agentflan.evaluate.runner import run_suite
from agentflan.generation.backends import make_backend
from agentflan.generation.base import Backend, GenerationRequest
from conftest import shared_path


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"), (" C.", "C"), ("(D) because...", "D"), ("A) 12", "A"), ("[B]", "B"),
        ("The answer is (C).", "C"), ("Answer: d", "D"), ("I think it must be B, since", "B"),
        ("Because of X and Y, C is right", "C"), ("none of these", None), ("", None), ("ABCD", None),
    ],
)
def test_extract_choice(text: str, letter: str | None) -> None:
    assert extract_choice(text) == letter


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_prompts_hold_five_solved_dev_questions_and_subjects_take_turns() -> None:
    root = shared_path("mmlu")
    suite = make_suite("mmlu", data=str(root), subjects="virology,anatomy")
    items = list(suite.items())
    assert [it.id for it in items[:4]] == ["anatomy/0", "virology/0", "anatomy/1", "virology/1"]
    assert len(items) == len(_rows(root / "test" / "anatomy_test.csv")) + len(_rows(root / "test" / "virology_test.csv"))
    prompt = items[0].messages[0].content
    dev = _rows(root / "dev" / "anatomy_dev.csv")
    test = _rows(root / "test" / "anatomy_test.csv")[0]
    assert prompt.startswith("The following are multiple choice questions (with answers) about anatomy.\n\n")
    assert prompt.count("\nAnswer:") == 6
    for row in dev:
        assert f"{row[0]}\nA. {row[1]}\nB. {row[2]}\nC. {row[3]}\nD. {row[4]}\nAnswer: {row[5]}\n\n" in prompt
    assert prompt.endswith(f"{test[0]}\nA. {test[1]}\nB. {test[2]}\nC. {test[3]}\nD. {test[4]}\nAnswer:")
    assert items[0].expected == {"answer": test[5]}
    zero = next(make_suite("mmlu", data=str(root), subjects="anatomy", shots=0).items())
    assert zero.messages[0].content.count("Answer:") == 1


class OracleBackend(Backend):
    """Answers right for one subject and always "A" for the others."""

    name: ClassVar[str] = "oracle"

    def __init__(self, answers: dict[str, str], subject: str):
        self.answers, self.subject = answers, subject

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        out = []
        for r in requests:
            text = r.messages[0].content
            out.append(f"The answer is {self.answers[text]}." if f"about {self.subject}." in text else "A")
        return out


def test_accuracy_per_subject_and_overall(tmp_path: Path) -> None:
    root = shared_path("mmlu")
    suite = make_suite("mmlu", data=str(root), subjects="anatomy,virology", per_subject=20, mode="generative")
    answers = {it.messages[0].content: it.expected["answer"] for it in suite.items()}
    outcome = run_suite(suite, OracleBackend(answers, "anatomy"), tmp_path, progress=False)
    m = outcome.summary["metrics"]
    share_a = sum(row[5] == "A" for row in _rows(root / "test" / "virology_test.csv")[:20]) / 20
    assert m["per_subject"] == {"anatomy": 100.0, "virology": round(100 * share_a, 2)}
    assert m["accuracy"] == m["macro_accuracy"] == round((100 + 100 * share_a) / 2, 2)
    assert m["no_letter"] == 0.0


def test_bad_data_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    for split in ("dev", "test"):
        (tmp_path / split).mkdir()
    (tmp_path / "dev" / "x_dev.csv").write_text("q,a,b,c,d,A\n" * 5, encoding="utf-8")
    (tmp_path / "test" / "x_test.csv").write_text('q,a,b,c,d,B\n"multi\nline",a,b,c,d,E\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"x_test.csv:3: field 'answer': the answer must be one of A, B, C, D"):
        list(make_suite("mmlu", data=str(tmp_path)).items())
    (tmp_path / "test" / "x_test.csv").write_text("q,a,b,c,B\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"x_test.csv:1: expected 6 columns"):
        list(make_suite("mmlu", data=str(tmp_path)).items())
    with pytest.raises(ConfigError, match="no such MMLU subject"):
        make_suite("mmlu", data=str(tmp_path), subjects="y")
    with pytest.raises(ConfigError, match="needs --data"):
        make_suite("mmlu")
    with pytest.raises(ConfigError, match="does not take option"):
        make_suite("mmlu", data=str(tmp_path), protocol="react")


@pytest.mark.slow
def test_tiny_model_on_a_few_subjects(tmp_path: Path, tiny_llama_dir: Path) -> None:
    suite = make_suite("mmlu", data=str(shared_path("mmlu")), subjects="anatomy,astronomy,virology", per_subject=2, max_new_tokens=4, mode="generative")
    backend = make_backend("hf", str(tiny_llama_dir), device="cpu", batch_size=3)
    outcome = run_suite(suite, backend, tmp_path, progress=False)
    m = outcome.summary["metrics"]
    assert outcome.summary["n_items"] == 6 and set(m["per_subject"]) == {"anatomy", "astronomy", "virology"}
    assert 0.0 <= m["accuracy"] <= 100.0
    assert run_suite(suite, backend, tmp_path, progress=False).new == 0


def test_eval_score_reads_mmlu_replies_by_their_letter(tmp_path: Path) -> None:
    """`eval score mmlu`: replies generated elsewhere, scored as the generative mode reads them, no mode to set."""
    import json

    from agentflan.cli import main

    root = shared_path("mmlu")
    items = list(make_suite("mmlu", data=str(root), subjects="anatomy", per_subject=4, shots=0, mode="generative").items())
    replies = [f"The answer is {it.expected['answer']}." if n % 2 == 0 else "I am not sure." for n, it in enumerate(items)]
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": it.id, "response": r}) + "\n" for it, r in zip(items, replies, strict=True)), encoding="utf-8")
    assert main(["eval", "score", "mmlu", "--data", str(root), "--set", "subjects=anatomy", "--set", "per_subject=4", "--set", "shots=0",
                 "--predictions", str(preds), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "mmlu" / "summary.json").read_text(encoding="utf-8"))
    assert summary["backend"] == "predictions" and summary["n_items"] == 4
    assert (summary["metrics"]["accuracy"], summary["metrics"]["no_letter"]) == (50.0, 50.0)
