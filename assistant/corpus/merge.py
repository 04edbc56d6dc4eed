"""Merge duplicate entries into papers; give each paper a stable id and a BibTeX key."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

from assistant.papers import Entry, Paper

_STOP = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"}


def normalise(text: str) -> str:
    """Text compared for identity: Unicode-normalised, case-folded, white space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def paper_id(title: str, abstract: str) -> str:
    """Stable id from the title and abstract: the same paper gets the same id in every build."""
    digest = hashlib.sha1(f"{normalise(title)}\n{normalise(abstract)}".encode()).hexdigest()
    return f"p{digest[:10]}"


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _surname(author: str) -> str:
    words = author.split()
    # "Kimi Team" is a team, not a person called Team: key it by the team's name.
    if len(words) > 1 and words[-1].lower() in {"team", "group", "lab", "consortium"}:
        return _ascii_word(words[0])
    return _ascii_word(words[-1]) if words else ""


def base_bibkey(paper: Paper) -> str:
    """``zhu2022uni``: first author's surname, year, first significant title word.

    Fallbacks: ``anon`` without authors, ``nd`` (no date) without a year.
    """
    who = (_surname(paper.authors[0]) if paper.authors else "") or "anon"
    year = str(paper.year) if paper.year else "nd"
    words = [_ascii_word(w) for w in re.split(r"[\s:\-–—/]+", paper.title)]
    words = [w for w in words if w]
    first = next((w for w in words if w not in _STOP), words[0] if words else "untitled")
    return f"{who}{year}{first}"


def _richest(entries: list[Entry]) -> dict[str, object]:
    """Metadata of a merged paper: the most informative value of each field."""
    authors = max(entries, key=lambda e: (len(e.authors), not e.more_authors))
    dated = [e for e in entries if e.year is not None] or [e for e in entries if e.date]
    codes = [e.has_code for e in entries if e.has_code is not None]
    return {
        "authors": list(authors.authors),
        "more_authors": authors.more_authors,
        "date": dated[0].date if dated else None,
        "year": dated[0].year if dated else None,
        "category": next((e.category for e in entries if e.category), None),
        "has_code": any(codes) if codes else None,
        "org": next((e.org for e in entries if e.org), None),
    }


def merge(entries: list[Entry]) -> list[Paper]:
    """One paper per (title, abstract); same title with another abstract is another version.

    Papers keep the order of first appearance and every source of their entries.
    """
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[paper_id(e.title, e.abstract)].append(e)
    papers = [
        Paper(
            id=pid,
            bibkey="",
            title=group[0].title,
            abstract=group[0].abstract,
            sources=[e.source for e in group],
            **_richest(group),  # type: ignore[arg-type]
        )
        for pid, group in groups.items()
    ]
    assign_bibkeys(papers)
    return papers


def assign_bibkeys(papers: list[Paper]) -> None:
    """Give each paper a unique key; clashes get ``a``, ``b``, ... in id order (stable)."""
    by_key: dict[str, list[Paper]] = defaultdict(list)
    for p in papers:
        by_key[base_bibkey(p)].append(p)
    for key, group in by_key.items():
        if len(group) == 1:
            group[0].bibkey = key
            continue
        for n, p in enumerate(sorted(group, key=lambda p: p.id)):
            p.bibkey = key + "abcdefghijklmnopqrstuvwxyz"[n % 26] + ("" if n < 26 else str(n // 26))
