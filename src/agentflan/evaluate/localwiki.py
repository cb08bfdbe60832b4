"""An offline encyclopedia over a handful of pages: ``search`` and ``lookup`` as in ReAct's
Wikipedia environment, answered from a HotpotQA question's own context paragraphs.

Titles match leniently (case, accents, punctuation, a trailing "(disambiguation)" part), so
``search[verano de escandalo]`` finds "Verano de Escándalo (1998)"; a miss lists the closest
titles so the agent can retry. Each episode gets its own instance: ``lookup`` walks through
the current page's matching sentences one call at a time.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_PAREN = re.compile(r"\s*\([^)]*\)\s*$")
_NON_WORD = re.compile(r"[\W_]+")


def title_key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", plain.casefold()).split())


@dataclass(slots=True)
class Page:
    title: str
    sentences: list[str]


DEFAULT_REPLIES: dict[str, str] = {
    "not_found": "There is no page named [{entity}]. Closest titles: {similar}.",
    "no_page": "No page is open yet; search for an entity first.",
    "lookup_hit": "(match {n} of {total}) {sentence}",
    "lookup_miss": "The page has no further sentence containing [{keyword}].",
}


@dataclass(slots=True)
class LocalWiki:
    pages: Sequence[Page]
    intro_sentences: int = 5
    max_similar: int = 5
    replies: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REPLIES))
    current: Page | None = None
    _keyword: str | None = None
    _hits: list[str] = field(default_factory=list)
    _next: int = 0

    def find(self, entity: str) -> Page | None:
        """The page an entity names: an exact title first, then a unique title without its brackets."""
        key = title_key(entity)
        if not key:
            return None
        exact = [p for p in self.pages if title_key(p.title) == key]
        if exact:
            return exact[0]
        loose = [p for p in self.pages if title_key(_PAREN.sub("", p.title)) == key]
        return loose[0] if len(loose) == 1 else None

    def similar(self, entity: str) -> list[str]:
        """Titles ranked by closeness to the entity (shared words, then spelling)."""
        key = title_key(entity)
        words = set(key.split())

        def closeness(page: Page) -> tuple[float, float]:
            tkey = title_key(page.title)
            shared = len(words & set(tkey.split())) / max(len(words | set(tkey.split())), 1)
            return (shared, difflib.SequenceMatcher(None, key, tkey).ratio())

        ranked = sorted(self.pages, key=closeness, reverse=True)
        return [p.title for p in ranked[: self.max_similar]]

    def search(self, entity: str) -> str:
        page = self.find(entity)
        if page is None:
            return self.replies["not_found"].format(entity=entity.strip(), similar=self.similar(entity))
        self.current, self._keyword, self._hits, self._next = page, None, [], 0
        return " ".join(page.sentences[: self.intro_sentences])

    def lookup(self, keyword: str) -> str:
        if self.current is None:
            return self.replies["no_page"]
        needle = keyword.strip().casefold()
        if needle != self._keyword:
            self._keyword = needle
            self._hits = [s for s in self.current.sentences if needle and needle in s.casefold()]
            self._next = 0
        if self._next >= len(self._hits):
            return self.replies["lookup_miss"].format(keyword=keyword.strip())
        self._next += 1
        return self.replies["lookup_hit"].format(n=self._next, total=len(self._hits), sentence=self._hits[self._next - 1])
