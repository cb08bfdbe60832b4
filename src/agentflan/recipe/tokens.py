"""Token counts for the supervised-token report: an approximate counter with no dependency, or
a Hugging Face tokenizer when the recipe names one.

The approximation counts words and punctuation marks; BPE tokenizers of Llama-class models
give about 1.2-1.4 tokens per such unit on English agent text, so the *ratios* between
capabilities (what the balancing report is about) come out close to a real tokenizer's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

TokenCounter = Callable[[str], int]

_UNITS = re.compile(r"\w+|[^\w\s]")
APPROX = "approx (words and punctuation)"
#: Texts whose counts are remembered: the capability report counts each supervised span before and
#: after balancing, and a conversation's spans fit well within this (bounded, so memory stays flat).
RECENT_TEXTS = 512


@lru_cache(maxsize=RECENT_TEXTS)
def approx_tokens(text: str) -> int:
    return len(_UNITS.findall(text))


def make_counter(tokenizer: str | None) -> tuple[TokenCounter, str]:
    """The counter and its name for the manifest; ``tokenizer`` is a hub id or a local folder."""
    if not tokenizer:
        return approx_tokens, APPROX
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer, trust_remote_code=False)

    @lru_cache(maxsize=RECENT_TEXTS)
    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    return count, f"tokenizer {tokenizer}"
