"""Training config, tokenised-data cache, mixing and the CLI, without training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentflan.conversation import Conversation, Message
from agentflan.errors import ConfigError, InputError
from agentflan.generation.templates import get_template
from agentflan.train.config import DataSource, TrainConfig, load_config, parse_overrides
from agentflan.train.data import in_eval, load_source, mix, weighted_rows
from agentflan.train.tokenize import (
    IGNORE_INDEX,
    _targets_by_boundaries,
    _targets_by_bytes,
    byte_level_lengths,
    encode,
    token_targets,
)
from conftest import ROOT
from train_rows import fireact, glaive, release_samples, write_native


@pytest.fixture(scope="module")
def llama_tok(tiny_llama_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_llama_dir))


def test_config_from_yaml_with_dotted_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndata: [a.jsonl, {path: b.jsonl, weight: 2}]\nlora: {r: 4}\n", encoding="utf-8")
    cfg = load_config(path, ["--lora.alpha", "8", "--data.0.weight=0.5", "--max-length", "512", "--lora.targets", "[q_proj, v_proj]"])
    assert cfg.data == [DataSource(path="a.jsonl", weight=0.5), DataSource(path="b.jsonl", weight=2)]
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.targets, cfg.max_length) == (4, 8, ["q_proj", "v_proj"], 512)
    assert load_config(None, base={"model": "m", "data": "x.jsonl"}).max_length == 8192  # the paper's default
    assert parse_overrides(["--bf16", "false", "--resume=auto"]) == [("bf16", False), ("resume", "auto")]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--lora.rank", "8"], "lora.rank: Extra inputs are not permitted"),
        (["--method", "dora"], "method: Input should be 'lora', 'qlora' or 'full'"),
        (["--lr_scheduler", "cosin"], "lr_scheduler: Value error, unknown scheduler 'cosin'"),
        (["--data.3.weight", "1"], "data has no item 3"),
        (["--data.0.weight", "-1"], "data.0.weight: Input should be greater than 0"),
        (["--max_steps"], "--max_steps: missing a value"),
        (["max_steps", "3"], "expected --key value"),
    ],
)
def test_config_errors_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("'", "'")):
        load_config(None, overrides, base={"model": "m", "data": ["a.jsonl"]})


def test_qlora_refuses_to_run_without_a_gpu() -> None:
    from agentflan.train.run import load_model

    cfg = load_config(None, base={"model": "m", "data": "a.jsonl", "method": "qlora"})
    with pytest.raises(ConfigError, match="qlora needs a CUDA GPU"):
        load_model(cfg, bf16=False)


@pytest.mark.shared_data
def test_second_run_loads_the_cache(tmp_path: Path, llama_tok) -> None:
    data = write_native(fireact(40), tmp_path / "data.jsonl")
    template = get_template("agentflan", llama_tok)
    source = DataSource(path=str(data))
    first = load_source(source, llama_tok, template, 1024, tmp_path / "cache")
    second = load_source(source, llama_tok, template, 1024, tmp_path / "cache")
    assert (first.cache_hit, second.cache_hit) == (False, True)
    for name in ("input_ids", "labels", "capability", "offsets"):
        assert np.array_equal(getattr(first.encoded, name), getattr(second.encoded, name))
    assert second.encoded.ids == first.encoded.ids and second.encoded.stats == first.encoded.stats
    assert second.encoded.stats.supervised_by_capability["retrieval"] > 0
    # another max length, template or data content is another entry
    assert not load_source(source, llama_tok, template, 512, tmp_path / "cache").cache_hit
    assert not load_source(source, llama_tok, get_template("chatml", llama_tok), 1024, tmp_path / "cache").cache_hit
    data.write_bytes(data.read_bytes().replace(b"Thought", b"Thinking"))
    assert not load_source(source, llama_tok, template, 1024, tmp_path / "cache").cache_hit


@pytest.mark.shared_data
@pytest.mark.parametrize("template_name", ["agentflan", "chatml"])
def test_fast_label_paths_equal_the_offset_mapping(template_name: str, llama_tok) -> None:
    """Token byte lengths and char_to_token lookups give exactly the labels of the full offset mapping
    (non-ASCII included: U+0D46/U+0D3F, accented names)."""
    template = get_template(template_name, llama_tok)
    table = byte_level_lengths(llama_tok)
    assert table is not None
    for conv in fireact(25) + release_samples() + glaive(5):
        rendered = template.render(conv)
        enc = llama_tok.backend_tokenizer.encode(rendered.text, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int32)
        slow = token_targets(ids, np.asarray(enc.offsets).reshape(-1, 2), rendered)
        for fast in (_targets_by_bytes(ids, table, rendered), _targets_by_boundaries(enc, ids, rendered)):
            assert fast is not None
            assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


@pytest.mark.shared_data
def test_tokenizers_that_are_not_byte_level_use_the_offsets(llama_tok) -> None:
    import copy

    from tokenizers import normalizers

    other = copy.deepcopy(llama_tok)
    other.backend_tokenizer.normalizer = normalizers.NFC()  # no longer "bytes in, bytes out"
    assert byte_level_lengths(other) is None
    convs = fireact(20)
    a = encode(convs, llama_tok, get_template("chatml", llama_tok), max_length=100_000)
    b = encode(convs, other, get_template("chatml", other), max_length=100_000)
    assert np.array_equal(a.input_ids, b.input_ids)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.capability, b.capability)


@pytest.mark.shared_data
def test_untrained_rows_and_turns(llama_tok) -> None:
    convs = fireact(3, tagged=False)
    muted = Conversation("muted", [Message("user", "hi"), Message("assistant", "hello", loss=False)])
    half = Conversation("half", [Message("user", "a"), Message("assistant", "NOTTRAINED", loss=False), Message("user", "b"), Message("assistant", "trained")])
    template = get_template("chatml", llama_tok)
    full = encode(convs, llama_tok, template, max_length=100_000)
    encoded = encode([*convs, muted, half], llama_tok, template, max_length=256)
    assert encoded.stats.dropped_no_loss == 1 and "muted" not in encoded.ids  # nothing to learn from it
    assert encoded.stats.truncated == int((full.lengths > 256).sum()) > 0 and encoded.lengths.max() == 256
    row = encoded.row(encoded.ids.index("half"))
    assert llama_tok.decode(row["input_ids"][row["labels"] != IGNORE_INDEX]) == "trained<|im_end|>"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 50), st.floats(0.05, 3.5), st.integers(0, 3))
def test_weights_scale_row_counts(n: int, weight: float, seed: int) -> None:
    rows = np.arange(n)
    picked = weighted_rows(rows, weight, np.random.default_rng(seed))
    assert len(picked) == round(weight * n)
    assert np.array_equal(picked, weighted_rows(rows, weight, np.random.default_rng(seed)))
    counts = np.bincount(picked, minlength=n)
    assert counts.max() - counts.min() <= 1  # whole repeats, then at most one more of each


@pytest.mark.shared_data
def test_eval_split_is_stable_and_disjoint(tmp_path: Path, llama_tok) -> None:
    data = write_native(fireact(200), tmp_path / "data.jsonl")
    load = load_source(DataSource(path=str(data), weight=2.0), llama_tok, get_template("chatml", llama_tok), 1024, tmp_path / "c")
    train, held = mix([load], seed=1, eval_fraction=0.2)
    train_ids = {load.encoded.ids[r] for r in train.row}
    eval_ids = {load.encoded.ids[r] for r in held.row}
    assert not train_ids & eval_ids and 20 <= len(eval_ids) <= 60
    assert len(train) == 2 * (len(load.encoded) - len(held))
    assert eval_ids == {i for i in load.encoded.ids if in_eval(i, 0.2)}


def test_help_documents_every_key() -> None:
    out = subprocess.run([sys.executable, "-m", "agentflan", "train", "--help"], capture_output=True, text=True, check=True).stdout
    from agentflan.train.config import TrainConfig

    for key in TrainConfig.model_fields:
        assert key in out
    assert "accelerate launch" in out and "example" in out


@pytest.mark.shared_data
def test_prepare_only_writes_the_data_statistics(tmp_path: Path, tiny_llama_dir: Path) -> None:
    data = write_native(fireact(30), tmp_path / "data.jsonl")
    config = tmp_path / "run.yaml"
    config.write_text(f"model: {tiny_llama_dir}\ndata: [{data}]\ncache_dir: {tmp_path / 'cache'}\n", encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "agentflan", "train", str(config), "--output_dir", str(out), "--max_length", "1024", "--prepare-only"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    stats = json.loads((out / "data_stats.json").read_text())
    assert stats["train_rows"] == 30 and stats["packing_efficiency"] > 0.5
    assert json.loads((out / "train_config.json").read_text())["max_length"] == 1024
    assert not (out / "final").exists()


def test_shipped_configs_load() -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    kinds = {p.stem: ClusterConfig.from_yaml_file(str(p)).distributed_type.value for p in (ROOT / "configs" / "accelerate").glob("*.yaml")}
    assert kinds == {
        "ddp": "MULTI_GPU",
        "fsdp": "FSDP",
        "deepspeed_zero2": "DEEPSPEED",
        "deepspeed_zero3": "DEEPSPEED",
    }
    train_configs = sorted((ROOT / "configs" / "train").glob("*.yaml"))
    assert train_configs
    for path in train_configs:
        cfg = load_config(path)
        if "cpu" in path.stem:  # the real-model example sized for a laptop CPU
            assert cfg.template == "gemma" and cfg.max_length == 512 and cfg.max_steps == 20
        else:  # the paper's settings
            assert cfg.template in {"agentflan", "tokenizer"} and cfg.max_length == 8192


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="-.=0123456789abc[]{}:, \n", max_size=12), max_size=6))
def test_garbage_overrides_give_a_config_error_or_a_config(args: list[str]) -> None:
    try:
        cfg = load_config(None, args, base={"model": "m", "data": ["a.jsonl"]})
    except ConfigError:
        return
    assert isinstance(cfg, TrainConfig)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_garbage_config_files_give_a_config_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("cfg") / "run.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.yaml"):
        load_config(path)


@pytest.mark.shared_data
def test_bad_spans_are_set_aside_with_on_error_skip(tmp_path: Path, llama_tok) -> None:
    convs = fireact(5)
    convs[2].messages[1].spans[0].end = 10_000
    data = write_native(convs, tmp_path / "data.jsonl")
    source = DataSource(path=str(data))
    template = get_template("chatml", llama_tok)
    with pytest.raises(InputError, match="lies outside the content") as info:
        load_source(source, llama_tok, template, 1024, tmp_path / "c")
    assert str(info.value).startswith(f"{data}: conversation {convs[2].id}")  # the file, then the record
    rejects = tmp_path / "rejects.jsonl"
    load = load_source(source, llama_tok, template, 1024, tmp_path / "c", on_error="skip", rejects_path=rejects)
    assert len(load.encoded) == 4 and convs[2].id not in load.encoded.ids
    rejected = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["field"] for r in rejected] == ["messages[1].spans[0]"] and rejected[0]["location"] == f"{data}: conversation {convs[2].id}"


@pytest.mark.shared_data
def test_an_eval_fraction_that_leaves_no_rows_names_the_key(tmp_path: Path, llama_tok) -> None:
    from agentflan.train.run import prepare_data

    data = write_native(fireact(5), tmp_path / "data.jsonl")
    cfg = load_config(None, base={"model": "m", "data": str(data), "eval_fraction": 0.01,
                                  "output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache")})
    with pytest.raises(ConfigError, match=r"eval_fraction \(0\.01\): no evaluation rows"):
        prepare_data(cfg, llama_tok, get_template("chatml", llama_tok), tmp_path / "out")


def test_the_cache_key_changes_with_the_agentflan_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentflan
    from agentflan.train.cache import cache_key

    args = ({"files": ["x"]}, "tok", "tpl", 1024, "fail")
    before = cache_key(*args)
    monkeypatch.setattr(agentflan, "__version__", "9.9.9")
    assert cache_key(*args) != before
