"""Opening the index at start (small real indexes): build when missing, update when the seeds or
settings changed, rebuild when damaged, silent when healthy; each case says which happened."""

from __future__ import annotations

import shutil

import pytest
from conftest import NEW_PAPERS, SMALL_SEED_PAPERS, new_papers_listing

from assistant.errors import SeedError
from assistant.index import MISSING, TITLES_DIR
from assistant.startup import open_searcher

QUERY = "the Kimi paper on residual connections"


def top_title(searcher, query: str = QUERY) -> str:
    return searcher.search(query, k=1)[0].paper.title


def test_a_first_start_builds_the_index_and_says_so(make_index):
    idx = make_index()
    store = idx.store()
    assert store.problem() == MISSING
    messages: list[str] = []
    progress: list[tuple[int, int]] = []
    searcher, report = open_searcher(
        store, progress=lambda done, total: progress.append((done, total)), notify=messages.append
    )
    assert messages == [f"no index in {store.root} yet: building it from {idx.seeds}"]
    assert report is not None and report.papers == report.added == SMALL_SEED_PAPERS
    # Chunks, then each paper's sentences and title (the stored sentence vectors).
    total = progress[-1][1]
    assert progress[0] == (0, total) and progress[-1] == (total, total) and total > report.chunks
    assert top_title(searcher) == "Attention Residuals"
    assert len(searcher.papers) == SMALL_SEED_PAPERS


def test_a_healthy_index_opens_without_a_word_or_an_ingest(make_index):
    idx = make_index()
    idx.store().ingest()
    messages: list[str] = []
    progress: list[tuple[int, int]] = []
    searcher, report = open_searcher(
        idx.store(), progress=lambda *a: progress.append(a), notify=messages.append
    )
    assert messages == [] and report is None and progress == []
    assert top_title(searcher) == "Attention Residuals"


def test_missing_seeds_with_no_index_is_the_seed_error_alone(make_index):
    idx = make_index()
    shutil.rmtree(idx.seeds)
    messages: list[str] = []
    with pytest.raises(SeedError, match=r"^seeds folder .* not found; add papers with"):
        open_searcher(idx.store(), notify=messages.append)
    assert messages == []  # no "building it from" a folder that is not there


def test_changed_seeds_update_the_index_with_only_the_new_papers(make_index):
    idx = make_index()
    idx.store().ingest()
    idx.write("005_new.txt", new_papers_listing())
    messages: list[str] = []
    searcher, report = open_searcher(idx.store(), notify=messages.append)
    assert messages == [f"{idx.seeds} or the index settings changed: updating the index"]
    assert report is not None and not report.reused
    assert (report.added, report.removed) == (len(NEW_PAPERS), 0)
    assert report.papers == SMALL_SEED_PAPERS + len(NEW_PAPERS)
    assert top_title(searcher, "forecasting when a sourdough starter peaks") == NEW_PAPERS[1][0]
    assert top_title(searcher) == "Attention Residuals"


def test_changed_index_settings_rebuild_the_chunks(make_index):
    idx = make_index()
    first = idx.store().ingest()
    messages: list[str] = []
    searcher, report = open_searcher(idx.store(chunk_tokens=64), notify=messages.append)
    assert messages == [f"{idx.seeds} or the index settings changed: updating the index"]
    assert report is not None and report.added == SMALL_SEED_PAPERS
    assert report.chunks > first.chunks  # smaller windows, more chunks
    assert top_title(searcher) == "Attention Residuals"


def test_damage_only_loading_finds_is_rebuilt_with_one_message_line(make_index):
    idx = make_index()
    idx.store().ingest()
    store = idx.store()
    titles = store.root / "builds" / store.read_manifest().build / TITLES_DIR
    for f in titles.iterdir():
        if f.is_file():
            f.write_bytes(b"\x00garbage")
    assert store.problem() is None  # the checks at start do not open the title index

    messages: list[str] = []
    searcher, report = open_searcher(idx.store(), notify=messages.append)
    (message,) = messages
    assert message.startswith(f"the index in {store.root} is damaged (the keyword index in ")
    assert message.endswith(f"): rebuilding it from {idx.seeds}") and "\n" not in message
    assert ";" not in message  # the advice to run ingest --rebuild is not repeated
    assert report is not None and report.papers == SMALL_SEED_PAPERS and not report.reused
    assert top_title(searcher) == "Attention Residuals"
    messages.clear()
    _, again = open_searcher(idx.store(), notify=messages.append)
    assert messages == [] and again is None
