"""Config as documentation: every config field describes itself once, and ``agentflan train --help``
is made from those descriptions and the fields' real defaults."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentflan.cli import main
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
