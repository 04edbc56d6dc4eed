"""Query understanding without a model: field-term expansion and remembered author/year hints."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.corpus.merge import normalise
from assistant.papers import Paper
from assistant.text import is_team

LEXICON = Path(__file__).parent / "data" / "lexicon.txt"
GLOSSARY = Path(__file__).parent / "data" / "glossary.txt"
# A glossary description counts as what the query describes above this cosine similarity;
# on the development queries 0.5 let in loosely related concepts and hurt plain queries.
GLOSSARY_MIN_SIMILARITY = 0.6
GLOSSARY_MOST = 2
# A title shorter than this (normalised) is too likely to occur inside unrelated wording to
# count as quoted.
TITLE_MIN = 8
_YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class Rule:
    """Everyday phrasings (word patterns) and the field terms they stand for."""

    triggers: tuple[tuple[str, ...], ...]
    terms: str


def _word_match(pattern: str, word: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


def _phrase_at(phrase: tuple[str, ...], words: list[str], i: int) -> bool:
    n = len(phrase)
    return i + n <= len(words) and all(
        _word_match(p, w) for p, w in zip(phrase, words[i : i + n], strict=True)
    )


Trigger = tuple[int, tuple[str, ...]]  # (rule number, phrase)


@dataclass(frozen=True)
class _TriggerIndex:
    """The triggers of a lexicon by their first word, so a query checks only those that
    can start at each of its words instead of every trigger at every position."""

    exact: dict[str, list[Trigger]]
    prefixes: dict[int, dict[str, list[Trigger]]]  # "imitat*": prefixes[6]["imitat"]

    @classmethod
    def of(cls, rules: tuple[Rule, ...]) -> _TriggerIndex:
        exact: dict[str, list[Trigger]] = {}
        prefixes: dict[int, dict[str, list[Trigger]]] = {}
        for n, rule in enumerate(rules):
            for phrase in rule.triggers:
                first = phrase[0]
                if first.endswith("*"):
                    stem = first[:-1]
                    prefixes.setdefault(len(stem), {}).setdefault(stem, []).append((n, phrase))
                else:
                    exact.setdefault(first, []).append((n, phrase))
        return cls(exact, prefixes)

    def starting_with(self, word: str) -> list[Trigger]:
        found = list(self.exact.get(word, ()))
        for size, stems in self.prefixes.items():
            if len(word) >= size:
                found.extend(stems.get(word[:size], ()))
        return found


@lru_cache(maxsize=4)
def _trigger_index(rules: tuple[Rule, ...]) -> _TriggerIndex:
    return _TriggerIndex.of(rules)


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> tuple[Rule, ...]:
    """Parse ``lexicon.txt``: ``trigger|trigger => terms`` per line, ``#`` comments."""
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=>" not in line:
            continue
        left, terms = line.split("=>", 1)
        triggers = tuple(tuple(t.lower().split()) for t in left.split("|") if t.strip())
        rules.append(Rule(triggers=triggers, terms=terms.strip()))
    return tuple(rules)


def words(text: str) -> list[str]:
    """Lower-case word tokens (hyphenated words kept whole)."""
    return [w.strip("'-") for w in _WORD.findall(text.lower()) if w.strip("'-")]


def expand(query: str, rules: Iterable[Rule] | None = None) -> str:
    """Field terms implied by the everyday wording of ``query`` (empty when none apply)."""
    # An acronym or model name in capitals ("CLIP", "NAS") is not the everyday word it spells.
    ws = [
        w.strip("'-").lower() if not (w.isupper() and len(w) > 1) else ""
        for w in _WORD.findall(query)
    ]
    lexicon = load_lexicon() if rules is None else tuple(rules)
    index = _trigger_index(lexicon)
    fired: set[int] = set()
    for i, word in enumerate(ws):
        for n, phrase in index.starting_with(word):
            if n not in fired and _phrase_at(phrase, ws, i):
                fired.add(n)
    return " ".join(dict.fromkeys(lexicon[n].terms for n in sorted(fired)))


class TitleIndex:
    """Normalised titles by their first ``TITLE_MIN`` characters, to find the titles a query
    quotes by checking, at each position of the query, only the titles that can start there."""

    def __init__(self, titles: Iterable[tuple[str, str]]):
        """``titles``: (paper id, title) pairs."""
        self._by_head: dict[str, list[tuple[str, str]]] = {}
        for pid, title in titles:
            wanted = normalise(title)
            if len(wanted) >= TITLE_MIN:
                self._by_head.setdefault(wanted[:TITLE_MIN], []).append((pid, wanted))

    def quoted_in(self, query: str) -> dict[str, str]:
        """Paper id -> normalised title, for each whole title found anywhere in ``query``."""
        text = normalise(query)
        return {
            pid: title
            for i in range(len(text) - TITLE_MIN + 1)
            for pid, title in self._by_head.get(text[i : i + TITLE_MIN], ())
            if text.startswith(title, i)
        }


@dataclass
class Hints:
    """What a query remembers about who and when: years and author names it mentions."""

    years: set[int] = field(default_factory=set)
    authors: set[str] = field(default_factory=set)

    @property
    def any(self) -> bool:
        return bool(self.years or self.authors)


HINTS_KEPT = 256  # queries whose hints are remembered


class AuthorIndex:
    """Surnames and full names of the collection's authors, to spot them in a query."""

    def __init__(self, papers: Iterable[Paper]):
        self.by_name: dict[str, set[str]] = {}
        for p in papers:
            for a in p.authors:
                parts = a.split()
                keys = {a.lower()}
                # "Kimi Team": the team's name is what people remember, not "Team".
                if is_team(a):
                    keys.add(parts[0].lower())
                elif len(parts) > 1:
                    keys.add(parts[-1].lower())
                for key in keys:
                    self.by_name.setdefault(key, set()).add(p.id)
        # One answer asks about the same text several times (metadata, search, named papers).
        self._read = functools.lru_cache(maxsize=HINTS_KEPT)(self._hints)

    def hints(self, query: str) -> Hints:
        """Years and known author names that the query mentions (capitalised, as names are)."""
        h = self._read(query)
        return Hints(set(h.years), set(h.authors))  # the caller's to change

    def _hints(self, query: str) -> Hints:
        h = Hints(years={int(y) for y in _YEAR.findall(query)})
        # Possessives name people too: "Guanglu Song's profile".
        caps = re.findall(r"\b[A-Z][\w-]+(?:\s+[A-Z][\w-]+)*", re.sub(r"['’]s\b", "", query))
        for run in caps:
            tokens = run.split()
            # Every contiguous sub-run: "Jinguo Zhu" matches the full name, "Zhu" the surname.
            for i in range(len(tokens)):
                for j in range(i + 1, min(len(tokens), i + 3) + 1):
                    name = " ".join(tokens[i:j]).lower()
                    if name in self.by_name:
                        h.authors.add(name)
        return h

    def papers_of(self, name: str) -> set[str]:
        return self.by_name.get(name, set())

    def papers_of_any(self, names: Iterable[str]) -> set[str]:
        """Papers that carry at least one of ``names``."""
        return set().union(*(self.papers_of(n) for n in names))


def author_score(paper: Paper, hints: Hints, authors: AuthorIndex) -> float:
    """Share of the remembered author names that are on ``paper``: 0..1."""
    if not hints.authors:
        return 0.0
    return sum(paper.id in authors.papers_of(n) for n in hints.authors) / len(hints.authors)


def year_score(paper: Paper, hints: Hints) -> float:
    """1 when the paper's year is a remembered one, 0.5 one year off (listing dates drift
    from the year a paper is remembered by), else 0."""
    if not hints.years or paper.year is None:
        return 0.0
    off = min(abs(paper.year - y) for y in hints.years)
    return 1.0 if off == 0 else 0.5 if off == 1 else 0.0


class Glossary:
    """Field terms with plain descriptions, matched to a query by meaning (embeddings)."""

    def __init__(self, embedder: Any, cache_dir: Path, path: Path = GLOSSARY):
        entries = [
            line.split("::", 1)
            for line in path.read_text(encoding="utf-8").splitlines()
            if "::" in line and not line.lstrip().startswith("#")
        ]
        self.terms = [t.strip() for t, _ in entries]
        descriptions = [d.strip() for _, d in entries]
        self._embedder = embedder
        digest = hashlib.sha256("\n".join(descriptions).encode()).hexdigest()[:12]
        cache = Path(cache_dir) / f"glossary-{digest}.npy"
        try:
            self._vectors = np.load(cache)
        except (OSError, ValueError):
            self._vectors = embedder.embed(descriptions)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, self._vectors)

    def terms_for(self, query: str) -> str:
        """Terms of the (at most two) concepts the query describes, or empty."""
        sims = self._vectors @ self._embedder.embed([query])[0]
        best = [i for i in np.argsort(-sims)[:GLOSSARY_MOST] if sims[i] >= GLOSSARY_MIN_SIMILARITY]
        return " ".join(dict.fromkeys(self.terms[i] for i in best))
