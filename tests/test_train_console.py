"""`agentflan train` prints one readable line per log, with the loss of each capability."""

from __future__ import annotations

from transformers import TrainerControl, TrainerState, TrainingArguments

from agentflan.train.trainer import ConsoleLogCallback


def _log(logs: dict[str, float], tmp_path: str) -> list[str]:
    lines: list[str] = []
    state = TrainerState(global_step=30, max_steps=300)
    args = TrainingArguments(output_dir=tmp_path, report_to=[])
    ConsoleLogCallback(lines.append).on_log(args, state, TrainerControl(), logs=logs)
    return lines


def test_train_line_names_each_capability_present(tmp_path: object) -> None:
    (line,) = _log(
        {"loss": 5.78, "loss_reasoning": 6.563, "loss_instruction": 5.007, "loss_untagged": float("nan"),
         "learning_rate": 0.001965, "train_tokens_per_second": 612.7},
        str(tmp_path),
    )
    assert line == "train step 30/300 · loss 5.7800 · reasoning 6.563 instruction 5.007 · lr 1.97e-03 · 613 tok/s"


def test_eval_line_and_non_loss_logs(tmp_path: object) -> None:
    assert _log({"eval_loss": 4.41, "eval_loss_retrieval": 2.992}, str(tmp_path)) == [
        "eval step 30/300 · loss 4.4100 · retrieval 2.992"
    ]
    assert _log({"train_runtime": 302.8}, str(tmp_path)) == []


def test_train_lines_show_elapsed_time_and_eta(tmp_path: object) -> None:
    from agentflan.train.trainer import clock, elapsed_and_eta

    lines: list[str] = []
    callback = ConsoleLogCallback(lines.append)
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[])
    callback.on_train_begin(args, TrainerState(global_step=100, max_steps=300), TrainerControl())  # resumed at 100
    callback.on_log(args, TrainerState(global_step=110, max_steps=300), TrainerControl(), logs={"loss": 1.0})
    assert lines[0].startswith("train step 110/300 · loss 1.0000 · elapsed 0:00, ETA ")
    # 10 steps in 60 s, 190 left: 19 minutes
    assert elapsed_and_eta(60.0, 10, 190) == "elapsed 1:00, ETA 19:00"
    assert elapsed_and_eta(5.0, 0, 300) == "elapsed 0:05"
    assert clock(3723) == "1:02:03"
