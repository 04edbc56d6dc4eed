"""Export to BibTeX, Markdown and LaTeX, checked on the real collection (no model needed)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import bibtexparser
import pytest

from assistant.citations import Citation
from assistant.corpus import load_collection
from assistant.export import (
    bibtex,
    bibtex_entry,
    cited_papers,
    latex_escape,
    to_latex,
    to_markdown,
)
from assistant.papers import Paper

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# The inverse of the export's escapes: decoding must give back the listing's text exactly.
_UNESCAPE = {
    r"\textbackslash{}": "\\",
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\textasciitilde{}": "~",
    r"\textasciicircum{}": "^",
    **{f"\\{c}": c for c in "&%$#_"},
}
_ESCAPED = re.compile("|".join(re.escape(e) for e in _UNESCAPE))


def unlatex(text: str) -> str:
    """Text as it printed before ``latex_escape``."""
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group()], text)


def bare(text: str) -> str:
    """What is left of LaTeX once the commands the export writes are taken out."""
    text = re.sub(r"~?\\cite\{[a-z0-9,]+\}", "", text)
    text = re.sub(r"\\(?:textbf|section\*|subsection\*)\{", "{", text)
    return re.sub(r"\\[a-z]+\{\}|\\[&%$#_]|\\(?:begin|end)\{itemize\}|\\item", "", text)


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return load_collection(SEEDS).papers


def test_bibtex_of_the_whole_collection_parses_back_losslessly(papers):
    # The real abstracts carry raw LaTeX ($4.5\times$, 87.7\%, \textbf{...}, stray braces).
    text = " ".join(p.abstract for p in papers)
    assert all(c in text for c in "$%_\\{}^~&")

    db = bibtexparser.loads(bibtex(papers))

    assert len(papers) == 310
    assert [e["ID"] for e in db.entries] == [p.bibkey for p in papers]
    for entry, p in zip(db.entries, papers, strict=True):
        assert entry["ENTRYTYPE"] == "misc"
        # Double braces keep the title's capitals; inside them, the exact title.
        assert entry["title"].startswith("{") and entry["title"].endswith("}")
        assert unlatex(entry["title"][1:-1]) == p.title
        assert unlatex(entry["abstract"]) == p.abstract
        assert unlatex(entry["note"]) == f"Listed in {p.source}"


def test_entry_fields(papers):
    internvl = next(p for p in papers if p.bibkey == "zhu2025internvl3")
    entry = bibtexparser.loads(bibtex_entry(internvl)).entries[0]
    assert entry["title"] == "{" + internvl.title + "}"
    assert entry["year"] == "2025"
    assert entry["month"]  # from its listing date
    names = entry["author"].split(" and ")
    assert names[: len(internvl.authors)] == internvl.authors
    assert (names[-1] == "others") == internvl.more_authors

    title = next(p for p in papers if "%" in p.title)
    assert r"\%" in bibtex_entry(title).splitlines()[1]


def test_month_without_year_and_team_author():
    paper = Paper(
        id="p1",
        bibkey="kimi2026kimi",
        title="Kimi K2.5",
        abstract="Up to 50% faster & cheaper.",
        authors=["Kimi Team", "Tongtong Bai"],
        more_authors=True,
        date="Mar 16",
        year=None,
        category="CL",
        has_code=None,
        org=None,
        sources=[],
    )
    entry = bibtexparser.loads(bibtex_entry(paper)).entries[0]
    assert entry["month"] == "March"
    assert "year" not in entry and "note" not in entry
    # Braced so BibTeX files the team under its name, not under a surname "Team".
    assert entry["author"] == "{Kimi Team} and Tongtong Bai and others"
    assert entry["abstract"] == r"Up to 50\% faster \& cheaper."
    assert entry["keywords"] == "CL"


def test_paper_without_year_or_authors_is_a_valid_entry(papers):
    real = next(p for p in papers if not p.authors and p.year is None)
    bare_paper = dataclasses.replace(real, date=None, category=None, abstract="")
    for p in (real, bare_paper):
        entries = bibtexparser.loads(bibtex_entry(p)).entries
        assert len(entries) == 1
        assert entries[0]["ID"] == p.bibkey
        assert "author" not in entries[0] and "year" not in entries[0]
    assert set(bibtexparser.loads(bibtex_entry(bare_paper)).entries[0]) == {
        "ID",
        "ENTRYTYPE",
        "title",
        "note",
    }


def test_an_unbalanced_brace_does_not_swallow_the_next_entry(papers):
    broken = dataclasses.replace(papers[0], abstract="a { b } } c {{", title="T}{")
    db = bibtexparser.loads(bibtex([broken, papers[1]]))
    assert [e["ID"] for e in db.entries] == [papers[0].bibkey, papers[1].bibkey]
    assert unlatex(db.entries[0]["abstract"]) == "a { b } } c {{"
    assert db.entries[1]["title"] == "{" + papers[1].title + "}"


def test_bibtex_keeps_order_and_dedupes(papers):
    a, b = papers[3], papers[7]
    db = bibtexparser.loads(bibtex([b, a, b, a]))
    assert [e["ID"] for e in db.entries] == [b.bibkey, a.bibkey]
    assert bibtex([]) == ""


def test_latex_escape_prints_every_special_literally():
    text = r"50% & $x_1^2$ #3 ~ {a} \ok"
    assert unlatex(latex_escape(text)) == text
    assert not re.search(r"(?<!\\)[%&$#_]", latex_escape(text))
    assert balanced(latex_escape("} {{ }"))


def test_to_latex_cites_and_escapes(papers):
    k1, k2 = papers[0], papers[1]
    citations = [Citation(1, k1), Citation(2, k2)]
    assert to_latex("A [1]. B [1, 2].", citations) == (
        f"A~\\cite{{{k1.bibkey}}}. B~\\cite{{{k1.bibkey},{k2.bibkey}}}.\n"
    )
    assert to_latex("Q&A on 50% of x_y [2].", citations) == (
        f"Q\\&A on 50\\% of x\\_y~\\cite{{{k2.bibkey}}}.\n"
    )
    # Two numbers for one paper cite it once.
    same = [Citation(1, k1), Citation(2, k1)]
    assert to_latex("A [1; 2].", same) == f"A~\\cite{{{k1.bibkey}}}.\n"


def test_to_latex_structure(papers):
    citations = [Citation(1, papers[0]), Citation(2, papers[1])]
    text = "# Answer\n\nIt is **fast [1]** and cheap.\n\n## Papers\n- one [1]\n- two [2]\n\nDone."
    assert to_latex(text, citations).splitlines() == [
        r"\section*{Answer}",
        "",
        f"It is \\textbf{{fast~\\cite{{{papers[0].bibkey}}}}} and cheap.",
        "",
        r"\subsection*{Papers}",
        r"\begin{itemize}",
        f"  \\item one~\\cite{{{papers[0].bibkey}}}",
        f"  \\item two~\\cite{{{papers[1].bibkey}}}",
        r"\end{itemize}",
        "",
        "Done.",
    ]


def test_to_latex_of_every_real_abstract_is_clean(papers):
    for p in papers:
        out = to_latex(f"**{p.title}** says: {p.abstract} [1]", [Citation(1, p)])
        assert f"\\cite{{{p.bibkey}}}" in out
        rest = bare(out)
        assert balanced(rest), p.bibkey
        assert not re.search(r"[\\%&$#_^~]", rest), p.bibkey


def test_brackets_without_a_citation_stay_prose(papers):
    # Quoted abstracts carry their own "[2021]"; only markers that fully resolve are citations.
    citations = [Citation(1, papers[0])]
    assert to_latex("In [2021] and [1, 7], A [1].", citations) == (
        f"In [2021] and [1, 7], A~\\cite{{{papers[0].bibkey}}}.\n"
    )
    assert cited_papers("B [3]. C [1, 3].", citations) == []
    assert to_markdown("B [3].", citations) == "B [3].\n"


def test_to_markdown_lists_exactly_the_cited_papers(papers):
    citations = [Citation(n, papers[n]) for n in (1, 2, 3)]
    text = "Alpha [2]. Beta [1, 2]."
    out = to_markdown(text, citations)
    body, refs = out.split("\n\n## References\n\n")
    assert body == text
    lines = [line for line in refs.splitlines() if line]
    assert [line.split()[0] for line in lines] == ["[1]", "[2]"]
    p = papers[1]
    year = p.year or "n.d."
    assert lines[0].startswith(f"[1] {', '.join(p.authors) or 'Anonymous'}")
    assert f"({year}). {p.title}" in lines[0]
    assert lines[0].endswith(f"Source: {p.source}.")
    assert papers[3].title not in out
    assert to_markdown("No citations here.", citations) == "No citations here.\n"


def test_cited_papers_in_order_of_first_appearance(papers):
    citations = [Citation(n, papers[n]) for n in (1, 2, 3, 4)] + [Citation(5, papers[2])]
    text = "X [2]. Y [1, 2]. Z [3; 5]. W [9]."
    assert cited_papers(text, citations) == [papers[2], papers[1], papers[3]]
    assert cited_papers("nothing", citations) == []


@pytest.mark.skipif(
    not (shutil.which("pdflatex") and shutil.which("bibtex")), reason="pdflatex/bibtex absent"
)
def test_document_compiles_with_the_bibliography(papers, tmp_path):
    cited = [p for p in papers if any(c in p.abstract for c in "$%\\{")][:5] + papers[:2]
    citations = [Citation(n, p) for n, p in enumerate(cited, 1)]
    text = "# Results\n\n" + "\n".join(
        f"- **{p.title}** 10% & more [{n}]" for n, p in enumerate(cited, 1)
    )
    (tmp_path / "references.bib").write_text(bibtex(cited_papers(text, citations)), "utf-8")
    document = (
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n"
        # T1 prints <, >, | and the escaped specials as themselves, not as OT1 substitutes.
        "\\usepackage[T1]{fontenc}\n\\begin{document}\n"
        f"{to_latex(text, citations)}\n"
        "\\bibliographystyle{plain}\n\\bibliography{references}\n\\end{document}\n"
    )
    (tmp_path / "main.tex").write_text(document, "utf-8")

    def run(*cmd: str) -> None:
        subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True, timeout=120)

    run("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex")
    run("bibtex", "main")
    run("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex")
    run("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex")
    log = (tmp_path / "main.log").read_text("utf-8", errors="replace")
    assert "undefined" not in log.lower()
    bbl = (tmp_path / "main.bbl").read_text("utf-8")
    assert all(f"\\bibitem{{{p.bibkey}}}" in bbl for p in cited)
