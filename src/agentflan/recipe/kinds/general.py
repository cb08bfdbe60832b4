"""``kind: general``: ShareGPT-style chat beside the agent rows, all of it (the paper) or a
seeded sample of ``ratio`` x the agent rows. Written last, since the ratio counts those rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from agentflan.conversation import Conversation
from agentflan.recipe.config import GeneralSplit, Recipe
from agentflan.recipe.kinds.base import Merging, Offered, Scanning, SplitKind
from agentflan.recipe.mix import general_quota
from agentflan.recipe.split import unit_hash

if TYPE_CHECKING:
    from agentflan.recipe.collect import Collected
    from agentflan.recipe.manifest import SplitReport
    from agentflan.recipe.scan import TaskResult


class General(SplitKind[GeneralSplit]):
    general: ClassVar[bool] = True

    def start(self, result: TaskResult, recipe: Recipe) -> None:
        # kept with or without a ratio: a dry run counts the rows negatives take away by them
        result.general_hashes[self.name] = []

    def offer(self, item: Offered, scan: Scanning) -> None:
        if not scan.write(self.name, item.conv, item):
            return
        scan.result.general_hashes[self.name].append(unit_hash(f"{scan.recipe.seed}|{self.name}", item.key))
        scan.result.rows[self.name] += 1

    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        total = collected.rows[self.name]
        quota = general_quota(agent_rows, self.spec.ratio)
        hashes = sorted(collected.general_hashes.get(self.name, ()))
        threshold = _threshold(quota, hashes)
        seed = f"{collected.recipe.seed}|{self.name}"
        # the chats a negatives split answers are left out, each copy of a repeated one (same key)
        copies = Counter(hashes)
        answered = (unit_hash(seed, key) for key, source in collected.negative_chats.items() if source in self.spec.sources)
        gone = sum(copies[h] for h in answered if h <= threshold)
        return {"sources": self.spec.sources, "available": total, "rows": (total if quota is None else min(quota, total)) - gone}

    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        spec = self.spec
        quota = general_quota(merge.agent_rows, spec.ratio)
        hashes = sorted(merge.collected.general_hashes.get(spec.name, ()))
        threshold = _threshold(quota, hashes)
        seed = f"{merge.recipe.seed}|{spec.name}"
        i = 0
        for conv in merge.shard_rows(spec.name):
            if quota is not None and unit_hash(seed, str(conv.meta.get("trajectory_key"))) > threshold:
                continue
            if conv.meta.get("trajectory_key") in merge.collected.negative_chats:
                report.notes.append(f"left out {conv.meta.get('origin_id')}: its opening is a negative row")
                continue
            conv.id = f"{spec.name}_{i}"
            i += 1
            report.capabilities.add_after(conv, merge.count)
            report.count(conv)
            yield conv
        if quota is not None and quota > len(hashes):
            report.notes.append(f"ratio {spec.ratio} asks for {quota} rows; the sources hold {len(hashes)}")


def _threshold(quota: int | None, hashes: list[float]) -> float:
    """The largest hash a sampled row may have (every row when there is no quota)."""
    return 1.0 if quota is None or quota >= len(hashes) else (hashes[quota - 1] if quota > 0 else -1.0)
