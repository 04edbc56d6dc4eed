"""Citations: ``[n]`` markers, their checking against evidence, references and BibTeX."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.papers import Paper
from assistant.text import SUPPORT_STOP, sentences, short_name, stem, with_marker

# Tests still import it from here (test_answer.py, test_writing.py, test_citations.py).

if TYPE_CHECKING:
    from assistant.evidence import Evidence

MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")
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


def content_word_run(text: str) -> list[str]:
    """Stemmed lower-case content words (no stop words, no markers), in their order."""
    text = MARKER.sub(" ", text)
    tokens = re.findall(r"[a-z0-9][a-z0-9\-\.]*[a-z0-9]|[a-z0-9]", text.lower())
    return [stem(w) for w in tokens if w not in SUPPORT_STOP]


def content_words(text: str) -> set[str]:
    """Stemmed lower-case content words (no stop words, no markers) for support checks."""
    return set(content_word_run(text))


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


def _occurs(fact: str, lowered: str) -> bool:
    """Whether the name or number ``fact`` is in the (lower-cased) text as a whole: "5%" is not
    in "15%", "Li" not in "Liu"; "DETR" is in "Co-DETR" and "DETRs", "GPT-4" in "GPT-4o"."""
    f = re.escape(fact.lower().rstrip("."))
    if any(c.isdigit() for c in fact):
        return re.search(rf"(?<![\d.]){f}(?!\d)", lowered) is not None
    return re.search(rf"(?<![a-z]){f}(?:e?s)?(?![a-z])", lowered) is not None


# An author-year label after a name ("Wang et al. (2024a)", text.told_apart) says which
# paper is meant; it claims nothing of it.
_YEAR_LABEL = re.compile(r"\s\((?:19|20)\d\d[a-j]?\)")


def support(sentence: str, evidence: str) -> float:
    """How much of ``sentence`` its ``evidence`` backs: 0..1 (1 = every content word occurs).

    A sentence that names a person, model or number the evidence lacks gets 0.
    """
    sentence = _YEAR_LABEL.sub("", sentence)
    facts = _names_and_numbers(sentence)
    lowered = evidence.lower()
    if not all(_occurs(f, lowered) for f in facts):
        return 0.0
    words = content_words(sentence)
    if not words:
        return 1.0
    have = content_words(evidence)
    return len(words & have) / len(words)


def is_supported(sentence: str, evidence: str) -> bool:
    """Whether ``sentence`` passes the support bar against ``evidence``."""
    return support(sentence, evidence) >= SUPPORT_MIN_OVERLAP


# How far apart (in content words) two neighbouring words of a written clause may stand in a
# sentence of its paper for the pair to count as the paper's own phrasing: a clause's parts
# reordered ("merges and prunes visual tokens without training" from "a training-free method
# that reduces redundant visual tokens ... by merging and pruning them") stay within 6.
PHRASING_WINDOW = 6


def phrasing(sentence: str, evidence: str, window: int = PHRASING_WINDOW) -> float:
    """How much of ``sentence`` keeps its evidence's phrasing: the share of its neighbouring
    content-word pairs that one sentence of ``evidence`` holds within ``window`` words of
    each other (0..1). The support check counts words; this catches the paper's words put
    together into a claim it does not make ("reduces efficiency by 40%" from "reduce the
    number of tokens ... boost efficiency ... 40% acceleration")."""
    run = content_word_run(sentence.replace("-", " "))  # hyphenated words split
    pairs = list(zip(run[:-1], run[1:], strict=True))
    if not pairs:
        return 1.0
    places = []
    for source in sentences(evidence):
        where: dict[str, list[int]] = {}
        for i, w in enumerate(content_word_run(source.replace("-", " "))):
            where.setdefault(w, []).append(i)
        places.append(where)

    def near(a: str, b: str) -> bool:
        return any(
            abs(i - j) <= window for at in places for i in at.get(a, []) for j in at.get(b, [])
        )

    return sum(near(a, b) for a, b in pairs) / len(pairs)


# Markers one after another, with nothing but punctuation or "and" between them, cite their
# papers for the same words: "The papers [1], [2], and [3] all ...".
MARKER_RUN = re.compile(r"(?:\s?\[\d+(?:\s*[,;]\s*\d+)*\](?:[\s,;]*(?:and\s+)?(?=\[))?)+")


def claims(sentence: str) -> list[tuple[str, list[int]]]:
    """What a sentence says of the papers each run of markers cites: the words since the run
    before it, and the words after the last run, which are said of every paper cited.
    "A prunes tokens [1], while B merges them [2]." -> ("A prunes tokens .", [1]),
    (", while B merges them .", [2])."""
    runs = list(MARKER_RUN.finditer(sentence))
    tail = sentence[runs[-1].end() :] if runs else sentence
    out, start = [], 0
    for run in runs:
        out.append((f"{sentence[start : run.start()]} {tail}", markers(run.group())))
        start = run.end()
    return out


def supports_each(sentence: str, facts: dict[int, str], names: dict[int, str]) -> bool:
    """Whether each paper the sentence cites supports what the sentence says of it
    (:func:`claims`), not just all of them together: "The papers [1], [2] and [3] all keep
    the pretrained representation" needs those words in each of the three abstracts. The
    other cited papers' ``names`` are no missing words ("Unlike Co-DETR [2], ...")."""
    cited = [n for n in dict.fromkeys(markers(sentence)) if n in facts]
    for text, run in claims(sentence):
        for n in run:
            others = [names.get(m, "") for m in cited if m != n]
            if not is_supported(text, " ".join([facts.get(n, ""), *others])):
                return False
    return True


def paper_facts(paper: Paper) -> str:
    """What a sentence about ``paper`` may draw on: title, authors, date and abstract."""
    return " ".join(
        [paper.title, short_name(paper), ", ".join(paper.authors), paper.date or "", paper.abstract]
    )


def paper_names(paper: Paper) -> list[str]:
    """What a sentence may call ``paper``: its first author's surname or its short name, and
    its method name (the title before its colon)."""
    head = paper.title.split(":")[0].strip()
    names = [short_name(paper).replace(" et al.", "")]
    return names + [head] if ":" in paper.title and len(head) <= 40 else names


def _names(sentence: str, paper: Paper) -> bool:
    """Whether ``sentence`` names ``paper`` (:func:`paper_names`)."""
    lowered = sentence.lower()
    return any(
        n and re.search(rf"(?<![\w-]){re.escape(n.lower())}(?![\w-])", lowered)
        for n in paper_names(paper)
    )


# A verb that credits a paper with what follows it, and the name it credits: "Jiang et al.
# introduce GPT-4o" credits the paper with GPT-4o; "propose a new loss" names nothing.
_CREDIT = (
    r"(?:introduc|propos|present|develop|design|buil|creat|releas|construct|curat|collect|call|"
    r"nam|dub|term|coin)\w*"
)
_CREDITED = re.compile(
    rf"\b{_CREDIT}\s+(?:(?:a|an|the|their|its)\s+)?([A-Z][\w\-.^+]*|[a-z]+[A-Z][\w\-]*)"
)
_CREDIT_VERB = re.compile(rf"\b{_CREDIT}\b", re.I)
# How many words after one of its own credit verbs the paper must name a thing to own it.
CREDIT_REACH = 10


def owns(paper: Paper, name: str) -> bool:
    """Whether ``paper`` introduces ``name``: the name is in its title, or within
    :data:`CREDIT_REACH` words after a credit verb of its abstract ("we introduce InternVL
    2.5", "a method called MVP"); a model it only uses or compares against ("GPT-4o with
    MMSearch-Engine achieves the best results") is not its own."""
    lowered = name.lower().rstrip(".")
    if lowered in paper.title.lower():
        return True
    for source in sentences(paper.abstract):
        for verb in _CREDIT_VERB.finditer(source):
            after = source[verb.end() :].lower().split()[:CREDIT_REACH]
            if any(lowered in w for w in after):
                return True
    return False


def credits_own(sentence: str, papers: dict[int, Paper]) -> bool:
    """Whether every name ``sentence`` credits a cited paper with (:data:`_CREDITED`) is that
    paper's own (:func:`owns`). Word overlap passes "Jiang et al. introduce GPT-4o with
    MMSearch-Engine" when the abstract only reports GPT-4o's score; this does not."""
    for text, run in claims(sentence):
        for credited in _CREDITED.finditer(text):
            if any(n in papers and not owns(papers[n], credited.group(1)) for n in run):
                return False
    return True


def grounded(
    sentence: str, papers: dict[int, Paper], facts: dict[int, str] | None = None
) -> str | None:
    """A generated sentence if it is grounded in the numbered ``papers``: valid markers,
    supported by the facts of the papers it cites, crediting each only with what it introduces
    (:func:`credits_own`), no links; else None.

    ``facts``: what each paper's sentences may draw on (default :func:`paper_facts`).
    """
    facts = facts or {n: paper_facts(p) for n, p in papers.items()}
    s = keep_markers(sentence.strip(), set(papers))
    if not s or "http" in s.lower() or "www." in s.lower():
        return None
    cited = markers(s)
    if not cited:
        # A small model often names the paper instead of citing it ("Teach-DETR proposes
        # ..."): a sentence that one paper's facts support, and that names it or is the only
        # paper, is cited to that paper.
        backing = [n for n in papers if is_supported(s, facts[n])]
        named = [n for n in backing if _names(s, papers[n])]
        if len(named) == 1 or (len(papers) == 1 and backing):
            s = with_marker(s, (named or backing)[0])
            return s if credits_own(s, papers) else None
        # Uncited sentences may connect, but may not state facts about papers.
        plain = re.sub(r"[^\w\s]", "", s)
        has_fact = any(ch.isdigit() for ch in plain) or any(
            w[:1].isupper() for w in plain.split()[1:]
        )
        return None if has_fact else s
    names = {n: " ".join(paper_names(p)) for n, p in papers.items()}
    return s if supports_each(s, facts, names) and credits_own(s, papers) else None


def finalize(text: str, numbered: dict[int, Evidence]) -> tuple[str, list[Citation]]:
    """Renumber markers by first appearance and build the matching citation list."""
    order: list[int] = []
    for n in markers(text):
        if n not in order:
            order.append(n)
    mapping = {old: new for new, old in enumerate(order, 1)}
    text = renumber(text, mapping)
    citations = [
        Citation(mapping[old], numbered[old].paper, numbered[old].sentences) for old in order
    ]
    return text, citations
