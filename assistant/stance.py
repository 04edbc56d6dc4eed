"""What an abstract speaks against, and a written sentence that has the paper use it.

An abstract names obstacles ("two key obstacles impeding the adaptation: non-generalizable
temporal modeling and partially misaligned video-text data") and baselines ("compared with
the zero-shot model using hand-crafted prompts"). A small model paraphrasing it can turn them
around ("It leverages non-generalizable temporal modeling ...", "CoOp adapts CLIP ... using
hand-crafted prompts"), and the support check passes: every word is the abstract's. Three
blind reads of drafts found such inversions. Here a sentence fails when what it says a paper
uses, relies on or requires is made of words its abstract uses only against something.
"""

from __future__ import annotations

import re

from assistant.citations import claims, content_words
from assistant.text import sentences

# A sentence naming an obstacle: all of its words are said against something, unless it
# solves the obstacle there ("To address these challenges, we propose ...").
_PROBLEM = re.compile(
    r"\b(challeng\w*|obstacles?|problems?|limitations?|drawbacks?|shortcomings?|weakness\w*|"
    r"issues?|bottlenecks?|suffer\w*|lacks?|lacking|fail\w*|imped\w*|hinder\w*|struggl\w*|"
    r"falls? short)\b",
    re.IGNORECASE,
)
_SOLVING = re.compile(
    r"\b(address\w*|tackl\w*|overcom\w*|solv\w*|allevia\w*|mitigat\w*|resolv\w*|remed\w*|"
    r"eliminat\w*|avoid\w*|circumvent\w*|bypass\w*|"
    r"we (?:propose|introduce|present|develop|design))\b",
    re.IGNORECASE,
)
# The words that bring in a baseline: what follows them in the sentence is the other side's.
_BASELINE = re.compile(
    r"\b(compared (?:with|to)|than|beats?|outperform\w*|surpass\w*|instead of|rather than|"
    r"unlike|in contrast to|existing|previous|conventional|traditional|"
    r"prior (?:works?|arts?|methods?|approaches|studies))\b",
    re.IGNORECASE,
)
# What a sentence says a paper uses, relies on or requires: the object up to its clause's end.
_USING = re.compile(
    r"\b(?:uses?|using|leverag\w+|adopt\w*|employ\w*|utiliz\w+|exploit\w*|rel(?:y|ies) on|"
    r"relying on|based on|builds? on|built on|requir\w*|needs?|depends? on)\s+"
    r"(?P<object>[^,;:\[\]]+)",
    re.IGNORECASE,
)
_OBJECT_END = re.compile(r"\s(?:to|for|in order to|so that|which|that|while|whereas)\s", re.I)


def words_against(abstract: str) -> set[str]:
    """Content words ``abstract`` uses only where it speaks against something: in a sentence
    naming an obstacle it does not solve there, or after the words that bring in a baseline."""
    against: set[str] = set()
    other: set[str] = set()
    for s in sentences(abstract):
        if _PROBLEM.search(s) and not _SOLVING.search(s):
            against |= content_words(s)
        elif m := _BASELINE.search(s):
            other |= content_words(s[: m.start()])
            against |= content_words(s[m.end() :])
        else:
            other |= content_words(s)
    return against - other


def uses_what_it_opposes(sentence: str, against: dict[int, set[str]]) -> bool:
    """Whether ``sentence`` says a cited paper uses (relies on, requires) something made of
    words its abstract uses only against something (``against``: :func:`words_against` of
    each paper by number): two such words, or half of the object's."""
    for text, run in claims(re.sub(r"“[^”]*”", "", sentence)):  # a quoted title is a name
        for m in _USING.finditer(text):
            before = text[: m.start()]
            if _BASELINE.search(before) or _PROBLEM.search(before):
                continue  # "compared with the zero-shot model using X": X is the baseline's
            used = content_words(_OBJECT_END.split(m.group("object"))[0])
            for n in run:
                bad = used & against.get(n, set())
                if len(bad) >= 2 or (bad and 2 * len(bad) >= len(used)):
                    return True
    return False
