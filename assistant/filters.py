"""Search filters (author, years, category, code flag, venue) and their evaluation over a whole collection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from assistant.papers import Paper


@dataclass(frozen=True)
class Filters:
    """Narrow the collection: author substring, year range, category, code flag, venue
    substring (a journal or proceedings title, from imported references)."""

    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    category: str | None = None
    has_code: bool | None = None
    venue: str | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def allows(self, paper: Paper) -> bool:
        """Whether ``paper`` passes every set filter (a paper without a year fails a year range)."""
        if self.author and not any(self.author.casefold() in a.casefold() for a in paper.authors):
            return False
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.category and (paper.category or "").casefold() != self.category.casefold():
            return False
        if self.venue and self.venue.casefold() not in (paper.venue or "").casefold():
            return False
        return self.has_code is None or bool(paper.has_code) == self.has_code


class FilterIndex:
    """What filters read, as arrays over the papers of a collection, and each chunk's paper.

    Over 100k papers a filter is then a few array operations instead of a Python loop per
    paper and per chunk. Only the author substring is checked paper by paper, on the papers the
    other filters leave, and the venue substring likewise.
    """

    def __init__(self, papers: dict[str, Paper], chunk_papers: Iterable[str | None]):
        """``chunk_papers``: the paper id of each chunk, in the keyword index's order (None for
        a chunk of no known paper)."""
        self._papers = papers
        self._order = list(papers)
        self._position = {pid: i for i, pid in enumerate(self._order)}
        listed = [papers[pid] for pid in self._order]
        self._years = np.array([-1 if p.year is None else p.year for p in listed], dtype=np.int64)
        self._code = np.array([bool(p.has_code) for p in listed], dtype=bool)
        self._categories = np.array([(p.category or "").casefold() for p in listed], dtype=str)
        # -1 (no known paper) picks the extra slot that chunk_mask keeps at the end.
        self._chunk_paper = np.array(
            [-1 if pid is None else self._position.get(pid, -1) for pid in chunk_papers],
            dtype=np.int64,
        )

    def allowed(self, filters: Filters) -> set[str]:
        """Ids of the papers that pass ``filters``: the same as ``filters.allows`` on each."""
        keep = np.ones(len(self._order), dtype=bool)
        dated = self._years >= 0
        if filters.year_from is not None:
            keep &= dated & (self._years >= filters.year_from)
        if filters.year_to is not None:
            keep &= dated & (self._years <= filters.year_to)
        if filters.category:
            keep &= self._categories == filters.category.casefold()
        if filters.has_code is not None:
            keep &= self._code == filters.has_code
        found = [self._order[i] for i in np.flatnonzero(keep)]
        if filters.author or filters.venue:
            found = [pid for pid in found if filters.allows(self._papers[pid])]
        return set(found)

    def chunk_mask(self, allowed: set[str]) -> list[int]:
        """1 for each chunk of an allowed paper, else 0, in the keyword index's chunk order."""
        papers = np.zeros(len(self._order) + 1, dtype=np.int8)
        papers[[self._position[pid] for pid in allowed if pid in self._position]] = 1
        mask: list[int] = papers[self._chunk_paper].tolist()
        return mask
