"""Citations: ``[n]`` markers, their checking against evidence, references and BibTeX."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.papers import Paper

MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[“‘*])")
_STOP = set(
    "a an the of in on for to and or with by from as at is are was were be been this "
    "that these those it its their they we our which who how what when where why can "
    "could may might also than then into over under about using use used based via "
    "new paper work approach method methods model models propose proposes proposed "
    "present presents show shows results describe describes described introduce "
    "introduces introduced study studies authors".split()
)
# Share of a sentence's content words that must occur in its cited evidence to count as
# supported; measured: extractive sentences score 0.9-1.0, the bundled model's free
# paraphrases 0.3-0.7, its inventions under 0.3.
SUPPORT_MIN_OVERLAP = 0.6


@dataclass
class Citation:
    """A numbered pointer from the answer to a paper, with the evidence it rests on."""

    n: int
    paper: Paper
    evidence: list[str] = field(default_factory=list)
    supported: bool = True

    def to_json(self) -> dict[str, object]:
        p = self.paper
        return {
            "n": self.n,
            "id": p.id,
            "title": p.title,
            "authors": p.authors,
            "year": p.year,
            "bibkey": p.bibkey,
            "source": p.source,
            "evidence": self.evidence,
            "supported": self.supported,
        }


def split_sentences(text: str) -> list[str]:
    """Sentences of generated prose."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def markers(text: str) -> list[int]:
    """Every citation number in ``text``, in order of appearance."""
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"[,;]", m.group(1))]


def keep_markers(text: str, valid: set[int]) -> str:
    """Drop every marker (or number inside one) that does not resolve to ``valid``."""

    def fix(m: re.Match[str]) -> str:
        kept = [n for n in re.split(r"\s*[,;]\s*", m.group(1)) if int(n) in valid]
        return f" [{', '.join(kept)}]" if kept else ""

    return MARKER.sub(fix, text)


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Rewrite marker numbers through ``mapping`` (old -> new)."""

    def fix(m: re.Match[str]) -> str:
        nums = [str(mapping[int(n)]) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        return f" [{', '.join(nums)}]"

    return MARKER.sub(fix, text)


def content_words(text: str) -> set[str]:
    """Stemmed lower-case content words (no stop words, no markers) for support checks."""
    import Stemmer

    stem = Stemmer.Stemmer("english").stemWord
    text = MARKER.sub(" ", text)
    tokens = re.findall(r"[a-z0-9][a-z0-9\-\.]*[a-z0-9]|[a-z0-9]", text.lower())
    return {stem(w) for w in tokens if w not in _STOP}


def _names_and_numbers(text: str) -> set[str]:
    """Tokens that carry facts: numbers, acronyms, capitalised names (not sentence-initial)."""
    text = MARKER.sub(" ", text)
    tokens = re.findall(r"[A-Za-z0-9][\w\-\.%]*\w|\d", text)
    out = {t for t in tokens if any(c.isdigit() for c in t)}
    out |= {
        t
        for i, t in enumerate(tokens)
        if i > 0 and (t[0].isupper() or sum(c.isupper() for c in t) > 1)
    }
    return out


def support(sentence: str, evidence: str) -> float:
    """How much of ``sentence`` its ``evidence`` backs: 0..1 (1 = every content word occurs).

    A sentence that names a person, model or number the evidence lacks gets 0.
    """
    facts = _names_and_numbers(sentence)
    lowered = evidence.lower()
    if any(f.lower().rstrip(".") not in lowered for f in facts):
        return 0.0
    words = content_words(sentence)
    if not words:
        return 1.0
    have = content_words(evidence)
    return len(words & have) / len(words)


def is_supported(sentence: str, evidence: str) -> bool:
    """Whether ``sentence`` passes the support bar against ``evidence``."""
    return support(sentence, evidence) >= SUPPORT_MIN_OVERLAP
