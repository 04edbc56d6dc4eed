"""Document frequency of content words over a collection: which words of a phrase are
particular to a few papers, and which every second paper says.

A sentence on what two papers share says something only when it names what is particular to
them: "AIM [1] and PyramidDrop [2] both reduce redundant visual tokens" does, "Xu et al. [1]
and Wang et al. [2] both benchmark multimodal reasoning with advanced models" does not (a
blind read called such sentences empty).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from assistant.citations import content_words
from assistant.papers import Paper

# A word is particular when at most this share of the collection's papers use it (and at most
# two papers in a small collection). In the drafts of 5 and 6 December, the shared phrases a
# reader could use held a word of at most 17 of the 310 papers ("prune", "versatile",
# "self-consistency"); the empty ones ("learn from data to improve matching", "perform image
# segmentation tasks") none of under 25.
PARTICULAR_SHARE = 0.07


class DocumentFrequency:
    """How many of ``papers`` use each content word (stemmed) in their title or abstract."""

    def __init__(self, papers: Iterable[Paper]):
        self.counts: Counter[str] = Counter()
        self.size = 0
        for paper in papers:
            self.size += 1
            self.counts.update(content_words(f"{paper.title} {paper.abstract}"))

    def particular(self, word: str) -> bool:
        """Whether a content word (as :func:`~assistant.citations.content_words` gives it) is
        used by few of the collection's papers (and by some: a word none uses is not theirs)."""
        return 0 < self.counts[word] <= max(2.0, PARTICULAR_SHARE * self.size)
