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
    sentences: Iterable[str], papers: dict[int, Paper], known: dict[str, bool] | None = None
) -> list[str]:
    """``sentences`` in order, each abbreviation's first use spelled out from the abstract of a
    paper the sentence cites ("The DH learns ..." becomes "The Decoupling Head (DH) learns
    ..."). ``known``: abbreviations already used, each with whether its long form was given
    (it is updated, so a draft's paragraphs can share one); one given is not defined again
    ("Multimodal Large Language Models (MLLMs)" becomes "MLLMs"). The name a cited title
    opens with, an abbreviation no cited abstract defines, and one whose long form the
    sentence already holds are left as they are."""
    known = {} if known is None else known
    defined: dict[int, dict[str, str]] = {}
    out = []
    for sentence in sentences:
        cited = [n for n in markers(sentence) if n in papers]
        at = 0
        while m := ABBREVIATION.search(sentence, at):
            short, at = m.group(0), m.end()
            defined_here = sentence[: m.start()].endswith("(")  # "Semantic Token ViT (STViT)"
            if known.get(short) and defined_here:
                sentence, at = _said_short(sentence, m)
                continue
            if short in known or defined_here:
                known[short] = known.get(short, False) or defined_here
                continue
            if sentence[m.end() :].startswith(" ("):
                continue  # part of a name being defined: the "ViT" of "Semantic Token ViT"
            known[short] = False
            for n in cited:
                if n not in defined:
                    defined[n] = definitions(papers[n].abstract)
                long = defined[n].get(short)
                if long is None or _names(papers[n], short) or long.lower() in sentence.lower():
                    continue
                spelled = f"{sentence[: m.start()]}{long} ({short}){sentence[m.end() :]}"
                if len(spelled.split()) <= MAX_WORDS:
                    sentence, at = spelled, m.start() + len(long) + len(short) + 3
                    known[short] = True
                break
        out.append(sentence)
    return out


def _said_short(sentence: str, m: re.Match[str]) -> tuple[str, int]:
    """``sentence`` with the abbreviation ``m`` found in it, where it is defined again
    ("Multimodal Large Language Models (MLLMs)" after a sentence that defined it), said
    short ("MLLMs"), and where to look on. A blind read found MLLM spelled out three times
    in one draft."""
    before, short = sentence[: m.start()], m.group(0)
    if not before.endswith("(") or not sentence[m.end() :].startswith(")"):
        return sentence, m.end()
    said = before[:-1].rstrip()
    long = long_form(said, short)
    if long is None or not said.lower().endswith(long.lower()):
        return sentence, m.end()
    start = len(said) - len(long)
    return f"{sentence[:start]}{short}{sentence[m.end() + 1 :]}", start + len(short)


def _names(paper: Paper, short: str) -> bool:
    """Whether ``short`` is the name the paper's title opens with ("IRRA" of "IRRA: Cross-Modal
    Implicit Relation Reasoning ..."): the reference list says what it stands for. A name the
    abstract coins ("Experts Weights Averaging (EWA)") is spelled out like any other."""
    head, colon, _ = paper.title.partition(":")
    return bool(colon) and short in re.findall(r"[\w-]+", head)
