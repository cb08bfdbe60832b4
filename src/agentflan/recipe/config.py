"""The recipe file: sources, splits, ratios, seeds and output formats, validated up front.

A recipe is YAML. ``sources`` names inputs (a path, glob, folder or ``hf://owner/name[:split]``,
or a list of them; ``${VAR}`` / ``${VAR:-default}`` expand from the environment; relative paths
are relative to the recipe file; ``package:data/demo/...`` is inside the installed package). ``splits`` is the ordered list of output files, each of one
``kind``: ``agent`` (a trajectory source rewritten in a style, optionally a disjoint ``share``
of a group, optionally balanced), ``format_following``, ``negatives`` or ``general``. Every
mistake is a :class:`~agentflan.errors.ConfigError` naming the file, the line and the key, with the
closest valid name for a misspelt key, kind, style or format.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from agentflan import DATA_DIR
from agentflan.conversation import CAPABILITIES
from agentflan.errors import ConfigError
from agentflan.recipe.balance import PRESETS
from agentflan.recipe.located import (
    Loc,
    LocatedValueError,
    choices_error,
    did_you_mean,
    explain,
    line_of,
    loc_text,
)
from agentflan.sources import format_names
from agentflan.writers import get_writer, writer_names

_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
#: paths inside the installed agentflan package (its embedded demo data): ``package:data/demo/chat.jsonl``
PACKAGE = "package:"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Filter(_Model):
    """Which conversations of a source to use. ``tool_calls``: true keeps only conversations that
    call a tool, false only those that call none. ``final_answer``: keep only trajectories
    whose last step gives an answer (ToolBench: ``Finish`` with ``give_answer``). ``parses``: keep
    only conversations whose every assistant turn parses in its protocol (AgentInstruct's Mind2Web
    has replies with made-up operations); without it such a row is an error. ``known_tools`` (on by
    default): leave out conversations that call a tool they do not offer (ToolBench has calls to a
    tool's name instead of one of its APIs); training on them teaches invented tools.
    ``thoughts``: ``every_step`` keeps only trajectories whose every tool call comes with a thought,
    ``after_first_step`` those whose every call after the first does (ToolBench's first call
    usually has no text; on the shared sample this keeps about a third of the answered
    trajectories, the share the release's 22,867 suggests); most ToolBench trajectories have silent
    steps, which become reasoning-free rows. ``limit``: read
    at most this many conversations from each input file (a hub dataset is one input)."""

    tool_calls: bool | None = None
    final_answer: bool = False
    thoughts: Literal["any", "every_step", "after_first_step"] = "any"
    parses: bool = False
    known_tools: bool = True
    limit: int | None = Field(default=None, ge=1)


class Source(_Model):
    path: str | list[str]
    format: str | None = None
    filter: Filter = Filter()
    #: Tools to offer in conversations that offer none (e.g. FireAct's search/lookup).
    tools: list[dict[str, Any]] | None = None
    #: Conversations the full source holds: a dry run over a sample of it scales its counts to this.
    full_size: int | None = Field(default=None, ge=1)

    @property
    def specs(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        if v is not None and v not in format_names():
            raise ValueError(choices_error("input format", v, format_names()))
        return v


def _known_writers(formats: list[str] | None) -> list[str] | None:
    for i, f in enumerate(formats or ()):
        if f not in writer_names():
            raise LocatedValueError((i,), choices_error("output format", f, writer_names()))
    return formats


class Share(_Model):
    """A disjoint part of a group: splits with the same ``group`` never share a trajectory."""

    group: str
    fraction: float = Field(gt=0.0, le=1.0)


class Balance(_Model):
    """Capability ratios (a ``preset`` and/or ``ratios``), how unsampled turns go (``mode``: ``mask``
    keeps them with ``loss: false``, ``drop`` drops whole conversations) and, with ``count: samples``,
    the token reduction also counted as whole samples with their context (a note in the manifest)."""

    preset: Literal["paper", "r10r5u7"] | None = None
    ratios: dict[str, float] | None = None
    mode: Literal["mask", "drop"] = "mask"
    count: Literal["spans", "samples"] = "spans"

    @model_validator(mode="after")
    def _check(self) -> Balance:
        if self.ratios is not None:
            for name in self.ratios:
                if name not in CAPABILITIES:
                    raise LocatedValueError(("ratios", name), choices_error("capability", name, CAPABILITIES))
            bad = {k: v for k, v in self.ratios.items() if not 0.0 <= v <= 1.0}
            if bad:
                raise ValueError(f"ratios must lie in [0, 1]: {bad}")
        return self

    def resolved(self) -> dict[str, float]:
        """The preset (``paper`` when nothing is named), with ``ratios`` overriding it."""
        base = dict(PRESETS[self.preset or "paper"])
        base.update(self.ratios or {})
        return base


class SplitSpec(_Model):
    """What every split's configuration has: a file name, its formats, the sources it reads."""

    name: str
    formats: list[str] | None = None

    _formats = field_validator("formats")(_known_writers)

    def source_refs(self) -> dict[str, list[str]]:
        """The sources this split reads, by the key that names them."""
        raise NotImplementedError

    @field_validator("name")
    @classmethod
    def _file_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", v) or v.startswith("."):
            raise ValueError(f"a split name must be a plain file name (letters, digits, _ . -), got {v!r}")
        return v


class AgentSplit(SplitSpec):
    kind: Literal["agent"] = "agent"
    sources: list[str] = Field(min_length=1)
    style: Literal["tflan", "cot", "react", "json"]
    protocol: str | None = None
    tool_names: Literal["original", "qualified"] = "original"
    share: Share | None = None
    balance: Balance | None = None

    def source_refs(self) -> dict[str, list[str]]:
        return {"sources": self.sources}


class FormatFollowingSplit(SplitSpec):
    kind: Literal["format_following"]
    sources: list[str] = Field(min_length=1)
    n: int = Field(default=3000, ge=1)
    json_share: float = Field(default=0.5, ge=0.0, le=1.0)
    #: ``qualified``: ToolBench APIs are ``tool.api`` in the prompt, the user turn and the answer;
    #: ``release``: as the released j1s1 rows, the system prompt lists the API's own name while
    #: the user turn names ``tool.api`` and the answer calls it.
    tool_names: Literal["original", "qualified", "release"] = "original"

    def source_refs(self) -> dict[str, list[str]]:
        return {"sources": self.sources}


class Generator(_Model):
    """A backend that writes negative replies: ``openai`` (any OpenAI-compatible endpoint) or ``hf``."""

    backend: str
    model: str
    options: dict[str, Any] = Field(default_factory=dict)
    max_new_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)


class NegativesSplit(SplitSpec):
    kind: Literal["negatives"]
    #: Sources of requests that need a tool (kind a) and of the tool sets offered in kind b.
    tool_sources: list[str] = Field(min_length=1)
    #: Sources of ordinary chat (kind b), and their offline replies.
    chat_sources: list[str] = Field(min_length=1)
    n_no_tools: int = Field(default=380, ge=0)
    n_chat: int = Field(default=381, ge=0)
    tool_names: Literal["original", "qualified"] = "original"
    generator: Generator | None = None

    def source_refs(self) -> dict[str, list[str]]:
        return {"tool_sources": self.tool_sources, "chat_sources": self.chat_sources}


class GeneralSplit(SplitSpec):
    kind: Literal["general"]
    sources: list[str] = Field(min_length=1)
    #: None: concatenate everything (the paper); else general rows = ratio x agent rows.
    ratio: float | None = Field(default=None, gt=0.0)

    def source_refs(self) -> dict[str, list[str]]:
        return {"sources": self.sources}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "agent"))
    return str(getattr(value, "kind", "agent"))


Split = Annotated[
    Annotated[AgentSplit, Tag("agent")]
    | Annotated[FormatFollowingSplit, Tag("format_following")]
    | Annotated[NegativesSplit, Tag("negatives")]
    | Annotated[GeneralSplit, Tag("general")],
    Discriminator(_kind),
]


class Recipe(_Model):
    name: str = "agentflan"
    seed: int = 0
    #: A YAML file (or folder) whose phrasing slots replace the shipped ones.
    phrasings: str | None = None
    #: A Hugging Face tokenizer for the token counts (default: an approximate count).
    tokenizer: str | None = None
    #: Output formats of every split (a split's own ``formats`` wins); the first one is written
    #: to OUT/<split>.jsonl, the others to OUT/<format>/<split>.
    formats: list[str] = Field(default_factory=lambda: ["agentflan"], min_length=1)
    #: Formats that train every assistant turn (sharegpt-tools, toolllama) refuse rows with masked
    #: turns (``loss: false``: balancing, AgentInstruct's examples); true writes them there anyway,
    #: those turns trained, and counts them (the ``--drop-loss-masks`` of ``convert``).
    drop_loss_masks: bool = False
    sources: dict[str, Source]
    splits: list[Split] = Field(min_length=1)

    _formats = field_validator("formats")(_known_writers)

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        names = [s.name for s in self.splits]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise LocatedValueError(("splits", names.index(dupes[0], names.index(dupes[0]) + 1), "name"), f"split names must be unique: {', '.join(dupes)}")
        for i, s in enumerate(self.splits):
            for key, refs in s.source_refs().items():
                for j, ref in enumerate(refs):
                    if ref not in self.sources:
                        raise LocatedValueError(
                            ("splits", i, key, j),
                            f"split {s.name!r}: unknown source {ref!r}{did_you_mean(ref, self.sources)}; sources: {', '.join(self.sources)}",
                        )
        for group, members in self.groups().items():
            last = self.splits.index(members[-1])
            total = sum(m.share.fraction for m in members if m.share)
            if total > 1.0 + 1e-9:
                raise LocatedValueError(("splits", last, "share", "fraction"), f"group {group!r}: shares add up to {total:g}, more than 1")
            if len({tuple(m.sources) for m in members}) > 1:
                raise LocatedValueError(("splits", last, "sources"), f"group {group!r}: every split of a group must read the same sources")
        for i, s in enumerate(self.splits):
            untrained = [f for f in self.formats_of(s) if not get_writer(f).carries_turn_loss]
            masks = isinstance(s, AgentSplit) and s.balance is not None and s.balance.mode == "mask"
            if masks and untrained and not self.drop_loss_masks:
                raise LocatedValueError(
                    ("splits", i, "balance"),
                    f"split {s.name!r} is balanced: its down-sampled turns get loss: false, which {', '.join(untrained)} "
                    f"cannot hold (every assistant turn trains there); set drop_loss_masks: true to write them trained "
                    f"anyway, or write agentflan, native or openai",
                )
            if isinstance(s, AgentSplit) and s.balance is not None and s.style != "tflan":
                formats = s.formats or self.formats
                if set(formats) - {"native"}:
                    raise LocatedValueError(
                        ("splits", i, "balance"),
                        f"split {s.name!r}: balancing a {s.style!r} split masks spans inside turns, which only the "
                        f"native format can hold; use style tflan or formats: [native]",
                    )
        return self

    def groups(self) -> dict[str, list[AgentSplit]]:
        out: dict[str, list[AgentSplit]] = {}
        for s in self.splits:
            if isinstance(s, AgentSplit) and s.share is not None:
                out.setdefault(s.share.group, []).append(s)
        return out

    def formats_of(self, split: SplitSpec) -> list[str]:
        return list(split.formats or self.formats)


def load_recipe(
    path: str | os.PathLike[str],
    *,
    sources: dict[str, str] | None = None,
    seed: int | None = None,
) -> Recipe:
    """Read and validate a recipe. ``sources`` overrides source paths by name (``--source
    toolbench=/data/answers``); ``seed`` overrides the recipe's seed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        root, raw = _parse(text)
    except OSError as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a recipe is a mapping with `sources` and `splits`")
    raw = dict(raw)
    raw_sources = raw.get("sources")
    if isinstance(raw_sources, dict):
        for name, override in (sources or {}).items():
            if name not in raw_sources:
                raise ConfigError(
                    f"{path}: --source {name}=...: the recipe has no source {name!r}{did_you_mean(name, raw_sources)}; "
                    f"it has {', '.join(raw_sources)}"
                )
            # paths given on the command line are relative to the working directory
            where = override if override.startswith("hf://") else str(Path(override).absolute())
            raw_sources[name] = {**(raw_sources[name] or {}), "path": where}
        for name, src in raw_sources.items():
            if isinstance(src, dict) and "path" in src:
                src["path"] = _resolve_paths(src["path"], path.parent, ("sources", name, "path"), path, root)
    if isinstance(raw.get("phrasings"), str):
        raw["phrasings"] = _resolve_paths(raw["phrasings"], path.parent, ("phrasings",), path, root)
    if seed is not None:
        raw["seed"] = seed
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        lines = explain(exc, root, Recipe, _SPLIT_KINDS)
        raise ConfigError(f"{path}: invalid recipe:\n" + "\n".join(lines)) from None


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (its line marks name the line of a mistake) and the values of a recipe text,
    from one parse: by libyaml when PyYAML has it (~10x the pure-Python parser); a text libyaml
    refuses is parsed again by the pure-Python one, whose message says what is wrong where."""
    fast = getattr(yaml, "CSafeLoader", None)
    try:
        root = yaml.compose(text, Loader=fast) if fast is not None else None
    except yaml.YAMLError:
        root = None
    if root is None:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    return root, (None if root is None else yaml.SafeLoader("").construct_document(root))


def _resolve_paths(value: Any, base: Path, loc: Loc, recipe: Path, root: yaml.Node | None) -> Any:
    if isinstance(value, list):
        return [_resolve_paths(v, base, (*loc, i), recipe, root) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    text = _expand(value, loc, recipe, root)
    if text.startswith(PACKAGE):
        return str(DATA_DIR.parent / text[len(PACKAGE) :])
    if text.startswith("hf://") or Path(text).is_absolute():
        return text
    return str(base / text)


def _expand(text: str, loc: Loc, recipe: Path, root: yaml.Node | None) -> str:
    def sub(m: re.Match[str]) -> str:
        var, default = m.group(1), m.group(2)
        value = os.environ.get(var)
        if value:
            return value
        if default is not None:
            return default
        line = line_of(root, loc)
        where = f"{recipe}: line {line}: {loc_text(loc)}" if line else f"{recipe}: {loc_text(loc)}"
        raise ConfigError(f"{where}: environment variable {var} is not set (or override the path with --source)")

    return _ENV.sub(sub, text)


#: the split classes by their ``kind``
_SPLIT_KINDS: dict[str, type[BaseModel]] = {
    "agent": AgentSplit,
    "format_following": FormatFollowingSplit,
    "negatives": NegativesSplit,
    "general": GeneralSplit,
}
