"""Our own JSONL: :meth:`Conversation.to_dict` per line, nothing lost (spans, protocols, meta)."""

from __future__ import annotations

from typing import Any

from agentflan.conversation import Conversation
from agentflan.writers.base import RecordWriter, register


@register
class NativeWriter(RecordWriter):
    name = "native"
    description = "agentflan's own JSONL: everything kept (spans, protocols, loss, meta)"
    can_refuse = False

    def encode(self, conv: Conversation) -> dict[str, Any]:
        return conv.to_dict()
