"""The outline of a related-work draft: read back from the draft, edited by the user, or
grouped another way, before (or instead of) the paragraphs written from it.

An outline is a list of themes, each a heading and its papers in order
(:data:`assistant.writing.Outline`). A draft's own outline is read from its text: a written
draft's paragraphs start with their bold heading and cite their papers; an outline draft has
a numbered line per theme. The user edits one in the same numbered form, with the draft's
``[n]`` markers standing for its papers.
"""

from __future__ import annotations

import re

from assistant.citations import markers
from assistant.drafting import Drafter
from assistant.errors import QuestionError
from assistant.llm import ChatModel
from assistant.papers import Paper
from assistant.retrieval import Searcher
from assistant.writing import (
    OUTLINE_KIND,
    THEME_HEADING,
    Draft,
    Outline,
    named_themes,
    theme_groups,
)

# Where a theme starts: "2. Query design for DETR training:", then its papers ("Zong et al.
# [3], Huang et al. [4]") up to the next theme. A chat message arrives on one line, so themes
# are found by their numbers, not by line breaks.
_THEME_START = re.compile(r"(?:^|(?<=\s))(?:#+\s*)?\d+[.)]\s+(?P<name>[^:\n\[\]]{1,120}?)\s*:")
MAX_THEMES = 5


def _entries(text: str) -> list[tuple[str, str]]:
    """(heading, what follows it up to the next heading) for each numbered theme of text."""
    starts = list(_THEME_START.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)] if starts else []
    return [(m.group("name"), text[m.end() : end]) for m, end in zip(starts, ends, strict=True)]


def outline_of(draft: Draft) -> Outline:
    """The themes of a related-work draft or of an outline draft, with their papers."""
    by_number = {c.n: c.paper for c in draft.citations}
    outline: Outline = []
    if draft.kind == OUTLINE_KIND:
        pieces = _entries(draft.text)
    else:
        pieces = [
            (m.group("name"), paragraph[m.end() :])
            for paragraph in draft.text.split("\n\n")
            if (m := THEME_HEADING.match(paragraph))
        ]
    for name, body in pieces:
        papers = [by_number[n] for n in dict.fromkeys(markers(body)) if n in by_number]
        if papers:
            outline.append((name.strip(), papers))
    return outline


def parse_outline(text: str, draft: Draft) -> Outline | None:
    """The outline the user sent back (numbered themes, ``heading: ... [n] ...``, the numbers
    those of ``draft``); None when ``text`` is no outline. A paper under two headings stays
    under the first; QuestionError for a number the draft does not have."""
    by_number = {c.n: c.paper for c in draft.citations}
    entries = _entries(text)
    if not entries or not all(markers(body) for _, body in entries):
        return None
    outline: Outline = []
    placed: set[int] = set()
    for name, body in entries:
        numbers = [n for n in dict.fromkeys(markers(body)) if n not in placed]
        unknown = [n for n in numbers if n not in by_number]
        if unknown:
            have = f"[1] to [{max(by_number)}]" if by_number else "no papers"
            raise QuestionError(f"the outline cites [{unknown[0]}], but the draft has {have}")
        placed.update(numbers)
        if numbers:
            outline.append((name.strip(" *"), [by_number[n] for n in numbers]))
    return outline


def regroup(
    topic: str, outline: Outline, searcher: Searcher, model: ChatModel | None = None
) -> Outline:
    """The same papers in another number of themes (one more, else one fewer; themes of
    one paper join their nearest), grouped by their vectors and named anew."""
    papers: list[Paper] = [p for _, group in outline for p in group]
    k = len(outline)
    for n in (k + 1, k + 2, k - 1):
        if not 2 <= n <= min(MAX_THEMES, len(papers) // 2):
            continue
        grouped = theme_groups(papers, searcher, n)
        if len(grouped) != k:
            drafter = Drafter(model) if model is not None else None
            return named_themes(topic, grouped, drafter)
    raise QuestionError(
        f"{len(papers)} papers in {k} theme{'s' if k != 1 else ''}: no other grouping to "
        "offer; edit the outline instead"
    )
