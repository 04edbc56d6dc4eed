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
_ET_AL = re.compile(r"\s*,?\s+et\s+al\.?\s*$")
_ORG = re.compile(r"\s+·\s+(?P<org>[^·]+?)\s*$")
MAX_NAME_WORDS = 5


@dataclass(frozen=True)
class AuthorList:
    """Parsed authors: the visible names, whether the listing truncated them, an organisation tag."""

    names: list[str]
    more: bool
    org: str | None


def _is_name_part(part: str) -> bool:
    """One hyphen-free piece of a name word: ``Jinguo``, ``J``, ``Ó``, ``McDonald``."""
    if not part or not part[0].isupper():
        return False
    rest = part[1:]
    if all(c.islower() or c in "'’" for c in rest):
        return True
    return bool(_INNER_CAPITAL.match(part)) and _is_name_part(part[2:].lstrip("'’"))


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


def parse_authors(text: str, strict: bool = True) -> AuthorList | None:
    """Parse ``Zhuofan Zong, Guanglu Song et al. · pku``; None if it is not an author list.

    Args:
        text: the author part of a listing line.
        strict: require every name to look like a name (used to find where glued authors
            start); a line known to hold authors is parsed with ``strict=False``.
    """
    text = text.strip()
    org = None
    m = _ORG.search(text)
    if m:
        org, text = m.group("org"), text[: m.start()]
    more = False
    m = _ET_AL.search(text)
    if m:
        more, text = True, text[: m.start()]
    names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        return None
    if strict and not all(is_name(n) for n in names):
        return None
    return AuthorList(names=names, more=more, org=org)


def split_glued(line: str) -> tuple[str, AuthorList] | None:
    """Split ``Title with Conditional MoEsJinguo Zhu, Xizhou Zhu et al.`` into title and authors.

    The first author's first name is glued to the last title word, so every candidate split
    is at a capital letter that follows a non-space character. The leftmost candidate whose
    remainder parses as an author list wins: any earlier candidate would have to swallow the
    glued word ("MoEsJinguo"), which has a capital inside and is not a name.
    """
    for i in range(1, len(line)):
        if line[i].isupper() and not line[i - 1].isspace():
            title = line[:i].strip()
            authors = parse_authors(line[i:])
            if authors and title:
                return title, authors
    return None
