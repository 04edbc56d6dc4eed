"""Export a cited text and its citations as BibTeX, Markdown or LaTeX to paste into a paper."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.citations import MARKER, Citation, markers
from assistant.papers import Paper

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
# Corporate authors, as the bibkeys treat them (see corpus.merge): braced so BibTeX does not
# file "Kimi Team" under a person called Team.
_TEAM_WORDS = {"team", "group", "lab", "consortium"}
_BOLD = re.compile(r"\*\*(?P<bold>.+?)\*\*")
_INLINE = re.compile(f"{_BOLD.pattern}|(?P<marker>{MARKER.pattern})")
_HEADING = re.compile(r"^(#{1,3})\s+(.*?)(?:\s+#+)?\s*$")
_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")
_SECTIONS = {1: "section*", 2: "subsection*", 3: "subsubsection*"}


def latex_escape(text: str) -> str:
    """Text with every LaTeX special character escaped, printing exactly as written."""
    return _SPECIAL.sub(lambda m: _LATEX_SPECIALS[m.group()], text)


def _author(name: str) -> str:
    """One BibTeX author name, escaped; a team kept whole."""
    escaped = latex_escape(name)
    words = name.split()
    if len(words) > 1 and words[-1].lower() in _TEAM_WORDS:
        return "{" + escaped + "}"
    return escaped


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
    if paper.category:
        fields.append(f"keywords = {{{latex_escape(paper.category)}}}")
    if paper.sources:
        fields.append(f"note = {{{latex_escape(f'Listed in {paper.source}')}}}")
    body = "".join(f"  {f},\n" for f in fields)
    return f"@misc{{{paper.bibkey},\n{body}}}\n"


def bibtex(papers: Iterable[Paper]) -> str:
    """A ``.bib`` file: one entry per distinct paper, in the order given."""
    seen: set[str] = set()
    entries: list[str] = []
    for p in papers:
        if p.id not in seen:
            seen.add(p.id)
            entries.append(bibtex_entry(p))
    return "\n".join(entries)


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
    return f"[{c.n}] {authors} ({p.year or 'n.d.'}). {title} Source: {p.source}."


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


def latex_document(
    text: str, citations: Sequence[Citation], bib_filename: str = "references.bib"
) -> str:
    """A minimal compilable document around :func:`to_latex`, citing from ``bib_filename``."""
    bib = bib_filename.removesuffix(".bib")
    return (
        "\\documentclass{article}\n"
        "\\usepackage[utf8]{inputenc}\n"
        # T1 prints <, >, | and the escaped specials as themselves, not as OT1 substitutes.
        "\\usepackage[T1]{fontenc}\n"
        "\\begin{document}\n\n"
        f"{to_latex(text, citations)}\n"
        "\\bibliographystyle{plain}\n"
        f"\\bibliography{{{bib}}}\n\n"
        "\\end{document}\n"
    )
