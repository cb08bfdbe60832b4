"""``kind: agent``: trajectories of its sources rewritten in a style (tflan, cot, react, json),
optionally a disjoint ``share`` of a group and optionally capability-balanced."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentflan.conversation import Conversation
from agentflan.recipe.align import AlignOptions, align
from agentflan.recipe.balance import Balancer
from agentflan.recipe.config import AgentSplit, Recipe
from agentflan.recipe.kinds.base import Merging, Offered, Scanning, SplitKind
from agentflan.recipe.split import assign
from agentflan.recipe.tags import CapabilityStats

if TYPE_CHECKING:
    from agentflan.recipe.collect import Collected
    from agentflan.recipe.manifest import SplitReport


class Agent(SplitKind[AgentSplit]):
    def __init__(self, spec: AgentSplit, recipe: Recipe):
        super().__init__(spec, recipe)
        share = spec.share
        #: the splits of this split's share group, in recipe order (a trajectory goes to one of them)
        self.group = recipe.groups()[share.group] if share is not None else []
        self.fractions = [m.share.fraction for m in self.group if m.share]
        self.part = next((i for i, m in enumerate(self.group) if m.name == spec.name), None)

    def needs_events(self, source: str) -> bool:
        return True

    def takes(self, key: str, seed: int) -> bool:
        """Whether the trajectory with content key ``key`` belongs to this split."""
        share = self.spec.share
        if share is None:
            return True
        return assign(key, self.fractions, f"{seed}|{share.group}") == self.part

    def offer(self, item: Offered, scan: Scanning) -> None:
        if not self.takes(item.key, scan.recipe.seed):
            return
        if not scan.dry_run:
            spec = self.spec
            rng = random.Random(f"{scan.recipe.seed}|{spec.name}|{item.key}")
            aligned = align(item.conv, AlignOptions(spec.style, spec.protocol, spec.tool_names), scan.phrasings, rng, item.events)
            if not scan.write(spec.name, aligned, item):
                return
        scan.result.rows[self.name] += 1

    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        s = self.spec
        info: dict[str, Any] = {"style": s.style, "sources": s.sources, "rows": collected.rows[s.name]}
        if s.share:
            info["share"] = f"{s.share.fraction:g} of group {s.share.group}"
        if s.balance:
            info["balance"] = {"mode": s.balance.mode, "ratios": s.balance.resolved(), "count": s.balance.count}
        return info

    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        spec = self.spec
        balancer = None
        if spec.balance is not None:
            b = spec.balance
            balancer = Balancer(b.resolved(), mode=b.mode, seed=f"{merge.recipe.seed}|{spec.name}", count=merge.count, unit=b.count)
        stats = balancer.stats if balancer is not None else CapabilityStats()
        i = 0
        for conv in merge.shard_rows(spec.name):
            if balancer is not None:
                if balancer(conv) is None:
                    continue
            else:
                stats.add_unchanged(conv, merge.count)
            conv.id = f"{spec.name}_{i}"
            i += 1
            report.count(conv)
            yield conv
        report.capabilities = stats
        report.dropped = balancer.dropped if balancer is not None else 0
        if balancer is not None and balancer.sample_stats is not None:
            report.notes.append(sample_reduction(balancer.sample_stats, stats))


def sample_reduction(samples: CapabilityStats, spans: CapabilityStats) -> str:
    """The ``count: samples`` note: the reduction in whole samples with context beside the span count."""

    def change(stats: CapabilityStats) -> str:
        before = sum(c.tokens for c in stats.tagged.values())
        after = sum(c.tokens for c in stats.supervised.values())
        return f"{before:,} -> {after:,} tokens ({(after - before) / before:+.1%})" if before else "no tokens"

    return f"count samples: whole samples with their context {change(samples)}; supervised spans {change(spans)}"
