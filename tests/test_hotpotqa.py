"""HotpotQA: the official answer normalisation, the offline encyclopedia, and full agent runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.errors import InputError
from agentflan.evaluate.hotpotqa import exact_match, f1_score, normalize_answer, read_questions
from agentflan.evaluate.localwiki import LocalWiki, Page
from agentflan.evaluate.registry import make_suite
from agentflan.evaluate.runner import run_suite
from agentflan.generation.backends import make_backend
from agentflan.protocols.base import AgentStep, get_protocol
from conftest import shared_path
from openai_stub import StubServer

DATA = ("hotpotqa", "distractor_easy_medium.jsonl")


@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("The Beatles", "Beatles", True, 1.0),  # articles go
        ("an apple a day", "Apple day", True, 1.0),
        ("theatre", "the atre", False, 0.0),  # "the" only as a word
        ("U.S.A.", "USA", True, 1.0),  # punctuation goes
        ("Washington, D.C.", "washington dc", True, 1.0),
        ("yes", "Yes.", True, 1.0),
        ("no", "yes", False, 0.0),
        ("yes, it is", "yes", False, 0.0),  # a yes/no gold needs exactly yes/no
        ("yes", "yes indeed", False, 0.0),
        ("noanswer", "no answer", False, 0.0),
        ("1,000", "1000", True, 1.0),  # numbers: the comma is punctuation
        ("3.5 million", "35 million", True, 1.0),  # ...and so is the decimal point (the official quirk)
        ("1990", "1991", False, 0.0),
        ("Barack Obama", "Obama", False, 2 / 3),  # precision 1/2, recall 1
        ("  The   Eiffel\tTower ", "eiffel tower", True, 1.0),
        ("", "Paris", False, 0.0),
    ],
)
def test_official_normalisation_on_tricky_answers(prediction: str, gold: str, em: bool, f1: float) -> None:
    assert exact_match(prediction, gold) is em
    assert f1_score(prediction, gold) == pytest.approx(f1)


@given(st.text(max_size=40), st.text(max_size=40))
def test_metric_properties(a: str, b: str) -> None:
    assert normalize_answer(normalize_answer(a)) == normalize_answer(a)
    f = f1_score(a, b)
    assert 0.0 <= f <= 1.0 and f == pytest.approx(f1_score(b, a))
    if exact_match(a, b) and normalize_answer(a):
        assert f == 1.0


def _first_record() -> dict[str, Any]:
    with shared_path(*DATA).open(encoding="utf-8") as fh:
        return orjson.loads(fh.readline())


def test_local_wiki_search_and_lookup_on_a_real_question() -> None:
    rec = _first_record()
    wiki = LocalWiki([Page(c["title"], [s.strip() for s in c["sentences"]]) for c in rec["context"]], intro_sentences=2)
    assert wiki.lookup("show") == "No page is open yet; search for an entity first."
    page = rec["context"][0]  # "Verano de Escándalo (1998)"
    opening = wiki.search("verano de escandalo")  # case, accents and the "(1998)" part do not matter
    assert opening == " ".join(s.strip() for s in page["sentences"][:2])
    hits = [s.strip() for s in page["sentences"] if "kick boxer" in s.lower()]
    assert wiki.lookup("Kick Boxer") == f"(match 1 of {len(hits)}) {hits[0]}"
    for _ in hits[1:]:
        wiki.lookup("Kick Boxer")
    assert wiki.lookup("Kick Boxer") == "The page has no further sentence containing [Kick Boxer]."
    miss = wiki.search("Triplemania seven")
    assert miss.startswith("There is no page named [Triplemania seven]. Closest titles: ['Triplemanía VII'")


def test_both_record_layouts_read_the_same_and_bad_records_are_located(tmp_path: Path) -> None:
    rec = _first_record()
    official = {"_id": rec["id"], "question": rec["question"], "answer": rec["answer"], "type": rec["type"], "level": rec["level"],
                "context": [[c["title"], c["sentences"]] for c in rec["context"]]}
    a, b = tmp_path / "ours.jsonl", tmp_path / "official.json"
    a.write_bytes(orjson.dumps(rec) + b"\n")
    b.write_bytes(orjson.dumps([official]))
    assert next(read_questions(a)) == next(read_questions(b))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(rec) + b"\n" + orjson.dumps({**rec, "context": [{"title": "x", "sentences": "not a list"}]}) + b"\n")
    with pytest.raises(InputError, match=r"bad.jsonl:2: field 'context\[0\]'"):
        list(read_questions(bad))
    twice = tmp_path / "twice.jsonl"
    twice.write_bytes(orjson.dumps(rec) + b"\n" + orjson.dumps(rec) + b"\n")
    with pytest.raises(InputError, match=r"twice.jsonl:2: field 'id'.*more than once \(first at .*twice.jsonl:1\)"):
        list(read_questions(twice))


def _scripted_fireact(records: dict[str, dict[str, Any]]) -> Any:
    """A model that searches the first supporting page, looks up a word of the answer, then answers."""

    def respond(body: dict[str, Any]) -> str:
        question = body["messages"][1]["content"]
        rec = records[question]
        step = sum(m["role"] == "assistant" for m in body["messages"])
        title = rec["supporting_facts"][0]["title"]
        if step == 0:
            return f"Thought: I should read about {title}.\nAction: search[{title}]"
        if step == 1:
            return f"Thought: Where is the answer mentioned?\nAction: lookup[{rec['answer'].split()[0]}]"
        return f"Thought: That settles it.\nAction: finish[{rec['answer']}]"

    return respond


def test_agent_run_over_http_scores_a_scripted_perfect_model(tmp_path: Path) -> None:
    path = shared_path(*DATA)
    with path.open(encoding="utf-8") as fh:
        recs = [orjson.loads(line) for _, line in zip(range(6), fh, strict=False)]
    by_question = {r["question"]: r for r in recs}
    suite = make_suite("hotpotqa", data=str(path))
    with StubServer(respond=_scripted_fireact(by_question)) as server:
        backend = make_backend("openai", "scripted", base_url=server.url, concurrency=6)
        outcome = run_suite(suite, backend, tmp_path, limit=6, progress=False)
    metrics = outcome.summary["metrics"]
    assert (metrics["em"], metrics["f1"], metrics["finished"], metrics["avg_steps"]) == (100.0, 100.0, 100.0, 3.0)
    assert metrics["format_error_steps"] == 0.0
    rows = [orjson.loads(line) for line in (tmp_path / "hotpotqa" / "results.jsonl").read_bytes().splitlines()]
    first = rows[0]["meta"]["trajectory"]
    rec = recs[0]
    page = next(c for c in rec["context"] if c["title"] == rec["supporting_facts"][0]["title"])
    assert first["steps"][0]["actions"] == [{"name": "search", "arguments": {"entity": page["title"]}}]
    assert first["steps"][0]["observation"].startswith(page["sentences"][0].strip())
    # the observations went back to the model as FireAct user turns, and the stop kept it from inventing them
    third = next(b for b in server.bodies if len(b["messages"]) == 6 and b["messages"][1]["content"] == rec["question"])
    assert third["messages"][3]["content"].startswith("Observation: ")
    assert third["stop"] == ["\nObservation:"]
    assert "Worked examples" in third["messages"][0]["content"]


def test_wrong_and_unfinished_answers_score_zero(tmp_path: Path) -> None:
    suite = make_suite("hotpotqa", data=str(shared_path(*DATA)), max_steps=2)
    with StubServer(respond=lambda body: "I am not sure what to do.") as server:
        outcome = run_suite(suite, make_backend("openai", "m", base_url=server.url), tmp_path, limit=2, progress=False)
    m = outcome.summary["metrics"]
    assert (m["em"], m["finished"], m["avg_steps"], m["format_error_steps"]) == (0.0, 0.0, 2.0, 100.0)
    # each format error was answered with a corrective observation
    assert "did not follow the required format" in server.bodies[-1]["messages"][-1]["content"]


@pytest.mark.slow
def test_full_hf_run_on_a_tiny_model_completes_caches_and_resumes(tmp_path: Path, tiny_llama_dir: Path) -> None:
    suite = make_suite("hotpotqa", data=str(shared_path(*DATA)), max_steps=2, max_new_tokens=24, shots=1)
    backend = make_backend("hf", str(tiny_llama_dir), device="cpu")
    calls: list[int] = []
    generate = backend.generate

    def counting(requests: Any) -> list[str]:
        calls.append(len(requests))
        return generate(requests)

    backend.generate = counting  # type: ignore[method-assign]
    first = run_suite(suite, backend, tmp_path, limit=3, progress=False)
    assert first.new == 3 and first.summary["n_items"] == 3 and calls
    assert set(first.summary["metrics"]) >= {"em", "f1", "finished", "avg_steps", "by_type", "by_level"}
    rows = [orjson.loads(line) for line in (tmp_path / "hotpotqa" / "results.jsonl").read_bytes().splitlines()]
    assert all(1 <= r["meta"]["trajectory"]["n_steps"] <= 2 for r in rows)
    calls.clear()
    again = run_suite(suite, backend, tmp_path, limit=3, progress=False)
    assert (again.new, again.cached, calls) == (0, 3, [])
    assert again.summary["metrics"] == first.summary["metrics"]


_RECORDED_FINISH = re.compile(r"^Action:[ \t]*finish\[(.*)\][ \t]*$", re.MULTILINE)
# how FireAct's own runs write the action line, beside the single space of its training data
_SPACINGS = ("Action: finish[", "Action:  finish[", "Action:\tfinish[", "Action:finish[", "Action: \t finish[")


@pytest.mark.parametrize("name", ["hotpotqa_react_gpt.jsonl", "multitask_multimethod_gpt.jsonl"])
def test_every_recorded_finish_parses_to_its_answer_in_any_spacing(name: str) -> None:
    """Real FireAct turns: the answer the HotpotQA agent reads is the one FireAct recorded, with one space or two."""
    protocol = get_protocol(make_suite("hotpotqa", data=str(shared_path(*DATA))).protocol)
    finishes = 0
    with shared_path("fireact", name).open(encoding="utf-8") as fh:
        for line in fh:
            for m in orjson.loads(line)["messages"]:
                hit = _RECORDED_FINISH.search(m["content"]) if m["role"] == "assistant" else None
                if hit is None:
                    continue
                finishes += 1
                for spacing in _SPACINGS:
                    result = protocol.parse(m["content"].replace("Action: finish[", spacing) + " ")
                    step = result if isinstance(result, AgentStep) else result.partial
                    assert step is not None and step.final_answer == hit.group(1), (spacing, m["content"])
    assert finishes == {"hotpotqa_react_gpt.jsonl": 500, "multitask_multimethod_gpt.jsonl": 2063}[name]


@given(st.text(" \t", min_size=0, max_size=4), st.text(st.characters(blacklist_characters="]\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(str.strip))
def test_finish_spacing_property(spacing: str, answer: str) -> None:
    result = get_protocol("fireact").parse(f"Thought: done.\nAction:{spacing}finish[{answer}]")
    assert isinstance(result, AgentStep) and result.final_answer == answer


def test_a_model_writing_two_spaces_before_finish_still_scores(tmp_path: Path) -> None:
    path = shared_path(*DATA)
    with path.open(encoding="utf-8") as fh:
        recs = [orjson.loads(line) for _, line in zip(range(3), fh, strict=False)]
    script = _scripted_fireact({r["question"]: r for r in recs})
    suite = make_suite("hotpotqa", data=str(path))
    with StubServer(respond=lambda body: script(body).replace("Action: finish[", "Action:  finish[")) as server:
        outcome = run_suite(suite, make_backend("openai", "m", base_url=server.url), tmp_path, limit=3, progress=False)
    m = outcome.summary["metrics"]
    assert (m["em"], m["finished"], m["format_error_steps"]) == (100.0, 100.0, 0.0)
