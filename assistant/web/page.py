"""The page's layout and its event handlers.

:func:`build_app` lays the page out and wires each event to a :class:`Page` handler. A handler
gets the visitor's :class:`~assistant.web.library.Session` (kept in ``gr.State``) and returns
the page's updates; what a message asks goes through the conversation core
(:class:`~assistant.chat.ChatSession`), so the page and ``assistant chat`` answer, draft and
follow up alike.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd

from assistant.answer import Answer, Answerer
from assistant.chat import ACTIONS, ActionFn, ChatSession, as_answer, rewriter
from assistant.config import Settings
from assistant.corpus import FORMATS_READ
from assistant.errors import AssistantError, QuestionError
from assistant.retrieval import Filters
from assistant.web.library import Library, Session, with_collection
from assistant.web.render import (
    EXPORT_LABELS,
    EXPORT_SUFFIX,
    chat_messages,
    export_files,
    marked_map,
    model_label,
    papers_per_year,
    papers_table,
    sources_html,
    written_by,
)

if TYPE_CHECKING:
    from assistant.papers import Paper
    from assistant.retrieval import Searcher

log = logging.getLogger(__name__)

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
# What Page.respond updates, in order (gr.skip() leaves a component as it is).
RESPOND_OUTPUTS = (
    "chat", "sources", "notice", "question", "md", "tex", "bib", "ris", "csl", "map", "session"
)  # fmt: skip


def _updates(**changes: Any) -> tuple[Any, ...]:
    """Page.respond's updates: the components named, the others skipped."""
    return tuple(changes.get(name, gr.skip()) for name in RESPOND_OUTPUTS)


# --- filters and the paper browser -----------------------------------------------------------
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


# --- the handlers ------------------------------------------------------------------------------
class Page:
    """The event handlers; each gets the session's state and returns the page's updates.

    Each collection has its :class:`Library`, opened when a session first picks it; a
    session works in one collection at a time (``Session.collection``).
    """

    def __init__(self, library: Library, actions: Mapping[str, ActionFn] | None = None):
        self.first = library
        self.actions = ACTIONS if actions is None else actions
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
        """Run the chosen action through the session's conversation: stream its text, then
        show sources, downloads and the map (the updates of :data:`RESPOND_OUTPUTS`)."""
        session = session or Session()
        library = self.library(session)
        try:
            if library.searcher is None:
                status = re.sub(r"<[^>]+>", "", library.status()).strip()
                raise AssistantError(f"the index is not ready yet: {status}")
            filters = make_filters(author, year_from, year_to, category, has_code, venue)
            model, mode = library.model(session)
            # A view of the session's turns, with today's model, index and filters.
            answerer = Answerer(library.searcher, model, mode)  # per message: not thread-safe
            chat = ChatSession(answerer, filters, session.turns, self.actions)
            pieces = chat.send(text, action_name)
        except AssistantError as e:
            gr.Warning(str(e))
            yield _updates(notice=f"⚠ {e}", session=session)
            return
        session.shown = len(session.turns) - 1
        turn = session.turns[-1]
        off = gr.DownloadButton(value=None, interactive=False)
        downloads = dict.fromkeys(("md", "tex", "bib", "ris", "csl"), off)
        yield _updates(
            chat=chat_messages(session),
            sources=sources_html(None),
            notice="Working…",
            question="",
            **downloads,
            session=session,
        )
        try:
            for piece in pieces:
                if isinstance(piece, Answer) and piece.partial:  # the sources, before the text
                    sources = sources_html(piece)
                    yield _updates(chat=chat_messages(session), sources=sources, notice="Writing…")
                elif isinstance(piece, str):
                    yield _updates(chat=chat_messages(session), notice="Writing…")
        except Exception as e:  # an error is a message in the page; the page keeps running
            if not isinstance(e, AssistantError):
                log.exception("action %s failed", action_name)
            message = (
                str(e) if isinstance(e, AssistantError) else f"internal error ({type(e).__name__})"
            )
            turn.text = f"⚠ {message}"
            gr.Warning(message)
            yield _updates(chat=chat_messages(session), notice=turn.text, session=session)
            return
        assert turn.reply is not None
        answer = as_answer(turn.reply, turn.message, rewriter(answerer))
        session.answers[session.shown] = answer
        note = written_by(answer, model)
        if answer.question != turn.message and action_name == "Answer":
            note = f"Read as: *{answer.question}*\n\n{note}"
        files = (None,) * 5 if answer.refused else export_files(answer, library.folder)
        yield _updates(
            chat=chat_messages(session),
            sources=sources_html(answer),
            notice=note,
            **{
                name: gr.DownloadButton(value=f, interactive=f is not None)
                for name, f in zip(("md", "tex", "bib", "ris", "csl"), files, strict=True)
            },
            map=self._map(library, answer),
            session=session,
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
        session.forget()
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
            session.collection = name
            session.forget()
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
            session.collection = new_name
            session.forget()
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
        from pydantic import SecretStr

        from assistant.llm import choose_model

        session = session or Session()
        library = self.library(session)
        settings = library.settings
        key = key.strip() or settings.openai_api_key.get_secret_value()
        if choice == "openai":
            url = url.strip() or settings.openai_base_url or ""
            if not re.match(r"https?://\S+$", url):
                gr.Warning("give the endpoint URL, e.g. http://localhost:8000/v1")
                return "⚠ give the endpoint URL, e.g. `http://localhost:8000/v1`", "", session
            endpoint = settings.model_copy(
                update={
                    "llm_backend": "openai",
                    "openai_base_url": url,
                    "openai_model": name.strip() or settings.openai_model,
                    "openai_api_key": SecretStr(key),
                }
            )
            session.endpoint, _ = choose_model(endpoint)
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


# --- the layout ------------------------------------------------------------------------------
def build_app(
    settings: Settings | None = None,
    searcher: Searcher | None = None,
    backend: str | None = None,
    actions: Mapping[str, ActionFn] | None = None,
) -> gr.Blocks:
    """The page, not yet launched: serve it with ``demo.launch(**launch_options())``.

    Args:
        settings: index and model settings; None reads the ``ASSISTANT_*`` variables.
        searcher: an opened index; None opens it (building it first if needed) in the background.
        backend: default model for new sessions: ``local``, ``openai`` or ``extractive``.
        actions: the research actions offered; None: every registered one
            (:data:`assistant.chat.ACTIONS`).
    """
    library = Library(settings or Settings.model_validate({}), searcher, backend)
    page = Page(library, actions)
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
                    act = gr.Radio(list(page.actions), value="Answer", label="Action", scale=3)
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
                    label="Endpoint URL", value=library.settings.openai_base_url or "",
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
