"""Tiny random-initialised causal LMs with a tokenizer trained on the spot.

The quickstart trains one from scratch on a laptop CPU, and the tests use them because no
model hub is reachable offline. The tokenizer is a byte-level BPE trained with the
``tokenizers`` library on the given texts, so every character (including the Agent-FLAN
template's U+0D46/U+0D3F) encodes.

Words are cut apart from the spaces and punctuation around them before BPE (:data:`PIECES`), so
a word splits into the same pieces wherever it stands: ``ASML`` in "How is ASML trading?" and in
``{"ticker":"ASML"}`` is the same token sequence. A GPT-style pre-tokenizer glues the space to
the word (`` ASML`` vs ``ASML``), and a value the model must copy from a request into a call
becomes a different sequence -- a tiny model then memorises training values instead of learning
to copy unseen ones. Digits stand alone for the same reason (numbers copy digit by digit).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

# ChatML with generation markers, so apply_chat_template(return_assistant_tokens_mask=True) works.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

#: Pre-tokens: a run of letters, one digit, a run of other symbols, a run of whitespace.
PIECES = r"\p{L}+|\p{N}|[^\s\p{L}\p{N}]+|\s+"
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts`` (seconds for ~1 MB)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PIECES), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def tiny_model(
    tokenizer: Any,
    arch: Literal["llama", "qwen2"] = "llama",
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
) -> Any:
    """A random-initialised Llama or Qwen2 sized for CPU tests (~100k parameters)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    torch.manual_seed(seed)
    common: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "intermediate_size": hidden_size * 2,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "max_position_embeddings": 2048,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": True,
    }
    config = LlamaConfig(**common) if arch == "llama" else Qwen2Config(**common)
    return AutoModelForCausalLM.from_config(config)


def save_tiny(
    out_dir: str | Path,
    texts: Iterable[str],
    arch: Literal["llama", "qwen2"] = "llama",
    vocab_size: int = 1024,
    hidden_size: int = 64,
    layers: int = 2,
    seed: int = 0,
) -> Path:
    """Train a tokenizer, build a tiny model and save both where ``from_pretrained`` finds them."""
    out = Path(out_dir)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    model = tiny_model(tokenizer, arch=arch, hidden_size=hidden_size, layers=layers, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
