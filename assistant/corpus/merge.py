"""Merge duplicate entries into papers; give each paper a stable id and a BibTeX key."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

from assistant.papers import Entry, Paper
from assistant.text import BIBKEY_STOP, is_team


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
    if is_team(author):  # "Kimi Team": keyed by the team's name, not by "Team"
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
    first = next((w for w in words if w not in BIBKEY_STOP), words[0] if words else "untitled")
    return f"{who}{year}{first}"


def _richest(entries: list[Entry]) -> dict[str, object]:
    """Metadata of a merged paper: the most informative value of each field."""
    authors = max(entries, key=lambda e: (len(e.authors), not e.more_authors))
    dated = [e for e in entries if e.year is not None] or [e for e in entries if e.date]
    # A date with its day ("Jun 9, 2022") over a bare year or month; otherwise the first.
    dated.sort(key=lambda e: not re.search(r"\d,", e.date or ""))
    codes = [e.has_code for e in entries if e.has_code is not None]

    def first(name: str) -> object:
        return next((getattr(e, name) for e in entries if getattr(e, name)), None)

    return {
        "authors": list(authors.authors),
        "more_authors": authors.more_authors,
        "date": dated[0].date if dated else None,
        "year": dated[0].year if dated else None,
        "category": first("category"),
        "has_code": any(codes) if codes else None,
        "org": first("org"),
        "venue": first("venue"),
        "doi": first("doi"),
        "arxiv_id": first("arxiv_id"),
        "url": first("url"),
        "keywords": list(dict.fromkeys(k for e in entries for k in e.keywords)),
    }


def title_key(title: str) -> str:
    """A title compared across sources: case, accents, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


def _groups(entries: list[Entry]) -> list[list[Entry]]:
    """Entries of the same paper: the same title and abstract, the same DOI or arXiv id, or
    the same title and first author."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[max(find(i), find(j))] = min(find(i), find(j))

    seen: dict[tuple[str, str], int] = {}
    for i, e in enumerate(entries):
        keys = [("text", paper_id(e.title, e.abstract))]
        keys += [("doi", e.doi)] if e.doi else []
        keys += [("arxiv", e.arxiv_id)] if e.arxiv_id else []
        for key in keys:
            if key in seen:
                join(seen[key], i)
            else:
                seen[key] = i
    # The same title with the same first author (or none given) is one paper: a reference
    # without an abstract, or another version of the abstract (arXiv v1 and v2). A group
    # knows its first authors, so one entry without authors never joins two of them.
    firsts: list[set[str]] = [set() for _ in entries]
    for i, e in enumerate(entries):
        if e.authors:
            firsts[find(i)].add(_surname(e.authors[0]))
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        for j in by_title[title_key(e.title)]:
            mine, theirs = firsts[find(i)], firsts[find(j)]
            if not mine or not theirs or mine & theirs:
                join(i, j)
                firsts[find(i)] = mine | theirs
        by_title[title_key(e.title)].append(i)
    groups: dict[int, list[Entry]] = defaultdict(list)
    for i, e in enumerate(entries):
        groups[find(i)].append(e)
    return list(groups.values())


def merge(entries: list[Entry]) -> list[Paper]:
    """One paper per (title, abstract), per DOI or arXiv id, or per title and first author
    across sources: a reference without an abstract, or another version of the abstract,
    joins its paper. The same title by another first author stays another paper.

    A paper's text is its longest abstract (others are kept in ``other_abstracts``); papers
    keep the order of first appearance and every source of their entries.
    """
    papers = []
    for group in _groups(entries):
        lead = max(group, key=lambda e: len(e.abstract))
        others = list(dict.fromkeys(e.abstract for e in group if e.abstract != lead.abstract))
        papers.append(
            Paper(
                id=paper_id(lead.title, lead.abstract),
                bibkey="",
                title=lead.title,
                abstract=lead.abstract,
                sources=[e.source for e in group],
                other_abstracts=[a for a in others if a.strip()],
                **_richest(group),  # type: ignore[arg-type]
            )
        )
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
