"""The three listing layouts, one parser each, and detection of which one a file uses.

- ``glued`` (e.g. ``000_*.txt``): ``CVJun 9, 2022Code`` / ``Title TextFirst Author, ... et al.`` /
  abstract.
- ``daily`` (e.g. ``001_*.txt``): a trending-papers page: header, a listing date (``Mar 12``), then
  title / abstract pairs separated by blank lines; no authors, no categories.
- ``profile`` (e.g. ``004_*.txt``): an author's profile page: header, then per paper
  ``CVSep 19, 2024Code`` / title / ``Author, Author et al. · org`` / abstract.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from assistant.corpus.authors import AuthorList, parse_authors, split_glued
from assistant.papers import Entry, Source

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DATE = rf"(?P<date>(?:{_MONTHS})[a-z]*\.? \d{{1,2}}(?:, (?P<year>\d{{4}}))?)"
META = re.compile(rf"^(?P<cat>[A-Z]{{1,5}})?{_DATE}(?P<code>Code)?$")
LISTING_DATE = re.compile(rf"^{_DATE}$")
_DAILY_HEADER = ("new", "Get trending papers", "Subscribe", "byAK and the research community")
# A title is one line and short; an abstract is prose. Measured on the default collection:
# titles are 18-210 characters, abstracts 300-2,600; 250 splits them with room on both sides.
MAX_TITLE_CHARS = 250
MIN_ABSTRACT_CHARS = 80


@dataclass
class Problem:
    """An entry that could not be parsed: where it stood and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Parsed:
    """What a parser got from one file: entries and the problems it skipped."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


Line = tuple[int, str]  # (1-based line number, text stripped of surrounding white space)


def _nonblank(text: str) -> list[Line]:
    # Lines end at \n, \r\n or \r, as editors and Python's open() number them; str.splitlines()
    # also breaks at U+2028, \x85, form feeds etc. inside a line, which put every later line
    # number of an entry or a problem off by one.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(i, s.strip()) for i, s in enumerate(lines, 1) if s.strip()]


def _meta(m: re.Match[str]) -> dict[str, object]:
    year = m.group("year")
    return {
        "category": m.group("cat"),
        "date": m.group("date"),
        "year": int(year) if year else None,
        "has_code": m.group("code") is not None,
    }


def _looks_like_abstract(text: str) -> bool:
    """Prose, not a title: long, or at least a sentence (titles rarely end in a full stop)."""
    if len(text) < MIN_ABSTRACT_CHARS or META.match(text):
        return False
    return len(text) > MAX_TITLE_CHARS or ". " in text or text.endswith(".")


def _blocks(lines: list[Line], start: int) -> Iterator[list[Line]]:
    """Group lines into entries, each starting at a META line (lines before the first are skipped)."""
    block: list[Line] = []
    for ln in lines[start:]:
        if META.match(ln[1]) and block:
            yield block
            block = []
        block.append(ln)
    if block:
        yield block


# What a layout's reader makes of one entry's lines after its meta line: the title, authors
# and abstract, or the problem (line number and reason) that stops the entry.
Fields = tuple[str, AuthorList, str]
Reader = Callable[[list[Line]], "Fields | tuple[int, str]"]


def _parse_entries(name: str, text: str, size: int, read: Reader) -> Parsed:
    """Parse a layout of meta-line entries of ``size`` lines, each body handed to ``read``."""
    out = Parsed()
    lines = _nonblank(text)
    first = next((k for k, (_, s) in enumerate(lines) if META.match(s)), len(lines))
    # Lines above the first entry are a page header (a profile's name, h-index, ...); prose
    # there is an entry whose category/date line is missing or damaged: report, not drop, it.
    for no, s in lines[:first]:
        if _looks_like_abstract(s):
            out.problems.append(Problem(name, no, "abstract before the first category/date line"))
    for block in _blocks(lines, first):
        no, head = block[0]
        m = META.match(head)
        if not m:
            out.problems.append(Problem(name, no, "expected a category/date line"))
            continue
        if len(block) != size:
            what = "missing lines" if len(block) < size else f"{len(block) - size} extra line(s)"
            out.problems.append(Problem(name, no, f"entry has {what}"))
            continue
        fields = read(block[1:])
        if isinstance(fields[1], str):
            out.problems.append(Problem(name, fields[0], fields[1]))  # type: ignore[arg-type]
            continue
        title, authors, abstract = fields  # type: ignore[misc]
        out.entries.append(
            Entry(
                title=title,
                abstract=abstract,
                source=Source(name, no),
                authors=authors.names,
                more_authors=authors.more,
                org=authors.org,
                **_meta(m),  # type: ignore[arg-type]
            )
        )
    return out


def _read_glued(body: list[Line]) -> Fields | tuple[int, str]:
    (tno, glued), (bno, abstract) = body
    split = split_glued(glued, max_title=MAX_TITLE_CHARS)
    if split is None:
        return tno, "cannot tell the title from the author list"
    if not _looks_like_abstract(abstract):
        return bno, "abstract missing or too short"
    return split[0], split[1], abstract


def _read_profile(body: list[Line]) -> Fields | tuple[int, str]:
    (tno, title), (_, author_line), (bno, abstract) = body
    authors = parse_authors(author_line, strict=False)
    if len(title) > MAX_TITLE_CHARS or authors is None:
        return tno, "expected a title line then an author line"
    if not _looks_like_abstract(abstract):
        return bno, "abstract missing or too short"
    return title, authors, abstract


def parse_glued(name: str, text: str) -> Parsed:
    """Parse the ``glued`` layout: meta line, title glued to authors, abstract."""
    return _parse_entries(name, text, 3, _read_glued)


def parse_profile(name: str, text: str) -> Parsed:
    """Parse the ``profile`` layout: meta line, title, author line, abstract."""
    return _parse_entries(name, text, 4, _read_profile)


def parse_daily(name: str, text: str) -> Parsed:
    """Parse the ``daily`` layout: header, listing date, then title / abstract pairs."""
    out = Parsed()
    lines = _nonblank(text)
    k = 0
    while k < len(lines) and lines[k][1].startswith(_DAILY_HEADER):
        k += 1
    date = None
    if k < len(lines) and LISTING_DATE.match(lines[k][1]):
        date = lines[k][1]
        k += 1
    while k < len(lines):
        tno, title = lines[k]
        if len(title) > MAX_TITLE_CHARS:
            out.problems.append(Problem(name, tno, "expected a title line, found a paragraph"))
            k += 1
            continue
        nxt = lines[k + 1][1] if k + 1 < len(lines) else ""
        if not _looks_like_abstract(nxt):
            out.problems.append(Problem(name, tno, "title has no abstract after it"))
            k += 1
            continue
        out.entries.append(Entry(title=title, abstract=nxt, source=Source(name, tno), date=date))
        k += 2
    return out


Parser = Callable[[str, str], Parsed]
LAYOUTS: dict[str, Parser] = {"glued": parse_glued, "daily": parse_daily, "profile": parse_profile}


def detect(text: str) -> str | None:
    """Name the layout of a listing, or None when it matches none of them.

    Decided by the line after each category/date line: in ``glued`` it carries title and
    authors at once, in ``profile`` it is a title followed by an author line. Files without
    such lines are ``daily`` when they open with its header or a listing date.
    """
    lines = [s for _, s in _nonblank(text)]
    # A bare "Mar 12" is also the daily layout's listing date: only a line that carries a
    # category or the Code flag marks an entry for sure.
    heads = [
        k
        for k, s in enumerate(lines)
        if (m := META.match(s)) and (m.group("cat") or m.group("code"))
    ]
    if not heads:
        body = [s for s in lines if not s.startswith(_DAILY_HEADER)]
        if body and (LISTING_DATE.match(body[0]) or len(lines) != len(body)):
            return "daily"
        pairs = body[1::2]
        if pairs and sum(map(_looks_like_abstract, pairs)) * 2 > len(pairs):
            return "daily"
        return None
    glued = profile = 0
    for k in heads:
        if k + 2 < len(lines) and parse_authors(lines[k + 2]):
            profile += 1
        elif k + 1 < len(lines) and split_glued(lines[k + 1], max_title=MAX_TITLE_CHARS):
            glued += 1
    if max(glued, profile) * 2 < len(heads):
        return None
    return "profile" if profile > glued else "glued"
