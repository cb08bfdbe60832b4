"""``kind: general``: ShareGPT-style chat beside the agent rows, all of it (the paper) or a
seeded sample of ``ratio`` x the agent rows. Written last, since the ratio counts those rows."""

from __future__ import annotations

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
        if self.spec.ratio is not None:
            result.general_hashes[self.name] = []

    def offer(self, item: Offered, scan: Scanning) -> None:
        if not scan.write(self.name, item.conv, item):
            return
        if self.spec.ratio is not None:
            scan.result.general_hashes[self.name].append(unit_hash(f"{scan.recipe.seed}|{self.name}", item.key))
        scan.result.rows[self.name] += 1

    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        total = collected.rows[self.name]
        quota = general_quota(agent_rows, self.spec.ratio)
        return {"sources": self.spec.sources, "available": total, "rows": total if quota is None else min(quota, total)}

    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        spec = self.spec
        quota = general_quota(merge.agent_rows, spec.ratio)
        hashes = sorted(merge.collected.general_hashes.get(spec.name, ()))
        threshold = 1.0 if quota is None or quota >= len(hashes) else (hashes[quota - 1] if quota > 0 else -1.0)
        seed = f"{merge.recipe.seed}|{spec.name}"
        i = 0
        for conv in merge.shard_rows(spec.name):
            if quota is not None and unit_hash(seed, str(conv.meta.get("trajectory_key"))) > threshold:
                continue
            conv.id = f"{spec.name}_{i}"
            i += 1
            report.capabilities.add_after(conv, merge.count)
            report.count(conv)
            yield conv
        if quota is not None and quota > len(hashes):
            report.notes.append(f"ratio {spec.ratio} asks for {quota} rows; the sources hold {len(hashes)}")
