"""Shared fixtures: the real public data in ../shared/data, and tiny offline models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AGENTFLAN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the test when absent, fails instead when CI=true."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"real data not found at {path} (set AGENTFLAN_SHARED_DATA or place ../shared beside the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a BPE tokenizer trained on real agent text (built once per session)."""
    pytest.importorskip("transformers")
    from agentflan.train.tiny import save_tiny

    texts = _tokenizer_corpus()
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"), texts, arch="llama")


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from agentflan.train.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny-qwen2"), _tokenizer_corpus(), arch="qwen2")


def _tokenizer_corpus() -> list[str]:
    """Text to train the test tokenizer on: FireAct trajectories when present, else a fixed pangram set."""
    path = SHARED_DATA / "fireact" / "hotpotqa_react_gpt.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            return [line for _, line in zip(range(200), fh, strict=False)]
    return ["The quick brown fox jumps over the lazy dog. Thought: Action: Action Input: {\"a\": 1}"] * 50
