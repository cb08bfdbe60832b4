"""``kind: format_following``: the ``instruct_j1s1`` rows, JSON and ReAct 1:1, made from a
seeded sample of the sources' real calls (a thought and one call)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentflan.conversation import Conversation
from agentflan.recipe.config import FormatFollowingSplit, Recipe
from agentflan.recipe.format_following import call_examples, format_following_rows
from agentflan.recipe.kinds.base import Merging, Offered, Scanning, SplitKind, offered, sample_of, tagged_row
from agentflan.recipe.split import BottomK

if TYPE_CHECKING:
    from agentflan.recipe.collect import Collected
    from agentflan.recipe.manifest import SplitReport
    from agentflan.recipe.scan import TaskResult


class FormatFollowing(SplitKind[FormatFollowingSplit]):
    def needs_events(self, source: str) -> bool:
        return True

    def start(self, result: TaskResult, recipe: Recipe) -> None:
        result.examples[self.name] = BottomK(self.spec.n, f"{recipe.seed}|{self.name}")

    def offer(self, item: Offered, scan: Scanning) -> None:
        if item.events is None:
            return
        sample = scan.result.examples[self.name]
        names = self.spec.tool_names
        for ex in call_examples(item.conv, item.events, item.key, qualify=names != "original", list_original=names == "release"):
            ex.source = scan.source
            sample.offer(ex.key, ex)

    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        candidates = offered(collected.examples, self.name)
        return {"sources": self.spec.sources, "candidates": candidates, "rows": min(self.spec.n, candidates)}

    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        spec = self.spec
        merged = sample_of(merge.collected.examples, spec.name)
        if len(merged) < spec.n:
            report.notes.append(f"asked for {spec.n} rows; the sources hold {len(merged)} usable calls (a thought and one call)")
        rows = format_following_rows(merged.items(), merge.phrasings, f"{merge.recipe.seed}|{spec.name}", json_share=spec.json_share)
        for i, conv in enumerate(rows):
            conv.id = f"{spec.name}_{i}"
            tagged_row(conv, report, merge.count)
            yield conv
