"""How the page shows things: chat messages, source cards, the map, downloads, CSS and JS.

Pure functions of what they are given (a session, an answer, papers); no event handling.
"""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gradio as gr
import pandas as pd

from assistant.answer import Answer
from assistant.citations import MARKER
from assistant.retrieval import Filters
from assistant.text import year_label
from assistant.themes import kmeans, project_2d, theme_names

if TYPE_CHECKING:
    from assistant.llm import ChatModel
    from assistant.papers import Paper
    from assistant.retrieval import Searcher
    from assistant.web.library import Session

THEMES = 8
IN_ANSWER = "★ in this answer"
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
# The cited papers' reference files offered under an answer, and their file name endings.
EXPORT_SUFFIX = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}
EXPORT_LABELS = [("BibTeX", "bibtex"), ("RIS", "ris"), ("CSL-JSON", "csl-json")]


# --- the chat and its sources ----------------------------------------------------------------
def linked(text: str) -> str:
    """Answer text with each ``[n]`` a link to its source card ``#src-n``."""

    def link(m: re.Match[str]) -> str:
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        numbers = [n.strip() for n in re.split(r"[,;]", m.group(1))]
        return lead + "".join(f'<a class="cite" href="#src-{n}">[{n}]</a>' for n in numbers)

    return MARKER.sub(link, text)


def chat_messages(session: Session) -> list[dict[str, str]]:
    """The chat as Gradio messages; the turn whose sources are shown links its markers."""
    messages = []
    for i, turn in enumerate(session.turns):
        label = "" if turn.action == "Answer" else f"*{turn.action}:* "
        messages.append({"role": "user", "content": label + turn.message})
        text = turn.text or "…"
        messages.append(
            {"role": "assistant", "content": linked(text) if i == session.shown else text}
        )
    return messages


def _highlight(abstract: str, evidence: Sequence[str]) -> str:
    out = html.escape(abstract)
    for sentence in map(html.escape, evidence):
        if sentence and sentence in out:
            out = out.replace(sentence, f"<mark>{sentence}</mark>", 1)
    return out


def sources_html(answer: Answer | None) -> str:
    """One card per citation (``id="src-n"``): facts, evidence highlighted, support mark."""
    if answer is None:
        return '<p class="hint">The sources of an answer appear here; click a [n] to see one.</p>'
    if not answer.citations:
        return '<p class="hint">No sources: nothing in the collection supports an answer.</p>'
    cards = []
    for c in answer.citations:
        p = c.paper
        mark = (
            '<span class="badge ok" title="the citing sentences are backed by it">✓ supported</span>'
            if c.supported
            else '<span class="badge no" title="not backed by this paper">✗ unsupported</span>'
        )
        code = {True: "yes", False: "no"}.get(p.has_code, "unknown")  # type: ignore[arg-type]
        facts = [p.author_line(6) or "unknown authors", year_label(p)]
        facts += [p.category or "no category", f"code: {code}"]
        facts += [] if p.has_abstract else ["no abstract: title and metadata only"]
        meta = " · ".join(map(html.escape, facts)) + f" · <code>{html.escape(p.source)}</code>"
        evidence = "".join(f"<li><mark>{html.escape(s)}</mark></li>" for s in c.evidence)
        cards.append(
            f'<div class="source" id="src-{c.n}"><div class="title"><b>[{c.n}]</b> '
            f'{html.escape(p.title)} {mark}</div><div class="meta">{meta}</div>'
            f'<ul class="evidence">{evidence}</ul><details><summary>Abstract</summary>'
            f"<p>{_highlight(p.abstract, c.evidence)}</p></details></div>"
        )
    return "".join(cards)


def model_label(model: ChatModel | None) -> str:
    """Which model writes, never with a key (nor a password inside the URL)."""
    if model is None:
        return "evidence only (no language model)"
    if model.backend == "local":
        return f"local model {model.model} (llama.cpp)"
    url = urlsplit(model.endpoint)
    safe = url._replace(netloc=url.hostname or "").geturl() if url.password else model.endpoint
    return f"endpoint {safe}, model {model.model}"


def written_by(answer: Answer, model: ChatModel | None) -> str:
    """The visible note of who wrote an answer, and any problem on the way."""
    if answer.backend == "search":
        line = f"Search results: {answer.written_by.get('papers', 0)} papers."
    else:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in answer.written_by.items() if v)
        line = f"Written by: **{answer.backend}**, {model_label(model)}"
        line += f" ({counts})." if counts else "."
    return line + (f"\n\n⚠ {answer.note}" if answer.note else "")


# --- the collection: browser, chart, map -----------------------------------------------------
def papers_table(papers: Sequence[Paper]) -> pd.DataFrame:
    code = {True: "yes", False: "no", None: ""}
    rows = [
        [p.title, p.author_line(), p.year or "", p.category or "", code[p.has_code], p.source]
        for p in papers
    ]
    return pd.DataFrame(rows, columns=["Title", "Authors", "Year", "Category", "Code", "Source"])


def papers_per_year(searcher: Searcher, filters: Filters) -> pd.DataFrame:
    counts = Counter(
        year_label(p, dated=False) for p in searcher.papers.values() if filters.allows(p)
    )
    return pd.DataFrame(sorted(counts.items()), columns=["year", "papers"])


def paper_map(searcher: Searcher) -> pd.DataFrame:
    """Each paper at the PCA projection of its vector, with a k-means theme."""
    ids = sorted(searcher.papers)
    x = searcher.paper_vectors(ids)
    xy = project_2d(x)
    k = min(THEMES, len(ids))
    labels = kmeans(x, k)
    papers = [searcher.papers[i] for i in ids]
    names = theme_names([p.title for p in papers], labels, k)
    return pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1] if xy.shape[1] > 1 else 0.0,
            "theme": [names[j] for j in labels],
            "title": [p.title for p in papers],
            "year": [year_label(p) for p in papers],
            "id": ids,
        }
    )


def marked_map(base: pd.DataFrame, answer: Answer | None) -> Any:
    """The map with the answer's papers in their own colour, drawn last (on top)."""
    cited = base["id"].isin({c.paper.id for c in answer.citations} if answer else set())
    data = pd.concat([base[~cited], base[cited].assign(theme=IN_ANSWER)])
    colors = dict(zip(sorted(set(base["theme"])), PALETTE * 2, strict=False))
    return gr.ScatterPlot(value=data, color_map={**colors, IN_ANSWER: "#d62728"})


# --- downloads -------------------------------------------------------------------------------
def export_files(answer: Answer, folder: Path) -> tuple[str | None, ...]:
    """The answer as Markdown and LaTeX, its cited papers as BibTeX, RIS and CSL-JSON, in a
    fresh folder (no reference files when nothing is cited)."""
    from assistant import export

    out = folder / uuid.uuid4().hex
    out.mkdir(parents=True)
    md, tex = out / "answer.md", out / "answer.tex"
    md.write_text(export.to_markdown(answer.text, answer.citations), encoding="utf-8")
    tex.write_text(export.to_latex(answer.text, answer.citations), encoding="utf-8")
    papers = export.cited_papers(answer.text, answer.citations)
    references: list[str | None] = []
    for fmt, suffix in EXPORT_SUFFIX.items():
        if not papers:
            references.append(None)
            continue
        path = out / f"references{suffix}"
        path.write_text(export.EXPORT_FORMATS[fmt](papers), encoding="utf-8")
        references.append(str(path))
    return (str(md), str(tex), *references)


# --- style and behaviour ----------------------------------------------------------------------
CSS = """
#sources { max-height: 72vh; overflow-y: auto; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 0 0 8px; scroll-margin-top: 12px; }
.source.cited { outline: 3px solid #f59e0b; background: rgba(245, 158, 11, .14); }
.source .meta { font-size: .85em; opacity: .8; margin: 2px 0 4px; }
.source ul.evidence { margin: 4px 0; padding-left: 18px; }
.source mark { background: #fde68a; color: #111; }
.badge { font-size: .8em; white-space: nowrap; margin-left: 4px; }
.badge.ok { color: #15803d; } .badge.no { color: #b91c1c; }
a.cite { text-decoration: none; font-weight: 600; }
.status.error { color: #b91c1c; } .hint { opacity: .7; }
"""
# A click on [n] highlights source n and scrolls to it. Capture phase: the chatbot neither
# opens the link in a new tab nor takes the click for a message selection.
JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return;
    document.querySelectorAll(".source.cited").forEach((el) => el.classList.remove("cited"));
    card.classList.add("cited");
    card.scrollIntoView({ behavior: "smooth", block: "center" });
  }, true);
}
"""
