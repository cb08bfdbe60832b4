"""Training runs on tiny Llama / Qwen2 models with real FireAct rows: the loss falls, every capability
gets its loss curve, a muted row adds no loss, resuming equals not stopping, exports reload and
generate, and two processes train together through accelerate (DDP over gloo)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agentflan.conversation import Conversation, Message
from agentflan.generation.templates import CAPABILITY_NAMES, get_template
from agentflan.train.config import TrainConfig, load_config
from agentflan.train.run import run_training
from agentflan.train.trainer import METRICS_COLUMNS
from conftest import ROOT
from train_rows import fireact, write_native

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

QUIET = {"say": lambda _msg: None}


def config(model: Path, data: Path, out: Path, **extra: Any) -> TrainConfig:
    base = {
        "model": str(model),
        "data": [str(data)],
        "output_dir": str(out),
        "cache_dir": str(out.parent / "cache"),
        "max_length": 512,
        "warmup_ratio": 0.0,
        "logging_steps": 4,
        "save_steps": 1000,
        "resume": False,
        "seed": 3,
    }
    return load_config(None, base={**base, **extra})


def metrics(out: Path) -> list[dict[str, str]]:
    with (out / "metrics.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def train_losses(out: Path) -> list[float]:
    return [float(r["loss"]) for r in metrics(out) if r["split"] == "train"]


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path) -> tuple[Path, dict[str, Any]]:
    """LoRA on a tiny Llama with the Agent-FLAN template, an eval split and a merged export."""
    tmp = tmp_path_factory.mktemp("lora")
    data = write_native(fireact(120), tmp / "data.jsonl")
    cfg = config(
        tiny_llama_dir,
        data,
        tmp / "out",
        template="agentflan",
        method="lora",
        # lm_head too: a random tiny model's frozen output layer caps how far the loss can fall
        lora={"r": 8, "alpha": 16, "dropout": 0.0, "targets": ["q_proj", "v_proj", "up_proj", "down_proj", "lm_head"]},
        learning_rate=2e-2,
        max_steps=24,
        eval_fraction=0.15,
        eval_steps=12,
        save_steps=12,
    )
    return tmp / "out", run_training(cfg, **QUIET)


def test_metrics_csv_has_a_loss_curve_for_every_capability(lora_run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = lora_run
    rows = metrics(out)
    assert list(rows[0]) == list(METRICS_COLUMNS)
    assert [(r["step"], r["split"]) for r in rows] == [
        ("4", "train"), ("8", "train"), ("12", "train"), ("12", "eval"), ("16", "train"), ("20", "train"), ("24", "train"), ("24", "eval")
    ]
    for r in rows:
        for name in CAPABILITY_NAMES:  # the tagged FireAct rows hold all four capabilities, end markers are untagged
            assert float(r[f"loss_{name}"]) > 0
    tokens = [int(r["tokens"]) for r in rows]
    assert tokens == sorted(tokens) and tokens[-1] > 0
    assert summary["global_step"] == 24 and summary["data"]["eval_rows"] > 0
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "runs").rglob("*"))


def test_lora_loss_falls(lora_run: tuple[Path, dict[str, Any]]) -> None:
    losses = train_losses(lora_run[0])
    assert losses[-1] < losses[0] - 0.5


def test_exported_adapter_and_merged_model_reload_and_generate(lora_run: tuple[Path, dict[str, Any]]) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, _ = lora_run
    tokenizer = AutoTokenizer.from_pretrained(str(out / "merged"))
    template = get_template("agentflan", tokenizer)
    assert tokenizer.chat_template == template.chat_template
    prompt = template.render_prompt([Message("user", "Which magazine was started first?")])
    assert prompt == tokenizer.apply_chat_template([{"role": "user", "content": "Which magazine was started first?"}], tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    merged = AutoModelForCausalLM.from_pretrained(str(out / "merged")).eval()
    adapter = AutoPeftModelForCausalLM.from_pretrained(str(out / "final")).eval()
    with torch.no_grad():
        assert torch.allclose(merged(**inputs).logits, adapter(**inputs).logits, atol=1e-4)
        generated = merged.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert generated.shape[1] > inputs["input_ids"].shape[1]
    assert tokenizer.decode(generated[0]).startswith(prompt)


def test_full_training_of_qwen2_with_padding_lowers_the_loss(tmp_path: Path, tiny_qwen2_dir: Path) -> None:
    data = write_native(fireact(60, tagged=False), tmp_path / "data.jsonl")
    cfg = config(
        tiny_qwen2_dir, data, tmp_path / "out", template="chatml", method="full", learning_rate=3e-3, max_steps=24,
        packing=False, batch_size=2,
    )  # fmt: skip
    summary = run_training(cfg, **QUIET)
    assert summary["data"]["sequences"] == 60  # padding: one conversation per row
    losses = train_losses(tmp_path / "out")
    assert losses[-1] < losses[0] - 0.5
    assert (tmp_path / "out" / "final" / "model.safetensors").is_file()


def test_a_muted_row_adds_no_loss(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """Packed beside a row whose assistant turn has loss: false, a row's loss is exactly its own."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments

    from agentflan.train.packing import PackedCollator
    from agentflan.train.tokenize import token_targets
    from agentflan.train.trainer import AgentflanTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    template = get_template("chatml", tokenizer)
    live = fireact(1)[0]
    muted = Conversation("muted", [m if m.role != "assistant" else Message("assistant", m.content, loss=False) for m in fireact(2)[1].messages])

    def row(conv: Conversation) -> dict[str, np.ndarray]:
        rendered = template.render(conv)
        enc = tokenizer.backend_tokenizer.encode(rendered.text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int32)
        labels, caps = token_targets(ids, np.asarray(enc.offsets).reshape(-1, 2), rendered)
        return {"input_ids": ids, "labels": labels, "capability": caps}

    assert (row(muted)["labels"] == -100).all()
    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir))
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = AgentflanTrainer(model=model, args=args, processing_class=tokenizer)
    model.eval()
    alone = trainer.compute_loss(model, PackedCollator()([[row(live)]]))
    packed = trainer.compute_loss(model, PackedCollator()([[row(muted), row(live)]]))
    assert torch.allclose(alone, packed, atol=1e-6)


class StopAt:
    """A callback that interrupts training after ``step`` (as a kill after a checkpoint would)."""

    def __new__(cls, step: int) -> Any:
        from transformers import TrainerCallback

        class _Stop(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
                if state.global_step >= step:
                    control.should_training_stop = True
                return control

        return _Stop()


def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from safetensors.torch import load_file

    data = write_native(fireact(40), tmp_path / "data.jsonl")
    common = {"template": "chatml", "method": "full", "learning_rate": 3e-3, "max_steps": 8, "save_steps": 4, "logging_steps": 2}
    run_training(config(tiny_llama_dir, data, tmp_path / "straight", **common), **QUIET)
    interrupted = config(tiny_llama_dir, data, tmp_path / "resumed", **common)
    assert run_training(interrupted, callbacks=[StopAt(4)], **QUIET)["stopped"]
    # A kill while saving checkpoint-6 leaves it without trainer_state.json (written last).
    torn = tmp_path / "resumed" / "checkpoint-6"
    shutil.copytree(tmp_path / "resumed" / "checkpoint-4", torn)
    (torn / "trainer_state.json").unlink()
    said: list[str] = []
    summary = run_training(interrupted.model_copy(update={"resume": "auto"}), say=said.append)
    assert summary["global_step"] == 8
    assert any("checkpoint-6 is incomplete" in m for m in said)
    assert any(m.endswith("resuming from " + str(tmp_path / "resumed" / "checkpoint-4")) for m in said)
    straight = load_file(str(tmp_path / "straight" / "final" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "final" / "model.safetensors"))
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert torch.allclose(straight[name], resumed[name], atol=1e-5), name
    assert [r["step"] for r in metrics(tmp_path / "resumed")] == [r["step"] for r in metrics(tmp_path / "straight")]
    assert train_losses(tmp_path / "resumed") == pytest.approx(train_losses(tmp_path / "straight"), abs=1e-5)

    # The finished run, run again, says so and changes nothing (no step 9, final/ untouched).
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "resumed").rglob("*")}
    said.clear()
    again = run_training(interrupted.model_copy(update={"resume": "auto"}), say=said.append)
    assert again["finished"] and again["global_step"] == 8
    assert any("already finished at step 8" in m for m in said)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "resumed").rglob("*")} == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_processes_train_together_through_accelerate(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """``accelerate launch -m agentflan.train``: two CPU processes, DDP over gloo, one shared result."""
    data = write_native(fireact(40), tmp_path / "data.jsonl")
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(
        f"model: {tiny_llama_dir}\ndata: [{data}]\ntemplate: chatml\nmethod: full\nmax_length: 512\n"
        f"max_steps: 4\nlogging_steps: 2\nsave_steps: 1000\nlearning_rate: 3.0e-3\n"
        f"output_dir: {tmp_path / 'out'}\ncache_dir: {tmp_path / 'cache'}\n",
        encoding="utf-8",
    )
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [
        str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "agentflan.train", str(cfg_file),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    sequences = json.loads((tmp_path / "out" / "data_stats.json").read_text())["sequences"]
    last = metrics(tmp_path / "out")[-1]
    assert last["step"] == "4"
    assert float(last["epoch"]) == pytest.approx(4 * 2 / sequences, rel=0.05)  # two processes, a batch each per step
    assert (tmp_path / "out" / "final" / "model.safetensors").is_file()
    assert done.stdout.count('"global_step": 4') == 1  # one summary, from the main process
