"""Evidence: the few abstract sentences of each retrieved paper that bear on a question, scored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.papers import Paper
from assistant.sentence_vectors import paper_texts

# Cosine similarity (MiniLM) between the question and a paper's best sentence that makes the
# paper citable. Measured on the development questions: on-topic questions reach 0.45-0.8 with
# the right paper, off-topic questions (absent topics) stay under 0.35 for every paper.
# On the dev and aside request sets (written later, in many phrasings) the right papers
# reached 0.43 and off-topic questions' candidates 0.34-0.55 (answer.SURE_BAR judges those).
RELEVANCE_BAR = 0.42
# Retrieval's best paper is citable from a lower similarity: the fused ranking, which also
# weighs field terms and the whole abstract, picks the right paper more often than one
# sentence's similarity does. Of the 43 off-topic development questions, two reach it with
# their best paper (0.34 and 0.44; the second also clears RELEVANCE_BAR).
LEAD_BAR = 0.34
# A sentence's similarity to the question's field-term expansion counts only if its similarity
# to the question itself reaches this: "stars in molecular clouds" expands to "graph gnn nodes"
# (molecules are graphs), which alone matched a graph paper's sentences at 0.36. Measured on
# 25 further off-topic development questions: 23 refused without the floor, 24 with it; own-words
# questions cited as before but one (dev retrieval set asked as questions, 52 -> 51 of 63).
EXPANSION_FLOOR = 0.2
# A second sentence of the same paper is quoted only if it is nearly as relevant as the best.
SECOND_SENTENCE_RATIO = 0.85


@dataclass
class Evidence:
    """A paper with its sentences that answer the question (in the abstract's order) and
    each sentence's score."""

    paper: Paper
    sentences: list[str]
    scores: list[float]  # scores[i] is sentences[i]'s
    rank: int = 0
    # Similarity of the paper's best sentence or its title to the question (or its expansion).
    best: float = 0.0
    # Whether the question names the paper's authors (kept below every bar).
    named: bool = False

    @property
    def score(self) -> float:
        """The best sentence's score."""
        return max(self.scores, default=0.0)


def select_evidence(
    question: str,
    papers: list[Paper],
    embedder: Any,
    per_paper: int = 2,
    bar: float = RELEVANCE_BAR,
    named: frozenset[str] = frozenset(),
    lead_bar: float = LEAD_BAR,
    expanded: str | None = None,
    stored: Callable[[Paper], np.ndarray | None] | None = None,
) -> list[Evidence]:
    """Score every sentence of ``papers`` against ``question``; keep papers that clear ``bar``.

    A sentence scores its similarity to ``question`` or, when higher and the sentence is not
    far from the question, to ``expanded``: the question with the field terms its everyday
    words stand for ("people whose faces were half covered" + "face recognition occlusion"),
    which the abstracts' sentences use.
    The first paper (retrieval's best) needs only ``lead_bar``. Papers whose ids are in
    ``named`` (the question names their authors) are kept below any bar: "the 2024 paper by
    Zhe Chen on ..." is about that paper however it is worded.
    ``stored`` gives a paper's sentence and title vectors when the index keeps them
    (:mod:`assistant.sentence_vectors`); the others are embedded here.
    Returns the papers in their given order (retrieval rank) with up to ``per_paper`` sentences.
    """
    # Each paper's abstract sentences, then its title: a question often names what it says.
    texts = [paper_texts(p) for p in papers]
    rows = [stored(p) if stored else None for p in papers]
    asked = [question] + ([expanded] if expanded and expanded != question else [])
    missing = [i for i, r in enumerate(rows) if r is None]
    vectors = embedder.embed(asked + [t for i in missing for t in texts[i]])
    at = len(asked)
    for i in missing:
        rows[i], at = vectors[at : at + len(texts[i])], at + len(texts[i])
    out: list[Evidence] = []
    for rank, (paper, paper_rows) in enumerate(zip(papers, rows, strict=True)):
        assert paper_rows is not None
        parts = texts[rank][:-1]
        by_query = paper_rows @ vectors[: len(asked)].T
        sims = by_query[:, 0]
        if len(asked) > 1:  # the expansion counts only where the question itself is close
            sims = np.where(sims >= EXPANSION_FLOOR, by_query.max(axis=1), sims)
        s = sims[:-1]
        order = np.argsort(-s)
        best = float(max(s[order[0]], sims[-1]))
        paper_bar = lead_bar if rank == 0 else bar
        if best < paper_bar and paper.id not in named:
            continue
        chosen = [int(order[0])]
        for i in order[1:per_paper]:
            if s[i] >= SECOND_SENTENCE_RATIO * s[order[0]] and s[i] >= paper_bar:
                chosen.append(int(i))
        chosen.sort()  # keep the abstract's own order
        out.append(
            Evidence(
                paper=paper,
                sentences=[parts[i] for i in chosen],
                scores=[float(s[i]) for i in chosen],
                rank=rank,
                best=best,
                named=paper.id in named,
            )
        )
    return out
