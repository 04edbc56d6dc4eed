"""The nouns: a paper of the collection, a chunk of it, where it was listed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """Where an entry stood: listing file name and the 1-based line of its first line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Entry:
    """One listing entry, as parsed, before duplicates are merged."""

    title: str
    abstract: str
    source: Source
    authors: list[str] = field(default_factory=list)
    more_authors: bool = False
    date: str | None = None
    year: int | None = None
    category: str | None = None
    has_code: bool | None = None
    org: str | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    keywords: list[str] = field(default_factory=list)


@dataclass
class Paper:
    """A paper of the collection: merged entries with the same title and abstract."""

    id: str
    bibkey: str
    title: str
    abstract: str
    authors: list[str]
    more_authors: bool
    date: str | None
    year: int | None
    category: str | None
    has_code: bool | None
    org: str | None
    sources: list[Source]
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    keywords: list[str] = field(default_factory=list)
    # Other abstracts of the same paper (an earlier arXiv version, another listing's text).
    other_abstracts: list[str] = field(default_factory=list)

    @property
    def has_abstract(self) -> bool:
        """Whether the paper has text to answer from (an imported reference may not)."""
        return bool(self.abstract.strip())

    @property
    def source(self) -> str:
        """All listing locations, e.g. ``000_x.txt:4; 004_y.txt:12``."""
        return "; ".join(str(s) for s in self.sources)

    def author_line(self, most: int = 3) -> str:
        """Authors as a short line: ``A, B, C et al.``."""
        if not self.authors:
            return ""
        shown = ", ".join(self.authors[:most])
        return shown + (" et al." if self.more_authors or len(self.authors) > most else "")


@dataclass(frozen=True)
class Chunk:
    """An indexed span of a paper: header (title, authors, year) plus part of the abstract."""

    id: str
    paper_id: str
    text: str
    passage: str
