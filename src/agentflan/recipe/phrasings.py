"""The phrasing pools of the recipe (inserted turns, cot sentences, system layouts, negative
replies), loaded from YAML under ``agentflan/data/phrasings`` so users edit wording, not code.

Every slot is a list of ``string.Template`` texts; a build picks one per use with a seeded
:class:`random.Random`. Each slot declares the fields it may use, so a typo in a user's
override file fails at load time with the file and slot named, not half way through a build.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentflan import DATA_DIR
from agentflan.errors import ConfigError

FILES = ("tflan", "cot", "system", "format_following", "negatives", "agentinstruct")

# slot -> the fields its templates may use
SLOTS: dict[str, frozenset[str]] = {
    "tflan.elicit_tool": frozenset(),
    "tflan.answer_tool": frozenset({"tool"}),
    "tflan.elicit_arguments": frozenset({"tool"}),
    "tflan.answer_arguments": frozenset({"items", "json"}),
    "tflan.argument_item": frozenset({"name", "value"}),
    "tflan.no_arguments": frozenset(),
    "tflan.elicit_final": frozenset(),
    "tflan.observation": frozenset({"observation", "tool"}),
    "cot.call": frozenset({"tool"}),
    "cot.dictionary": frozenset(),
    "system.tflan": frozenset({"tools"}),
    "system.cot": frozenset({"tools"}),
    "format_following.system": frozenset({"api", "format"}),
    "format_following.format.json": frozenset(),
    "format_following.format.string": frozenset(),
    "format_following.user.json": frozenset({"goal", "tool", "params"}),
    "format_following.user.string": frozenset({"goal", "tool", "params"}),
    "format_following.user_no_params.json": frozenset({"goal", "tool"}),
    "format_following.user_no_params.string": frozenset({"goal", "tool"}),
    "negatives.no_tools_system": frozenset(),
    "negatives.no_tools_reply": frozenset({"request"}),
    "negatives.answerable_tools": frozenset(),
    "negatives.no_tools_generator_system": frozenset(),
    "negatives.chat_system": frozenset({"tools"}),
    "negatives.chat_generator_system": frozenset(),
    **{f"agentinstruct.{task}": frozenset() for task in ("os", "db", "alfworld", "kg", "webshop", "mind2web")},
}


class Phrase(string.Template):
    """A ``string.Template`` split into its literal and field parts once: a build fills phrasings
    thousands of times, and ``Template.substitute`` runs its pattern over the text every time."""

    def __init__(self, template: str):
        super().__init__(template)
        #: (text, None) for literal text and escaped ``$$``, ("", field) for a placeholder
        self.parts: list[tuple[str, str | None]] = []
        pos = 0
        for m in self.pattern.finditer(template):
            if m.group("invalid") is not None:
                raise ValueError(f"a stray '$' at {m.start()} of {template!r}")
            self.parts.append((template[pos : m.start()], None))
            escaped = m.group("escaped")
            self.parts.append((self.delimiter, None) if escaped is not None else ("", m.group("named") or m.group("braced")))
            pos = m.end()
        self.parts.append((template[pos:], None))

    def substitute(self, mapping: Mapping[str, object] | None = None, /, **kws: object) -> str:
        fields = kws if mapping is None else {**mapping, **kws}
        return "".join(text if name is None else str(fields[name]) for text, name in self.parts)


@dataclass(slots=True)
class Phrasings:
    """Pools by dotted slot name (``tflan.elicit_tool``), with a digest for the manifest."""

    pools: dict[str, list[Phrase]]
    digest: str = ""
    origins: list[str] = field(default_factory=list)

    def pick(self, rng: random.Random, slot: str) -> Phrase:
        return rng.choice(self.pools[slot])

    def fill(self, rng: random.Random, slot: str, **fields: str) -> str:
        """One phrasing of ``slot`` chosen by ``rng``, its fields filled in."""
        return self.pick(rng, slot).substitute(fields)

    def size(self, slot: str) -> int:
        return len(self.pools[slot])


def default_dir() -> Path:
    return DATA_DIR / "phrasings"


def load_phrasings(override: str | Path | None = None) -> Phrasings:
    """The shipped pools, with the slots of ``override`` (a YAML file or folder of them) replacing them."""
    raw: dict[str, tuple[Any, str]] = {}
    texts: list[bytes] = []
    base = default_dir()
    for name in FILES:
        path = base / f"{name}.yaml"
        data = path.read_bytes()
        texts.append(data)
        # shipped and known valid: libyaml's safe loader, ~10x the pure-Python one (same values)
        _flatten(name, yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), str(path), raw)
    origins = [str(base)]
    if override is not None:
        paths = sorted(Path(override).glob("*.yaml")) if Path(override).is_dir() else [Path(override)]
        for path in paths:
            if not path.is_file():
                raise ConfigError(f"phrasings file {path} does not exist")
            data = path.read_bytes()
            texts.append(data)
            loaded = yaml.safe_load(data) or {}
            if not isinstance(loaded, Mapping):
                raise ConfigError(f"{path}: expected a mapping of slot names to lists of phrasings")
            top = path.stem if path.stem in FILES and not set(loaded) & set(FILES) else ""
            extra: dict[str, tuple[Any, str]] = {}
            _flatten(top, loaded, str(path), extra)
            for slot in extra:
                if slot not in SLOTS:
                    raise ConfigError(f"{path}: unknown phrasing slot {slot!r}; known slots: {', '.join(SLOTS)}")
            raw.update(extra)
            origins.append(str(path))
    pools = {slot: _templates(slot, *raw[slot]) for slot in SLOTS if slot in raw}
    missing = [s for s in SLOTS if s not in pools]
    if missing:
        raise ConfigError(f"phrasing slots missing: {', '.join(missing)}")
    digest = hashlib.sha256(b"\0".join(texts)).hexdigest()
    return Phrasings(pools, digest, origins)


def _flatten(prefix: str, value: Any, origin: str, out: dict[str, tuple[Any, str]]) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, origin, out)
    else:
        out[prefix] = (value, origin)


def _templates(slot: str, value: Any, origin: str) -> list[Phrase]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{origin}: slot {slot!r} must be a non-empty list of strings")
    allowed = SLOTS[slot]
    out = []
    for i, text in enumerate(value):
        try:
            template = Phrase(text)
        except ValueError:
            raise ConfigError(f"{origin}: {slot}[{i}] has a stray '$' (write $$ for a dollar sign)") from None
        names = {name for _, name in template.parts if name is not None}
        unknown = names - allowed
        if unknown:
            fields = ", ".join(f"${f}" for f in sorted(allowed)) or "none"
            raise ConfigError(f"{origin}: {slot}[{i}] uses unknown field(s) {', '.join(sorted(unknown))}; this slot has: {fields}")
        out.append(template)
    return out
