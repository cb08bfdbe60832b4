"""``manifest.json``, typed: what a build read (inputs with sha256), what it wrote (rows per
split and source, files, supervised tokens per capability before and after balancing), and how
(recipe, seeds, token counter, phrasings, versions). The data card, the report and the
quickstart read it through :class:`Manifest`; :meth:`Manifest.to_dict` is the file's exact shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agentflan.conversation import CAPABILITIES, Conversation
from agentflan.errors import InputError
from agentflan.io import write_json
from agentflan.jsonutil import loads
from agentflan.recipe.tags import CapabilityStats

#: the manifest layout this code writes and reads
VERSION = 1
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Count:
    spans: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Supervised spans and tokens per capability, before and after balancing."""

    before: dict[str, Count]
    after: dict[str, Count]
    kept_span_ratio: dict[str, float | None]
    untagged_supervised_tokens: int

    @classmethod
    def of(cls, stats: CapabilityStats) -> Capabilities:
        return cls.from_dict(stats.to_dict(), "capabilities")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> Capabilities:
        side = lambda key: {c: Count(int(v["spans"]), int(v["tokens"])) for c, v in _get(d, key, where).items()}  # noqa: E731
        return cls(side("before"), side("after"), dict(_get(d, "kept_span_ratio", where)), int(_get(d, "untagged_supervised_tokens", where)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": {c: {"spans": v.spans, "tokens": v.tokens} for c, v in self.before.items()},
            "after": {c: {"spans": v.spans, "tokens": v.tokens} for c, v in self.after.items()},
            "kept_span_ratio": dict(self.kept_span_ratio),
            "untagged_supervised_tokens": self.untagged_supervised_tokens,
        }


@dataclass(frozen=True, slots=True)
class SplitSummary:
    """One output split: its rows, where they came from, and the files that hold them."""

    kind: str
    rows: int
    by_source: dict[str, int]
    turns_per_row: dict[int, int]
    capabilities: Capabilities
    #: output format -> path relative to the build folder (the first is the split's main file)
    files: dict[str, str]
    #: what wrote the replies (negatives): producer -> rows, and row id -> producer
    producers: dict[str, int] = field(default_factory=dict)
    row_producers: dict[str, str] = field(default_factory=dict)
    dropped_by_balancing: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def main_file(self) -> str:
        return next(iter(self.files.values()))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> SplitSummary:
        return cls(
            kind=str(_get(d, "kind", where)),
            rows=int(_get(d, "rows", where)),
            by_source=dict(_get(d, "by_source", where)),
            turns_per_row={int(k): int(v) for k, v in _get(d, "turns_per_row", where).items()},
            capabilities=Capabilities.from_dict(_get(d, "capabilities", where), f"{where}.capabilities"),
            files=dict(_get(d, "files", where)),
            producers=dict(d.get("producers", {})),
            row_producers=dict(d.get("row_producers", {})),
            dropped_by_balancing=int(d.get("dropped_by_balancing", 0)),
            notes=list(d.get("notes", [])),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "rows": self.rows,
            "by_source": dict(self.by_source),
            "turns_per_row": {str(k): v for k, v in self.turns_per_row.items()},
            "capabilities": self.capabilities.to_dict(),
            "files": dict(self.files),
        }
        if self.producers:
            d["producers"] = dict(self.producers)
            d["row_producers"] = dict(self.row_producers)
        if self.dropped_by_balancing:
            d["dropped_by_balancing"] = self.dropped_by_balancing
        if self.notes:
            d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True, slots=True)
class InputSummary:
    """One source as read: its files (listed up to a limit, always digested) and what was kept."""

    specs: list[str]
    format: str | None
    files: int
    bytes: int
    conversations: int
    kept: int
    filtered: dict[str, int]
    rejected: int
    sha256_of_listing: str
    #: ``{"path", "bytes", "sha256"}`` per file, when there are few enough to list
    file_list: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> InputSummary:
        names = ("specs", "format", "files", "bytes", "conversations", "kept", "filtered", "rejected", "sha256_of_listing")
        return cls(**{k: _get(d, k, where) for k in names}, file_list=d.get("file_list"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "specs": self.specs,
            "format": self.format,
            "files": self.files,
            "bytes": self.bytes,
            "conversations": self.conversations,
            "kept": self.kept,
            "filtered": dict(self.filtered),
            "rejected": self.rejected,
            "sha256_of_listing": self.sha256_of_listing,
        }
        if self.file_list is not None:
            d["file_list"] = self.file_list
        return d


@dataclass(frozen=True, slots=True)
class Manifest:
    #: ``name``, ``config`` (the validated recipe), and ``path``/``sha256`` of its file when built from one
    recipe: dict[str, Any]
    seed: int
    seeds: dict[str, Any]
    on_error: str
    token_counter: str
    phrasings: dict[str, Any]
    inputs: dict[str, InputSummary]
    rejected: int
    splits: dict[str, SplitSummary]
    rows: int
    capabilities: Capabilities
    versions: dict[str, str]
    agentflan_build: int = VERSION

    @property
    def name(self) -> str:
        return str(self.recipe.get("name", ""))

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """The manifest in ``path``; :class:`InputError` naming the file and field when it is not one."""
        path = Path(path)
        try:
            raw = loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(str(path), f"not a readable JSON manifest: {exc}") from None
        return cls.from_dict(raw, str(path))

    def write(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: Any, where: str = "manifest") -> Manifest:
        if not isinstance(d, Mapping):
            raise InputError(where, "a manifest is a JSON object")
        try:
            return cls(
                agentflan_build=int(_get(d, "agentflan_build", where)),
                recipe=dict(_get(d, "recipe", where)),
                seed=int(_get(d, "seed", where)),
                seeds=dict(_get(d, "seeds", where)),
                on_error=str(_get(d, "on_error", where)),
                token_counter=str(_get(d, "token_counter", where)),
                phrasings=dict(_get(d, "phrasings", where)),
                inputs=_each(_get(d, "inputs", where), InputSummary.from_dict, f"{where}: inputs"),
                rejected=int(_get(d, "rejected", where)),
                splits=_each(_get(d, "splits", where), SplitSummary.from_dict, f"{where}: splits"),
                rows=int(_get(d, "rows", where)),
                capabilities=Capabilities.from_dict(_get(d, "capabilities", where), f"{where}: capabilities"),
                versions=dict(_get(d, "versions", where)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(where, f"malformed manifest: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agentflan_build": self.agentflan_build,
            "recipe": self.recipe,
            "seed": self.seed,
            "seeds": self.seeds,
            "on_error": self.on_error,
            "token_counter": self.token_counter,
            "phrasings": self.phrasings,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "rejected": self.rejected,
            "splits": {k: v.to_dict() for k, v in self.splits.items()},
            "rows": self.rows,
            "capabilities": self.capabilities.to_dict(),
            "versions": self.versions,
        }


@dataclass(slots=True)
class SplitReport:
    """A split's summary while its rows are being made (counted one by one)."""

    name: str
    kind: str
    rows: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    turns: Counter[int] = field(default_factory=Counter)
    capabilities: CapabilityStats = field(default_factory=CapabilityStats)
    producers: Counter[str] = field(default_factory=Counter)
    #: what wrote each row's reply (negatives), by row id
    row_producers: dict[str, str] = field(default_factory=dict)
    dropped: int = 0
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, conv: Conversation) -> None:
        self.rows += 1
        self.by_source[str(conv.meta.get("recipe_source", conv.source or "?"))] += 1
        self.turns[len(conv.messages)] += 1

    def summary(self) -> SplitSummary:
        return SplitSummary(
            kind=self.kind,
            rows=self.rows,
            by_source=dict(sorted(self.by_source.items())),
            turns_per_row=dict(sorted(self.turns.items())),
            capabilities=Capabilities.of(self.capabilities),
            files=dict(self.files),
            producers=dict(sorted(self.producers.items())),
            row_producers=dict(self.row_producers) if self.producers else {},
            dropped_by_balancing=self.dropped,
            notes=list(self.notes),
        )


def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, Mapping):
        raise InputError(where, "expected a JSON object")
    if key not in d:
        raise InputError(where, f"missing field {key!r}", key)
    return d[key]


def _each(d: Any, make: Callable[[Mapping[str, Any], str], T], where: str) -> dict[str, T]:
    if not isinstance(d, Mapping):
        raise InputError(where, "expected a JSON object")
    return {str(k): make(v, f"{where}.{k}") for k, v in d.items()}


__all__ = ["CAPABILITIES", "Capabilities", "Count", "InputSummary", "Manifest", "SplitReport", "SplitSummary"]
