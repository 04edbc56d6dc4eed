"""Search: BM25 and dense vectors fused (llama-index retrievers), grouped per paper, filtered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores import VectorStoreQuery

from assistant.config import DEFAULT_COLLECTION
from assistant.errors import QuestionError, StorageError
from assistant.evidence import Evidence, select_evidence
from assistant.filters import FilterIndex, Filters
from assistant.frequency import DocumentFrequency
from assistant.index import TITLES_DIR, Store, chroma_fault
from assistant.papers import Paper
from assistant.query import (
    AuthorIndex,
    Glossary,
    Hints,
    TitleIndex,
    author_score,
    expand,
    words,
    year_score,
)
from assistant.sentence_vectors import SentenceVectors
from assistant.text import sentences, stem, stemmer

log = logging.getLogger(__name__)
# Above this many papers passing a filter, the dense search filters its results itself.
MAX_FILTER_IDS = 5_000

SearchMode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


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


SNIPPET_CHARS = 320


def best_passage(passage: str, query: str, most: int = SNIPPET_CHARS) -> str:
    """The sentence (and its neighbour, room permitting) sharing most stemmed words with the query."""
    wanted = {stem(w) for w in words(query) if len(w) > 2}
    parts = sentences(passage)
    if len(passage) <= most or not parts:
        return passage
    overlap = [len(wanted & {stem(w) for w in words(p)}) for p in parts]
    i = max(range(len(parts)), key=lambda n: (overlap[n], -n))
    text = parts[i]
    if i + 1 < len(parts) and len(text) + len(parts[i + 1]) < most:
        text += " " + parts[i + 1]
    return text if len(text) <= most else text[: most - 3].rsplit(" ", 1)[0] + "..."


# Fusion weights. 0.7/0.3 (dense first) had been chosen on the development queries, whose
# wording the lexicon was also written from; on queries written blind to the lexicon
# (data/holdout) equal weights found the paper more often (own words R@5 0.70 vs 0.60).
DENSE_WEIGHT = 0.5
SPARSE_WEIGHT = 0.5
# Pseudo-relevance feedback: the query vector moves halfway toward its 3 best chunks.
PRF_WEIGHT = 0.5
PRF_DEPTH = 3
# Chunks each retriever hands to the fusion. The fusion scales each list by its own mean and
# spread, so a deeper list measures a chunk against more of the collection, not only against
# the other near-misses; together with the title field, 200 rather than 50 took development
# topical R@10 0.911 -> 0.937 and own words R@5 0.825 -> 0.857 (held out: 0.891 -> 0.903,
# 0.750 -> 0.775), for about 14 ms more per search. On a big collection 200 chunks are a
# sliver of it either way, and the deeper lists tripled search time (100k synthetic chunks:
# hybrid p50 18 -> 52 ms, with a filter passing 9% of papers 86 -> 326 ms), so there the
# lists stay at 50.
SEARCH_DEPTH = 200
BIG_COLLECTION_DEPTH = 50
BIG_COLLECTION_CHUNKS = 20_000
# The title field: a paper's BM25 score over titles alone, relative to the best title's, lifts
# it by up to this much of the fused score's 0..1 range (0.1 to 0.25 were within a paper or
# two of each other on every set; 0.35 lost own-words queries).
TITLE_WEIGHT = 0.15
EXPANSIONS_KEPT = 256  # queries whose expansion is remembered
# A remembered author or year lifts a paper by this much of the fused score's 0..1 range. A
# named author is strong evidence (few papers share one), a year is weak (many share it).
AUTHOR_WEIGHT = 0.5
YEAR_WEIGHT = 0.1
# A paper counts as the one a query names when it has at least this share of the named authors.
NAMED_SHARE = 0.5
# A query word is one of the field's terms when at least this many chunks use it. A query made
# only of such words already speaks the field's language and is searched as written: adding
# lexicon terms to "open-vocabulary object detection" only pulls in neighbouring topics
# (development topical R@10 0.903 -> 0.911, test 0.926 -> 0.914, held-out 0.828 -> 0.891).
FIELD_TERM_CHUNKS = 3


def fusion_depth(chunks: int) -> int:
    """Chunks each retriever hands to the fusion, for a collection of ``chunks`` chunks."""
    return BIG_COLLECTION_DEPTH if chunks > BIG_COLLECTION_CHUNKS else SEARCH_DEPTH


class FilteredRetriever(BaseRetriever):
    """``inner``'s results whose chunk id passes ``keep``."""

    def __init__(self, inner: BaseRetriever, keep: Callable[[str], bool]):
        super().__init__()
        self._inner, self._keep = inner, keep

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [r for r in self._inner.retrieve(query_bundle) if self._keep(r.node.node_id)]


class FeedbackRetriever(BaseRetriever):
    """Dense retrieval with pseudo-relevance feedback (Rocchio) over a Chroma vector store."""

    def __init__(
        self, store: Any, collection: Any, embed: Any, k: int, filters: Any, feedback: float
    ):
        super().__init__()
        self._store, self._collection, self._embed = store, collection, embed
        self._k, self._filters, self._feedback = k, filters, feedback

    def _query(self, vector: list[float], k: int) -> list[NodeWithScore]:
        result = self._store.query(
            VectorStoreQuery(query_embedding=vector, similarity_top_k=k, filters=self._filters)
        )
        return [
            NodeWithScore(node=n, score=s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=False)
        ]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = np.asarray(self._embed.get_query_embedding(query_bundle.query_str))
        if self._feedback <= 0:
            return self._query(vector.tolist(), self._k)
        # The feedback needs only the few best chunks of the first pass.
        first = self._query(vector.tolist(), min(PRF_DEPTH, self._k))
        if not first:
            return first
        top = [r.node.node_id for r in first[:PRF_DEPTH]]
        got = self._collection.get(ids=top, include=["embeddings"])
        centroid = np.asarray(got["embeddings"], dtype=np.float32).mean(axis=0)
        moved = vector + self._feedback * centroid
        return self._query((moved / np.linalg.norm(moved)).tolist(), self._k)


class Searcher:
    """Opens the active index once; then searches in milliseconds."""

    def __init__(self, store: Store, depth: int | None = None):
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from assistant.embedding import MiniLMEmbedding

        self.store = store
        catalog = store.catalog()
        manifest = store.read_manifest()
        assert manifest is not None
        self.papers = catalog.papers
        self.chunks = {c.id: c for c in catalog.chunks}
        # Each paper's sentence and title vectors, stored by the build: evidence selection
        # embeds only the question (select_evidence's ``stored``).
        self.sentence_vectors = SentenceVectors.load(catalog.build_dir)
        self.depth = fusion_depth(len(self.chunks)) if depth is None else depth
        self.authors = AuthorIndex(self.papers.values())
        self._author_names: list[str] | None = None
        self._expanded = lru_cache(maxsize=EXPANSIONS_KEPT)(self._expansion)
        self._titles = TitleIndex((pid, p.title) for pid, p in self.papers.items())
        self.embed_model = MiniLMEmbedding(store.embedder)
        self.glossary = Glossary(store.embedder, store.models_dir)
        # The lexicon and glossary were written for the default collection's field; another
        # collection is searched by the embedding model and BM25 alone unless asked for.
        settings = store.settings
        self.expands = (
            settings.query_expansion
            if settings.query_expansion is not None
            else settings.collection == DEFAULT_COLLECTION
        )
        # An answer expands its question again after searching with it, and expanding embeds the
        # query for the glossary: recent expansions are kept rather than computed twice.
        self.expanded: Callable[[str], str] = lru_cache(maxsize=256)(self._expand)
        try:
            self._bm25 = BM25Retriever.from_persist_dir(
                str(catalog.build_dir / "bm25"), show_progress=False
            )
            titles = BM25Retriever.from_persist_dir(
                str(catalog.build_dir / TITLES_DIR), show_progress=False
            )
        except (OSError, EOFError, ValueError, TypeError) as e:
            # Missing or garbled files of the keyword index, as bm25s and llama-index read them
            # (measured): OSError (missing), ValueError (bad JSON, short or garbled .npy
            # arrays), EOFError (an empty .npy), TypeError (retriever.json of another shape).
            raise StorageError(
                f"the keyword index in {catalog.build_dir} is damaged ({type(e).__name__}); "
                "run `assistant ingest --rebuild`"
            ) from None
        self._chunk_order = [d["node_id"] for d in self._bm25.corpus]
        self._title_bm25 = titles.bm25
        self._title_row = {d["node_id"]: n for n, d in enumerate(titles.corpus)}
        # Chunks per keyword-index token: the length of its column in the score matrix. bm25s
        # keeps an empty token past the last column; padding gives it a count of 0.
        using = np.diff(self._bm25.bm25.scores["indptr"])
        vocab_size = len(self._bm25.bm25.vocab_dict)
        self._chunks_using = np.pad(using, (0, max(0, vocab_size - len(using))))
        self._collection = store.collection(manifest.collection)
        self._vectors = ChromaVectorStore(chroma_collection=self._collection)
        self._filter_index = FilterIndex(
            self.papers,
            (
                self.chunks[cid].paper_id if cid in self.chunks else None
                for cid in self._chunk_order
            ),
        )

    def _dense(self, k: int, allowed: set[str] | None, feedback: float = 0.0) -> Any:
        from llama_index.core.vector_stores import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
        )

        filters = None
        if allowed is not None and len(allowed) > MAX_FILTER_IDS:
            # Chroma's SQLite cannot take that many ids in one filter (it failed at ~32,766):
            # search unfiltered, deep enough to keep about k allowed hits, and let _group drop
            # the rest.
            k = k + k * len(self.papers) // len(allowed)
        elif allowed is not None:
            filters = MetadataFilters(
                filters=[
                    MetadataFilter(
                        key="paper_id", value=sorted(allowed), operator=FilterOperator.IN
                    )
                ]
            )
        k = min(k, max(1, len(self.chunks)))
        return FeedbackRetriever(
            self._vectors, self._collection, self.embed_model, k, filters, feedback
        )

    def _sparse(self, k: int, allowed: set[str] | None) -> Any:
        from llama_index.retrievers.bm25 import BM25Retriever

        mask = None
        if allowed is not None:
            mask = self._filter_index.chunk_mask(allowed)
        retriever = BM25Retriever(
            existing_bm25=self._bm25.bm25,
            stemmer=stemmer(),  # this thread's: the retriever stems the query with it
            similarity_top_k=min(k, len(self._chunk_order)),
            corpus_weight_mask=mask,
        )
        if allowed is None:
            return retriever
        # BM25 pads its top k with masked-out chunks at score 0; in a fusion they would take
        # places that allowed dense results need.
        return FilteredRetriever(retriever, lambda cid: self.chunks[cid].paper_id in allowed)

    def _retriever(self, mode: SearchMode, k: int, allowed: set[str] | None) -> Any:
        """BM25 alone, dense alone (the baselines), or both fused with feedback (the default)."""
        if mode == "dense":
            return self._dense(k, allowed)
        if mode == "bm25":
            return self._sparse(k, allowed)
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.retrievers.fusion_retriever import FUSION_MODES

        return QueryFusionRetriever(
            [self._dense(k, allowed, PRF_WEIGHT), self._sparse(k, allowed)],
            llm=MockLLM(),  # num_queries=1: no query rewriting, the LLM is never called
            mode=FUSION_MODES.DIST_BASED_SCORE,
            retriever_weights=[DENSE_WEIGHT, SPARSE_WEIGHT],
            num_queries=1,
            use_async=False,
            similarity_top_k=k,
        )

    def evidence(self, query: str, papers: list[Paper], **options: Any) -> list[Evidence]:
        """:func:`~assistant.evidence.select_evidence` for ``query`` among ``papers``, with
        the build's stored sentence vectors (``options`` are its keyword arguments)."""
        stored = self.sentence_vectors.get
        return select_evidence(query, papers, self.store.embedder, stored=stored, **options)

    def paper_vectors(self, paper_ids: list[str]) -> Any:
        """Unit vectors of papers (mean of their chunk vectors), in the given order."""
        import numpy as np

        wanted = [c.id for c in self.chunks.values() if c.paper_id in set(paper_ids)]
        try:
            got = self._collection.get(ids=wanted, include=["embeddings"])
        except Exception as e:  # chromadb raises a bare Exception too: see chroma_fault
            if not chroma_fault(e):
                raise
            raise self.store.unreachable(e) from None
        sums: dict[str, Any] = {}
        for cid, vector in zip(got["ids"], got["embeddings"], strict=True):
            pid = self.chunks[cid].paper_id
            sums[pid] = sums.get(pid, 0) + np.asarray(vector, dtype=np.float32)
        out = np.stack([sums[pid] for pid in paper_ids])
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def author_names(self) -> list[str]:
        """Every author's full name as the catalog spells it, once each."""
        if self._author_names is None:
            self._author_names = sorted({a for p in self.papers.values() for a in p.authors})
        return self._author_names

    @cached_property
    def frequency(self) -> DocumentFrequency:
        """How many of the collection's papers use each content word (built on first use)."""
        return DocumentFrequency(self.papers.values())

    def categories(self) -> set[str]:
        """The category codes the collection's papers carry."""
        return {p.category.upper() for p in self.papers.values() if p.category}

    def orgs(self) -> set[str]:
        """The organisation tags the collection's papers carry."""
        return {p.org for p in self.papers.values() if p.org}

    def allowed(self, filters: Filters | None) -> set[str] | None:
        """Paper ids that pass ``filters``; None when no filter is set."""
        if filters is None or not filters.active:
            return None
        return self._filter_index.allowed(filters)

    def _tokens(self, text: str) -> list[str]:
        """``text`` as the keyword indexes see it: stemmed words, English stop words removed."""
        import bm25s

        (tokens,) = bm25s.tokenize(
            text,
            stopwords="en",
            stemmer=stemmer(),  # this thread's (PyStemmer is not thread-safe)
            token_pattern=self._bm25.token_pattern,
            return_ids=False,
            show_progress=False,
        )
        return list(tokens)

    def in_field_terms(self, query: str) -> bool:
        """Whether every content word of ``query`` is a term the collection uses."""
        tokens = self._tokens(query)
        vocab = self._bm25.bm25.vocab_dict
        return bool(tokens) and all(
            t in vocab and self._chunks_using[vocab[t]] >= FIELD_TERM_CHUNKS for t in tokens
        )

    def _expand(self, query: str) -> str:
        """The query plus the field terms its everyday wording stands for (``expanded``),
        worked out once per query (an answer searches the same text more than once)."""
        return self._expanded(query)

    def _expansion(self, query: str) -> str:
        if not self.expands or self.in_field_terms(query):
            return query
        terms = " ".join(t for t in (expand(query), self.glossary.terms_for(query)) if t)
        # Each field word once, and not when the query says it already: repeating a word the
        # user typed only tilts the ranking toward it.
        have = set(words(query))
        extra = [w for w in dict.fromkeys(terms.split()) if w.lower() not in have]
        return f"{query} {' '.join(extra)}" if extra else query

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        """The ``k`` best papers for ``query``, each with its best passage."""
        query = " ".join(query.split())
        if not query:
            return []
        if k < 1:
            raise QuestionError(f"k must be at least 1, not {k}")
        allowed = self.allowed(filters)
        if allowed is not None and not allowed:
            return []
        # The single retrievers are the baselines `assistant eval` compares against: plain query.
        text = self.expanded(query) if mode == "hybrid" else query
        try:
            results = self._retriever(mode, max(self.depth, k * 4), allowed).retrieve(text)
        except Exception as e:  # chromadb raises a bare Exception too: see chroma_fault
            if not chroma_fault(e):  # Chroma gone (server stopped) or its files broken under us
                raise
            log.debug("retrieval failed", exc_info=True)
            raise self.store.unreachable(e) from None
        hits = self._group(results, allowed)
        if mode == "hybrid":
            self._boost_title_words(text, hits)
            self._boost_titles(query, hits, allowed)
            self._boost_hints(self.authors.hints(query), hits, allowed)
        best = sorted(hits, key=lambda h: -h.score)[:k]
        for h in best:  # only the shown hits need their passage picked
            h.snippet = best_passage(h.snippet, text)
        return best

    def quoted_titles(self, text: str) -> list[str]:
        """Ids of the papers whose whole title ``text`` quotes, in the order quoted."""
        return list(self._titles.quoted_in(text))

    def named_papers(self, query: str) -> frozenset[str]:
        """Papers the query names by their authors (and year, when it gives one).

        "Zhe Chen and Weiyun Wang's 2024 model" names the 2024 papers that carry at least half
        of those names.
        """
        hints = self.authors.hints(query)
        if not hints.authors:
            return frozenset()
        return frozenset(
            pid
            for pid in self.authors.papers_of_any(hints.authors)
            if author_score(self.papers[pid], hints, self.authors) >= NAMED_SHARE
            and (not hints.years or year_score(self.papers[pid], hints) > 0)
        )

    def _boost_hints(self, hints: Hints, hits: list[Hit], allowed: set[str] | None) -> None:
        """Lift papers by the authors and from the years a query remembers.

        Papers by a named author that the retrievers did not bring up join at the bottom, so
        "the 2024 paper by Yuying Ge on ..." finds her paper even when its wording is far off.
        """
        if not hints.any:
            return
        if hints.authors:
            found = {h.paper.id for h in hits}
            floor = min((h.score for h in hits), default=0.0)
            named = self.authors.papers_of_any(hints.authors)
            for pid in sorted(named - found):
                if allowed is None or pid in allowed:
                    hits.append(Hit(self.papers[pid], floor, self.papers[pid].abstract, ""))
        for h in hits:
            h.score += AUTHOR_WEIGHT * author_score(h.paper, hints, self.authors)
            h.score += YEAR_WEIGHT * year_score(h.paper, hints)

    def _boost_title_words(self, text: str, hits: list[Hit]) -> None:
        """Lift papers whose titles use the query's words: a title states what a paper is about.

        The title field's BM25 score, relative to the best title's, is added with TITLE_WEIGHT,
        so a paper that names the topic in its title passes one that mentions it in passing.
        """
        tokens = [t for t in self._tokens(text) if t in self._title_bm25.vocab_dict]
        if not tokens or not hits:
            return
        scores = self._title_bm25.get_scores(tokens)
        top = float(scores.max())
        if top <= 0:
            return
        for h in hits:
            row = self._title_row.get(h.paper.id)
            if row is not None:
                h.score += TITLE_WEIGHT * float(scores[row]) / top

    def _boost_titles(self, query: str, hits: list[Hit], allowed: set[str] | None) -> None:
        """A query that quotes a paper's whole title gets that paper first, found or not."""
        quoted = self._titles.quoted_in(query)
        if not quoted:
            return
        top = max((h.score for h in hits), default=0.0)
        found = {h.paper.id: h for h in hits}
        for pid, title in quoted.items():
            if allowed is None or pid in allowed:
                hit = found.get(pid)
                if hit is None:
                    hit = Hit(self.papers[pid], 0.0, self.papers[pid].abstract, "")
                    hits.append(hit)
                hit.score = top + 1.0 + len(title) / 1000  # the longest quoted title first

    def _group(self, results: list[Any], allowed: set[str] | None) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for r in results:
            chunk = self.chunks.get(r.node.node_id)
            # Chunks written by an ingest that never finished belong to no paper we know;
            # BM25 pads its top k with masked-out chunks at score 0, which filters exclude.
            if chunk is None or chunk.paper_id not in self.papers:
                continue
            if allowed is not None and chunk.paper_id not in allowed:
                continue
            score = float(r.score or 0.0)
            best = hits.get(chunk.paper_id)
            if best is None or score > best.score:
                hits[chunk.paper_id] = Hit(
                    self.papers[chunk.paper_id], score, chunk.passage, chunk.id
                )
        return list(hits.values())
