"""Export a cited text and its citations as BibTeX, Markdown or LaTeX to paste into a paper,
and papers as the reference managers read them: BibTeX, RIS and CSL-JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from assistant.citations import MARKER, Citation, markers
from assistant.papers import Paper
from assistant.text import is_team, year_label

# Every LaTeX special character becomes a command that prints it literally. Braces and the
# backslash become text commands rather than ``\{`` because BibTeX counts every brace, escaped
# or not: an abstract with one stray ``{`` would otherwise swallow the rest of the file. Math
# in abstracts (``$4.5\times$``) is kept as its source text, which is readable and always
# compiles, where passing it through would break on the first unbalanced ``$``.
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_BOLD = re.compile(r"\*\*(?P<bold>.+?)\*\*")
_INLINE = re.compile(f"{_BOLD.pattern}|(?P<marker>{MARKER.pattern})")
_HEADING = re.compile(r"^(#{1,3})\s+(.*?)(?:\s+#+)?\s*$")
_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")
_SECTIONS = {1: "section*", 2: "subsection*", 3: "subsubsection*"}


def latex_escape(text: str) -> str:
    """Text with every LaTeX special character escaped, printing exactly as written."""
    return _SPECIAL.sub(lambda m: _LATEX_SPECIALS[m.group()], text)


def _author(name: str) -> str:
    """One BibTeX author name, escaped; a team kept whole (braced, so that BibTeX does not
    file "Kimi Team" under a person called Team)."""
    escaped = latex_escape(name)
    return "{" + escaped + "}" if is_team(name) else escaped


def _month(date: str | None) -> str | None:
    """The BibTeX month macro (``jun``) of a listing date such as ``Jun 9, 2022``, if any."""
    word = (date or "").strip()[:3].lower()
    return word if word in _MONTHS else None


def bibtex_entry(paper: Paper) -> str:
    """One ``@misc`` entry for ``paper``, keyed by its bibkey, every field escaped."""
    fields = [f"title = {{{{{latex_escape(paper.title)}}}}}"]
    if paper.authors:
        names = [_author(a) for a in paper.authors] + (["others"] if paper.more_authors else [])
        fields.append(f"author = {{{' and '.join(names)}}}")
    if paper.year:
        fields.append(f"year = {{{paper.year}}}")
    if month := _month(paper.date):
        # A bare macro: each style spells the month its own way ("June", "Jun.").
        fields.append(f"month = {month}")
    if paper.abstract:
        fields.append(f"abstract = {{{latex_escape(paper.abstract)}}}")
    keywords = [k for k in [paper.category, *paper.keywords] if k]
    if keywords:
        fields.append(f"keywords = {{{latex_escape(', '.join(dict.fromkeys(keywords)))}}}")
    if paper.venue:
        fields.append(f"howpublished = {{{latex_escape(paper.venue)}}}")
    if paper.doi:
        fields.append(f"doi = {{{latex_escape(paper.doi)}}}")
    if paper.arxiv_id:
        fields += [f"eprint = {{{paper.arxiv_id}}}", "archiveprefix = {arXiv}"]
    if paper.url:
        fields.append(f"url = {{{paper.url}}}")
    if paper.sources:
        fields.append(f"note = {{{latex_escape(f'Listed in {paper.source}')}}}")
    body = "".join(f"  {f},\n" for f in fields)
    return f"@misc{{{paper.bibkey},\n{body}}}\n"


def bibtex(papers: Iterable[Paper]) -> str:
    """A ``.bib`` file: one entry per distinct paper, in the order given."""
    return "\n".join(bibtex_entry(p) for p in _distinct(papers))


def _distinct(papers: Iterable[Paper]) -> list[Paper]:
    """Each paper once, in the order given."""
    out: dict[str, Paper] = {}
    for p in papers:
        out.setdefault(p.id, p)
    return list(out.values())


_DAY = re.compile(r"^([A-Z][a-z]{2})[a-z]*\.? (\d{1,2})\b")


def _date_parts(paper: Paper) -> list[int]:
    """``[2022, 6, 9]``: the paper's year, with month and day when its date has them."""
    if not paper.year:
        return []
    parts = [paper.year]
    if month := _month(paper.date):
        parts.append(_MONTHS.index(month) + 1)
        if m := _DAY.match(paper.date or ""):
            parts.append(int(m.group(2)))
    return parts


def _family_given(name: str) -> tuple[str, str]:
    """``Jinguo Zhu`` -> (``Zhu``, ``Jinguo``); a team or a single word is all family name."""
    if is_team(name) or " " not in name.strip():
        return name.strip(), ""
    given, _, family = name.strip().rpartition(" ")
    return family, given


def ris(papers: Iterable[Paper]) -> str:
    """An ``.ris`` file (Zotero, Mendeley, EndNote): one record per distinct paper."""
    records = []
    for p in _distinct(papers):
        lines = [("TY", "JOUR" if p.venue else "GEN"), ("ID", p.bibkey), ("TI", p.title)]
        for a in p.authors:
            family, given = _family_given(a)
            lines.append(("AU", f"{family}, {given}" if given else family))
        if p.more_authors:
            lines.append(("AU", "et al."))
        if parts := _date_parts(p):
            lines.append(("PY", str(parts[0])))
            if len(parts) > 1:
                lines.append(("DA", "/".join(f"{x:02d}" for x in parts)))
        lines += [("T2", p.venue)] if p.venue else []
        lines += [("AB", p.abstract)] if p.abstract else []
        lines += [("DO", p.doi)] if p.doi else []
        url = p.url or (f"https://arxiv.org/abs/{p.arxiv_id}" if p.arxiv_id else None)
        lines += [("UR", url)] if url else []
        lines += [("KW", k) for k in dict.fromkeys(k for k in [p.category, *p.keywords] if k)]
        lines += [("N1", f"Listed in {p.source}")] if p.sources else []
        lines.append(("ER", ""))
        records.append("".join(f"{tag}  - {' '.join(value.split())}\n" for tag, value in lines))
    return "\n".join(records)


def csl_json(papers: Iterable[Paper]) -> str:
    """A CSL-JSON file (Zotero's own export): one item per distinct paper."""
    items = []
    for p in _distinct(papers):
        item: dict[str, object] = {"id": p.bibkey, "type": "article", "title": p.title}
        people: list[dict[str, str]] = []
        for a in p.authors:
            family, given = _family_given(a)
            people.append({"family": family, "given": given} if given else {"literal": a})
        if p.more_authors:
            people.append({"literal": "et al."})
        if people:
            item["author"] = people
        if parts := _date_parts(p):
            item["issued"] = {"date-parts": [parts]}
        for key, value in (
            ("abstract", p.abstract),
            ("container-title", p.venue),
            ("DOI", p.doi),
            ("URL", p.url or (f"https://arxiv.org/abs/{p.arxiv_id}" if p.arxiv_id else None)),
            ("keyword", ", ".join(dict.fromkeys(k for k in [p.category, *p.keywords] if k))),
            ("note", f"Listed in {p.source}" if p.sources else ""),
        ):
            if value:
                item[key] = value
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


EXPORT_FORMATS = {"bibtex": bibtex, "ris": ris, "csl-json": csl_json}


def _resolve(marker: str, by_n: dict[int, Citation]) -> list[Citation] | None:
    """The citations of one ``[n]`` marker, or None when any number has none.

    Such a bracket is prose, not a citation: abstracts quoted into answers carry their own
    ``[2021]`` or ``[12]``; it stays as written rather than become a ``\\cite`` to nothing.
    """
    nums = markers(marker)
    return [by_n[n] for n in nums] if all(n in by_n for n in nums) else None


def _cited(text: str, citations: Sequence[Citation]) -> list[Citation]:
    """Citations whose marker appears in ``text``, in order of first appearance, each once."""
    by_n = {c.n: c for c in citations}
    found: dict[int, Citation] = {}
    for m in MARKER.finditer(text):
        for c in _resolve(m.group(), by_n) or []:
            found.setdefault(c.n, c)
    return list(found.values())


def cited_papers(text: str, citations: Sequence[Citation]) -> list[Paper]:
    """Papers whose marker appears in ``text``, in order of first appearance, each once."""
    papers: dict[str, Paper] = {}
    for c in _cited(text, citations):
        papers.setdefault(c.paper.id, c.paper)
    return list(papers.values())


def _reference(c: Citation) -> str:
    """``[n] Authors (year). Title. Source: file:line.``"""
    p = c.paper
    authors = (", ".join(p.authors) or "Anonymous") + (" et al." if p.more_authors else "")
    title = p.title if p.title.endswith((".", "?", "!")) else p.title + "."
    return f"[{c.n}] {authors} ({year_label(p, dated=False)}). {title} Source: {p.source}."


def to_markdown(text: str, citations: Sequence[Citation]) -> str:
    """``text`` as written, then a References section listing each cited number once."""
    cited = sorted(_cited(text, citations), key=lambda c: c.n)
    if not cited:
        return text.rstrip() + "\n"
    # Blank lines between references: Markdown would otherwise join them into one paragraph.
    refs = "\n\n".join(_reference(c) for c in cited)
    return f"{text.rstrip()}\n\n## References\n\n{refs}\n"


def _inline(text: str, by_n: dict[int, Citation]) -> str:
    """One line of prose: specials escaped, ``**bold**`` and ``[n]`` turned into commands."""
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(latex_escape(text[pos : m.start()]))
        if m.group("bold") is not None:
            out.append(r"\textbf{" + _inline(m.group("bold"), by_n) + "}")
        else:
            marker = m.group("marker")
            resolved = _resolve(marker, by_n)
            if resolved is None:
                out.append(latex_escape(marker))
            else:
                keys = dict.fromkeys(c.paper.bibkey for c in resolved)
                # A tie keeps the citation on the line of the word it follows.
                tie = "~" if marker[0].isspace() else ""
                out.append(f"{tie}\\cite{{{','.join(keys)}}}")
        pos = m.end()
    out.append(latex_escape(text[pos:]))
    return "".join(out)


def to_latex(text: str, citations: Sequence[Citation]) -> str:
    """A LaTeX fragment of ``text``: ``\\cite`` for markers, sections, itemize, bold, escaped."""
    by_n = {c.n: c for c in citations}
    out: list[str] = []
    in_list = False
    for line in text.splitlines():
        item = _ITEM.match(line)
        if in_list and not item:
            out.append(r"\end{itemize}")
            in_list = False
        heading = _HEADING.match(line)
        if item:
            if not in_list:
                out.append(r"\begin{itemize}")
                in_list = True
            out.append(r"  \item " + _inline(item.group(1), by_n))
        elif heading:
            command = _SECTIONS[len(heading.group(1))]
            out.append(f"\\{command}{{{_inline(heading.group(2), by_n)}}}")
        else:
            out.append(_inline(line, by_n))
    if in_list:
        out.append(r"\end{itemize}")
    return "\n".join(out).strip() + "\n"
