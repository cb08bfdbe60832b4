"""Config as documentation: every config field describes itself once, and ``agentflan train --help``
and ``agentflan eval SUITE --help`` are made from those descriptions and the fields' real defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentflan.cli import build_parser, main
from agentflan.cli._backend import backend_options
from agentflan.cli._options import given, option_help
from agentflan.cli.eval import BUILD_AGENT_H_OPTIONS, suite_options
from agentflan.evaluate.hotpotqa import HotpotQAOptions, HotpotQASuite
from agentflan.evaluate.registry import SUITES, options_class
from agentflan.generation.backends import BACKENDS, backend_class
from agentflan.options import default_text, option, option_docs
from agentflan.train.config import (
    DataSource,
    ExportSettings,
    LoraSettings,
    TrainConfig,
    config_keys,
    load_config,
)


@pytest.mark.parametrize("model", [TrainConfig, DataSource, LoraSettings, ExportSettings])
def test_every_config_field_has_a_description(model: type[BaseModel]) -> None:
    missing = [name for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert not missing, f"{model.__name__} fields without a description: {missing}"


def test_train_help_lists_every_key_with_its_real_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    keys = config_keys()
    assert {k for k, _, _ in keys} >= {"model", "data", "lora.r", "export.merge", "loss_chunk_tokens"}
    entries = _entries(text)
    for key, description, default in keys:
        assert entries[key] == f"{description} [{default}]", key
    # the defaults shown are the ones a config without the key gets
    cfg = load_config(None, ["--model", "m", "--data", "x.jsonl"])
    shown = {k: d for k, _, d in keys}
    assert shown["lora.r"] == str(cfg.lora.r) and f"[{cfg.lora.r}]" in text
    assert shown["max_length"] == str(cfg.max_length) and shown["output_dir"] == cfg.output_dir
    assert shown["packing"] == str(cfg.packing).lower() and shown["model"] == "required"


def _entries(help_text: str) -> dict[str, str]:
    """The key table of the help: key -> its text, wrapped lines joined."""
    table = help_text[help_text.index("config keys") : help_text.index("\noutputs in output_dir")].splitlines()[1:]
    entries: dict[str, str] = {}
    key = ""
    for line in table:
        name, text = line[:25].strip(), line[25:].strip()
        if name:
            key = name
            entries[key] = text
        elif key and text:
            entries[key] = f"{entries[key]} {text}".strip()
    return entries


# --------------------------------------------------------------------------- agentflan eval


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _flat(text: str) -> str:
    """Text without whitespace: argparse re-wraps help (also at hyphens)."""
    return "".join(text.split())


@pytest.mark.parametrize("options", [options_class(s) for s in SUITES] + [backend_class(b).Options for b in BACKENDS], ids=lambda c: c.__name__)
def test_every_suite_and_backend_option_is_documented_with_its_real_default(options: type) -> None:
    docs = option_docs(options)  # raises on a field without help
    made = options()  # every option has a default: the help shows the one a run without the flag gets
    for doc in docs:
        assert doc.help.strip(), doc.name
        real = getattr(made, doc.name)
        assert doc.default == real and doc.default_text == default_text(real, doc.default_text if real is None else None)
        if real is None:  # a None default says what it means
            assert doc.default_text not in ("", "none"), f"{options.__name__}.{doc.name}: say what None means (option(none=...))"


@pytest.mark.parametrize("suite", list(SUITES))
def test_eval_help_shows_every_suite_and_backend_option_with_its_description_and_default(
    suite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _flat(_help(capsys, "eval", suite))
    docs = option_docs(options_class(suite)) + [d for docs in backend_options().values() for d in docs]
    for doc in docs:
        assert _flat(doc.flag) in text, doc.flag
        assert _flat(option_help(doc)) in text, doc.name
    assert _flat("(default: 8)") in text  # hf --batch-size and openai --concurrency, from their fields


def test_build_agent_h_help_is_made_from_the_agent_h_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = _flat(_help(capsys, "eval", "build-agent-h"))
    docs = [d for d in option_docs(options_class("agent-h")) if d.name in BUILD_AGENT_H_OPTIONS]
    assert {d.name for d in docs} == set(BUILD_AGENT_H_OPTIONS)
    for doc in docs:
        assert _flat(option_help(doc)) in text, doc.name
    assert _flat("--no-builtin") in text and _flat("(default: 1845)") in text


def test_an_option_without_help_is_refused() -> None:
    @dataclasses.dataclass
    class Careless:
        documented: int = option(1, "has help")
        forgotten: int = 2

    with pytest.raises(TypeError, match=r"Careless\.forgotten has no help"):
        option_docs(Careless)


def test_flags_reach_the_suite_and_backend_by_field_name() -> None:
    args = build_parser("eval").parse_args(
        ["eval", "agent-h", "--model", "m", "--backend", "vllm", "--source", "a.json", "--source", "b.json", "--no-builtin",
         "--tool-fraction", "0.25", "--vllm-seed", "3", "--dtype", "bfloat16", "--set", "tool_need_size=7"]
    )
    assert suite_options(args) == {"sources": ["a.json", "b.json"], "builtin": False, "tool_fraction": 0.25, "tool_need_size": 7}
    vllm = given(args, option_docs(backend_class("vllm").Options))
    assert vllm == {"seed": 3, "dtype": "bfloat16"}


def test_hotpotqa_runs_with_the_defaults_its_help_shows(tmp_path: Path) -> None:
    data = tmp_path / "questions.jsonl"
    data.write_text("", encoding="utf-8")
    suite = HotpotQASuite(HotpotQAOptions(data=str(data)))
    shown = {d.name: d.default for d in option_docs(HotpotQAOptions)}
    described = suite.describe()
    assert (described["protocol"], described["shots"], described["max_steps"], described["max_new_tokens"]) == (
        shown["protocol"], shown["shots"], shown["max_steps"], shown["max_new_tokens"]
    ) == ("fireact", 2, 8, 256)
