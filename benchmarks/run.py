"""Speed benchmarks: ingest, search, one-shot CLI, answers, and search latency at scale.

Usage: ``python benchmarks/run.py [--scale 10000,100000] [--answers 10] [--json FILE]``.
Every figure is measured in this run, next to a baseline from the same run (BM25 alone for
search), because the machines are shared and noisy: compare ratios, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_ingest(storage: Path) -> dict[str, float]:
    from assistant.config import Settings
    from assistant.index import Store

    settings = Settings(seeds_dir=ROOT / "seeds", storage_dir=storage)
    cold, report = timed(lambda: Store(settings).ingest())
    warm, again = timed(lambda: Store(settings).ingest())
    assert again.reused  # type: ignore[attr-defined]
    return {"cold_ingest_s": cold, "reingest_unchanged_s": warm, "chunks": report.chunks}  # type: ignore[attr-defined]


def bench_search(storage: Path) -> dict[str, float]:
    from assistant.config import Settings
    from assistant.evaluation import DEV_DATA, load_set
    from assistant.index import Store
    from assistant.retrieval import Searcher

    searcher = Searcher(Store(Settings(seeds_dir=ROOT / "seeds", storage_dir=storage)))
    queries = [r["query"] for name in ("known_item", "own_words") for r in load_set(DEV_DATA, name)]
    out: dict[str, float] = {}
    for mode in ("bm25", "hybrid"):
        searcher.search(queries[0], mode=mode)  # warm caches
        times = [timed(lambda q=q, m=mode: searcher.search(q, mode=m))[0] * 1000 for q in queries]
        out[f"search_{mode}_p50_ms"] = statistics.median(times)
        out[f"search_{mode}_p95_ms"] = pct(times, 0.95)
    out["search_hybrid_vs_bm25_p50_ratio"] = out["search_hybrid_p50_ms"] / out["search_bm25_p50_ms"]
    return out


def bench_cli(storage: Path) -> dict[str, float]:
    env = dict(
        os.environ, ASSISTANT_STORAGE_DIR=str(storage), ASSISTANT_SEEDS_DIR=str(ROOT / "seeds")
    )
    cmd = [
        sys.executable,
        "-m",
        "assistant",
        "search",
        "the Kimi paper on residual connections",
        "--json",
    ]
    base = [sys.executable, "-c", "import assistant.cli"]
    runs = [
        timed(lambda: subprocess.run(cmd, env=env, capture_output=True, check=True))[0]
        for _ in range(3)
    ]
    imports = [
        timed(lambda: subprocess.run(base, env=env, capture_output=True, check=True))[0]
        for _ in range(3)
    ]
    return {
        "cli_search_s": statistics.median(runs),
        "cli_python_start_s": statistics.median(imports),
    }


def bench_answers(storage: Path, n: int) -> dict[str, float]:
    from assistant.answer import Answer, Answerer
    from assistant.config import Settings
    from assistant.evaluation import DEV_DATA, load_set
    from assistant.index import Store
    from assistant.llm import make_chat_model
    from assistant.retrieval import Searcher

    settings = Settings(seeds_dir=ROOT / "seeds", storage_dir=storage)
    answerer = Answerer(Searcher(Store(settings)), make_chat_model(settings), "phrase")
    answerer.ask("warm up the local model")
    totals, firsts = [], []
    for row in load_set(DEV_DATA, "questions")[:n]:
        start = time.perf_counter()
        first = None
        for piece in answerer.stream(row["question"]):
            if first is None and not isinstance(piece, Answer):
                first = time.perf_counter() - start
        totals.append(time.perf_counter() - start)
        firsts.append(first or totals[-1])
    return {
        "answer_p50_s": statistics.median(totals),
        "answer_p95_s": pct(totals, 0.95),
        "first_text_p50_s": statistics.median(firsts),
    }


def bench_scale(sizes: list[int]) -> dict[str, float]:
    """Search latency over synthetic collections (random unit vectors, synthetic texts)."""
    import chromadb
    import numpy as np
    from chromadb.config import Settings as ChromaSettings

    from assistant.embedding import MiniLM
    from assistant.index import build_bm25
    from assistant.papers import Chunk

    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(20000)]
    model = MiniLM(ROOT / "storage" / "models", threads=2)
    q = model.embed(["token pruning for vision transformers"])[0].tolist()
    out: dict[str, float] = {}
    for size in sizes:
        tmp = Path(tempfile.mkdtemp())
        client = chromadb.PersistentClient(str(tmp), ChromaSettings(anonymized_telemetry=False))
        col = client.create_collection(
            "scale", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        t0 = time.perf_counter()
        for start in range(0, size, 5000):
            n = min(5000, size - start)
            vecs = rng.normal(size=(n, 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            col.add(ids=[f"c{start + i}" for i in range(n)], embeddings=vecs.tolist())
        add_s = time.perf_counter() - t0
        chunks = [Chunk(f"c{i}", f"p{i}", " ".join(rng.choice(vocab, 60)), "") for i in range(size)]
        bm25 = build_bm25(chunks)
        dense = [
            timed(lambda c=col: c.query(query_embeddings=[q], n_results=50))[0] * 1000
            for _ in range(30)
        ]
        sparse = [timed(lambda b=bm25: b.retrieve("w1 w2 w3 w4 w5"))[0] * 1000 for _ in range(30)]
        out[f"scale_{size}_vector_add_per_s"] = size / add_s
        out[f"scale_{size}_dense_p50_ms"] = statistics.median(dense)
        out[f"scale_{size}_bm25_p50_ms"] = statistics.median(sparse)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="", help="synthetic sizes, e.g. 10000,100000")
    parser.add_argument("--answers", type=int, default=10, help="questions to time (0 = skip)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    storage = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    # Share the converted ONNX model: its one-time conversion is not what we measure.
    models = ROOT / "storage" / "models"
    if models.is_dir():
        shutil.copytree(models, storage / "models")
    figures: dict[str, float] = {}

    def report(part: dict[str, float]) -> None:
        # Printed as each part finishes, so a run stopped by a time limit keeps what it measured.
        figures.update(part)
        for key, value in part.items():
            print(f"{key:40s} {value:10.3f}", flush=True)

    report(bench_ingest(storage))
    report(bench_search(storage))
    report(bench_cli(storage))
    if args.answers:
        report(bench_answers(storage, args.answers))
    for size in [int(s) for s in args.scale.split(",") if s]:
        report(bench_scale([size]))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    shutil.rmtree(storage, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
