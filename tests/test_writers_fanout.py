"""One pass, many outputs: ``write_each`` gives the bytes ``write`` gives per format, and an
error anywhere in the stream leaves no output behind."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from agentflan.conversation import Conversation, Message, ToolCall
from agentflan.errors import InputError
from agentflan.sources import read
from agentflan.writers import write
from agentflan.writers.fanout import write_each

DEMO = Path(str(resources.files("agentflan"))) / "data" / "demo" / "tool_trajectories.jsonl"
FORMATS = {"native": ".jsonl", "openai": ".json", "sharegpt-tools": ".jsonl", "parquet": ".parquet"}


def _demo() -> list[Conversation]:
    return list(read(DEMO, "openai"))


def test_one_pass_writes_what_each_writer_writes_alone(tmp_path: Path) -> None:
    convs = _demo()
    assert len(convs) > 50
    targets = [(fmt, tmp_path / "each" / f"{fmt}{suffix}") for fmt, suffix in FORMATS.items()]
    (tmp_path / "each").mkdir()
    assert write_each(iter(convs), targets) == len(convs)
    (tmp_path / "alone").mkdir()
    for fmt, path in targets:
        alone = tmp_path / "alone" / path.name
        write(_demo(), alone, fmt)
        if fmt == "parquet":
            pq = pytest.importorskip("pyarrow.parquet")
            assert pq.read_table(path).to_pylist() == pq.read_table(alone).to_pylist()
        else:
            assert path.read_bytes() == alone.read_bytes(), fmt


def test_an_error_in_the_stream_leaves_no_output(tmp_path: Path) -> None:
    def failing() -> Iterator[Conversation]:
        for i, conv in enumerate(_demo()):
            if i == 20:
                raise InputError("demo.jsonl:21", "broken on purpose")
            yield conv

    targets = [(fmt, tmp_path / f"{fmt}{suffix}") for fmt, suffix in FORMATS.items()]
    with pytest.raises(InputError, match="broken on purpose"):
        write_each(failing(), targets)
    assert list(tmp_path.iterdir()) == []


def test_a_row_one_format_cannot_hold_leaves_no_output(tmp_path: Path) -> None:
    # a turn with two parallel calls, which the Agent-FLAN (ReAct) schema cannot write, after rows it can
    parallel = Conversation("parallel", [
        Message("user", "Weather in Paris and Rome?"),
        Message("assistant", "", tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})]),
    ])
    targets = [(fmt, tmp_path / f"{fmt}{suffix}") for fmt, suffix in {**FORMATS, "agentflan": ".jsonl"}.items()]
    with pytest.raises(InputError, match="one call per turn"):
        write_each(iter([*_demo()[:5], parallel]), targets)
    assert list(tmp_path.iterdir()) == []
