"""What every visitor shares (an opened collection, the local models) and what one has.

A :class:`Library` is one collection's index, opened (and built on first start) in a
background thread, with its paper map; :class:`LocalModels` are the llama.cpp servers all
libraries share. A :class:`Session` is one visitor's: their conversation
(:class:`~assistant.chat.ChatSession` turns), the turn shown, their model and collection.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answer import Answer, Answerer
from assistant.chat import Turn
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.llm import ChatModel, LLMMode, choose_model

if TYPE_CHECKING:
    import pandas as pd

    from assistant.imports import AddReport
    from assistant.retrieval import Searcher

log = logging.getLogger(__name__)


@dataclass
class Session:
    """One browser session: its chat and its model choice (never shared)."""

    turns: list[Turn] = field(default_factory=list)  # the ChatSession's turns
    answers: dict[int, Answer] = field(default_factory=dict)  # each finished turn's, as shown
    shown: int = -1  # the turn whose sources are shown
    backend: str | None = None  # None: the page's default
    endpoint: ChatModel | None = None  # this visitor's OpenAI-compatible model
    collection: str | None = None  # None: the collection the page was started with

    def forget(self) -> None:
        """A new chat (the model and collection stay)."""
        self.turns, self.answers, self.shown = [], {}, -1

    @property
    def answer(self) -> Answer | None:
        """The shown turn's reply, as the Answer its sources and downloads are made of."""
        return self.answers.get(self.shown % len(self.turns)) if self.turns else None


class LocalModels:
    """The local llama.cpp servers: one set for every session and every collection."""

    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"llm_backend": "local"})
        self._lock = threading.Lock()
        self._model: ChatModel | None = None
        self._mode: LLMMode = "write"

    def get(self) -> tuple[ChatModel | None, LLMMode]:
        with self._lock:
            if self._model is None:
                self._model, self._mode = choose_model(self.settings)
                threading.Thread(target=_warm_up, args=(self._model,), daemon=True).start()
        return self._model, self._mode


def _warm_up(model: ChatModel) -> None:
    """Start the local models' servers (seconds each) before the first question needs them."""
    for task in ("read", "judge", "write"):
        server = model.for_task(task).server  # type: ignore[arg-type]
        if server is not None:
            with contextlib.suppress(AssistantError):  # the first answer reports it
                server.ensure()


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
        except Exception as e:  # a bug: the page reports it (and the log has it) instead of dying
            log.exception("opening the index failed")
            self.phase, self.error = "failed", f"opening the index failed ({type(e).__name__})"
        finally:
            self._adding.release()
        if self.searcher is not None and self.backend == "local":
            # Start the local model now, not in the first answer (which reports a failure),
            # and have it read its fixed prompts before the first question does.
            with contextlib.suppress(AssistantError):
                Answerer(self.searcher, *self.model(Session())).warm_up()

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
                "passages and sentences embedded. Answers can be asked once it is done.</div>"
            )
        return '<div class="status"><progress></progress> Reading the collection…</div>'

    def model(self, session: Session) -> tuple[ChatModel | None, LLMMode]:
        """The session's model and how far it is trusted (``phrase`` or ``write``)."""
        choice = session.backend or self.backend
        if choice == "extractive":
            return None, "phrase"
        if choice == "openai":
            if session.endpoint is None:  # from OPENAI_BASE_URL / OPENAI_API_KEY
                settings = self.settings.model_copy(update={"llm_backend": "openai"})
                session.endpoint, _ = choose_model(settings)
            return session.endpoint, self.settings.llm_mode or "write"
        return self.local.get()

    def collection_map(self) -> pd.DataFrame:
        """The papers in 2-D with their themes (computed once)."""
        from assistant.web.render import paper_map

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


def with_collection(settings: Settings, name: str) -> Settings:
    """The same settings for collection ``name`` (its own folder and index)."""
    return (
        settings
        if name == settings.collection
        else settings.model_copy(update={"collection": name})
    )
