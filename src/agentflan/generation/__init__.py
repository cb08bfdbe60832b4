"""Talking to a model, shared by training, the recipe's negatives, evaluation and ``chat``.

- :mod:`~agentflan.generation.base`: the :class:`Backend` contract, requests and sampling;
- :mod:`~agentflan.generation.backends`: ``hf``, ``openai`` and ``vllm`` by name (imported lazily);
- :mod:`~agentflan.generation.templates`: the chat templates a model is trained and prompted with;
- :mod:`~agentflan.generation.stops`: stop sequences (a request's, a template's) and cutting at them.
"""
