"""hf-dataset and parquet rows give call arguments and tools back as objects, as chat templates expect."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentflan.sources import read
from agentflan.writers import write
from conftest import shared_path

# The tool-call part of a Llama-3.1-style chat template: arguments go through `tojson`.
LLAMA31_STYLE = (
    "{%- for message in messages %}{%- if message.tool_calls %}"
    "{%- for call in message.tool_calls %}{%- set fn = call.function %}"
    '{{- \'<|python_tag|>{"name": "\' + fn.name + \'", "parameters": \' }}{{- fn.arguments | tojson }}{{- "}<|eom_id|>\\n" }}'
    "{%- endfor %}{%- endif %}{%- endfor %}"
)


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["parquet", "hf-dataset"])
def test_llama31_style_template_renders_arguments_once_encoded(fmt: str, tmp_path: Path, tiny_llama_dir: Path) -> None:
    """parquet: as loaded; hf-dataset: after the documented ``json.loads`` of arguments and tools."""
    datasets = pytest.importorskip("datasets")
    from transformers import AutoTokenizer

    convs = list(read(shared_path("glaive", "glaive_toolcall_en_demo.json")))
    out = tmp_path / ("rows.parquet" if fmt == "parquet" else "rows")
    write(convs, out, fmt)
    if fmt == "parquet":
        rows = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    else:
        rows = datasets.load_from_disk(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    checked = 0
    for conv, row in zip(convs, rows, strict=True):
        if conv.tools:
            tools = row["tools"] if fmt == "parquet" else json.loads(row["tools"])
            assert tools == [{"type": "function", "function": t.to_dict()} for t in conv.tools]
        calls = [c for m in conv.messages for c in m.tool_calls]
        if not calls:
            continue
        messages = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
        if fmt == "hf-dataset":
            for m in messages:
                for call in m.get("tool_calls", ()):
                    assert isinstance(call["function"]["arguments"], str)
                    call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        text = tokenizer.apply_chat_template(messages, chat_template=LLAMA31_STYLE, tokenize=False)
        rendered = [json.loads(p) for p in re.findall(r'"parameters": (.*)}<\|eom_id\|>', text)]
        assert rendered == [c.arguments for c in calls]  # objects, not JSON text inside a JSON string
        checked += len(calls)
    assert checked > 100
