"""Faults in storage: an ingest killed with SIGKILL, damaged or deleted storage found at start,
and a Chroma server that goes away while the app runs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    NEW_PAPERS,
    REPO,
    SMALL_SEED_PAPERS,
    new_papers_listing,
    run_assistant,
)

from assistant.errors import StorageError
from assistant.index import MISSING, Store
from assistant.retrieval import Searcher
from assistant.startup import open_searcher

QUERY = "the Kimi paper on residual connections"

# A real ingest in its own process that pauses after its first batch reached Chroma, so the
# test can kill it there: in the middle of writing, holding the lock, manifest not yet switched.
KILLABLE_INGEST = """
import sys, time
from assistant.config import Settings
from assistant.index import Store
settings = Settings(seeds_dir=sys.argv[1], storage_dir=sys.argv[2], embed_batch_size=1)
def progress(done, total):
    if done:
        print("embedded", done, "of", total, flush=True)
        time.sleep(600)
Store(settings).ingest(rebuild=sys.argv[3] == "rebuild", progress=progress)
"""


def kill_mid_ingest(index: Any, how: str) -> str:
    """Start an ingest, SIGKILL it after its first batch; returns what it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_INGEST, str(index.seeds), str(index.storage), how],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return line


def titles(store: Store, query: str = QUERY) -> list[str]:
    return [h.paper.title for h in Searcher(store).search(query, k=3)]


@pytest.mark.parametrize("how", ["rebuild", "add"])
def test_ingest_killed_with_sigkill_keeps_the_index_and_the_next_one_completes(make_index, how):
    idx = make_index()
    idx.store().ingest()
    manifest = idx.store().manifest_path.read_bytes()
    before = titles(idx.store())
    if how == "add":
        idx.write("005_new.txt", new_papers_listing())

    printed = kill_mid_ingest(idx, how)
    # Killed after its first batch of chunks reached Chroma (4 of the 10 papers' chunks, or
    # the 2 new ones), their sentences still to embed, before the manifest switched.
    done, total = map(int, printed.removeprefix("embedded ").split(" of "))
    assert done == (4 if how == "rebuild" else 2) and total > (10 if how == "rebuild" else 2)

    # The previous index serves searches as before, and nothing looks damaged.
    store = idx.store()
    assert store.manifest_path.read_bytes() == manifest
    assert titles(store) == before
    assert store.problem() is None
    # The kernel released the dead process's lock: the next ingest runs and completes.
    report = idx.store().ingest(rebuild=how == "rebuild")
    assert not report.reused
    expected = SMALL_SEED_PAPERS + (len(NEW_PAPERS) if how == "add" else 0)
    assert report.papers == expected and report.chunks == expected
    assert titles(idx.store()) == before
    if how == "add":
        found = titles(idx.store(), "forecasting when a sourdough starter peaks")
        assert found[0] == NEW_PAPERS[1][0]
    # Only the live collection is left in Chroma.
    names = {c if isinstance(c, str) else c.name for c in idx.store().client.list_collections()}
    assert names == {report.collection}


def _damage_catalog(store: Store) -> None:
    (store.root / "builds" / store.read_manifest().build / "catalog.json").write_text("{trunc")


def _damage_keyword_index(store: Store) -> None:
    for f in (store.root / "builds" / store.read_manifest().build / "bm25").iterdir():
        if f.is_file():
            f.write_bytes(b"\x00garbage")


def _damage_chroma(store: Store) -> None:
    (store.root / "chroma" / "chroma.sqlite3").write_bytes(b"not a database" * 100)


def _damage_manifest(store: Store) -> None:
    store.manifest_path.write_text("{not json")


DAMAGE = {
    "catalog": (_damage_catalog, "paper catalog"),
    "keyword index": (_damage_keyword_index, "keyword index"),
    "chroma files": (_damage_chroma, "Chroma files"),
    "manifest": (_damage_manifest, "manifest"),
}


@pytest.mark.parametrize("part", list(DAMAGE))
def test_damaged_storage_is_found_at_start_and_rebuilt_with_a_message(make_index, part):
    idx = make_index()
    idx.store().ingest()
    before = titles(idx.store())
    damage, named = DAMAGE[part]
    damage(idx.store())

    messages: list[str] = []
    searcher, report = open_searcher(idx.store(), notify=messages.append)
    assert len(messages) == 1 and "damaged" in messages[0] and named in messages[0]
    assert "rebuilding it from" in messages[0] and "\n" not in messages[0]
    assert report is not None and report.papers == SMALL_SEED_PAPERS
    assert [h.paper.title for h in searcher.search(QUERY, k=3)] == before
    assert idx.store().problem() is None


def test_deleted_storage_is_built_again_at_start(make_index):
    idx = make_index()
    idx.store().ingest()
    before = titles(idx.store())
    shutil.rmtree(idx.storage)

    messages: list[str] = []
    assert idx.store().problem() == MISSING
    searcher, report = open_searcher(idx.store(), notify=messages.append)
    assert messages == [f"no index in {idx.storage} yet: building it from {idx.seeds}"]
    assert [h.paper.title for h in searcher.search(QUERY, k=3)] == before
    # A healthy index opens without a word.
    messages.clear()
    _, report = open_searcher(idx.store(), notify=messages.append)
    assert messages == [] and report is None


def test_cli_repairs_a_damaged_index_and_says_so(make_index):
    idx = make_index()
    idx.store().ingest()
    _damage_chroma(idx.store())
    code, out, err = run_assistant("search", QUERY, "--json", storage=idx.storage, seeds=idx.seeds)
    assert code == 0 and "Traceback" not in err
    assert "damaged (its Chroma files are damaged): rebuilding it from" in err
    assert json.loads(out)["results"][0]["title"] == "Attention Residuals"


def test_chroma_server_going_away_is_a_clear_error(make_index, chroma_server):
    idx = make_index(chroma_host="127.0.0.1", chroma_port=chroma_server.port)
    idx.store().ingest()
    searcher = Searcher(idx.store())
    assert searcher.search(QUERY, k=3)[0].paper.title == "Attention Residuals"

    chroma_server.stop()
    for mode in ("hybrid", "dense"):
        with pytest.raises(StorageError) as info:
            searcher.search(QUERY, k=3, mode=mode)
        message = str(info.value)
        assert f"Chroma server 127.0.0.1:{chroma_server.port} stopped answering" in message
        assert "chroma run" in message and "\n" not in message
    # Keyword search needs no server and keeps working.
    assert searcher.search(QUERY, k=3, mode="bm25")[0].paper.title == "Attention Residuals"
    # Starting the app against the stopped server says so, and rebuilds nothing.
    with pytest.raises(StorageError, match="unreachable"):
        open_searcher(idx.store())
    assert not Path(idx.storage, "chroma").exists()
