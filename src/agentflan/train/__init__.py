"""Supervised tuning on agent conversations: templates, tokenisation with per-token capability ids,
packing, a transformers ``Trainer`` with per-capability loss, and export (``agentflan train``).

Modules import torch/transformers lazily where they can, so ``agentflan.generation.templates`` and
``agentflan.train.config`` stay cheap to import for the evaluation and quickstart code.
"""
