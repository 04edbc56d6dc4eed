"""Search: BM25 and dense vectors fused (llama-index retrievers), grouped per paper, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from assistant.index import Store
from assistant.papers import Chunk, Paper

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Filters:
    """Narrow the collection: author substring, year range, category, code flag."""

    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    category: str | None = None
    has_code: bool | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def allows(self, paper: Paper) -> bool:
        """Whether ``paper`` passes every set filter (a paper without a year fails a year range)."""
        if self.author and not any(self.author.casefold() in a.casefold() for a in paper.authors):
            return False
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.category and (paper.category or "").casefold() != self.category.casefold():
            return False
        return self.has_code is None or bool(paper.has_code) == self.has_code


@dataclass
class Hit:
    """A paper found by a search, with its best matching passage."""

    paper: Paper
    score: float
    snippet: str
    chunk_id: str

    def to_json(self) -> dict[str, Any]:
        p = self.paper
        return {
            "id": p.id,
            "title": p.title,
            "authors": p.authors,
            "year": p.year,
            "date": p.date,
            "source": p.source,
            "score": round(self.score, 6),
            "snippet": self.snippet,
        }


class Searcher:
    """Opens the active index once; then searches in milliseconds."""

    def __init__(self, store: Store, depth: int = 60):
        from llama_index.core import VectorStoreIndex
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from assistant.embedding import MiniLMEmbedding

        self.store = store
        catalog = store.catalog()
        manifest = store.read_manifest()
        assert manifest is not None
        self.papers = catalog.papers
        self.chunks = {c.id: c for c in catalog.chunks}
        self.depth = depth
        self._bm25 = BM25Retriever.from_persist_dir(str(catalog.build_dir / "bm25"))
        self._chunk_order = [d["node_id"] for d in self._bm25.corpus]
        vector_store = ChromaVectorStore(chroma_collection=store.collection(manifest.collection))
        self._index = VectorStoreIndex.from_vector_store(
            vector_store, embed_model=MiniLMEmbedding(store.embedder)
        )

    def _dense(self, k: int, allowed: set[str] | None) -> Any:
        from llama_index.core.vector_stores import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
        )

        filters = None
        if allowed is not None:
            filters = MetadataFilters(
                filters=[
                    MetadataFilter(key="paper_id", value=sorted(allowed), operator=FilterOperator.IN)
                ]
            )
        return self._index.as_retriever(similarity_top_k=k, filters=filters)

    def _sparse(self, k: int, allowed: set[str] | None) -> Any:
        from llama_index.retrievers.bm25 import BM25Retriever

        mask = None
        if allowed is not None:
            mask = [int(self.chunks[cid].paper_id in allowed) if cid in self.chunks else 0 for cid in self._chunk_order]
        return BM25Retriever(
            existing_bm25=self._bm25.bm25,
            similarity_top_k=min(k, len(self._chunk_order)),
            corpus_weight_mask=mask,
        )

    def _retriever(self, mode: Mode, k: int, allowed: set[str] | None) -> Any:
        if mode == "dense":
            return self._dense(k, allowed)
        if mode == "bm25":
            return self._sparse(k, allowed)
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever

        return QueryFusionRetriever(
            [self._dense(k, allowed), self._sparse(k, allowed)],
            llm=MockLLM(),  # num_queries=1: no query rewriting, the LLM is never called
            mode="reciprocal_rerank",
            num_queries=1,
            use_async=False,
            similarity_top_k=k,
        )

    def allowed(self, filters: Filters | None) -> set[str] | None:
        """Paper ids that pass ``filters``; None when no filter is set."""
        if filters is None or not filters.active:
            return None
        return {pid for pid, p in self.papers.items() if filters.allows(p)}

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The ``k`` best papers for ``query``, each with its best passage."""
        query = query.strip()
        if not query:
            return []
        allowed = self.allowed(filters)
        if allowed is not None and not allowed:
            return []
        results = self._retriever(mode, max(self.depth, k * 4), allowed).retrieve(query)
        return self._group(results, k)

    def _group(self, results: list[Any], k: int) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for r in results:
            chunk = self.chunks.get(r.node.node_id)
            # Chunks written by an ingest that never finished belong to no paper we know.
            if chunk is None or chunk.paper_id not in self.papers:
                continue
            score = float(r.score or 0.0)
            best = hits.get(chunk.paper_id)
            if best is None or score > best.score:
                hits[chunk.paper_id] = Hit(self.papers[chunk.paper_id], score, chunk.passage, chunk.id)
        return sorted(hits.values(), key=lambda h: -h.score)[:k]
