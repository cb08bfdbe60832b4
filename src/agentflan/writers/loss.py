"""Per-turn loss across formats: refusing to lose Agent-FLAN's masks silently.

Agent-FLAN's capability balancing works by masking assistant turns (``loss: false``); a format
that trains every assistant turn (ShareGPT, ToolLLaMA: ``carries_turn_loss = False``) would
quietly train them all. A conversation with such a turn is an :class:`InputError` there
(``--on-error skip`` sets it aside), unless the user passes ``drop_loss_masks``; the turns that
lose their mask are counted. Formats with per-turn loss keep whole-turn masks (Agent-FLAN
``loss``, OpenAI ``weight``); only native and tokenized keep masks inside a turn (spans).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from agentflan.batch import Rejects
from agentflan.conversation import Conversation
from agentflan.errors import InputError
from agentflan.writers.base import conversation_error


def masked_turns(conv: Conversation) -> int:
    """The assistant turns of ``conv`` that are not trained (``loss: false``)."""
    return sum(m.role == "assistant" and m.loss is False for m in conv.messages)


@dataclass
class LossGuard:
    """Refuses (or, with ``drop``, counts) conversations whose masked turns ``format`` would train."""

    format: str
    drop: bool = False
    turns: int = 0
    rows: int = 0

    def check(self, conversations: Iterable[Conversation], rejects: Rejects | None) -> Iterator[Conversation]:
        for conv in conversations:
            masked = masked_turns(conv)
            if masked and not self.drop:
                error = self.error(conv, masked)
                if rejects is None:
                    raise error
                rejects.handle(error, conv.to_dict())
                continue
            if masked:
                self.turns += masked
                self.rows += 1
            yield conv

    def error(self, conv: Conversation, masked: int) -> InputError:
        return conversation_error(
            conv,
            f"masked turns the {self.format} format would train: {masked} assistant turns have loss: false and "
            f"{self.format} has no per-turn loss; pass --drop-loss-masks to train them anyway, "
            "or write --to native, agentflan, openai or tokenized",
            "messages",
        )

    def summary(self) -> str:
        return f"--drop-loss-masks: {self.turns} masked assistant turns in {self.rows} rows lose their mask and will be trained"
