"""Opening the index at start: build it when missing, update it when the seeds changed, and
rebuild it from the seeds when it is damaged, saying which of these happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.embedding import MODEL_NAME
from assistant.errors import StorageError
from assistant.index import MISSING, IngestReport, Progress, Store
from assistant.retrieval import Searcher

Notify = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def open_searcher(
    store: Store, progress: Progress | None = None, notify: Notify = _quiet
) -> tuple[Searcher, IngestReport | None]:
    """A searcher over a usable index, and the ingest report when one had to run.

    A damaged index (unreadable manifest, catalog or keyword index, Chroma files that cannot
    be opened or searched) is rebuilt from the seeds; nothing else is lost, since storage
    holds only what the seeds produce. A Chroma server that is down raises StorageError.
    """
    seeds = store.settings.collection_dir
    problem = store.problem()
    report = None
    if problem == MISSING:
        if Path(seeds).is_dir():  # else ingest says the seeds are missing, and only that
            notify(f"no index in {store.root} yet: building it from {seeds}")
        report = store.ingest(progress=progress)
    elif problem:
        notify(f"the index in {store.root} is damaged ({problem}): rebuilding it from {seeds}")
        report = store.ingest(rebuild=True, progress=progress)
    elif not store.is_current(store.read_manifest(), MODEL_NAME):
        notify(f"{seeds} or the index settings changed: updating the index")
        report = store.ingest(progress=progress)
    try:
        return Searcher(store), report
    except StorageError as e:  # damage the checks above cannot see without loading it all
        what = str(e).split(";")[0]
        notify(f"the index in {store.root} is damaged ({what}): rebuilding it from {seeds}")
        report = store.ingest(rebuild=True, progress=progress)
        return Searcher(store), report
