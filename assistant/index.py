"""The index: chunks embedded in Chroma (embedded or server), a catalog of papers, BM25, a manifest.

Storage layout (``storage_dir``)::

    manifest.json        what built the active index (commit point: written last, atomically)
    builds/<build>/      catalog.json (papers + chunks), bm25/ (chunks), titles/ (BM25 of titles),
                         sentences.npy/.json (each paper's sentence vectors: sentence_vectors.py)
    chroma/              Chroma's PersistentClient files (embedded mode only)
    models/              the embedding model converted to ONNX
    ingest.lock          held by a running ingest
    collections/NAME/    the same layout for each named collection (its models/ unused)

An ingest writes chunks to Chroma, then a new build folder, then the manifest. Killed at any
point before the manifest is replaced, the previous manifest still names a complete build, and
chunks of papers that build does not know are ignored by search.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chunking import CHUNK_FORMAT, chunk_papers
from assistant.config import DEFAULT_COLLECTION, Settings
from assistant.corpus import READER_VERSION, Collection, collection_files, load_collection
from assistant.errors import StorageError
from assistant.papers import Chunk, Paper, Source
from assistant.sentence_vectors import SentenceVectors, embed_papers, paper_texts
from assistant.text import stemmer

if TYPE_CHECKING:
    import numpy as np

MANIFEST_VERSION = 1
MISSING = "there is no index yet"
# The build folder holding the BM25 index of paper titles.
TITLES_DIR = "titles"
Progress = Callable[[int, int], None]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def chroma_fault(exc: Exception, opening: bool = False) -> bool:
    """Whether chromadb raised ``exc`` for damaged files or a server that is down (not a bug).

    Measured with chromadb 1.5: damaged files raise ``InternalError`` ("file is not a
    database", "database disk image is malformed", "Error loading hnsw index") and a missing
    collection ``NotFoundError``, both ``ChromaError``; a stopped server ``httpx.ConnectError``
    (a ``TransportError``, as are resets and timeouts); an HTTP error status without Chroma's
    error body (a proxy's 502) a bare ``Exception``. Opening a client (``opening``) turns these
    into ``ValueError`` ("Could not connect to a Chroma server", "... to tenant"), and opening
    damaged files a second time in one process fails in chromadb's own clean-up with
    ``AttributeError`` ("'RustBindingsAPI' object has no attribute 'bindings'").
    """
    import httpx
    from chromadb.errors import ChromaError

    if opening and isinstance(exc, ValueError | AttributeError):
        return True
    # Exactly Exception: chromadb's HTTP client raises Exception(response text) itself.
    return isinstance(exc, ChromaError | httpx.TransportError) or type(exc) is Exception


def _forget_chroma(path: Path) -> None:
    """Drop chromadb's in-process cache entry for ``path`` (it keeps one open system per path,
    which would go on using files that were deleted or replaced)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def corpus_fingerprint(seeds_dir: Path) -> dict[str, str]:
    """Content hash of every collection file, by name, and the version of the code reading
    them: what decides whether the seeds changed (then changed papers are re-embedded)."""
    files = {p.name: _sha(p.read_bytes())[:16] for p in collection_files(seeds_dir)}
    return {**files, "/reader": str(READER_VERSION)}  # no file is named with a slash


def paper_fingerprint(paper: Paper) -> str:
    """Hash of everything about a paper that ends up in the index."""
    return _sha(json.dumps(paper_to_dict(paper), sort_keys=True).encode())[:16]


def paper_to_dict(paper: Paper) -> dict[str, Any]:
    d = asdict(paper)
    d["sources"] = [[s.file, s.line] for s in paper.sources]
    return d


def paper_from_dict(d: dict[str, Any]) -> Paper:
    d = dict(d)
    d["sources"] = [Source(f, n) for f, n in d["sources"]]
    return Paper(**d)


@dataclass
class Manifest:
    """What built the active index."""

    key: str
    build: str
    collection: str
    files: dict[str, str]
    papers: dict[str, str]
    chunks: int
    embedding: str
    chunk_tokens: int
    built_at: float = field(default_factory=time.time)
    version: int = MANIFEST_VERSION


@dataclass
class IngestReport:
    """What an ingest did; ``--json`` prints it."""

    entries: int
    papers: int
    merged: int
    chunks: int
    added: int
    removed: int
    reused: bool
    skipped: list[dict[str, Any]]
    seconds: float
    collection: str


@dataclass
class Catalog:
    """The papers and chunks of one build, as search sees them."""

    papers: dict[str, Paper]
    chunks: list[Chunk]
    build_dir: Path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Store:
    """The persistent index under ``settings.storage_dir``: open it, ingest into it, read it."""

    def __init__(self, settings: Settings, embedder_factory: Callable[[], Any] | None = None):
        self.settings = settings
        self.root = Path(settings.storage_dir)
        if settings.chroma_host:
            # A server keeps its own data; our manifest and catalog for it live apart from
            # the embedded index so that switching modes never mixes the two.
            self.root = self.root / f"server-{settings.chroma_host}-{settings.chroma_port}"
        # The embedding model's files serve every collection.
        self.models_dir = self.root / "models"
        if settings.collection != DEFAULT_COLLECTION:  # each collection its own index
            self.root = self.root / "collections" / settings.collection
        self._embedder_factory = embedder_factory
        self._embedder: Any = None
        self._client: Any = None
        self._catalog: Catalog | None = None  # of the build named in it; read once per build

    # --- collaborators -------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        """The embedding model, loaded on first use (a re-ingest with nothing new never loads it)."""
        if self._embedder is None:
            if self._embedder_factory is None:
                from assistant.embedding import MiniLM

                self._embedder = MiniLM(self.models_dir, threads=self.settings.embed_threads)
            else:
                self._embedder = self._embedder_factory()
        return self._embedder

    @property
    def client(self) -> Any:
        """A Chroma client: HTTP when a host is configured, else persistent under storage."""
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if self.settings.chroma_host:
                try:
                    self._client = chromadb.HttpClient(
                        host=self.settings.chroma_host,
                        port=self.settings.chroma_port,
                        settings=chroma_settings,
                    )
                    self._client.heartbeat()
                except Exception as e:  # chromadb raises a bare Exception too: see chroma_fault
                    if not chroma_fault(e, opening=True):
                        raise
                    raise StorageError(
                        f"Chroma server {self.settings.chroma_host}:{self.settings.chroma_port} "
                        f"is unreachable ({type(e).__name__}); start it with `chroma run` or "
                        "unset ASSISTANT_CHROMA_HOST to use the embedded index"
                    ) from None
            else:
                if not (self.root / "chroma").is_dir():
                    _forget_chroma(self.root / "chroma")  # deleted under a cached client
                (self.root / "chroma").mkdir(parents=True, exist_ok=True)
                try:
                    self._client = chromadb.PersistentClient(
                        path=str(self.root / "chroma"), settings=chroma_settings
                    )
                except Exception as e:  # e.g. "file is not a database": see chroma_fault
                    if not chroma_fault(e, opening=True):
                        raise
                    raise StorageError(
                        f"the Chroma files in {self.root / 'chroma'} are damaged "
                        f"({_first_line(e)}); run `assistant ingest --rebuild`"
                    ) from None
        return self._client

    def unreachable(self, exc: Exception) -> StorageError:
        """The one-line error for a Chroma call that failed after the index was opened."""
        if self.settings.chroma_host:
            return StorageError(
                f"Chroma server {self.settings.chroma_host}:{self.settings.chroma_port} stopped "
                f"answering ({type(exc).__name__}); restart it with `chroma run`, or unset "
                "ASSISTANT_CHROMA_HOST to use the embedded index"
            )
        return StorageError(
            f"the Chroma index in {self.root / 'chroma'} failed ({_first_line(exc)}); "
            "run `assistant ingest --rebuild`"
        )

    def _discard_embedded(self) -> None:
        """Remove embedded Chroma files that cannot be opened, so that a rebuild can start over."""
        if self.settings.chroma_host:
            return
        try:
            _ = self.client
        except StorageError:
            self._client = None
            _forget_chroma(self.root / "chroma")
            shutil.rmtree(self.root / "chroma", ignore_errors=True)

    def collection(self, name: str, create: bool = False) -> Any:
        """A Chroma collection with our embedding function (never Chroma's downloading default)."""
        from assistant.embedding import MiniLMChromaFunction

        # The model loads only when Chroma embeds: opening a collection to count it must not.
        fn = MiniLMChromaFunction(
            self._embedder, cache_dir=self.models_dir, threads=self.settings.embed_threads
        )
        try:
            if create:
                return self.client.get_or_create_collection(
                    name, embedding_function=fn, metadata={"hnsw:space": "cosine"}
                )
            return self.client.get_collection(name, embedding_function=fn)
        except Exception as e:  # chromadb raises a bare Exception too: see chroma_fault
            if not chroma_fault(e):
                raise  # a bug, or StorageError from opening the client
            if create:
                raise StorageError(f"cannot open Chroma collection {name}: {e}") from None
            raise StorageError(
                f"index collection {name} is missing; run `assistant ingest --rebuild`"
            ) from None

    # --- manifest and catalog ------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def index_key(self, embedding_name: str) -> str:
        """Hash of what shapes the vectors: model, chunk format and budget."""
        spec = f"{embedding_name}|chunks-v{CHUNK_FORMAT}|{self.settings.chunk_tokens}"
        return _sha(spec.encode())[:10]

    def read_manifest(self) -> Manifest | None:
        """The active manifest, or None when there is none or it is unreadable."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if data.get("version") != MANIFEST_VERSION:
                return None
            return Manifest(**data)
        except (OSError, ValueError, TypeError):
            return None

    def catalog(self) -> Catalog:
        """Papers and chunks of the active build; StorageError says how to build one."""
        manifest = self.read_manifest()
        if manifest is None:
            raise StorageError(f"no index in {self.root}; run `assistant ingest` first")
        build_dir = self.root / "builds" / manifest.build
        if self._catalog is not None and self._catalog.build_dir == build_dir:
            return self._catalog  # builds are never changed in place, only replaced
        try:
            data = json.loads((build_dir / "catalog.json").read_text(encoding="utf-8"))
            papers = {d["id"]: paper_from_dict(d) for d in data["papers"]}
            chunks = [Chunk(**c) for c in data["chunks"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise StorageError(
                f"index in {self.root} is damaged ({type(e).__name__}); "
                "run `assistant ingest --rebuild`"
            ) from None
        self._catalog = Catalog(papers=papers, chunks=chunks, build_dir=build_dir)
        return self._catalog

    def problem(self) -> str | None:
        """Why search cannot use the active index, or None when it can (checked at start).

        Returns ``MISSING`` when there is no index at all (first start, or storage deleted).
        """
        if self.settings.chroma_host:
            _ = self.client  # a server that is down is not a damaged index: say so, rebuild nothing
        manifest = self.read_manifest()
        if manifest is None:
            return "its manifest is unreadable" if self.manifest_path.exists() else MISSING
        try:
            _ = self.client
        except StorageError:
            return "its Chroma files are damaged"
        try:
            self.catalog()
        except StorageError:
            return "its paper catalog is missing or unreadable"
        bm25 = self.root / "builds" / manifest.build / "bm25"
        if not bm25.is_dir() or not any(bm25.iterdir()):
            return "its keyword index is missing"
        try:
            collection = self.collection(manifest.collection)
            if int(collection.count()) < manifest.chunks:
                return "its Chroma collection has lost passages"
            sample = collection.get(limit=1, include=["embeddings"])
            collection.query(query_embeddings=[list(sample["embeddings"][0])], n_results=1)
        except StorageError as e:
            return str(e).split(";")[0]
        except Exception as e:  # a damaged vector segment fails only when queried
            if not chroma_fault(e):  # (a bare Exception among them: see chroma_fault)
                raise
            return f"its Chroma collection cannot be searched ({_first_line(e)})"
        return None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ingest lock; a second ingest gets a message instead of corrupting the index."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "ingest.lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another process"
                raise StorageError(
                    f"another ingest is running ({holder}) on {self.root}; wait for it to finish"
                ) from None
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}")
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # --- ingest --------------------------------------------------------------------------
    def is_current(self, manifest: Manifest | None, embedding_name: str) -> bool:
        """Whether the manifest describes exactly the current seeds and settings."""
        return (
            manifest is not None
            and manifest.key == self.index_key(embedding_name)
            and manifest.files == corpus_fingerprint(self.settings.collection_dir)
            and (self.root / "builds" / manifest.build / "catalog.json").is_file()
            # A build from before the title index existed is rewritten (no re-embedding).
            and (self.root / "builds" / manifest.build / TITLES_DIR).is_dir()
        )

    def ingest(self, rebuild: bool = False, progress: Progress | None = None) -> IngestReport:
        """Bring the index up to date with the seeds: reuse, add what is new, or rebuild."""
        from assistant.embedding import MODEL_NAME

        started = time.perf_counter()
        seeds = self.settings.collection_dir
        with self.lock():
            collection = load_collection(seeds)
            skipped = [asdict(p) for p in collection.problems]
            if rebuild:
                self._discard_embedded()
            old = self.read_manifest()
            if not rebuild and self.is_current(old, MODEL_NAME) and self._collection_ok(old):
                assert old is not None
                return self._report(collection, old, 0, 0, True, skipped, started)
            manifest, added, removed = self._write(collection, old, rebuild, progress)
            return self._report(collection, manifest, added, removed, False, skipped, started)

    def _collection_names(self) -> list[str]:
        names = self.client.list_collections()
        return [n if isinstance(n, str) else n.name for n in names]

    def _collection_ok(self, manifest: Manifest | None) -> bool:
        if manifest is None:
            return False
        try:
            return int(self.collection(manifest.collection).count()) >= manifest.chunks
        except StorageError:
            return False

    def _report(
        self,
        collection: Collection,
        manifest: Manifest,
        added: int,
        removed: int,
        reused: bool,
        skipped: list[dict[str, Any]],
        started: float,
    ) -> IngestReport:
        return IngestReport(
            entries=collection.entries,
            papers=len(collection.papers),
            merged=collection.merged,
            chunks=manifest.chunks,
            added=added,
            removed=removed,
            reused=reused,
            skipped=skipped,
            seconds=round(time.perf_counter() - started, 3),
            collection=manifest.collection,
        )

    def _write(
        self,
        collection: Collection,
        old: Manifest | None,
        rebuild: bool,
        progress: Progress | None,
    ) -> tuple[Manifest, int, int]:
        embedder = self.embedder
        key = self.index_key(embedder.name)
        papers = {p.id: p for p in collection.papers}
        prints = {pid: paper_fingerprint(p) for pid, p in papers.items()}
        incremental = (
            not rebuild and old is not None and old.key == key and self._collection_ok(old)
        )
        old_catalog = None
        if incremental:
            try:
                old_catalog = self.catalog()
            except StorageError:
                incremental = False  # the build folder is damaged: rebuild from the seeds
        if incremental:
            assert old is not None
            name = old.collection
            todo = [p for pid, p in papers.items() if old.papers.get(pid) != prints[pid]]
            gone = [pid for pid in old.papers if pid not in papers]
        else:
            # A fresh collection per full build: the old one keeps serving until the switch.
            name = f"{self.settings.collection}-{key}-{int(time.time() * 1000):x}"
            todo, gone, old_catalog = list(papers.values()), [], None
        target = self.collection(name, create=True)
        new_chunks = chunk_papers(todo, self.settings.chunk_tokens, embedder.count_tokens)
        # Progress counts the chunks, then the sentences and titles (sentence_vectors.py).
        texts = sum(len(paper_texts(p)) for p in todo)
        self._add(target, new_chunks, progress, len(new_chunks) + texts)
        done = len(new_chunks)

        def told(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(new_chunks) + texts)

        new_vectors = embed_papers(todo, embedder, told)
        redone = {p.id for p in todo}
        kept = [
            c
            for c in (old_catalog.chunks if old_catalog else [])
            if c.paper_id in papers and c.paper_id not in redone
        ]
        chunks = kept + new_chunks
        old_vectors = SentenceVectors.load(old_catalog.build_dir) if old_catalog else None

        def vectors(paper: Paper) -> np.ndarray | None:
            if paper.id in new_vectors:
                return new_vectors[paper.id]
            return old_vectors.get(paper) if old_vectors else None

        build = f"{name}-{int(time.time() * 1000):x}"
        self._write_build(build, collection.papers, chunks, vectors)
        manifest = Manifest(
            key=key,
            build=build,
            collection=name,
            files=corpus_fingerprint(self.settings.collection_dir),
            papers=prints,
            chunks=len(chunks),
            embedding=embedder.name,
            chunk_tokens=self.settings.chunk_tokens,
        )
        _atomic_write(self.manifest_path, json.dumps(asdict(manifest), indent=1))
        self._clean_up(old, manifest, gone, old_catalog, chunks)
        return manifest, len(todo), len(gone)

    def _add(
        self,
        target: Any,
        chunks: list[Chunk],
        progress: Progress | None,
        total: int,
    ) -> None:
        """Embed and upsert chunks in batches, reporting progress (out of ``total``)."""
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        # Chroma refuses an upsert over its max batch size (5,461 records embedded, chromadb
        # 1.5): without the cap, ASSISTANT_EMBED_BATCH_SIZE above 1,365 failed every ingest
        # of more chunks than that with a raw InternalError.
        # The cap stays ours: ChromaVectorStore.add splits only at a fixed 41,665 nodes, not at
        # the client's get_max_batch_size(), so a batch of 5,462 would fail there just the same.
        batch = min(max(1, self.settings.embed_batch_size) * 4, self.client.get_max_batch_size())
        done = 0
        if progress:
            progress(0, total)
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            vectors = self.embedder.embed([c.text for c in part])
            nodes = [chunk_node(c) for c in part]
            # llama-index's own serialisation, so ChromaVectorStore reads back identical nodes
            # and the fusion retriever can match them with BM25's.
            metas = [node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in nodes]
            target.upsert(
                ids=[c.id for c in part],
                embeddings=[v.tolist() for v in vectors],
                documents=[c.text for c in part],
                metadatas=metas,
            )
            done += len(part)
            if progress:
                progress(done, total)

    def _write_build(
        self,
        build: str,
        papers: list[Paper],
        chunks: list[Chunk],
        vectors: Callable[[Paper], np.ndarray | None],
    ) -> None:
        """Write the catalog, the BM25 indexes (chunks, titles) and the sentence vectors of a
        build into its own folder."""
        final = self.root / "builds" / build
        tmp = self.root / "builds" / f".{build}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        catalog = {
            "papers": [paper_to_dict(p) for p in papers],
            "chunks": [asdict(c) for c in chunks],
        }
        (tmp / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
        build_bm25(chunks).persist(str(tmp / "bm25"))
        build_title_bm25(papers).persist(str(tmp / TITLES_DIR))
        stored = ((p.id, v) for p in papers if (v := vectors(p)) is not None)
        SentenceVectors.write(tmp, stored)
        os.replace(tmp, final)

    def _clean_up(
        self,
        old: Manifest | None,
        new: Manifest,
        gone: list[str],
        old_catalog: Catalog | None,
        chunks: list[Chunk],
    ) -> None:
        """After the switch: drop old builds, their collections, and chunks nobody uses."""
        # Every other collection of ours is dead: the previous one, or one a crashed build left.
        prefix = f"{self.settings.collection}-"
        for name in self._collection_names():
            if name.startswith(prefix) and name != new.collection:
                try:
                    self.client.delete_collection(name)
                except Exception as e:  # left for the next ingest; see chroma_fault
                    if not chroma_fault(e):
                        raise
        if old_catalog is not None:
            live = {c.id for c in chunks}
            stale = [c.id for c in old_catalog.chunks if c.id not in live]
            if stale:
                self.collection(new.collection).delete(ids=stale)
        for d in (self.root / "builds").iterdir():
            if d.name != new.build:
                shutil.rmtree(d, ignore_errors=True)


def chunk_node(chunk: Chunk) -> Any:
    """The llama-index node of a chunk; its metadata is what filters need: the paper id."""
    from llama_index.core.schema import TextNode

    return TextNode(id_=chunk.id, text=chunk.text, metadata={"paper_id": chunk.paper_id})


def build_bm25(chunks: list[Chunk]) -> Any:
    """A llama-index BM25 retriever over chunk texts (stemmed, English stop words removed)."""
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [chunk_node(c) for c in chunks]
    return BM25Retriever.from_defaults(nodes=nodes, stemmer=stemmer(), similarity_top_k=50)


def build_title_bm25(papers: list[Paper]) -> Any:
    """A BM25 retriever over paper titles alone (node id = paper id): the title field."""
    from llama_index.core.schema import BaseNode, TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes: list[BaseNode] = [TextNode(id_=p.id, text=p.title) for p in papers]
    return BM25Retriever.from_defaults(nodes=nodes, stemmer=stemmer(), similarity_top_k=50)
