"""The web page (Gradio): a cited chat beside its sources, filters, a paper browser, a map.

``build_app()`` returns the page and ``serve()`` checks the address and launches it. What
every visitor shares (the opened index, the local model, the map) lives in one
:class:`Library`; what one visitor does (chat, chosen model) lives in their own
:class:`Session`, kept in ``gr.State``, so two people never see each other's chat.

Research actions are functions registered in :data:`ACTIONS` with :func:`action`. Each gets a
:class:`Request` and yields text pieces, then one final :class:`Answer` with its citations,
like :meth:`Answerer.stream`; the page offers every registered action. To add one::

    @action("Summarize")
    def summarize(req: Request) -> Iterator[str | Answer]:
        ...
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import html
import ipaddress
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# Before gradio is imported: it would otherwise report usage and look for updates.
for _key, _value in {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}.items():
    os.environ.setdefault(_key, _value)

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from assistant.answer import Answer, Answerer, Mode, clean_question, short_name  # noqa: E402
from assistant.citations import MARKER, Citation  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.corpus import FORMATS_READ  # noqa: E402
from assistant.errors import AssistantError, QuestionError  # noqa: E402
from assistant.retrieval import Filters  # noqa: E402

if TYPE_CHECKING:
    from assistant.imports import AddReport
    from assistant.llm import ChatModel
    from assistant.papers import Paper
    from assistant.retrieval import Searcher

log = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
# One answer at a time; the rest wait in the queue, shown their place. An answer keeps both
# cores busy (retrieval, evidence, then the one local llama.cpp server, which takes one request
# at a time), so a second one at once only splits the same CPU. Measured with benchmarks/load.py.
ANSWER_CONCURRENCY = 1
# Waiting events of every kind (answers and the cheap ones below) count against it; beyond it a
# request is refused at once with "Queue is full". 64: 50 waiting answers plus room for others.
QUEUE_SIZE = 64
# Filters, browser and status are cheap (milliseconds) and must not wait behind answers.
LIGHT: dict[str, Any] = {"concurrency_limit": 8, "concurrency_id": "light"}
BACKENDS = [
    ("Local model (bundled Qwen2.5-Coder, llama.cpp)", "local"),
    ("OpenAI-compatible endpoint", "openai"),
    ("No model: evidence only", "extractive"),
]
THEMES = 8
IN_ANSWER = "★ in this answer"
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


# --- research actions ----------------------------------------------------------------------
@dataclass
class Request:
    """What an action gets: the text typed, the index, the session's model and earlier answers."""

    text: str
    searcher: Searcher
    model: ChatModel | None
    mode: Mode
    filters: Filters
    history: list[Answer]


ActionFn = Callable[[Request], Iterator[str | Answer]]
ACTIONS: dict[str, ActionFn] = {}


def action(name: str) -> Callable[[ActionFn], ActionFn]:
    """Register a research action under the name the page shows."""

    def register(fn: ActionFn) -> ActionFn:
        ACTIONS[name] = fn
        return fn

    return register


_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|these|those|(this|that|the) (paper|work|study|model|method|"
    r"approach|authors?))\b",
    re.IGNORECASE,
)


def with_context(question: str, history: list[Answer]) -> str:
    """A follow-up ("what data does it use?") with the paper it refers to named in brackets."""
    last = next((a for a in reversed(history) if a.citations and not a.refused), None)
    if last is None or not _REFERS_BACK.search(question):
        return question
    return f"{question} ({last.citations[0].paper.title.split(':')[0].strip()})"


@action("Answer")
def answer_action(req: Request) -> Iterator[str | Answer]:
    """What the text asks: a cited answer, a list of papers, or a summary, comparison, related
    work or review outline; a follow-up is read in the light of the previous answer."""
    from assistant.chat import respond
    from assistant.writing import Draft

    answerer = Answerer(req.searcher, req.model, req.mode)  # per request: it is not thread-safe
    for piece in respond(answerer, req.text, req.filters, with_context(req.text, req.history)):
        if isinstance(piece, Draft):
            yield from list(_draft_answer(req, piece))[1:]
        else:
            yield piece


@action("Search")
def search_action(req: Request) -> Iterator[str | Answer]:
    """The best papers for the text, each with its best passage as evidence."""
    query = clean_question(req.text)
    hits = req.searcher.search(query, k=8, filters=req.filters)
    citations, text = [], ""
    for n, h in enumerate(hits, 1):
        p = h.paper
        citations.append(Citation(n, p, [h.snippet]))
        piece = f"{n}. **{p.title}** ({short_name(p)}, {p.year or p.date or 'n.d.'}) [{n}]\n"
        text += piece
        yield piece
    if not hits:
        text = "No paper matches" + (" these filters." if req.filters.active else " this search.")
        yield text
    yield Answer(query, text, citations, not hits, "search", {"papers": len(hits)})


def _draft_answer(req: Request, draft: Any) -> Iterator[str | Answer]:
    """A writing draft shown like an answer: its text, then its citations."""
    yield draft.text
    wrote = (
        req.mode == "write" and req.model is not None and draft.written_by.get("model_sentences")
    )
    yield Answer(
        req.text,
        draft.text,
        draft.citations,
        not draft.citations,
        req.model.backend if wrote and req.model else "evidence",
        {"draft": len(draft.citations), **draft.written_by},
        draft.note,
    )


@action("Summarize")
def summarize_action(req: Request) -> Iterator[str | Answer]:
    """Problem, method and result of the paper named in the text (title, method name or id)."""
    from assistant import writing

    model = req.model if req.mode == "write" else None
    paper = writing.resolve_paper(req.text, req.searcher)
    yield from _draft_answer(req, writing.summarize(paper, model))


@action("Compare")
def compare_action(req: Request) -> Iterator[str | Answer]:
    """A table and paragraph for 2 to 6 papers named in the text, separated by commas or 'and'."""
    from assistant import writing

    names = [n for n in re.split(r"\s*(?:,|;|\band\b|\bvs\.?)\s*", req.text) if n.strip()]
    papers = [writing.resolve_paper(n, req.searcher) for n in names]
    model = req.model if req.mode == "write" else None
    yield from _draft_answer(req, writing.compare(papers, model))


@action("Related work")
def related_work_action(req: Request) -> Iterator[str | Answer]:
    """Related-work paragraphs on the topic in the text, grouped by theme."""
    from assistant import writing

    model = req.model if req.mode == "write" else None
    for piece in writing.related_work_steps(req.text, req.searcher, model, req.filters):
        if isinstance(piece, writing.Draft):
            yield from list(_draft_answer(req, piece))[1:]
        else:
            yield piece  # the outline, then each paragraph as it is written


@action("Review outline")
def review_action(req: Request) -> Iterator[str | Answer]:
    """A literature-review outline on the topic in the text."""
    from assistant import writing

    model = req.model if req.mode == "write" else None
    draft = writing.review_outline(req.text, req.searcher, req.filters, model=model)
    yield from _draft_answer(req, draft)


# --- what one visitor has, what all share --------------------------------------------------
@dataclass
class Turn:
    """One exchange of the chat."""

    question: str
    action: str
    text: str = ""
    answer: Answer | None = None


@dataclass
class Session:
    """One browser session: its chat and its model choice (never shared)."""

    turns: list[Turn] = field(default_factory=list)
    shown: int = -1  # the turn whose sources are shown
    backend: str | None = None  # None: the page's default
    endpoint: ChatModel | None = None  # this visitor's OpenAI-compatible model
    collection: str | None = None  # None: the collection the page was started with

    @property
    def history(self) -> list[Answer]:
        return [t.answer for t in self.turns if t.answer is not None]

    @property
    def answer(self) -> Answer | None:
        return self.turns[self.shown].answer if self.turns else None


class LocalModels:
    """The local llama.cpp servers: one set for every session and every collection."""

    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"llm_backend": "local"})
        self._lock = threading.Lock()
        self._model: ChatModel | None = None
        self._mode: Mode = "write"

    def get(self) -> tuple[ChatModel | None, Mode]:
        from assistant.llm import choose_model

        with self._lock:
            if self._model is None:
                self._model, self._mode = choose_model(self.settings)
                threading.Thread(target=_warm_up, args=(self._model,), daemon=True).start()
        return self._model, self._mode


class Library:
    """One collection's opened index (built in a background thread on first start) and map.

    Args:
        settings: where the collection and its index are, and the default model.
        searcher: an opened index; None opens it, building it first if needed, in the background.
        backend: default model for new sessions (``local``, ``openai``, ``extractive``).
        local: the local models to share with other collections' libraries; None starts a set.
    """

    def __init__(
        self,
        settings: Settings,
        searcher: Searcher | None,
        backend: str | None,
        local: LocalModels | None = None,
    ):
        self.settings = settings
        self.backend = backend or settings.llm_backend
        self.local = local or LocalModels(settings)
        self.searcher = searcher
        self.phase = "ready" if searcher is not None else "starting"
        self.done = self.total = 0
        self.error = ""
        self.notice = ""  # what opening the index had to do: build, update or rebuild it
        self._lock = threading.Lock()
        self._adding = threading.Lock()
        self._map: pd.DataFrame | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="assistant-ui-"))  # downloads
        atexit.register(shutil.rmtree, self.folder, True)
        if searcher is None:
            # Held until the index is open, so that an upload waits for the first build
            # instead of meeting its ingest lock (a new collection is opened, then added to).
            self._adding.acquire()
            threading.Thread(target=self._open, name="open-index", daemon=True).start()

    @property
    def ready(self) -> bool:
        return self.searcher is not None

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _open(self) -> None:
        from assistant.index import Store
        from assistant.startup import open_searcher

        def indexing(done: int, total: int) -> None:
            self.phase = "indexing"
            self._progress(done, total)

        def notify(message: str) -> None:
            log.warning("%s", message)
            self.notice = message

        try:
            self.searcher, _ = open_searcher(Store(self.settings), indexing, notify)
            self.phase = "ready"
        except AssistantError as e:
            self.phase, self.error = "failed", str(e)
        except Exception as e:  # the page reports it instead of dying
            log.exception("opening the index failed")
            self.phase, self.error = "failed", f"opening the index failed ({type(e).__name__})"
        finally:
            self._adding.release()
        if self.phase == "ready" and self.backend == "local":
            # Start the local model now, not in the first answer (which reports a failure).
            with contextlib.suppress(AssistantError):
                self.model(Session())

    def status(self) -> str:
        """What the library is doing, as HTML: a progress bar while indexing."""
        if self.searcher is not None:
            repaired = (
                " Done: " + html.escape(self.notice) + "." if "damaged" in self.notice else ""
            )
            return (
                f'<div class="status">{len(self.searcher.papers)} papers indexed.{repaired}</div>'
            )
        if self.phase == "failed":
            return f'<div class="status error">⚠ {html.escape(self.error)}</div>'
        if self.phase == "indexing" and self.total:
            what = html.escape(self.notice[:1].upper() + self.notice[1:]) or "Indexing"
            return (
                f'<div class="status"><progress value="{self.done}" max="{self.total}">'
                f"</progress> {what}: {self.done}/{self.total} "
                "passages embedded. Answers can be asked once it is done.</div>"
            )
        what = "Opening the index" if self.phase == "opening" else "Reading the collection"
        return f'<div class="status"><progress></progress> {what}…</div>'

    def model(self, session: Session) -> tuple[ChatModel | None, Mode]:
        """The session's model and how far it is trusted (``phrase`` or ``write``)."""
        from assistant.llm import make_chat_model

        choice = session.backend or self.backend
        if choice == "extractive":
            return None, "phrase"
        if choice == "openai":
            if session.endpoint is None:  # from OPENAI_BASE_URL / OPENAI_API_KEY
                settings = self.settings.model_copy(update={"llm_backend": "openai"})
                session.endpoint = make_chat_model(settings)
            return session.endpoint, self.settings.llm_mode or "write"
        return self.local.get()

    def collection_map(self) -> pd.DataFrame:
        """The papers in 2-D with their themes (computed once)."""
        with self._lock:
            if self._map is None:
                assert self.searcher is not None
                self._map = paper_map(self.searcher)
            return self._map

    def add(self, paths: Sequence[Path], names: Sequence[str]) -> AddReport:
        """Add reference files to this collection and search the updated index."""
        from assistant.imports import add_files
        from assistant.index import Store
        from assistant.retrieval import Searcher

        with self._adding:  # one ingest at a time; answers go on with the old index
            report = add_files(self.settings, paths, names, self._progress)
            searcher = Searcher(Store(self.settings))
            with self._lock:
                self.searcher, self._map, self.phase = searcher, None, "ready"
        return report


def _warm_up(model: ChatModel) -> None:
    """Start the local models' servers (seconds each) before the first question needs them."""
    for task in ("read", "judge", "write"):
        server = model.for_task(task).server  # type: ignore[arg-type]
        if server is not None:
            with contextlib.suppress(AssistantError):  # the first answer reports it
                server.ensure()


# --- rendering -----------------------------------------------------------------------------
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
        messages.append({"role": "user", "content": label + turn.question})
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
        facts = [p.author_line(6) or "unknown authors", str(p.year or p.date or "n.d.")]
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


# --- the collection: browser, chart, map ---------------------------------------------------
def _year(text: Any, what: str) -> int | None:
    text = str(text or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise QuestionError(f"{what} must be a year such as 2022, or empty")
    return int(text)


def make_filters(
    author: str | None,
    year_from: Any,
    year_to: Any,
    category: str | None,
    has_code: bool,
    venue: str | None = None,
) -> Filters:
    """Filters from the page's controls (an empty control filters nothing)."""
    return Filters(
        author=(author or "").strip() or None,
        year_from=_year(year_from, "year from"),
        year_to=_year(year_to, "year to"),
        category=category or None,
        has_code=True if has_code else None,
        venue=(venue or "").strip() or None,
    )


def listed_papers(searcher: Searcher, query: str, filters: Filters) -> list[Paper]:
    """Papers matching the search box and the filters (all of them for an empty box)."""
    if query.strip():
        return [h.paper for h in searcher.search(query, k=50, filters=filters)]
    papers = [p for p in searcher.papers.values() if filters.allows(p)]
    papers.sort(key=lambda p: (-(p.year or 0), p.title.casefold()))
    return papers


def browse_papers(searcher: Searcher, query: str, filters: Filters) -> pd.DataFrame:
    """The paper browser's table for the search box and the filters."""
    return papers_table(listed_papers(searcher, query, filters))


def papers_table(papers: Sequence[Paper]) -> pd.DataFrame:
    code = {True: "yes", False: "no", None: ""}
    rows = [
        [p.title, p.author_line(), p.year or "", p.category or "", code[p.has_code], p.source]
        for p in papers
    ]
    return pd.DataFrame(rows, columns=["Title", "Authors", "Year", "Category", "Code", "Source"])


def papers_per_year(searcher: Searcher, filters: Filters) -> pd.DataFrame:
    counts = Counter(str(p.year or "n.d.") for p in searcher.papers.values() if filters.allows(p))
    return pd.DataFrame(sorted(counts.items()), columns=["year", "papers"])


_TITLE_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the of for and with via from to in on by towards toward using based is are at as "
        "how what when can do does new large we our their its your all any more not into",
    )
)


def theme_names(titles: Sequence[str], labels: np.ndarray, k: int) -> list[str]:
    """Name each cluster by its most frequent title words that are rarer elsewhere."""
    words = [
        {w for w in re.findall(r"[a-z][a-z0-9-]{2,}", t.lower()) if w not in _TITLE_STOP}
        for t in titles
    ]
    overall = Counter(w for ws in words for w in ws)
    names: list[str] = []
    for j in range(k):
        inside = Counter(
            w for ws, label in zip(words, labels, strict=True) if label == j for w in ws
        )
        best = sorted(inside, key=lambda w: (-(inside[w] ** 2) / overall[w], w))[:2]
        name = " / ".join(best) or f"theme {j + 1}"
        names.append(name if name not in names else f"{name} ({j + 1})")
    return names


def kmeans(x: np.ndarray, k: int, iterations: int = 50, seed: int = 0) -> np.ndarray:
    """Spherical k-means over unit rows; a cluster label per row."""
    centers = x[np.random.default_rng(seed).choice(len(x), size=k, replace=False)]
    for _ in range(iterations):
        labels = np.argmax(x @ centers.T, axis=1)
        moved = np.stack(
            [x[labels == j].mean(axis=0) if (labels == j).any() else centers[j] for j in range(k)]
        )
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        if np.allclose(moved, centers):
            break
        centers = moved
    return np.argmax(x @ centers.T, axis=1)


def paper_map(searcher: Searcher) -> pd.DataFrame:
    """Each paper at the PCA projection of its mean chunk vector, with a k-means theme."""
    got = searcher._collection.get(include=["embeddings", "metadatas"])
    vectors: dict[str, list[np.ndarray]] = {}
    for vector, meta in zip(got["embeddings"], got["metadatas"], strict=True):
        if (pid := (meta or {}).get("paper_id")) in searcher.papers:
            vectors.setdefault(pid, []).append(np.asarray(vector, dtype=np.float64))
    ids = sorted(vectors)
    x = np.stack([np.mean(vectors[i], axis=0) for i in ids])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    centred = x - x.mean(axis=0)
    xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
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
            "year": [str(p.year or p.date or "n.d.") for p in papers],
            "id": ids,
        }
    )


def marked_map(base: pd.DataFrame, answer: Answer | None) -> Any:
    """The map with the answer's papers in their own colour, drawn last (on top)."""
    cited = base["id"].isin({c.paper.id for c in answer.citations} if answer else set())
    data = pd.concat([base[~cited], base[cited].assign(theme=IN_ANSWER)])
    colors = dict(zip(sorted(set(base["theme"])), PALETTE * 2, strict=False))
    return gr.ScatterPlot(value=data, color_map={**colors, IN_ANSWER: "#d62728"})


# --- downloads -----------------------------------------------------------------------------
# The cited papers' reference files offered under an answer, and their file name endings.
EXPORT_SUFFIX = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}
EXPORT_LABELS = [("BibTeX", "bibtex"), ("RIS", "ris"), ("CSL-JSON", "csl-json")]


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


def with_collection(settings: Settings, name: str) -> Settings:
    """The same settings for collection ``name`` (its own folder and index)."""
    return (
        settings
        if name == settings.collection
        else settings.model_copy(update={"collection": name})
    )


# --- the page ------------------------------------------------------------------------------
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


class Page:
    """The event handlers; each gets the session's state and returns the page's updates.

    Each collection has its :class:`Library`, opened when a session first picks it; a
    session works in one collection at a time (``Session.collection``).
    """

    def __init__(self, library: Library):
        self.first = library
        self.libraries = {library.settings.collection: library}
        self._lock = threading.Lock()

    def library(self, session: Session | None, name: str | None = None) -> Library:
        """The library of collection ``name``, else of the session's collection."""
        name = name or (session.collection if session else None) or self.first.settings.collection
        with self._lock:
            if name not in self.libraries:
                settings = with_collection(self.first.settings, name)
                self.libraries[name] = Library(settings, None, self.first.backend, self.first.local)
            return self.libraries[name]

    def collections(self) -> list[str]:
        """The collections to pick from: the default, those on disk, those opened."""
        from assistant.corpus import collection_names

        names = collection_names(Path(self.first.settings.collections_dir))
        return list(dict.fromkeys([*names, *self.libraries]))

    def _map(self, library: Library, answer: Answer | None) -> Any:
        return marked_map(library.collection_map(), answer) if library.ready else gr.skip()

    def respond(
        self,
        text: str,
        action_name: str,
        author: str,
        year_from: Any,
        year_to: Any,
        category: str | None,
        has_code: bool,
        venue: str,
        session: Session | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Run the chosen action: stream its text, then show sources, downloads and the map.

        Yields updates of: chat, sources, notice, question box, five downloads, map, session.
        """
        session, skip = session or Session(), gr.skip()
        library = self.library(session)
        try:
            if library.searcher is None:
                status = re.sub(r"<[^>]+>", "", library.status()).strip()
                raise AssistantError(f"the index is not ready yet: {status}")
            clean_question(text)
            if action_name not in ACTIONS:
                raise AssistantError(
                    f"unknown action {action_name!r}; choose one of {list(ACTIONS)}"
                )
            filters = make_filters(author, year_from, year_to, category, has_code, venue)
            model, mode = library.model(session)
        except AssistantError as e:
            gr.Warning(str(e))
            yield skip, skip, f"⚠ {e}", skip, skip, skip, skip, skip, skip, skip, session
            return
        request = Request(text, library.searcher, model, mode, filters, session.history)
        turn = Turn(" ".join(text.split()), action_name)
        session.turns.append(turn)
        session.shown = len(session.turns) - 1
        off = gr.DownloadButton(value=None, interactive=False)
        yield (
            chat_messages(session),
            sources_html(None),
            "Working…",
            "",
            off,
            off,
            off,
            off,
            off,
            skip,
            session,
        )
        try:
            for piece in ACTIONS[action_name](request):
                if isinstance(piece, Answer) and piece.partial:
                    yield (
                        chat_messages(session),
                        sources_html(piece),
                        "Writing…",
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        session,
                    )
                elif isinstance(piece, Answer):
                    turn.answer, turn.text = piece, piece.text
                else:
                    turn.text += piece
                    yield (
                        chat_messages(session),
                        skip,
                        "Writing…",
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        skip,
                        session,
                    )
        except Exception as e:  # an error is a message in the page; the page keeps running
            if not isinstance(e, AssistantError):
                log.exception("action %s failed", action_name)
            message = (
                str(e) if isinstance(e, AssistantError) else f"internal error ({type(e).__name__})"
            )
            turn.text = f"⚠ {message}"
            gr.Warning(message)
            yield chat_messages(session), skip, turn.text, *[skip] * 7, session
            return
        answer = turn.answer
        assert answer is not None
        note = written_by(answer, model)
        if answer.question != turn.question and action_name == "Answer":
            note = f"Read as: *{answer.question}*\n\n{note}"
        files = (None,) * 5 if answer.refused else export_files(answer, library.folder)
        yield (
            chat_messages(session),
            sources_html(answer),
            note,
            skip,
            *(gr.DownloadButton(value=f, interactive=f is not None) for f in files),
            self._map(library, answer),
            session,
        )

    def show_turn(self, session: Session | None, evt: gr.SelectData) -> tuple[Any, ...]:
        """A click on an earlier message shows that turn's sources again."""
        session = session or Session()
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        if not 0 <= index // 2 < len(session.turns):
            return gr.skip(), gr.skip(), gr.skip(), session
        session.shown = index // 2
        return (
            chat_messages(session),
            sources_html(session.answer),
            self._map(self.library(session), session.answer),
            session,
        )

    def new_chat(self, session: Session | None) -> tuple[Any, ...]:
        """Forget this session's chat (its model choice stays)."""
        session = session or Session()
        session.turns, session.shown = [], -1
        off = gr.DownloadButton(value=None, interactive=False)
        library = self.library(session)
        return [], sources_html(None), "", *[off] * 5, self._map(library, None), session

    def views(
        self,
        author: str,
        year_from: Any,
        year_to: Any,
        category: str | None,
        has_code: bool,
        venue: str,
        query: str,
        session: Session | None = None,
    ) -> tuple[Any, Any]:
        """The paper browser and the papers-per-year chart under the filters."""
        searcher = self.library(session).searcher
        if searcher is None:
            return gr.skip(), gr.skip()
        try:
            filters = make_filters(author, year_from, year_to, category, has_code, venue)
        except QuestionError:  # a year still being typed; asking says what is wrong
            return gr.skip(), gr.skip()
        papers = listed_papers(searcher, query, filters)
        return papers_table(papers), papers_per_year(searcher, filters)

    def status(
        self,
        session: Session | None,
        author: str,
        year_from: Any,
        year_to: Any,
        category: str | None,
        has_code: bool,
        venue: str,
        query: str,
    ) -> tuple[Any, ...]:
        """The status line; once the index is ready, the collection views and no more ticks."""
        library = self.library(session)
        if library.searcher is None:
            active = library.phase != "failed"
            return library.status(), gr.Timer(active=active), *[gr.skip()] * 4
        categories = sorted({p.category for p in library.searcher.papers.values() if p.category})
        answer = session.answer if session else None
        return (
            library.status(),
            gr.Timer(active=False),
            gr.Dropdown(choices=["", *categories]),
            *self.views(author, year_from, year_to, category, has_code, venue, query, session),
            self._map(library, answer),
        )

    def switch(self, name: str, session: Session | None) -> tuple[Any, ...]:
        """Work in another collection: a new chat there; the status tick fills the views."""
        session = session or Session()
        if name and name != (session.collection or self.first.settings.collection):
            session.collection, session.turns, session.shown = name, [], -1
        library = self.library(session)
        note = f"Collection **{session.collection or self.first.settings.collection}**."
        off = gr.DownloadButton(value=None, interactive=False)
        return (
            [],
            sources_html(None),
            note,
            *[off] * 5,
            library.status(),
            gr.Timer(active=True),
            session,
        )

    def add_papers(
        self, files: list[str] | None, new_name: str, session: Session | None
    ) -> tuple[Any, ...]:
        """Add uploaded reference files to the session's collection, or to a new one."""
        from assistant.config import COLLECTION_NAME

        session, skip = session or Session(), gr.skip()
        new_name = (new_name or "").strip()
        if not files:
            return "⚠ choose one or more files first", skip, skip, skip, session
        if new_name and not re.fullmatch(COLLECTION_NAME, new_name):
            message = (
                f"⚠ {new_name!r} cannot name a collection: use up to 32 letters, digits or _, "
                "starting with a letter or digit"
            )
            return message, skip, skip, skip, session
        library = self.library(session, new_name or None)
        paths = [Path(f) for f in files]
        try:
            report = library.add(paths, [p.name for p in paths])
        except AssistantError as e:
            return f"⚠ {e}", skip, skip, skip, session
        if new_name and new_name != session.collection:
            session.collection, session.turns, session.shown = new_name, [], -1
        name = session.collection or self.first.settings.collection
        lines = [f"**{name}**: {report.summary()}."]
        lines += [f"- {f.name}: {f.format}, {f.entries} entries" for f in report.files]
        lines += [f"- rejected {problem}" for problem in report.rejected]
        return (
            "\n".join(lines),
            gr.Dropdown(choices=self.collections(), value=name),
            library.status(),
            gr.Timer(active=True),
            session,
        )

    def export_listed(
        self,
        fmt: str,
        author: str,
        year_from: Any,
        year_to: Any,
        category: str | None,
        has_code: bool,
        venue: str,
        query: str,
        session: Session | None,
    ) -> Any:
        """The papers the browser lists (search box and filters) as a reference file."""
        from assistant import export

        library = self.library(session)
        if library.searcher is None:
            gr.Warning("the index is not ready yet")
            return None
        try:
            filters = make_filters(author, year_from, year_to, category, has_code, venue)
        except QuestionError as e:
            gr.Warning(str(e))
            return None
        papers = listed_papers(library.searcher, query, filters)
        if not papers:
            gr.Warning("no papers are listed: widen the filters")
            return None
        out = library.folder / uuid.uuid4().hex
        out.mkdir(parents=True)
        path = out / f"{library.settings.collection}{EXPORT_SUFFIX[fmt]}"
        path.write_text(export.EXPORT_FORMATS[fmt](papers), encoding="utf-8")
        return str(path)

    def pick(self, table: pd.DataFrame, evt: gr.SelectData) -> tuple[str, str]:
        """A paper selected in the browser becomes the question."""
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        title = str(table.iloc[row]["Title"])
        return f'What does the paper "{title}" propose?', f"Asking about **{title}**: press Send."

    def apply_backend(
        self, choice: str, url: str, name: str, key: str, session: Session | None
    ) -> tuple[str, str, Session]:
        """Switch this session's model. The key stays on the server; its field is emptied."""
        from assistant.llm import ChatModel

        session = session or Session()
        library = self.library(session)
        settings = library.settings
        key = key.strip() or os.environ.get("OPENAI_API_KEY", "")
        if choice == "openai":
            url = url.strip() or os.environ.get("OPENAI_BASE_URL", "")
            if not re.match(r"https?://\S+$", url):
                gr.Warning("give the endpoint URL, e.g. http://localhost:8000/v1")
                return "⚠ give the endpoint URL, e.g. `http://localhost:8000/v1`", "", session
            name = name.strip() or settings.openai_model
            session.endpoint = ChatModel("openai", name, url, key, settings.llm_timeout)
        previous, session.backend = session.backend, choice
        try:
            model, _ = library.model(session)
        except AssistantError as e:
            session.backend = previous
            return f"⚠ {e}", "", session
        key_note = " (API key set)" if choice == "openai" and key else ""
        return (
            f"This session's answers are written by: {model_label(model)}{key_note}.",
            "",
            session,
        )


def build_app(
    settings: Settings | None = None, searcher: Searcher | None = None, backend: str | None = None
) -> gr.Blocks:
    """The page, not yet launched: serve it with ``demo.launch(**launch_options())``.

    Args:
        settings: index and model settings; None reads the ``ASSISTANT_*`` variables.
        searcher: an opened index; None opens it (building it first if needed) in the background.
        backend: default model for new sessions: ``local``, ``openai`` or ``extractive``.
    """
    library = Library(settings or Settings.model_validate({}), searcher, backend)
    page = Page(library)
    with gr.Blocks(title="Research assistant", analytics_enabled=False) as demo:
        session = gr.State(None)
        gr.Markdown("## Research assistant\nAnswers from the paper collection, every claim cited.")
        with gr.Row(equal_height=True):
            status = gr.HTML(library.status(), elem_id="status")
            picker = gr.Dropdown(
                page.collections(), value=library.settings.collection, label="Collection",
                scale=0, min_width=200, elem_id="collection",
            )  # fmt: skip
        timer = gr.Timer(1.0, active=not library.ready)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=500, elem_id="chat", buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask about the papers…", show_label=False, scale=5,
                        elem_id="question", autofocus=True,
                    )  # fmt: skip
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                with gr.Row():
                    act = gr.Radio(list(ACTIONS), value="Answer", label="Action", scale=3)
                    new_chat = gr.Button("New chat", size="sm", scale=1)
                notice = gr.Markdown(elem_id="notice")
                with gr.Row():
                    md_file = gr.DownloadButton(
                        "Answer (Markdown)", interactive=False, size="sm", elem_id="download-md"
                    )
                    tex_file = gr.DownloadButton(
                        "Answer (LaTeX)", interactive=False, size="sm", elem_id="download-tex"
                    )
                    bib_file = gr.DownloadButton(
                        "Cited papers (BibTeX)",
                        interactive=False,
                        size="sm",
                        elem_id="download-bib",
                    )
                    ris_file = gr.DownloadButton(
                        "(RIS)", interactive=False, size="sm", elem_id="download-ris"
                    )
                    csl_file = gr.DownloadButton(
                        "(CSL-JSON)", interactive=False, size="sm", elem_id="download-csl"
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Accordion("Filters: answers, search, the paper browser and the chart"), gr.Row():
            author = gr.Textbox(label="Author contains", elem_id="filter-author")
            year_from = gr.Textbox(label="Year from", placeholder="any", elem_id="filter-year-from")
            year_to = gr.Textbox(label="Year to", placeholder="any", elem_id="filter-year-to")
            category = gr.Dropdown(
                [""], value="", label="Category", allow_custom_value=True, elem_id="filter-category"
            )
            has_code = gr.Checkbox(label="Has code", elem_id="filter-code")
            venue = gr.Textbox(label="Venue contains", elem_id="filter-venue")
        filters: list[Any] = [author, year_from, year_to, category, has_code, venue]
        with gr.Tabs():
            with gr.Tab("Papers"):
                with gr.Row():
                    browse = gr.Textbox(
                        placeholder="Search papers (empty: all)", show_label=False, scale=5
                    )
                    find = gr.Button("Find papers", scale=1)
                gr.Markdown("Select a paper to ask about it.")
                table = gr.Dataframe(
                    interactive=False, wrap=True, max_height=420, elem_id="papers",
                    column_widths=["38%", "22%", "7%", "8%", "6%", "19%"],
                )  # fmt: skip
                with gr.Row():
                    export_format = gr.Radio(
                        EXPORT_LABELS, value="bibtex", label="Export the listed papers as",
                        scale=3,
                    )  # fmt: skip
                    export_button = gr.Button("Export", scale=1, elem_id="export")
                export_file = gr.File(
                    label="Listed papers", interactive=False, elem_id="export-file"
                )
            with gr.Tab("Add papers"):
                gr.Markdown(
                    "Add a reading list exported from Zotero, Mendeley, EndNote or a `.bib` "
                    f"file. Formats read: {', '.join(FORMATS_READ)}. Entries without an "
                    "abstract are listed, never cited for content."
                )
                uploads = gr.File(file_count="multiple", label="Reference files", elem_id="upload")
                new_collection = gr.Textbox(
                    label="Into a new collection (optional)",
                    placeholder="empty: the collection picked above",
                    elem_id="new-collection",
                )
                add_button = gr.Button("Add papers", variant="primary", elem_id="add-papers")
                added = gr.Markdown(elem_id="added")
            with gr.Tab("Map"):
                gr.Markdown(
                    "Papers placed by their embeddings (PCA), coloured by theme; hover for the title."
                )
                plot = gr.ScatterPlot(
                    x="x", y="y", color="theme", tooltip=["title", "theme", "year"], height=480,
                    x_title="component 1", y_title="component 2", elem_id="map",
                )  # fmt: skip
            with gr.Tab("Papers per year"):
                years = gr.BarPlot(x="year", y="papers", sort="x", height=320, elem_id="years")
            with gr.Tab("Settings"):
                gr.Markdown("Which language model writes your answers (this session only).")
                backend_choice = gr.Radio(BACKENDS, value=library.backend, label="Backend")
                url = gr.Textbox(
                    label="Endpoint URL", value=os.environ.get("OPENAI_BASE_URL", ""),
                    placeholder="http://host:8000/v1",
                )  # fmt: skip
                model_name = gr.Textbox(label="Model", value=library.settings.openai_model)
                api_key = gr.Textbox(
                    label="API key (kept on the server, never shown again)", type="password",
                    placeholder="empty: OPENAI_API_KEY",
                )  # fmt: skip
                apply = gr.Button("Use this backend")
                backend_note = gr.Markdown()

        downloads = [md_file, tex_file, bib_file, ris_file, csl_file]
        gr.on(
            [question.submit, send.click], page.respond, [question, act, *filters, session],
            [chat, sources, notice, question, *downloads, plot, session],
            api_name="respond", concurrency_limit=ANSWER_CONCURRENCY, concurrency_id="answers",
        )  # fmt: skip
        chat.select(page.show_turn, [session], [chat, sources, plot, session], **LIGHT)
        new_chat.click(
            page.new_chat,
            [session],
            [chat, sources, notice, *downloads, plot, session],
            **LIGHT,
        )
        gr.on(
            [c.change for c in filters] + [browse.submit, find.click], page.views,
            [*filters, browse, session], [table, years], trigger_mode="always_last", **LIGHT,
        )  # fmt: skip
        export_button.click(
            page.export_listed, [export_format, *filters, browse, session], [export_file], **LIGHT
        )
        picker.input(
            page.switch, [picker, session],
            [chat, sources, notice, *downloads, status, timer, session], **LIGHT,
        )  # fmt: skip
        add_button.click(
            page.add_papers, [uploads, new_collection, session],
            [added, picker, status, timer, session], concurrency_limit=1, concurrency_id="adding",
        )  # fmt: skip
        table.select(page.pick, [table], [question, notice], **LIGHT)
        apply.click(
            page.apply_backend, [backend_choice, url, model_name, api_key, session],
            [backend_note, api_key, session], **LIGHT,
        )  # fmt: skip
        status_outputs = [status, timer, category, table, years, plot]
        timer.tick(page.status, [session, *filters, browse], status_outputs, **LIGHT)
        demo.load(page.status, [session, *filters, browse], status_outputs, **LIGHT)
    demo.queue(default_concurrency_limit=ANSWER_CONCURRENCY, max_size=QUEUE_SIZE)
    demo.library = library  # type: ignore[attr-defined]  # for tests and tools
    return demo


def launch_options(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Arguments for ``demo.launch``: no share link, no server-side rendering, local assets."""
    # System fonts: the default theme would fetch Google Fonts, and the page must work offline.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return {
        "server_name": host,
        "server_port": port,
        "auth": auth,
        "share": False,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "theme": theme,
        "css": CSS,
        "js": JS,
    }


# --- serving -------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` as a pair; None when unset; AssistantError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise AssistantError("ASSISTANT_UI_AUTH must be user:password, both non-empty")
    return user, password


def check_address(host: str, port: int, auth: tuple[str, str] | None) -> None:
    """Refuse to expose the page beyond this machine without credentials."""
    if not 0 < port < 65536:
        raise AssistantError(f"port {port} is out of range (1-65535)")
    if auth is None and not is_loopback(host):
        raise AssistantError(
            f"refusing to serve on {host} without credentials: set ASSISTANT_UI_AUTH=user:password "
            "or serve on 127.0.0.1"
        )


def serve(
    settings: Settings | None = None, host: str | None = None, port: int | None = None
) -> int:
    """Serve the page until interrupted; address from the arguments or ASSISTANT_UI_* variables."""
    host = host or os.environ.get("ASSISTANT_UI_HOST") or DEFAULT_HOST
    try:
        port = int(port or os.environ.get("ASSISTANT_UI_PORT") or DEFAULT_PORT)
    except ValueError:
        raise AssistantError("ASSISTANT_UI_PORT must be a number") from None
    auth = parse_auth(os.environ.get("ASSISTANT_UI_AUTH"))
    check_address(host, port, auth)
    demo = build_app(settings)
    # A plain `kill` exits through atexit too, which stops the local model's server process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        demo.launch(**launch_options(host, port, auth))
    except OSError as e:
        raise AssistantError(f"cannot serve on {host}:{port} ({e})") from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python ui.py [--host H] [--port P]``; returns the exit code."""
    parser = argparse.ArgumentParser(description="Serve the research assistant's web page.")
    parser.add_argument("--host", help=f"address (ASSISTANT_UI_HOST, default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, help=f"port (ASSISTANT_UI_PORT, default {DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    try:
        return serve(None, args.host, args.port)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
