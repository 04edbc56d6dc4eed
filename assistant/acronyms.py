"""Abbreviations a draft uses before saying what they stand for.

An abstract spells out its abbreviations where it first uses them ("Experts Weights Averaging
(EWA)"); a sentence written or lifted from the middle of it uses "EWA" alone, and a reader of
the draft never learns what it is (blind reads of the drafts: "The proposed EWA technique",
"The DH learns", "XBT challenges"). The first use of such an abbreviation in a draft is
spelled out from the abstract of a paper that sentence cites.

The long form is found the way Schwartz and Hearst (2003) find it: the abbreviation's letters,
read backwards, must occur in order in the words before the parenthesis, its first letter
opening a word, within ``min(len + 5, 2 * len)`` words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.citations import markers
from assistant.papers import Paper
from assistant.prose import MAX_WORDS, plain_text

# What an abbreviation looks like in prose: two or more capitals among letters, digits and
# hyphens ("EWA", "DH", "XBT", "MoE", "LLaVA-NeXT"), two to ten characters.
ABBREVIATION = re.compile(
    r"(?<![\w-])(?=(?:[A-Za-z0-9-]*[A-Z]){2})[A-Za-z][A-Za-z0-9-]{1,9}(?![\w-])"
)
_DEFINED = re.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)")


def long_form(before: str, short: str) -> str | None:
    """The words at the end of ``before`` that ``short`` abbreviates, or None."""
    letters = [c.lower() for c in short if c.isalnum()]
    words = before.split()
    window = min(len(letters) + 5, 2 * len(letters))
    candidate = " ".join(words[-window:])
    if not letters or not candidate:
        return None
    i = len(candidate) - 1
    for k in range(len(letters) - 1, -1, -1):
        first = k == 0
        while i >= 0 and not (
            candidate[i].lower() == letters[k]
            and (not first or i == 0 or not candidate[i - 1].isalnum())
        ):
            i -= 1
        if i < 0:
            return None
        i -= 1
    start = candidate.rfind(" ", 0, i + 1) + 1  # the whole of "multi-modal", not "modal"
    found = candidate[start:].replace("~", " ").strip(" ,;:")
    if found.lower() == short.lower() or len(found) <= len(short):
        return None
    rest = found.split()[1:]
    if any(w.isalpha() and w.islower() and len(w) > 3 for w in rest) and found[1:2].islower():
        found = found[:1].lower() + found[1:]  # "Large language models" opened a sentence
    return found


def definitions(text: str) -> dict[str, str]:
    """The abbreviations ``text`` defines as "long form (SHORT)", each with its long form."""
    text = plain_text(text)
    found: dict[str, str] = {}
    for m in _DEFINED.finditer(text):
        short = m.group(1)
        if short in found or sum(c.isupper() for c in short) < 2:
            continue
        if long := long_form(text[: m.start()], short):
            found[short] = long
    return found


def introduced(
    sentences: Iterable[str], papers: dict[int, Paper], known: set[str] | None = None
) -> list[str]:
    """``sentences`` in order, each abbreviation's first use spelled out from the abstract of a
    paper the sentence cites ("The DH learns ..." becomes "The Decoupling Head (DH) learns
    ..."). ``known``: abbreviations already used (it is updated, so a draft's paragraphs can
    share one). The name a cited title opens with, an abbreviation no cited abstract defines,
    and one whose long form the sentence already holds are left as they are."""
    known = set() if known is None else known
    defined: dict[int, dict[str, str]] = {}
    out = []
    for sentence in sentences:
        cited = [n for n in markers(sentence) if n in papers]
        at = 0
        while m := ABBREVIATION.search(sentence, at):
            short, at = m.group(0), m.end()
            if short in known:
                continue
            if sentence[: m.start()].endswith("(") or sentence[m.end() :].startswith(" ("):
                continue  # part of a name being defined: "Semantic Token ViT (STViT)"
            known.add(short)
            for n in cited:
                if n not in defined:
                    defined[n] = definitions(papers[n].abstract)
                long = defined[n].get(short)
                if long is None or _names(papers[n], short) or long.lower() in sentence.lower():
                    continue
                spelled = f"{sentence[: m.start()]}{long} ({short}){sentence[m.end() :]}"
                if len(spelled.split()) <= MAX_WORDS:
                    sentence, at = spelled, m.start() + len(long) + len(short) + 3
                break
        out.append(sentence)
    return out


def _names(paper: Paper, short: str) -> bool:
    """Whether ``short`` is the name the paper's title opens with ("IRRA" of "IRRA: Cross-Modal
    Implicit Relation Reasoning ..."): the reference list says what it stands for. A name the
    abstract coins ("Experts Weights Averaging (EWA)") is spelled out like any other."""
    head, colon, _ = paper.title.partition(":")
    return bool(colon) and short in re.findall(r"[\w-]+", head)
