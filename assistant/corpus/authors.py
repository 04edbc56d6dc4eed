"""Author lists: recognise names, parse ``A, B, C et al. · org``, split a glued title from its authors."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lower-case words that occur inside surnames ("Ludwig van Beethoven", "Ana de la Cruz").
_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "di",
    "da",
    "du",
    "la",
    "le",
    "bin",
    "al",
    "dos",
    "das",
    "ter",
}
# Prefixes that legitimately put a capital inside one name word ("McDonald", "DeVries", "O'Brien").
_INNER_CAPITAL = re.compile(r"^(?:Mc|Mac|De|Di|Da|Le|La|Van|Von|O'|O’|D'|D’)\w")
MAX_NAME_WORDS = 5
MAX_PREFIXES = 3  # per name word: "DeLaCruz" has two; a longer chain is a garbled word


@dataclass(frozen=True)
class AuthorList:
    """Parsed authors: the visible names, whether the listing truncated them, an organisation tag."""

    names: list[str]
    more: bool
    org: str | None


def _is_name_part(part: str) -> bool:
    """One hyphen-free piece of a name word: ``Jinguo``, ``J``, ``Ó``, ``McDonald``."""
    # A bounded loop, not recursion: a garbled word of thousands of prefixes ("DeDeDe...")
    # raised RecursionError, and copying the rest of it once per prefix is quadratic.
    for _ in range(MAX_PREFIXES + 1):
        if not part or not part[0].isupper():
            return False
        if all(c.islower() or c in "'’" for c in part[1:]):
            return True
        m = _INNER_CAPITAL.match(part)
        if not m:
            return False
        part = part[m.end() - 1 :]  # past the prefix: "MacDonald" -> "Donald"
    return False


def is_name_word(word: str) -> bool:
    """Whether ``word`` can be one word of a person's or team's name."""
    if word in _PARTICLES:
        return True
    core = word[:-1] if word.endswith(".") else word  # initials: "J." or "J.-P."
    if not core:
        return False
    return all(_is_name_part(p.strip(".")) for p in core.split("-"))


def is_name(text: str) -> bool:
    """Whether ``text`` looks like one author: 1 to 5 name words, starting with a capital."""
    words = text.split()
    return (
        0 < len(words) <= MAX_NAME_WORDS
        and words[0] not in _PARTICLES
        and all(is_name_word(w) for w in words)
    )


# The organisation tag and "et al." end an author list. They used to be found by regular
# expressions (r"\s+·\s+(?P<org>[^·]+?)\s*$", r"\s*,?\s+et\s+al\.?\s*$") that backtracked
# through a run of spaces once per space (minutes for a few thousand) and cost a scan of the
# whole text per call; these string operations give the same results in one pass.


def _split_org(text: str) -> tuple[str, str | None]:
    """``A, B · org`` -> (``A, B``, ``org``): the tag after the last `` · ``; ``text`` is stripped."""
    k = text.rfind("·")
    if 0 < k < len(text) - 1 and text[k - 1].isspace() and text[k + 1].isspace():
        return text[:k].rstrip(), text[k + 1 :].lstrip()
    return text, None


def _split_et_al(text: str) -> tuple[str, bool]:
    """``A, B, et al.`` -> (``A, B``, True); ``text`` is stripped."""
    parts = text.rsplit(None, 2)
    if len(parts) < 3 or parts[1] != "et" or parts[2] not in ("al", "al."):
        return text, False
    rest = parts[0]
    return (rest[:-1].rstrip() if rest.endswith(",") else rest), True


def parse_authors(text: str, strict: bool = True) -> AuthorList | None:
    """Parse ``Zhuofan Zong, Guanglu Song et al. · pku``; None if it is not an author list.

    Args:
        text: the author part of a listing line.
        strict: require every name to look like a name (used to find where glued authors
            start); a line known to hold authors is parsed with ``strict=False``.
    """
    text, org = _split_org(text.strip())
    text, more = _split_et_al(text)
    names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        return None
    if strict and not all(is_name(n) for n in names):
        return None
    return AuthorList(names=names, more=more, org=org)


def split_glued(line: str, max_title: int | None = None) -> tuple[str, AuthorList] | None:
    """Split ``Title with Conditional MoEsJinguo Zhu, Xizhou Zhu et al.`` into title and authors.

    The first author's first name is glued to the last title word, so every candidate split
    is at a capital letter that follows a non-space character. The leftmost candidate whose
    remainder parses as an author list wins: any earlier candidate would have to swallow the
    glued word ("MoEsJinguo"), which has a capital inside and is not a name.

    Args:
        line: a stripped listing line.
        max_title: the longest title to consider. Each candidate parses the rest of the line,
            so without a bound a huge line of capitals takes time quadratic in its length.
    """
    end = len(line) if max_title is None else min(len(line), max_title + 1)
    for i in range(1, end):
        if line[i].isupper() and not line[i - 1].isspace():
            title = line[:i].strip()
            authors = parse_authors(line[i:])
            if authors and title:
                return title, authors
    return None
