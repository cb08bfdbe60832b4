"""``kind: negatives``: rows that teach when not to call a tool. Kind a: a request that needs a
tool, with no tools offered; kind b: ordinary chat with tools offered. Replies come from a
generator when one is set, else from the offline sources (templates, the chat data)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentflan.conversation import Conversation, Tool
from agentflan.recipe.config import NegativesSplit, Recipe
from agentflan.recipe.kinds.base import Merging, Offered, Scanning, SplitKind, offered, sample_of, tagged_row
from agentflan.recipe.negatives import ToolSet, chat_pair, distinct_chats, negatives, planned, tool_query
from agentflan.recipe.split import BottomK
from agentflan.recipe.trajectory import offered_tools, qualified_names

if TYPE_CHECKING:
    from agentflan.generation.base import Backend, Sampling
    from agentflan.recipe.collect import Collected
    from agentflan.recipe.manifest import SplitReport
    from agentflan.recipe.scan import TaskResult

#: tool sets kept per negatives split (kind b draws the tools it offers from these)
TOOLSETS = 256


def spare(n: int) -> int:
    """Candidates to keep for ``n`` rows: more, for those a check or a repeated request turns away."""
    return 2 * n + 8


class Negatives(SplitKind[NegativesSplit]):
    def needs_events(self, source: str) -> bool:
        return source in self.spec.tool_sources

    def start(self, result: TaskResult, recipe: Recipe) -> None:
        spec, seed = self.spec, recipe.seed
        if result.source in spec.tool_sources:
            result.queries[spec.name] = BottomK(spare(spec.n_no_tools), f"{seed}|{spec.name}|queries")
            result.toolsets[spec.name] = BottomK(TOOLSETS, f"{seed}|{spec.name}|tools")
        if result.source in spec.chat_sources:
            result.chats[spec.name] = BottomK(spare(spec.n_chat), f"{seed}|{spec.name}|chats")

    def offer(self, item: Offered, scan: Scanning) -> None:
        conv, key, name = item.conv, item.key, self.name
        if item.events is not None and scan.source in self.spec.tool_sources:
            query = tool_query(conv, item.events, key)
            if query is not None:
                query.source = scan.source
                scan.result.queries[name].offer(key, query)
            tools = offered_tools(conv)
            if tools:
                names = qualified_names(tools) if self.spec.tool_names == "qualified" else {}
                toolset = ToolSet(key, [Tool(names.get(t.name, t.name), t.description, t.parameters) for t in tools])
                scan.result.toolsets[name].offer(key, toolset)
        if scan.source in self.spec.chat_sources:
            pair = chat_pair(conv, key)
            if pair is not None:
                pair.source = scan.source
                scan.result.chats[name].offer(key, pair)

    def plan(self, collected: Collected, agent_rows: int) -> dict[str, Any]:
        s = self.spec
        queries = offered(collected.queries, s.name)
        chats = offered(collected.chats, s.name)
        toolsets = offered(collected.toolsets, s.name)
        chat_items = sample_of(collected.chats, s.name).items()
        rows = planned(sample_of(collected.queries, s.name).items(), chat_items, toolsets > 0, n_no_tools=s.n_no_tools, n_chat=s.n_chat)
        if toolsets:
            collected.negative_chats.update((c.key, c.source) for c in distinct_chats(chat_items, s.n_chat))
        replies = f"generator {s.generator.backend}:{s.generator.model}" if s.generator else "offline (corpus answers, templates, chat data)"
        return {"no_tools_candidates": queries, "chat_candidates": chats, "rows": rows, "replies": replies}

    def rows(self, merge: Merging, report: SplitReport) -> Iterator[Conversation]:
        spec, seed = self.spec, merge.recipe.seed
        generator, owned = self._generator(merge)
        made = Counter[str]()
        try:
            rows = negatives(
                sample_of(merge.collected.queries, spec.name).items(),
                sample_of(merge.collected.chats, spec.name).items(),
                sample_of(merge.collected.toolsets, spec.name).items(),
                merge.phrasings,
                f"{seed}|{spec.name}",
                n_no_tools=spec.n_no_tools,
                n_chat=spec.n_chat,
                generator=generator,
                sampling=self._sampling(generator, seed),
            )
            for i, neg in enumerate(rows):
                conv = neg.conversation
                conv.id = f"{spec.name}_{i}"
                made[neg.kind] += 1
                if "trajectory_key" in conv.meta:
                    merge.collected.negative_chats[str(conv.meta["trajectory_key"])] = str(conv.meta.get("recipe_source", ""))
                report.producers[neg.producer] += 1
                report.row_producers[conv.id] = neg.producer
                tagged_row(conv, report, merge.count)
                yield conv
        finally:
            if owned and generator is not None:
                generator.close()
        for kind, asked in (("no_tools", spec.n_no_tools), ("chat_with_tools", spec.n_chat)):
            if made[kind] < asked:
                report.notes.append(f"{kind}: asked for {asked} rows, made {made[kind]} (not enough candidates in the sources)")

    def _sampling(self, generator: Backend | None, seed: int) -> Sampling | None:
        cfg = self.spec.generator
        if cfg is None and generator is None:
            return None
        from agentflan.generation.base import Sampling

        return Sampling(max_new_tokens=cfg.max_new_tokens if cfg else 512, temperature=cfg.temperature if cfg else 0.0, seed=seed)

    def _generator(self, merge: Merging) -> tuple[Backend | None, bool]:
        """The build's generator (not ours to close), else the split's own (closed when done)."""
        if merge.generator is not None:
            return merge.generator, False
        cfg = self.spec.generator
        if cfg is None:
            return None, False
        from agentflan.generation.backends import make_backend

        return make_backend(cfg.backend, cfg.model, **cfg.options), True
