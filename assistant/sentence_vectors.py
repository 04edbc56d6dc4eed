"""Sentence vectors: every paper's abstract sentences and title, embedded once when it is indexed.

Evidence selection scores the sentences of each candidate paper against a question. Embedding
them per question took 0.35-0.65 s of the time before an answer's sources show (six candidates,
about 60 sentences, on 2 cores); the build embeds them beside the chunks and keeps them in its
folder, and a question then embeds only itself. A paper the build did not embed (an index built
before this file existed, a sentence splitter changed since) is embedded when it is asked about.

Layout in a build folder: ``sentences.npy`` (float32 rows, one per text) and ``sentences.json``
(paper id -> first row and row count).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.papers import Paper
from assistant.text import sentences

ROWS_FILE = "sentences.npy"
OFFSETS_FILE = "sentences.json"
# Texts per embedding call while building (the embedder batches within it).
BATCH = 256


def paper_texts(paper: Paper) -> list[str]:
    """What evidence selection scores of a paper: its abstract's sentences, then its title."""
    return [*(sentences(paper.abstract) or [paper.abstract]), paper.title]


def embed_papers(
    papers: list[Paper], embedder: Any, progress: Callable[[int], None] | None = None
) -> dict[str, np.ndarray]:
    """Each paper's :func:`paper_texts` embedded (rows in that order), by paper id.
    ``progress`` is told how many texts each call embedded."""
    texts = [(p.id, t) for p in papers for t in paper_texts(p)]
    rows: list[np.ndarray] = []
    for start in range(0, len(texts), BATCH):
        part = [t for _, t in texts[start : start + BATCH]]
        rows.append(embedder.embed(part))
        if progress:
            progress(len(part))
    out: dict[str, list[np.ndarray]] = {}
    if rows:
        for (pid, _), row in zip(texts, np.concatenate(rows), strict=True):
            out.setdefault(pid, []).append(row)
    return {pid: np.stack(r) for pid, r in out.items()}


class SentenceVectors:
    """The stored sentence vectors of one build (memory-mapped, read-only)."""

    def __init__(self, rows: np.ndarray, offsets: dict[str, tuple[int, int]]):
        self.rows, self.offsets = rows, offsets

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors:
        """The vectors stored in ``folder``; none (every paper embedded when asked) when the
        files are missing or unreadable: they only save time."""
        try:
            offsets = json.loads((folder / OFFSETS_FILE).read_text(encoding="utf-8"))
            rows = np.load(folder / ROWS_FILE, mmap_mode="r")
            return cls(rows, {pid: (int(a), int(n)) for pid, (a, n) in offsets.items()})
        except (OSError, ValueError, TypeError):
            return cls(np.zeros((0, 0), dtype=np.float32), {})

    def get(self, paper: Paper) -> np.ndarray | None:
        """The rows of ``paper``'s texts, or None when they are not stored or no longer match
        its texts in number."""
        at = self.offsets.get(paper.id)
        if at is None or at[1] != len(paper_texts(paper)) or at[0] + at[1] > len(self.rows):
            return None
        return np.asarray(self.rows[at[0] : at[0] + at[1]])

    @staticmethod
    def write(folder: Path, vectors: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store ``(paper id, rows)`` pairs in ``folder``."""
        offsets: dict[str, tuple[int, int]] = {}
        parts: list[np.ndarray] = []
        at = 0
        for pid, rows in vectors:
            offsets[pid] = (at, len(rows))
            parts.append(np.asarray(rows, dtype=np.float32))
            at += len(rows)
        matrix = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        np.save(folder / ROWS_FILE, matrix)
        (folder / OFFSETS_FILE).write_text(json.dumps(offsets), encoding="utf-8")
