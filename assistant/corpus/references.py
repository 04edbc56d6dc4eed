"""Reference-manager files -> entries: BibTeX (bibtexparser), RIS (rispy) and CSL-JSON.

These are what Zotero, Mendeley, EndNote and Better BibTeX export. Each file is cut into its
records first (an ``@type{`` line, a ``TY  -`` line, an element of the JSON array), so that every
record knows its line and a malformed one becomes a problem while the rest is read; the
library then parses each record. A record needs a title; one without an abstract is kept and
indexed by its title and metadata.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from assistant.corpus.layouts import Parsed, Problem
from assistant.papers import Entry, Source

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ARXIV = re.compile(r"(?:arxiv[:/ ]|abs/|pdf/)\s*(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
_BIB_START = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(]", re.MULTILINE)
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
# Escapes that assistant.export writes and bibtexparser's LaTeX decoder does not undo; they are
# swapped for private-use characters around the decoder so that its brace stripping spares them.
_OWN_ESCAPES = {
    r"\textbackslash{}": "\\",
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    r"\$": "$",
}


def detect_reference(text: str) -> str | None:
    """``bibtex``, ``ris`` or ``csl-json`` when ``text`` is written in that format, else None."""
    head = text.lstrip()
    if head.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            # A broken JSON file that looks like CSL-JSON is reported as such, with its line.
            return "csl-json" if '"title"' in text else None
        items = data if isinstance(data, list) else [data]
        return "csl-json" if any(isinstance(i, dict) and "title" in i for i in items) else None
    if _BIB_START.search(text):
        return "bibtex"
    if any(_RIS_TAG.match(line.strip()) and line.startswith("TY") for line in text.splitlines()):
        return "ris"
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _date(year: int | None, month: int | None = None, day: int | None = None) -> str | None:
    """A date the way the listings write it: ``Jun 9, 2022``, ``Jun 2022`` or ``2022``."""
    if year is None:
        return None
    if month and 1 <= month <= 12:
        name = _MONTHS[month - 1]
        return f"{name} {day}, {year}" if day else f"{name} {year}"
    return str(year)


def _year(text: Any) -> int | None:
    m = re.search(r"\b(1[89]\d\d|20\d\d)\b", str(text or ""))
    return int(m.group(1)) if m else None


def _iso_date(text: str) -> tuple[int | None, int | None, int | None]:
    """Year, month and day of ``2022-06-09``, ``2022/06`` or ``2022``."""
    m = re.match(r"\s*(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?", text or "")
    if not m:
        return _year(text), None, None
    year, month, day = (int(g) if g else None for g in m.groups())
    return year, month, day


def _arxiv_id(*texts: str | None) -> str | None:
    for t in texts:
        if t and (m := _ARXIV.search(t)):
            return m.group(1)
    return None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _entry(source: Source, **fields: Any) -> Entry | str:
    """An entry from the fields a record gave, or why it cannot be one."""
    title = _clean(fields.pop("title", "") or "")
    if not title:
        return "the record has no title"
    authors = [a for a in fields.pop("authors", []) if a]
    more = any(a.casefold() in ("others", "et al.", "et al") for a in authors)
    authors = [a for a in authors if a.casefold() not in ("others", "et al.", "et al")]
    doi = fields.get("doi")
    if doi:
        fields["doi"] = doi.strip().removeprefix("https://doi.org/").removeprefix("doi:").lower()
    return Entry(
        title=title,
        abstract=_clean(fields.pop("abstract", "") or ""),
        source=source,
        authors=authors,
        more_authors=more,
        **fields,
    )


def _collect(name: str, records: Iterator[tuple[int, Callable[[Source], Entry | str]]]) -> Parsed:
    """Run each record's reader on where it stands; one that fails or refuses is a problem."""
    out = Parsed()
    for line, read in records:
        try:
            got = read(Source(name, line))
        except Exception as e:  # the libraries raise many types on a malformed record
            got = f"malformed record ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        if isinstance(got, Entry):
            out.entries.append(got)
        else:
            out.problems.append(Problem(name, line, got))
    return out


# --- BibTeX ----------------------------------------------------------------------------------
def _decode_latex(value: str) -> str:
    from bibtexparser.latexenc import latex_to_unicode

    keep = {esc: chr(0xE000 + i) for i, esc in enumerate(_OWN_ESCAPES)}
    for esc, mark in keep.items():
        value = value.replace(esc, mark)
    value = latex_to_unicode(value).replace("{", "").replace("}", "")
    for esc, mark in keep.items():
        value = value.replace(mark, _OWN_ESCAPES[esc])
    # {\'\i} decodes to a dotless i with a combining accent: compose it into "í".
    value = re.sub("ı(?=[\u0300-\u036f])", "i", value).replace("ȷ", "j")
    return _clean(unicodedata.normalize("NFC", value))


def _bib_person(name: str) -> str:
    """``Müller, Hans`` -> ``Hans Müller`` (BibTeX and RIS); a name without a comma (a team,
    ``et al.``) stays whole."""
    last, comma, first = name.partition(",")
    return _clean(f"{first} {last}" if comma else name)


def _bib_record(text: str, strings: str, source: Source) -> Entry | str:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    db = bibtexparser.loads(strings + text, parser=parser)
    if not db.entries:
        return "malformed BibTeX record (unbalanced braces or a missing key?)"
    raw = db.entries[0]
    f = {k.lower(): _decode_latex(v) for k, v in raw.items() if isinstance(v, str)}
    authors = [_bib_person(a) for a in re.split(r"\s+and\s+", raw.get("author", "")) if a.strip()]
    authors = [_decode_latex(a) for a in authors]
    year, month, day = _iso_date(f["date"]) if f.get("date") else (_year(f.get("year")), None, None)
    if month is None and f.get("month"):  # "June" (the macro jun expanded), "Jun" or "6"
        word = f["month"][:3].capitalize()
        if word in _MONTHS:
            month = _MONTHS.index(word) + 1
        elif f["month"].isdigit():
            month = int(f["month"])
    arxiv = (
        f.get("eprint")
        if "arxiv" in f.get("archiveprefix", f.get("eprinttype", "")).lower()
        else None
    )
    return _entry(
        source,
        title=f.get("title"),
        authors=authors,
        abstract=f.get("abstract"),
        date=_date(year, month, day),
        year=year,
        venue=f.get("journal") or f.get("booktitle") or f.get("journaltitle") or None,
        doi=f.get("doi") or None,
        arxiv_id=arxiv or _arxiv_id(f.get("url"), f.get("journal"), f.get("note")),
        url=f.get("url") or None,
        keywords=[k.strip() for k in re.split(r"[;,]", f.get("keywords", "")) if k.strip()],
    )


def parse_bibtex(name: str, text: str) -> Parsed:
    """Every ``@type{...}`` record of a ``.bib`` file; ``@string`` macros apply to all."""
    starts = [(m.start(), m.group(1).lower()) for m in _BIB_START.finditer(text)]
    bounds = [s for s, _ in starts] + [len(text)]
    blocks = [(s, kind, text[s : bounds[k + 1]]) for k, (s, kind) in enumerate(starts)]
    strings = "".join(b for _, kind, b in blocks if kind == "string")

    def records() -> Iterator[tuple[int, Callable[[Source], Entry | str]]]:
        for start, kind, block in blocks:
            if kind not in ("string", "preamble", "comment"):
                yield _line_of(text, start), partial(_bib_record, block, strings)

    return _collect(name, records())


# --- RIS -------------------------------------------------------------------------------------
def _ris_record(text: str, source: Source) -> Entry | str:
    import rispy

    records = rispy.loads(text)
    if not records:
        return "malformed RIS record (no ER line?)"
    r = records[0]
    authors = [_bib_person(a) for a in r.get("authors", []) + r.get("first_authors", [])]
    year, month, day = _iso_date(r.get("date") or r.get("year") or r.get("publication_year") or "")
    urls = r.get("urls") or []
    return _entry(
        source,
        title=r.get("title") or r.get("primary_title"),
        authors=authors,
        abstract=r.get("abstract") or r.get("notes_abstract"),
        date=_date(year, month, day),
        year=year,
        venue=r.get("secondary_title") or r.get("journal_name") or None,
        doi=r.get("doi") or None,
        arxiv_id=_arxiv_id(*urls, r.get("journal_name")),
        url=urls[0] if urls else None,
        keywords=list(r.get("keywords") or []),
    )


def parse_ris(name: str, text: str) -> Parsed:
    """Every ``TY`` ... ``ER`` record of a ``.ris`` file."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = Parsed()
    block: list[str] = []
    start = 0
    records: list[tuple[int, str]] = []
    for n, line in enumerate(lines, 1):
        if line.startswith("TY  -"):
            if block:  # a record left without its ER line
                out.problems.append(Problem(name, start, "RIS record has no ER line"))
            block, start = [line], n
        elif block:
            block.append(line)
            if line.startswith("ER  -"):
                records.append((start, "\n".join(block) + "\n"))
                block = []
    if block:
        out.problems.append(Problem(name, start, "RIS record has no ER line"))
    parsed = _collect(
        name,
        ((line, partial(_ris_record, block)) for line, block in records),
    )
    parsed.problems = out.problems + parsed.problems
    return parsed


# --- CSL-JSON --------------------------------------------------------------------------------
def _csl_person(p: Any) -> str:
    if isinstance(p, str):
        return p
    if not isinstance(p, dict):
        return ""
    if p.get("literal"):
        return str(p["literal"])
    return _clean(f"{p.get('given', '')} {p.get('family', '')}")


def _csl_record(item: Any, source: Source) -> Entry | str:
    if not isinstance(item, dict):
        return "a CSL-JSON item must be an object"
    parts = ((item.get("issued") or {}).get("date-parts") or [[]])[0] or []
    parts = [int(x) for x in parts if str(x).lstrip("-").isdigit()]
    year, month, day = (parts + [None, None, None])[:3]
    if year is None and (item.get("issued") or {}).get("raw"):
        year, month, day = _iso_date(item["issued"]["raw"])
    keywords = item.get("keyword") or ""
    return _entry(
        source,
        title=item.get("title"),
        authors=[_csl_person(a) for a in item.get("author") or []],
        abstract=item.get("abstract"),
        date=_date(year, month, day),
        year=year,
        venue=item.get("container-title") or None,
        doi=item.get("DOI") or None,
        arxiv_id=_arxiv_id(item.get("URL"), item.get("number"), str(item.get("id", ""))),
        url=item.get("URL") or None,
        keywords=[k.strip() for k in re.split(r"[;,]", keywords) if k.strip()],
    )


def parse_csl_json(name: str, text: str) -> Parsed:
    """Every item of a CSL-JSON array (or the one item of a file holding an object)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return Parsed(problems=[Problem(name, e.lineno, f"not valid JSON: {e.msg}")])
    items = data if isinstance(data, list) else [data]
    # Where each item starts: the decoder gives no positions, so find them by decoding in turn.
    decoder = json.JSONDecoder()
    at = text.index("[") + 1 if isinstance(data, list) else 0
    lines = []
    for _ in items:
        while text[at] in " \t\r\n,":
            at += 1
        lines.append(_line_of(text, at))
        _, at = decoder.raw_decode(text, at)
    return _collect(
        name,
        ((line, partial(_csl_record, item)) for line, item in zip(lines, items, strict=True)),
    )


FORMATS: dict[str, Callable[[str, str], Parsed]] = {
    "bibtex": parse_bibtex,
    "ris": parse_ris,
    "csl-json": parse_csl_json,
}
