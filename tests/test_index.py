"""The index: ingest reports, reuse, incremental adds, rebuilds, bad seeds, crashes, locks,
damaged storage and a real Chroma server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    NEW_PAPERS,
    SMALL_SEED_PAPERS,
    free_port,
    glued_entry,
    new_papers_listing,
)

from assistant.errors import StorageError
from assistant.index import TITLES_DIR, Store
from assistant.retrieval import Searcher
from assistant.sentence_vectors import SentenceVectors, paper_texts

NEW_TITLES = {t for t, _, _ in NEW_PAPERS}

QUERIES = [
    "the Kimi paper on residual connections",
    "InternVL3 training recipes",
    "adversarial attacks on vision-language models",
]


class Recording:
    """Wraps the real model: counts texts embedded, optionally crashes after some calls."""

    def __init__(self, inner: Any, crash_after_calls: int | None = None):
        self.inner = inner
        self.crash_after_calls = crash_after_calls
        self.calls = 0
        self.texts: list[str] = []

    def __getattr__(self, name: str) -> Any:  # name, count_tokens, cache_dir, threads, ...
        return getattr(self.inner, name)

    def embed(self, texts: Any, *args: Any, **kwargs: Any) -> Any:
        if self.crash_after_calls is not None and self.calls >= self.crash_after_calls:
            raise RuntimeError("simulated crash in the middle of an ingest")
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts, *args, **kwargs)


@pytest.fixture(scope="module")
def model(models_dir: Path) -> Any:
    from assistant.embedding import MiniLM

    return MiniLM(models_dir, threads=2)


def no_model() -> Any:
    raise RuntimeError("the embedding model must not be loaded for a re-ingest with nothing new")


def collection_names(store: Store) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in store.client.list_collections()}


def top_ids(store: Store, queries: list[str] = QUERIES, k: int = 5) -> list[list[str]]:
    s = Searcher(store)
    return [[h.paper.id for h in s.search(q, k=k)] for q in queries]


def chunk_ids_by_paper(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in store.catalog().chunks:
        out.setdefault(c.paper_id, []).append(c.id)
    return out


# --- the default collection ------------------------------------------------------------------


def test_default_ingest_report(default_report, default_store):
    r = default_report
    assert (r.entries, r.papers, r.merged) == (330, 310, 20)
    assert r.chunks >= 310
    assert r.skipped == []
    assert not r.reused
    assert r.added == 310 and r.removed == 0
    manifest = default_store.read_manifest()
    assert manifest is not None and manifest.collection == r.collection
    assert default_store.collection(r.collection).count() == r.chunks
    catalog = default_store.catalog()
    assert len(catalog.papers) == 310 and len(catalog.chunks) == r.chunks


def test_second_ingest_is_reused(default_store, default_report):
    again = Store(default_store.settings).ingest()
    assert again.reused
    assert again.added == 0 and again.removed == 0
    assert again.collection == default_report.collection
    assert again.chunks == default_report.chunks


def test_second_ingest_does_not_load_the_model(default_store):
    report = Store(default_store.settings, embedder_factory=no_model).ingest()
    assert report.reused


# --- incremental adds --------------------------------------------------------------------------


def test_new_seed_file_adds_only_its_papers(make_index, model):
    idx = make_index()
    first = idx.store(embedder_factory=lambda: model).ingest()
    assert (first.papers, first.added, first.reused) == (
        SMALL_SEED_PAPERS,
        SMALL_SEED_PAPERS,
        False,
    )
    store = idx.store()
    before_ids = chunk_ids_by_paper(store)
    before_count = store.collection(first.collection).count()

    idx.write("005_new.txt", new_papers_listing())
    recorder = Recording(model)
    store = idx.store(embedder_factory=lambda: recorder)
    second = store.ingest()

    assert not second.reused
    assert second.added == len(NEW_PAPERS) and second.removed == 0
    assert second.papers == SMALL_SEED_PAPERS + len(NEW_PAPERS)
    assert second.collection == first.collection  # same collection, grown in place
    # Only the new papers' chunks, sentences and titles went through the model.
    new_texts = [paper_texts(p) for p in store.catalog().papers.values() if p.title in NEW_TITLES]
    assert len(recorder.texts) == second.chunks - first.chunks + sum(map(len, new_texts))
    assert all(any(t in text or text in a for t, _, a in NEW_PAPERS) for text in recorder.texts)
    # The build keeps every paper's sentence vectors: the old papers' came from the old build.
    vectors = SentenceVectors.load(store.catalog().build_dir)
    assert all(vectors.get(p) is not None for p in store.catalog().papers.values())
    collection = store.collection(second.collection)
    assert collection.count() == before_count + (second.chunks - first.chunks) == second.chunks
    after_ids = chunk_ids_by_paper(store)
    for pid, ids in before_ids.items():
        assert after_ids[pid] == ids
    got = collection.get(ids=[i for ids in before_ids.values() for i in ids], include=[])
    assert len(got["ids"]) == sum(map(len, before_ids.values()))

    hits = Searcher(store).search("robot that inspects beehives", k=3)
    assert hits[0].paper.title == NEW_PAPERS[0][0]

    # Removing the file again drops exactly its papers and their chunks.
    (idx.seeds / "005_new.txt").unlink()
    recorder = Recording(model)
    third = idx.store(embedder_factory=lambda: recorder).ingest()
    assert recorder.texts == []  # nothing is embedded for a removal
    assert (third.added, third.removed, third.papers) == (0, len(NEW_PAPERS), SMALL_SEED_PAPERS)
    assert third.chunks == first.chunks
    assert idx.store().collection(third.collection).count() == first.chunks
    assert chunk_ids_by_paper(idx.store()) == before_ids


# --- full rebuilds -----------------------------------------------------------------------------


def test_changing_chunk_tokens_rebuilds_into_a_new_collection(make_index):
    idx = make_index()
    first = idx.store().ingest()
    store = idx.store(chunk_tokens=96)
    second = store.ingest()
    assert not second.reused
    assert second.added == SMALL_SEED_PAPERS
    assert second.collection != first.collection
    assert second.chunks > first.chunks  # smaller windows, more chunks
    names = collection_names(store)
    assert second.collection in names
    assert first.collection not in names
    assert store.collection(second.collection).count() == second.chunks
    manifest = store.read_manifest()
    assert manifest is not None and manifest.chunk_tokens == 96
    # Only the active build is left on disk.
    assert [d.name for d in (store.root / "builds").iterdir()] == [manifest.build]
    hits = Searcher(store).search("Attention Residuals", k=3)
    assert hits[0].paper.title == "Attention Residuals"
    # Back to the old setting: not current any more either.
    assert not idx.store().ingest().reused


def test_rebuild_flag_rebuilds(make_index):
    idx = make_index()
    first = idx.store().ingest()
    before = top_ids(idx.store())
    second = idx.store().ingest(rebuild=True)
    assert not second.reused
    assert second.added == SMALL_SEED_PAPERS
    assert second.collection != first.collection
    assert first.collection not in collection_names(idx.store())
    assert top_ids(idx.store()) == before


def test_missing_chroma_collection_is_rebuilt(make_index):
    idx = make_index()
    first = idx.store().ingest()
    store = idx.store()
    store.client.delete_collection(first.collection)
    with pytest.raises(StorageError, match="assistant ingest --rebuild"):
        Searcher(idx.store())
    second = idx.store().ingest()
    assert not second.reused and second.added == SMALL_SEED_PAPERS
    assert idx.store().collection(second.collection).count() == second.chunks


# --- bad seeds ---------------------------------------------------------------------------------

GOOD_A = (
    "Lighthouse Keeping Schedules Optimised by Integer Programming",
    "Agnes Tidewater, Piet Lanternson",
    "Remote lighthouses still need maintenance visits. We model crew rotations, weather "
    "windows and boat availability as an integer program and cut travel by a third on a "
    "fleet of twelve lighthouses along a stormy coast.",
)
GOOD_B = (
    "Counting Penguins from Drone Imagery with Point Supervision",
    "Hugo Frostby, Lena Icefield et al.",
    "Colony censuses are slow and costly. We train a detector from single clicks per bird on "
    "drone photographs and count penguins within three percent of manual counts across "
    "seven Antarctic colonies.",
)


def test_bad_entries_and_files_are_skipped_with_file_and_line(make_index):
    bad_listing = (
        glued_entry(*GOOD_A)  # lines 1-3
        + "CVMar 4, 2023\nAn Entry Without Any AbstractJohn Smith, Jane Doe\n"  # lines 4-5
        + glued_entry(*GOOD_B)  # lines 6-8
    )
    latin1 = glued_entry(
        "Caf\u00e9 Recommendation with Graph Networks",
        "Ren\u00e9 Dupont, Marie Curieux",
        "We recommend caf\u00e9s to tourists with a graph network over visits and reviews, and "
        "beat popularity baselines on three cities.",
    ).encode("latin-1")
    idx = make_index(
        files={
            "010_bad_entry.txt": bad_listing,
            "011_empty.txt": "",
            "012_binary.txt": b"\x00\x01\x02 not a listing \x00",
            "013_latin1.txt": latin1,
        }
    )
    store = idx.store()
    report = store.ingest()

    where = {(p["file"], p["line"]) for p in report.skipped}
    assert where == {
        ("010_bad_entry.txt", 4),
        ("011_empty.txt", 0),
        ("012_binary.txt", 0),
        ("013_latin1.txt", 0),
    }
    reasons = {p["file"]: p["reason"] for p in report.skipped}
    assert "empty" in reasons["011_empty.txt"]
    assert "binary" in reasons["012_binary.txt"]
    assert "UTF-8" in reasons["013_latin1.txt"]
    # Everything else is indexed.
    assert report.papers == SMALL_SEED_PAPERS + 2
    titles = {p.title for p in store.catalog().papers.values()}
    assert {GOOD_A[0], GOOD_B[0]} <= titles
    assert "An Entry Without Any Abstract" not in titles
    hits = Searcher(store).search("penguin census from drone photos", k=3)
    assert hits[0].paper.title == GOOD_B[0]


# --- interrupted builds ------------------------------------------------------------------------


def test_interrupted_rebuild_keeps_the_previous_index(make_index, model):
    idx = make_index()
    idx.store().ingest()
    manifest_before = idx.store().manifest_path.read_bytes()
    before = top_ids(idx.store())

    crasher = Recording(model, crash_after_calls=1)
    store = idx.store(embedder_factory=lambda: crasher, embed_batch_size=1)  # 4 chunks a call
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.ingest(rebuild=True)
    assert crasher.calls == 1  # the first batch did reach the new collection

    assert idx.store().manifest_path.read_bytes() == manifest_before
    assert top_ids(idx.store()) == before
    assert not [p for p in (idx.store().root / "builds").iterdir() if p.name.startswith(".")]

    # The lock was released and a normal ingest goes through.
    again = idx.store().ingest()
    assert again.reused and again.papers == SMALL_SEED_PAPERS
    rebuilt = idx.store().ingest(rebuild=True)
    assert not rebuilt.reused and rebuilt.added == SMALL_SEED_PAPERS
    assert top_ids(idx.store()) == before


def test_interrupted_rebuild_leaves_no_collection_behind(make_index, model):
    idx = make_index()
    idx.store().ingest()
    crasher = Recording(model, crash_after_calls=1)
    with pytest.raises(RuntimeError, match="simulated crash"):
        idx.store(embedder_factory=lambda: crasher, embed_batch_size=1).ingest(rebuild=True)
    final = idx.store().ingest(rebuild=True)
    assert collection_names(idx.store()) == {final.collection}


def test_interrupted_incremental_add_keeps_the_previous_index(make_index, model):
    idx = make_index()
    first = idx.store().ingest()
    before = top_ids(idx.store())
    idx.write("005_new.txt", new_papers_listing())

    crasher = Recording(model, crash_after_calls=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        idx.store(embedder_factory=lambda: crasher).ingest()
    assert top_ids(idx.store()) == before
    assert idx.store().catalog().papers.keys() == chunk_ids_by_paper(idx.store()).keys()
    assert len(idx.store().catalog().papers) == first.papers

    after = idx.store().ingest()
    assert not after.reused and after.added == len(NEW_PAPERS)
    hits = Searcher(idx.store()).search("forecasting when a sourdough starter peaks", k=3)
    assert hits[0].paper.title == NEW_PAPERS[1][0]


# --- the lock ----------------------------------------------------------------------------------


def test_second_ingest_is_refused_while_one_holds_the_lock(make_index):
    idx = make_index()
    holder, other = idx.store(), idx.store()
    with holder.lock():
        with pytest.raises(StorageError, match="another ingest is running") as info:
            other.ingest()
        assert f"pid {__import__('os').getpid()}" in str(info.value)
        assert "\n" not in str(info.value)
    report = other.ingest()
    assert report.papers == SMALL_SEED_PAPERS


# --- damaged storage ---------------------------------------------------------------------------


def test_missing_catalog_is_reported_and_rebuild_repairs_it(make_index):
    idx = make_index()
    idx.store().ingest()
    before = top_ids(idx.store())
    manifest = idx.store().read_manifest()
    assert manifest is not None
    (idx.store().root / "builds" / manifest.build / "catalog.json").unlink()

    with pytest.raises(StorageError, match="`assistant ingest") as info:
        idx.store().catalog()
    assert "\n" not in str(info.value)
    with pytest.raises(StorageError, match="`assistant ingest"):
        Searcher(idx.store())

    report = idx.store().ingest(rebuild=True)
    assert not report.reused and report.papers == SMALL_SEED_PAPERS
    assert top_ids(idx.store()) == before


def test_missing_catalog_is_repaired_by_a_plain_ingest(make_index):
    idx = make_index()
    idx.store().ingest()
    manifest = idx.store().read_manifest()
    assert manifest is not None
    (idx.store().root / "builds" / manifest.build / "catalog.json").unlink()
    report = idx.store().ingest()
    assert not report.reused and report.papers == SMALL_SEED_PAPERS
    assert len(idx.store().catalog().papers) == SMALL_SEED_PAPERS


def test_a_build_without_the_title_index_is_completed_without_embedding(make_index, model):
    """Indexes built before the title field existed gain it at the next ingest, cheaply."""
    idx = make_index()
    first = idx.store(embedder_factory=lambda: model).ingest()
    manifest = idx.store().read_manifest()
    assert manifest is not None
    shutil.rmtree(idx.store().root / "builds" / manifest.build / TITLES_DIR)

    recorder = Recording(model)
    second = idx.store(embedder_factory=lambda: recorder).ingest()
    assert not second.reused and second.added == 0
    assert second.collection == first.collection
    assert recorder.texts == []
    assert idx.store(embedder_factory=no_model).ingest().reused
    title = next(iter(idx.store().catalog().papers.values())).title
    assert Searcher(idx.store()).search(title, k=1)[0].paper.title == title


@pytest.mark.parametrize("garbage", ["{not json", json.dumps({"version": 999})])
def test_corrupt_manifest_is_reported_and_ingest_repairs_it(make_index, garbage):
    idx = make_index()
    idx.store().ingest()
    before = top_ids(idx.store())
    idx.store().manifest_path.write_text(garbage, encoding="utf-8")

    with pytest.raises(StorageError, match="`assistant ingest`") as info:
        idx.store().catalog()
    assert "\n" not in str(info.value)

    report = idx.store().ingest()
    assert not report.reused and report.papers == SMALL_SEED_PAPERS
    assert len(idx.store().catalog().papers) == SMALL_SEED_PAPERS
    assert top_ids(idx.store()) == before


# --- a Chroma server ---------------------------------------------------------------------------


def test_ingest_and_search_through_a_chroma_server(make_index, chroma_server):
    idx = make_index(chroma_host="127.0.0.1", chroma_port=chroma_server.port)
    store = idx.store()
    report = store.ingest()
    assert report.papers == SMALL_SEED_PAPERS and not report.reused
    # The server keeps the vectors; nothing is written to an embedded index.
    assert not (idx.storage / "chroma").exists()
    assert store.root == idx.storage / f"server-127.0.0.1-{chroma_server.port}"
    assert report.collection in collection_names(store)
    assert store.collection(report.collection).count() == report.chunks

    searcher = Searcher(idx.store())
    hits = searcher.search("the Kimi paper on residual connections", k=3)
    assert hits and hits[0].paper.title == "Attention Residuals"
    for mode in ("dense", "bm25"):
        hits = searcher.search("adversarial attacks on vision-language models", k=3, mode=mode)
        assert hits[0].paper.title.startswith("VLATTACK")
    assert idx.store().ingest().reused


def test_unreachable_chroma_server_is_one_line_storage_error(make_index):
    idx = make_index(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StorageError, match="unreachable") as info:
        idx.store().client  # noqa: B018
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(StorageError, match="unreachable"):
        idx.store().ingest()
