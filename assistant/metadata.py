"""Questions about metadata ("What did Guanglu Song publish in 2022?") become filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.query import words
from assistant.years import years_named

if TYPE_CHECKING:
    from assistant.retrieval import Searcher

# A metadata question asks for a list of papers, not about what one paper says.
_LIST_INTENT = re.compile(
    r"\b(which|what|any|all|list|show|name|give me|find)\b[\w\s-]{0,40}\b(papers|works|articles|publications)\b"
    r"|\bpapers? (by|from|of|with|in|published|written|authored|released)\b"
    r"|\bwhat (did|has|have)\b.{1,60}\b(publish|published|write|written|work on|release)\b"
    r"|\b(published|written|authored|co-authored) by\b|\bhow many\b",
    re.IGNORECASE,
)
# "the 2024 paper by Hao Li on ...": one paper, asked about for its content, not a list.
_ONE_PAPER = re.compile(
    r"\b(the|that|this|their|his|her)\s+(?:[\w-]+\s+){0,3}?(paper|work|study|article)\s+(by|from)\b",
    re.IGNORECASE,
)
_MANY = re.compile(r"\b(papers|works|articles|publications|list|how many|which)\b", re.IGNORECASE)
_CODE = re.compile(
    r"\b(with|have|has|having|release[ds]?|provid\w*|includ\w*)\b[\w\s-]{0,20}\bcode\b"
    r"|\bcode (is )?(available|released)\b|\bopen[- ]source code\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
# Words that frame a metadata question rather than name its topic.
_FRAME = set(
    "which what list show name give find how many are there did does has have had "
    "papers paper publish published publications wrote written authored works work "
    "articles article by in from of on about the a an and or with since after before "
    "until between year years collection released release code available open source "
    "category categories any all is was were been do me please that who also their "
    "his her its profile affiliated come comes as author authors categories team write "
    "writes up to".split()
)


@dataclass
class MetadataQuery:
    """Constraints read from a question: authors, years, code flag, category, topic words."""

    authors: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    has_code: bool | None = None
    categories: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)


def parse_metadata_question(question: str, searcher: Searcher) -> MetadataQuery | None:
    """Read metadata constraints from a question; None when it is not a metadata question."""
    if not _LIST_INTENT.search(question):
        return None
    if _ONE_PAPER.search(question) and not _MANY.search(question):
        return None
    q = MetadataQuery()
    hints = searcher.authors.hints(question)
    full = {a for a in hints.authors if " " in a}
    # "Guanglu Song" also matched the surname "song": keep the full name only.
    q.authors = sorted(full | {a for a in hints.authors if not any(a in f.split() for f in full)})
    q.year_from, q.year_to = years_named(question)
    if _CODE.search(question):
        q.has_code = True
    categories = {p.category for p in searcher.papers.values() if p.category}
    q.categories = [
        t for t in dict.fromkeys(re.findall(r"\b[A-Z]{2,4}\b", question)) if t in categories
    ]
    asked = " ".join(words(question))
    orgs = {p.org for p in searcher.papers.values() if p.org}
    q.orgs = sorted(
        o
        for o in orgs
        if re.search(rf"\b{re.escape(o.replace('-', ' '))}\b", asked.replace("-", " "))
    )
    if not (q.authors or q.year_from or q.year_to or q.has_code or q.categories or q.orgs):
        return None
    named = {w for a in q.authors for w in a.split()}
    named |= {c.lower() for c in q.categories} | {w for o in q.orgs for w in re.split(r"[- ]", o)}
    q.topic = [
        w for w in words(question) if w not in _FRAME and w not in named and not _YEAR.fullmatch(w)
    ]
    return q
