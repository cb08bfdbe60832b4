"""Token losses without materialising the whole logits tensor.

Agent trajectories are long and vocabularies large: at 8k tokens a 128k vocabulary gives 4 GB of
fp32 logits, and autograd keeps them (and their gradient) alive. Here the model's output head is
applied only to the positions that carry a label, a chunk of rows at a time, each chunk under
activation checkpointing, so at most one chunk of logits exists at once, in the forward pass and
in the backward pass. The losses equal those of the full logits (same operations per row).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

#: Config attributes that change logits after the head; a model with any of them set keeps full logits.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "output_multiplier_scale", "logits_scaling")


def chunkable_head(model: Any) -> torch.nn.Module | None:
    """The output head that chunked losses may apply, or None where they must not.

    None when the model has no ``get_output_embeddings``, or post-processes logits (soft-capping,
    scaling) in its forward: the head alone would not reproduce its logits.
    """
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    if not isinstance(head, torch.nn.Module):
        return None
    config = getattr(model, "config", None)
    text_config = config.get_text_config() if config is not None and hasattr(config, "get_text_config") else config
    if any(getattr(text_config, name, None) not in (None, 1, 1.0) for name in _LOGIT_TRANSFORMS):
        return None
    return head


@contextmanager
def hidden_states_as_logits(model: Any, head: torch.nn.Module) -> Iterator[None]:
    """Within the block the model's forward returns its last hidden states in place of logits."""
    model.set_output_embeddings(torch.nn.Identity())
    try:
        yield
    finally:
        model.set_output_embeddings(head)


def _chunk_losses(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = head(hidden).float()
    return F.cross_entropy(logits, targets, reduction="none")


def chunked_token_losses(hidden: torch.Tensor, head: torch.nn.Module, targets: torch.Tensor, chunk_tokens: int) -> torch.Tensor:
    """Cross-entropy of ``head(hidden[i])`` against ``targets[i]`` for rows ``hidden: (N, H)``, ``targets: (N,)``.

    Every row must carry a real target (select supervised positions first). Gradients flow to
    ``hidden`` and to the head's parameters; each chunk's logits are recomputed in the backward
    pass instead of being kept.
    """
    if hidden.shape[0] == 0:
        return hidden.new_zeros(0, dtype=torch.float32)
    pieces = []
    for start in range(0, hidden.shape[0], chunk_tokens):
        rows, wanted = hidden[start : start + chunk_tokens], targets[start : start + chunk_tokens]
        if torch.is_grad_enabled() and (rows.requires_grad or any(p.requires_grad for p in head.parameters())):
            pieces.append(checkpoint(_chunk_losses, head, rows, wanted, use_reentrant=False))
        else:
            pieces.append(_chunk_losses(head, rows, wanted))
    return torch.cat(pieces)
