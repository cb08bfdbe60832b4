"""The tokenized export keeps Agent-FLAN's masks, and TRL's SFTTrainer takes the loss we take on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agentflan.cli import main
from agentflan.sources import read
from conftest import shared_path


@pytest.mark.shared_data
def test_tokenized_export_keeps_masks_and_trl_loss_equals_ours(tmp_path: Path, tiny_llama_dir: Path) -> None:
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments

    from agentflan.generation.templates import get_template
    from agentflan.train.packing import PaddingCollator
    from agentflan.train.tokenize import IGNORE_INDEX, encode
    from agentflan.train.trainer import AgentflanTrainer

    source = shared_path("agentinstruct", "alfworld.json")  # each row masks its one-shot "OK." turn
    out = tmp_path / "alfworld.parquet"
    argv = ["convert", str(source), str(out), "--to", "tokenized", "--tokenizer", str(tiny_llama_dir)]
    assert main([*argv, "--template", "llama3", "--max-length", "4096"]) == 0
    rows = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert rows.num_rows == 5 and set(rows.column_names) == {"id", "input_ids", "labels", "assistant_masks"}

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    template = get_template("llama3", tokenizer)
    masked = encode(read(source), tokenizer, template, 4096)
    unmasked_convs = list(read(source))
    for conv in unmasked_convs:
        for m in conv.messages:
            m.loss = None
    unmasked = encode(unmasked_convs, tokenizer, template, 4096)
    for i, row in enumerate(rows):
        ours = masked.row(i)
        assert row["input_ids"] == ours["input_ids"].tolist() and row["labels"] == ours["labels"].tolist()
        assert row["assistant_masks"] == (ours["labels"] != IGNORE_INDEX).astype(int).tolist()
        # the masked acknowledgement is really left out: fewer trained tokens than with every turn trained
        assert sum(row["assistant_masks"]) < int((unmasked.row(i)["labels"] != IGNORE_INDEX).sum())

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
    model.eval()
    config = trl.SFTConfig(output_dir=str(tmp_path / "trl"), max_length=None, report_to=[], use_cpu=True, per_device_train_batch_size=5)
    trl_trainer = trl.SFTTrainer(model=model, args=config, train_dataset=rows, processing_class=tokenizer)
    prepared = trl_trainer.train_dataset
    assert prepared.num_rows == 5
    trl_batch = trl_trainer.data_collator([prepared[i] for i in range(5)])
    assert torch.equal(trl_batch["labels"][trl_batch["labels"] != IGNORE_INDEX].sort().values, torch.from_numpy(masked.labels[masked.labels != IGNORE_INDEX].astype(np.int64)).sort().values)
    args = TrainingArguments(output_dir=str(tmp_path / "ours"), report_to=[], use_cpu=True)
    ours = AgentflanTrainer(model=model, args=args, processing_class=tokenizer)
    our_batch = PaddingCollator(tokenizer.pad_token_id)([[masked.row(i) for i in range(5)]])
    with torch.no_grad():
        trl_loss = trl_trainer.compute_loss(model, trl_batch)
        our_loss = ours.compute_loss(model, our_batch)
    print(f"TRL loss {float(trl_loss):.6f}, agentflan loss {float(our_loss):.6f}")
    assert float(our_loss) > 0 and torch.allclose(trl_loss, our_loss, rtol=1e-5), (float(trl_loss), float(our_loss))
