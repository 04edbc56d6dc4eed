"""Papers -> chunks: each chunk is a header (title, authors, year) plus a window of abstract sentences."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from assistant.papers import Chunk, Paper
from assistant.text import sentences

# Bump when the chunk text changes shape (text.sentences included) or a build stores something
# new (3: sentence vectors): it is part of the index key, so old indexes rebuild.
CHUNK_FORMAT = 3


def header(paper: Paper) -> str:
    """What every chunk of a paper starts with, so a passage is findable by title, author, year."""
    who = paper.author_line(most=6)
    when = str(paper.year) if paper.year else ""
    meta = " ".join(x for x in (who, f"({when})" if when else "") if x)
    return f"{paper.title}\n{meta}".rstrip()


def windows(parts: list[str], budget: int, count: Callable[[str], int]) -> list[str]:
    """Greedy windows of consecutive sentences within ``budget`` tokens, one sentence overlap.

    The overlap keeps a claim that spans two sentences together in at least one window.
    A single sentence over budget becomes its own window (the model truncates it).
    """
    out: list[str] = []
    start = 0
    while start < len(parts):
        end, used = start, 0
        while end < len(parts) and (end == start or used + count(parts[end]) <= budget):
            used += count(parts[end])
            end += 1
        out.append(" ".join(parts[start:end]))
        if end >= len(parts):
            break
        start = end - 1 if end - 1 > start else end
    return out


def chunk_paper(paper: Paper, budget: int, count: Callable[[str], int]) -> list[Chunk]:
    """The chunks of one paper, ids ``<paper id>:<n>``."""
    head = header(paper)
    room = max(32, budget - count(head))
    passages = windows(sentences(paper.abstract), room, count) or [paper.abstract]
    return [
        Chunk(id=f"{paper.id}:{n}", paper_id=paper.id, text=f"{head}\n{p}", passage=p)
        for n, p in enumerate(passages)
    ]


def chunk_papers(papers: Iterable[Paper], budget: int, count: Callable[[str], int]) -> list[Chunk]:
    """All chunks of ``papers`` in order."""
    return [c for p in papers for c in chunk_paper(p, budget, count)]
