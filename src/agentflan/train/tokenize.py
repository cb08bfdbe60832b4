"""Conversations -> token ids, labels and per-token capability ids.

Each conversation is rendered by its template (:mod:`agentflan.generation.templates`) and the whole text
is tokenised at once, as it will be at inference, with the offset mapping. A token carries loss
when the last character it covers is supervised: a token that joins template text to the start of
a reply (SentencePiece's ``▁word``) is trained, and a token that joins the end marker to the next
turn (``" <|"``) is not, so nothing of the next turn is ever a target. Its capability is that
character's capability. Conversations are tokenised in batches by the Rust tokenizer and the
labels are computed with numpy, without a Python loop over tokens: for byte-level BPE tokenizers
from the tokens' byte lengths (no offset tracking needed), otherwise from the offset mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import ConfigError, InputError
from agentflan.generation.templates import CAPABILITY_NAMES, UNTAGGED, RenderedConversation, Template

IGNORE_INDEX = -100
NO_CAPABILITY = -1


@dataclass(slots=True)
class EncodeStats:
    """What tokenisation kept and lost; ``supervised_by_capability`` counts trained tokens."""

    rows: int = 0
    tokens: int = 0
    supervised: int = 0
    truncated: int = 0
    dropped_no_loss: int = 0
    supervised_by_capability: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CAPABILITY_NAMES, 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "tokens": self.tokens,
            "supervised": self.supervised,
            "truncated": self.truncated,
            "dropped_no_loss": self.dropped_no_loss,
            "supervised_by_capability": dict(self.supervised_by_capability),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncodeStats:
        return cls(
            rows=int(d["rows"]),
            tokens=int(d["tokens"]),
            supervised=int(d["supervised"]),
            truncated=int(d["truncated"]),
            dropped_no_loss=int(d["dropped_no_loss"]),
            supervised_by_capability={k: int(v) for k, v in d["supervised_by_capability"].items()},
        )


@dataclass(slots=True)
class Encoded:
    """Tokenised rows stored column-wise: row ``i`` is ``[offsets[i], offsets[i + 1])`` of each array."""

    ids: list[str]
    input_ids: np.ndarray
    labels: np.ndarray
    capability: np.ndarray
    offsets: np.ndarray
    stats: EncodeStats

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> dict[str, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return {"input_ids": self.input_ids[a:b], "labels": self.labels[a:b], "capability": self.capability[a:b]}


def token_targets(
    token_ids: np.ndarray, token_offsets: np.ndarray, rendered: RenderedConversation
) -> tuple[np.ndarray, np.ndarray]:
    """Labels (-100 where no loss) and capability ids (-1 where no loss) for one tokenised text."""
    n = len(token_ids)
    labels = np.full(n, IGNORE_INDEX, dtype=np.int32)
    capability = np.full(n, NO_CAPABILITY, dtype=np.int8)
    if n == 0 or not rendered.supervised:
        return labels, capability
    starts, ends = token_offsets[:, 0], token_offsets[:, 1]
    last = ends - 1
    supervised = _inside(last, rendered.supervised) & (ends > starts)
    labels[supervised] = token_ids[supervised]
    capability[supervised] = UNTAGGED
    if rendered.capabilities:
        caps = np.asarray(rendered.capabilities, dtype=np.int64)
        slot = np.searchsorted(caps[:, 0], last, side="right") - 1
        hit = supervised & (slot >= 0)
        hit[hit] = last[hit] < caps[slot[hit], 1]
        capability[hit] = caps[slot[hit], 2]
    return labels, capability


def _label(
    backend: Any,
    byte_table: np.ndarray | None,
    enc: Any,
    token_ids: np.ndarray,
    rendered: RenderedConversation,
    *,
    with_offsets: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and capability ids by the cheapest exact route: token byte lengths (byte-level BPE),
    else a few ``char_to_token`` lookups, else the whole offset mapping."""
    if byte_table is not None:
        targets = _targets_by_bytes(token_ids, byte_table, rendered)
        if targets is not None:
            return targets
    if not with_offsets:
        enc = backend.encode(rendered.text, add_special_tokens=False)
    targets = _targets_by_boundaries(enc, token_ids, rendered)
    if targets is None:
        targets = token_targets(token_ids, np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2), rendered)
    return targets


def byte_level_lengths(tokenizer: Any) -> np.ndarray | None:
    """The UTF-8 byte length of every token id, for byte-level BPE tokenizers (GPT-2 style: Llama-3,
    Qwen, Mistral-Nemo...) whose tokens are exactly the text's bytes; None for any other kind."""
    backend = backend_of(tokenizer)
    spec = json.loads(backend.to_str())
    model = spec.get("model") or {}
    pre = spec.get("pre_tokenizer") or {}
    steps = (pre.get("pretokenizers") or []) if pre.get("type") == "Sequence" else [pre]
    if spec.get("normalizer") is not None or model.get("type") != "BPE" or model.get("byte_fallback"):
        return None
    if not any(step.get("type") == "ByteLevel" for step in steps):
        return None
    added = {t["content"] for t in spec.get("added_tokens") or ()}
    vocab = backend.get_vocab(with_added_tokens=True)
    table = np.zeros(max(vocab.values()) + 1, dtype=np.int64)
    for token, i in vocab.items():  # a byte-level token spells one byte per character
        table[i] = len(token.encode("utf-8")) if token in added else len(token)
    return table


def _targets_by_bytes(
    token_ids: np.ndarray, byte_table: np.ndarray, rendered: RenderedConversation
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`token_targets` from token byte lengths: a token's last byte lies in a range's bytes exactly
    when its last character lies in the range. None when the bytes do not add up to the text (a
    tokenizer that adds or drops text, e.g. a prefix space): then use the offsets."""
    text = rendered.text
    ascii_only = text.isascii()
    ends = np.cumsum(byte_table[token_ids])
    total = len(text) if ascii_only else len(text.encode("utf-8"))
    if (int(ends[-1]) if len(ends) else 0) != total:
        return None
    n = len(token_ids)
    labels = np.full(n, IGNORE_INDEX, dtype=np.int32)
    capability = np.full(n, NO_CAPABILITY, dtype=np.int8)

    def token_at(chars: list[int]) -> np.ndarray:
        positions = chars if ascii_only else [len(text[:c].encode("utf-8")) for c in chars]
        return np.searchsorted(ends, positions, side="right")

    if rendered.supervised:
        bounds = token_at([c for r in rendered.supervised for c in r]).reshape(-1, 2)
        for lo, hi in bounds.tolist():
            labels[lo:hi] = token_ids[lo:hi]
            capability[lo:hi] = UNTAGGED
    if rendered.capabilities:
        bounds = token_at([c for a, b, _ in rendered.capabilities for c in (a, b)]).reshape(-1, 2)
        for (lo, hi), (_, _, cap) in zip(bounds.tolist(), rendered.capabilities, strict=True):
            window = capability[lo:hi]
            window[window != NO_CAPABILITY] = cap
    return labels, capability


def _targets_by_boundaries(enc: Any, token_ids: np.ndarray, rendered: RenderedConversation) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`token_targets` from a few ``char_to_token`` lookups instead of the whole offset mapping.

    Token ends never decrease, so the tokens whose last character lies in ``[a, b)`` are the run from
    the first token covering character ``a`` to the one before the first token covering ``b``. Returns
    None when a boundary character belongs to no token (a normalizer dropped it): use the offsets then.
    """
    n = len(token_ids)
    text_end = len(rendered.text)

    def first_token(char: int) -> int | None:
        return n if char >= text_end else enc.char_to_token(char)

    labels = np.full(n, IGNORE_INDEX, dtype=np.int32)
    capability = np.full(n, NO_CAPABILITY, dtype=np.int8)
    for a, b in rendered.supervised:
        lo, hi = first_token(a), first_token(b)
        if lo is None or hi is None:
            return None
        labels[lo:hi] = token_ids[lo:hi]
        capability[lo:hi] = UNTAGGED
    for a, b, cap in rendered.capabilities:
        lo, hi = first_token(a), first_token(b)
        if lo is None or hi is None:
            return None
        window = capability[lo:hi]
        window[window != NO_CAPABILITY] = cap
    return labels, capability


def _inside(points: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """Which points fall in one of the sorted, disjoint half-open ranges."""
    bounds = np.asarray(ranges, dtype=np.int64)
    slot = np.searchsorted(bounds[:, 0], points, side="right") - 1
    result = slot >= 0
    result[result] = points[result] < bounds[slot[result], 1]
    return result


def backend_of(tokenizer: Any) -> Any:
    """The Rust tokenizer behind a transformers tokenizer; offset mapping needs it."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not getattr(tokenizer, "is_fast", True):
        raise ConfigError(
            f"{type(tokenizer).__name__} is not a fast (Rust) tokenizer; training needs one for the offset mapping"
        )
    return backend


def encode(
    conversations: Iterable[Conversation],
    tokenizer: Any,
    template: Template,
    max_length: int,
    *,
    rejects: Rejects | None = None,
    batch_size: int = 256,
    origin: str | None = None,
) -> Encoded:
    """Render, tokenise and label every conversation; rows longer than ``max_length`` keep their start,
    and rows left with no trained token are dropped (both counted in the stats). ``origin`` (the
    corpus path) prefixes the location of a conversation the template cannot render."""
    backend = backend_of(tokenizer)
    byte_table = byte_level_lengths(tokenizer)
    stats = EncodeStats()
    ids: list[str] = []
    parts: dict[str, list[np.ndarray]] = {"input_ids": [], "labels": [], "capability": []}
    lengths: list[int] = []
    for chunk in _chunks(conversations, batch_size):
        rendered: list[tuple[Conversation, RenderedConversation]] = []
        for conv in chunk:
            try:
                rendered.append((conv, template.render(conv)))
            except InputError as exc:
                located = InputError(f"{origin}: {exc.location}", exc.reason, exc.field) if origin else exc
                if rejects is None:
                    raise located from None
                rejects.handle(located, conv.to_dict())
        texts = [r.text for _, r in rendered]
        fast = byte_table is not None and hasattr(backend, "encode_batch_fast")
        encodings = (backend.encode_batch_fast if fast else backend.encode_batch)(texts, add_special_tokens=False)
        for (conv, r), enc in zip(rendered, encodings, strict=True):
            token_ids = np.asarray(enc.ids, dtype=np.int32)
            labels, capability = _label(backend, byte_table, enc, token_ids, r, with_offsets=not fast)
            if len(token_ids) > max_length:
                stats.truncated += 1
                token_ids, labels, capability = token_ids[:max_length], labels[:max_length], capability[:max_length]
            trained = capability[labels != IGNORE_INDEX]
            if len(trained) == 0:
                stats.dropped_no_loss += 1
                continue
            counts = np.bincount(trained, minlength=len(CAPABILITY_NAMES))
            for name, count in zip(CAPABILITY_NAMES, counts, strict=True):
                stats.supervised_by_capability[name] += int(count)
            stats.rows += 1
            stats.tokens += len(token_ids)
            stats.supervised += len(trained)
            ids.append(conv.id)
            parts["input_ids"].append(token_ids)
            parts["labels"].append(labels)
            parts["capability"].append(capability)
            lengths.append(len(token_ids))
    offsets_out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets_out[1:])
    return Encoded(
        ids=ids,
        input_ids=_concat(parts["input_ids"], np.int32),
        labels=_concat(parts["labels"], np.int32),
        capability=_concat(parts["capability"], np.int8),
        offsets=offsets_out,
        stats=stats,
    )


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


def _chunks(items: Iterable[Conversation], size: int) -> Iterator[list[Conversation]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
