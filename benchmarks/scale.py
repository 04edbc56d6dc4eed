"""Scale benchmark: a synthetic collection ingested and searched through the real code path.

Usage::

    python benchmarks/scale.py [--papers 100000] [--modes embedded,server] [--embedder minilm]
                               [--json FILE] [--keep]

Writes a seeds folder of ``--papers`` synthetic papers in the ``glued`` listing layout (10,000
entries per file, deterministic), then for each mode:

- runs ``Store(settings).ingest()`` in a child process, against embedded Chroma or a real
  ``chroma run`` server on 127.0.0.1, and reports ingest seconds, chunks/s, where the time
  went (parse, chunk, embed + upsert, catalog + BM25), the child's CPU seconds and peak RSS,
  the index size on disk (and the server's data folder and peak RSS in server mode);
- opens ``Searcher`` in another child and reports its open time and peak RSS, and search
  p50/p95 over 50 queries for hybrid, dense and BM25 alone (the same-run baseline), plus
  how often a quoted title finds its paper first (a sanity check that the index works); then
  BM25 and hybrid p50/p95 with a narrow filter (one year, ~9% of papers) and a broad one (has
  code, ~50%), where an error is reported as a figure rather than ending the run.

Abstracts are templated sentences plus one sentence of a real abstract from ``seeds/``.
Embedding dominates the ingest (about 80 ms of CPU per chunk with MiniLM here); ``--embedder
hash`` swaps in a stand-in with the real tokenizer and meaningless vectors, so a size too big
to embed on this machine still measures everything else through the same code path.

Every figure is printed as it is measured. The machine is shared: compare ratios within a run
(hybrid vs BM25, CPU seconds vs wall seconds), not seconds across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

PER_FILE = 10_000
QUERIES = 50
MODES = ("embedded", "server")

# --- the synthetic collection ------------------------------------------------------------------

CATEGORIES = "CV CL LG AI RO IR SD NE MA CR".split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
FIRST = (
    "Wei Jing Li Yifan Xin Hao Anna Maria Lukas Sofia Omar Amir Priya Rahul Kenji Yuki Chen "
    "Elena Ivan Olga Pierre Camille Diego Lucia Tomas Nora Samuel Grace Daniel Hannah Min Jae "
    "Ahmed Fatima Kofi Ama Mateo Isabel Jonas Freya"
).split()
LAST = (
    "Zhang Wang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin Kim Park Lee Tanaka "
    "Sato Suzuki Smith Johnson Brown Garcia Miller Davis Martin Bernard Dubois Schmidt Weber "
    "Fischer Rossi Russo Novak Kowalski Ivanov Petrov Singh Patel Kumar Sharma Okafor Mensah "
    "Silva Santos Costa Andersen Nielsen Berg"
).split()
NAME_HEADS = (
    "Flex Graph Sparse Meta Omni Hyper Neuro Quant Vision Deep Fast Lite Uni Poly Auto Mamba "
    "Cross Token Patch Prompt Scene Motion Code Chem Bio Geo Audio Point Mesh Trace"
).split()
NAME_TAILS = (
    "Former Net Diff GAN Mix Align Seg Det Flow Bench LM Fusion Gen Agent Tune Merge Prune "
    "Distill Search Loc"
).split()
ADJECTIVES = (
    "Efficient Scalable Robust Sparse Adaptive Hierarchical Contrastive Generative Multimodal "
    "Lightweight Unified Interpretable Federated Causal Self-Supervised Few-Shot Zero-Shot "
    "Continual Equivariant Probabilistic Differentiable Retrieval-Augmented Compositional"
).split()
NOUN_PHRASES = [
    "Transformers",
    "Representations",
    "Diffusion Models",
    "Attention",
    "Embeddings",
    "Graph Networks",
    "Policies",
    "Language Models",
    "Vision Encoders",
    "Tokenizers",
    "Mixture-of-Experts",
    "Adapters",
    "Memory Modules",
    "Reward Models",
    "Neural Fields",
    "Point Clouds",
    "State Space Models",
    "Retrievers",
    "Planners",
    "Recurrent Networks",
]
TASKS = [
    "Image Segmentation",
    "Object Detection",
    "Video Understanding",
    "Machine Translation",
    "Question Answering",
    "Code Generation",
    "Speech Recognition",
    "Molecule Generation",
    "Protein Folding",
    "Robot Manipulation",
    "Autonomous Driving",
    "Text Summarization",
    "Recommendation",
    "Anomaly Detection",
    "Time Series Forecasting",
    "Depth Estimation",
    "Pose Estimation",
    "Document Retrieval",
    "Mathematical Reasoning",
    "Visual Grounding",
    "Text-to-Image Synthesis",
    "Weather Prediction",
    "Medical Image Analysis",
    "Dialogue Systems",
    "Program Repair",
    "Music Generation",
    "Satellite Imagery",
    "Knowledge Graph Completion",
    "Table Understanding",
    "Long-Context Modeling",
]
TECHNIQUES = [
    "Contrastive Pretraining",
    "Knowledge Distillation",
    "Low-Rank Adaptation",
    "Reinforcement Learning",
    "Curriculum Learning",
    "Token Pruning",
    "Quantization",
    "Chain-of-Thought Prompting",
    "Preference Optimization",
    "Masked Autoencoding",
    "Neural Architecture Search",
    "Test-Time Adaptation",
    "Data Augmentation",
    "Meta-Learning",
    "Speculative Decoding",
    "Optimal Transport",
    "Graph Message Passing",
    "Energy-Based Modeling",
    "Active Learning",
    "Model Merging",
]
DOMAINS = (
    "Healthcare Robotics Finance Agriculture Astronomy Education Manufacturing Climate Science "
    "Genomics Law Retail Energy Transportation Security Biology"
).split()
PROPERTIES = (
    "Robustness Calibration Generalization Efficiency Stability Fairness Privacy Memorization "
    "Expressivity Sample Complexity"
).split()
DATASETS = (
    "ImageNet COCO ADE20K Kinetics WMT SQuAD HumanEval LibriSpeech QM9 CASP BEIR MMLU GSM8K "
    "nuScenes KITTI ScanNet MIMIC LongBench Ego4D LAION"
).split()
METRICS = "accuracy F1 mAP BLEU recall perplexity throughput latency IoU pass@1".split()
PROBLEMS = [
    "quadratic cost in sequence length",
    "distribution shift between training and deployment",
    "scarce labelled data",
    "noisy annotations",
    "catastrophic forgetting",
    "poor calibration under uncertainty",
    "high memory consumption",
    "slow inference on edge devices",
    "spurious correlations",
    "long-tailed class distributions",
    "limited interpretability",
    "expensive human feedback",
]


NAME_SUFFIXES = ["", "", "", "", "-2", "-XL", "++", "-Lite", "-R1", "-Pro"]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)}{rng.choice(NAME_SUFFIXES)}"


def make_title(rng: random.Random, name: str) -> str:
    """A title from one of a few templates; it ends in a letter so authors glue onto it."""
    adj, noun, task = rng.choice(ADJECTIVES), rng.choice(NOUN_PHRASES), rng.choice(TASKS)
    tech, domain = rng.choice(TECHNIQUES), rng.choice(DOMAINS)
    templates = [
        f"{name}: {adj} {noun} for {task}",
        f"{adj} {noun} for {task} with {tech}",
        f"Towards {adj} {task} in {domain} via {tech}",
        f"{name}: {tech} Meets {task}",
        f"On the {rng.choice(PROPERTIES)} of {noun} for {task} in {domain}",
        f"Scaling {noun} with {tech} for {task} in {domain}",
        f"{name}: {adj} {tech} for {domain}",
    ]
    return rng.choice(templates)


def make_authors(rng: random.Random) -> str:
    """``First Last, First Last et al.``: one to six names, a long list truncated."""
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 6))]
    more = len(names) >= 3 and rng.random() < 0.6
    return ", ".join(names[:3] if more else names) + (" et al." if more else "")


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def real_sentences(seeds: Path = ROOT / "seeds") -> list[str]:
    """Sentences of the bundled listings' abstracts, for a realistic spread of rarer words."""
    from assistant.corpus import load_collection
    from assistant.text import sentences

    if not seeds.is_dir():
        return []
    found = (s for p in load_collection(seeds).papers for s in sentences(p.abstract))
    return sorted({s for s in found if s.endswith(".") and 8 <= len(s.split()) <= 40})


def make_abstract(rng: random.Random, name: str, real: list[str]) -> str:
    """60-120 words of abstract-like prose about one method, task and domain.

    Templated sentences, plus one sentence of a real abstract (``real``) when given, so the
    vocabulary BM25 sees is not only the templates' few hundred words.
    """
    task, tech = rng.choice(TASKS).lower(), rng.choice(TECHNIQUES).lower()
    noun, domain = rng.choice(NOUN_PHRASES).lower(), rng.choice(DOMAINS).lower()
    pool = [
        f"Existing {noun} for {task} suffer from {rng.choice(PROBLEMS)}.",
        f"We propose {name}, {_a(rng.choice(ADJECTIVES).lower())} approach that combines {tech} "
        f"with {rng.choice(NOUN_PHRASES).lower()} to address this limitation.",
        f"Our key insight is that {rng.choice(PROBLEMS)} can be reduced by sharing structure "
        f"across {rng.choice(NOUN_PHRASES).lower()}.",
        f"Experiments on {rng.choice(DATASETS)} and {rng.choice(DATASETS)} show that {name} "
        f"improves {rng.choice(METRICS)} by {rng.randint(1, 30)}.{rng.randint(0, 9)} points "
        f"over strong baselines.",
        f"We further study applications in {domain} and find consistent gains.",
        f"Ablations reveal that {tech} contributes most of the improvement while adding "
        f"little overhead.",
        f"In addition, {name} reduces {rng.choice(METRICS)} cost by a factor of "
        f"{rng.randint(2, 9)} compared with {rng.choice(TECHNIQUES).lower()}.",
        f"We analyse failure cases related to {rng.choice(PROBLEMS)} and discuss open problems "
        f"for {task}.",
        f"Code and pretrained {noun} are released to support research in {domain}.",
    ]
    target = rng.randint(60, 120)
    out: list[str] = [pool[0], pool[1]]
    rest = pool[2:]
    rng.shuffle(rest)
    if real:
        rest.insert(rng.randrange(len(rest) + 1), rng.choice(real))
    for sentence in rest:
        if sum(len(s.split()) for s in out) >= target:
            break
        out.append(sentence)
    return " ".join(out)


def make_meta(rng: random.Random) -> str:
    """``CVMar 3, 2023Code``: category, date with year, and sometimes the Code flag."""
    date = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2015, 2025)}"
    return f"{rng.choice(CATEGORIES)}{date}{'Code' if rng.random() < 0.5 else ''}"


def make_entry(rng: random.Random, real: list[str]) -> tuple[str, str]:
    """One glued-layout entry (meta / title+authors / abstract) and its title."""
    name = _name(rng)
    title = make_title(rng, name)
    abstract = make_abstract(rng, name, real)
    return f"{make_meta(rng)}\n{title}{make_authors(rng)}\n{abstract}\n", title


def write_seeds(folder: Path, papers: int, seed: int = 0) -> list[str]:
    """Write ``papers`` entries as ``scale_NNN.txt`` files of PER_FILE entries; return titles."""
    rng = random.Random(seed)
    real = real_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    titles: list[str] = []
    for n, start in enumerate(range(0, papers, PER_FILE)):
        entries = []
        for _ in range(min(PER_FILE, papers - start)):
            text, title = make_entry(rng, real)
            entries.append(text)
            titles.append(title)
        (folder / f"scale_{n:03d}.txt").write_text("".join(entries), encoding="utf-8")
    return titles


def make_queries(titles: list[str], seed: int = 1) -> list[dict[str, str]]:
    """Half topic queries in plain words, half quoted titles of random papers (known items)."""
    rng = random.Random(seed)
    topics = [
        f"{rng.choice(TECHNIQUES)} for {rng.choice(TASKS)}".lower() for _ in range(QUERIES // 2)
    ]
    counts = Counter(titles)
    unique = [t for t in titles if counts[t] == 1]  # a known item must be one paper
    known = rng.sample(unique, min(len(unique), QUERIES - len(topics)))
    return [{"query": q, "title": ""} for q in topics] + [{"query": t, "title": t} for t in known]


# --- measuring -----------------------------------------------------------------------------------


def disk_bytes(path: Path, skip: tuple[str, ...] = ("models",)) -> int:
    """Bytes allocated on disk under ``path`` (like ``du``); folders named in ``skip`` excluded.

    ``models`` holds the copied ONNX model and glossary vectors: not part of the index.
    """
    total = 0
    if not path.exists():
        return 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def self_usage() -> dict[str, float]:
    """This process's peak RSS (MiB) and CPU seconds, for a child to report on itself."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime}


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, as benchmarks/run.py computes it."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed_wrap(owner: Any, attr: str, sink: dict[str, float], key: str) -> None:
    """Replace ``owner.attr`` by a wrapper adding its wall seconds to ``sink[key]``."""
    fn = getattr(owner, attr)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            sink[key] = sink.get(key, 0.0) + time.perf_counter() - start

    setattr(owner, attr, wrapper)


# --- the children: ingest, search ----------------------------------------------------------------


class HashEmbedder:
    """Stand-in for MiniLM with the same interface: real tokenizer, vectors from a text hash.

    With ``--embedder hash`` everything but the model runs as usual (parsing, chunking with
    real token counts, Chroma upserts and HNSW, catalog, BM25, search), so a size too big to
    embed on this machine still measures the rest; its vectors carry no meaning, so dense
    search finds nothing relevant (its latency is still Chroma's at that size).
    """

    name = "benchmark-hash-384"
    dimensions = 384

    def __init__(self, cache_dir: Path) -> None:
        from tokenizers import Tokenizer

        from assistant.embedding import MAX_TOKENS, model_dir

        self.cache_dir, self.threads = Path(cache_dir), 1
        self._tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], batch_size: int = 32) -> Any:
        import numpy as np

        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())
            out[row] = np.random.default_rng(seed).standard_normal(self.dimensions)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def child_store(args: argparse.Namespace) -> Any:
    """The Store a child works on: the settings of its mode, the embedder of the run."""
    from assistant.config import Settings
    from assistant.index import Store

    settings = Settings(
        seeds_dir=Path(args.seeds),
        storage_dir=Path(args.storage),
        chroma_host=args.chroma_host,
        chroma_port=args.chroma_port,
    )
    if args.embedder == "hash":
        root = Store(settings).root
        return Store(settings, embedder_factory=lambda: HashEmbedder(root / "models"))
    return Store(settings)


def child_ingest(args: argparse.Namespace) -> dict[str, Any]:
    """Run the real ingest, timing its phases by wrapping (not changing) the functions it calls."""
    import assistant.index as index
    from assistant.embedding import MiniLM
    from assistant.index import Store

    model = HashEmbedder if args.embedder == "hash" else MiniLM
    phases: dict[str, float] = {}
    timed_wrap(model, "__init__", phases, "model_load_s")
    timed_wrap(model, "embed", phases, "embed_s")
    timed_wrap(index, "load_collection", phases, "parse_s")
    timed_wrap(index, "chunk_papers", phases, "chunk_s")
    timed_wrap(Store, "_add", phases, "embed_upsert_s")
    timed_wrap(Store, "_write_build", phases, "catalog_bm25_s")
    timed_wrap(Store, "_clean_up", phases, "clean_up_s")
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] >= 60:
            last[0] = now
            rate = done / max(1e-9, now - started)
            print(f"  ingest {done}/{total} chunks, {rate:.1f}/s overall", flush=True)

    store = child_store(args)
    report = store.ingest(rebuild=True, progress=progress)
    # What _add spends beyond the model: llama-index metadata and Chroma's upsert.
    phases["upsert_s"] = phases["embed_upsert_s"] - phases["embed_s"]
    out = {
        "ingest_s": time.perf_counter() - started,
        "papers": report.papers,
        "chunks": report.chunks,
        "skipped": len(report.skipped),
        **{f"phase_{k}": v for k, v in phases.items()},
        "embed_chunks_per_s": report.chunks / phases["embed_s"],
        **self_usage(),
    }
    build = store.root / "builds" / store.read_manifest().build  # type: ignore[union-attr]
    out["catalog_mb"] = (build / "catalog.json").stat().st_size / 2**20
    out["bm25_mb"] = disk_bytes(build / "bm25") / 2**20
    return out


# Filters that narrow the search to a tenth (papers of the last year) and to about half
# (papers with code) of the collection; the dense side passes the allowed ids to Chroma.
FILTERS = {"narrow": {"year_from": 2025}, "broad": {"has_code": True}}
FILTERED_QUERIES = 10


def time_queries(
    searcher: Any, queries: list[dict[str, str]], mode: str, filters: Any = None
) -> dict[str, float]:
    """p50/p95 of ``queries`` in ``mode`` (after one warm-up query) and quoted titles found first."""
    searcher.search(queries[0]["query"], mode=mode, filters=filters)
    times, found = [], 0
    for q in queries:
        start = time.perf_counter()
        hits = searcher.search(q["query"], k=10, mode=mode, filters=filters)
        times.append((time.perf_counter() - start) * 1000)
        found += bool(q["title"] and hits and hits[0].paper.title == q["title"])
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": pct(times, 0.95),
        "title_top1": found / max(1, sum(bool(q["title"]) for q in queries)),
    }


def time_filtered(searcher: Any, queries: list[dict[str, str]]) -> dict[str, Any]:
    """Filtered BM25 and hybrid latency per FILTERS entry; an error is reported, not raised."""
    from assistant.retrieval import Filters

    out: dict[str, Any] = {}
    for name, spec in FILTERS.items():
        filters = Filters(**spec)  # type: ignore[arg-type]
        out[f"filter_{name}_papers"] = len(searcher.allowed(filters) or ())
        for mode in ("bm25", "hybrid"):
            key = f"filter_{name}_{mode}"
            try:
                got = time_queries(searcher, queries[:FILTERED_QUERIES], mode, filters)
            except Exception as e:  # a failure at this size is a finding, not a crash
                out[f"{key}_error"] = str(e)[:200]
                continue
            out[f"{key}_p50_ms"], out[f"{key}_p95_ms"] = got["p50_ms"], got["p95_ms"]
    return out


def child_search(args: argparse.Namespace) -> dict[str, Any]:
    """Open a Searcher, time the queries in each mode, then with filters."""
    from assistant.retrieval import Searcher

    queries = json.loads(Path(args.queries).read_text())
    started = time.perf_counter()
    searcher = Searcher(child_store(args))
    out: dict[str, Any] = {"open_s": time.perf_counter() - started, "depth": searcher.depth}
    out["open_rss_mb"] = self_usage()["peak_rss_mb"]
    for mode in ("bm25", "dense", "hybrid"):
        for key, value in time_queries(searcher, queries, mode).items():
            out[f"{mode}_{key}"] = value
    out["hybrid_vs_bm25_p50"] = out["hybrid_p50_ms"] / out["bm25_p50_ms"]
    out.update(time_filtered(searcher, queries))
    out.update(self_usage())
    return out


# --- the parent: processes, one mode, the whole run ------------------------------------------------


def _die_with_parent() -> None:
    """In a child before exec: get SIGTERM if the benchmark dies, so nothing is left running."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def started(
    cmd: list[str], log: Path | None = None, stderr: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd``; whatever happens, stop it by PID (terminate, then kill) on the way out.

    ``log`` takes its stdout and stderr, ``stderr`` its stderr alone.
    """
    from assistant.processes import stop_process

    out = log.open("wb") if log else None
    proc = subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT if out else stderr,
        preexec_fn=_die_with_parent,
    )
    try:
        yield proc
    finally:
        stop_process(proc, grace=20)
        if out:
            out.close()


def run_child(kind: str, settings: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run this script as a child doing ``kind``; return what it wrote to its result file."""
    result = work / f"{kind}-result.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", kind, "--out", str(result)]
    for key, value in settings.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    # Its stderr (library progress bars, warnings, a traceback) goes to a log; stdout is ours.
    log = work / f"{kind}.log"
    with log.open("wb") as err, started(cmd, stderr=err) as proc:
        code = proc.wait()
    if code != 0 or not result.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{kind} child failed with exit code {code}:\n{tail}")
    return json.loads(result.read_text())


def wait_for_chroma(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll the server's heartbeat until it answers (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        if time.monotonic() > deadline:
            raise RuntimeError("chroma server did not start within 60 s")
        time.sleep(0.2)


@contextlib.contextmanager
def chroma_server(data: Path, log: Path) -> Iterator[tuple[int, int]]:
    """A real ``chroma run`` on a free loopback port; yields (port, pid)."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        chroma = Path(shutil.which("chroma") or "chroma")
    from assistant.processes import free_port

    port = free_port()
    cmd = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    with started(cmd, log) as proc:
        wait_for_chroma(proc, port, log)
        yield port, proc.pid


def prepare_storage(storage: Path) -> None:
    """Give a storage root the converted ONNX model, so its one-time conversion is not timed."""
    models = ROOT / "storage" / "models"
    storage.mkdir(parents=True, exist_ok=True)
    if models.is_dir() and not (storage / "models").exists():
        shutil.copytree(models, storage / "models")


def run_mode(
    mode: str,
    embedder: str,
    seeds: Path,
    queries: Path,
    work: Path,
    report: Callable[[str, Any], None],
) -> None:
    """Ingest and search in one mode, reporting each figure under ``<mode>_``."""
    storage = work / mode
    settings: dict[str, Any] = {"seeds": seeds, "storage": storage, "embedder": embedder}
    report(f"{mode}_load_before", os.getloadavg()[0])
    with contextlib.ExitStack() as stack:
        server_pid = None
        if mode == "server":
            data = work / "chroma-server"
            port, server_pid = stack.enter_context(chroma_server(data, work / "chroma.log"))
            settings.update(chroma_host="127.0.0.1", chroma_port=port)
            root = storage / f"server-127.0.0.1-{port}"  # Store.root of a server index
        else:
            root = storage
        prepare_storage(root)
        ingest = run_child("ingest", settings, work)
        for key, value in ingest.items():
            report(
                f"{mode}_ingest_{key}" if not key.startswith("ingest") else f"{mode}_{key}", value
            )
        report(f"{mode}_chunks_per_s", ingest["chunks"] / ingest["ingest_s"])
        report(f"{mode}_index_disk_mb", disk_bytes(root) / 2**20)
        if server_pid is None:
            report(f"{mode}_chroma_disk_mb", disk_bytes(root / "chroma") / 2**20)
        if server_pid is not None:
            report(f"{mode}_server_data_disk_mb", disk_bytes(work / "chroma-server") / 2**20)
            report(f"{mode}_server_peak_rss_after_ingest_mb", vm_hwm_mb(server_pid))
        search = run_child("search", {**settings, "queries": queries}, work)
        for key, value in search.items():
            report(f"{mode}_search_{key}", value)
        if server_pid is not None:
            report(f"{mode}_server_peak_rss_mb", vm_hwm_mb(server_pid))
    report(f"{mode}_load_after", os.getloadavg()[0])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=100_000, help="synthetic papers to index")
    parser.add_argument("--modes", default=",".join(MODES), help="embedded, server or both")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--embedder",
        choices=("minilm", "hash"),
        default="minilm",
        help="minilm: the real model; hash: a stand-in that measures everything else",
    )
    # Used by the children this script starts.
    parser.add_argument("--child", choices=("ingest", "search"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    parser.add_argument("--chroma-host", help=argparse.SUPPRESS)
    parser.add_argument("--chroma-port", type=int, default=8000, help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        result = child_ingest(args) if args.child == "ingest" else child_search(args)
        Path(args.out).write_text(json.dumps(result))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        raise SystemExit(f"unknown mode(s): {', '.join(sorted(unknown))}")
    # A SIGTERM (e.g. `kill PID` on a background run) unwinds through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    figures: dict[str, Any] = {}

    def report(key: str, value: Any) -> None:
        figures[key] = value
        shown = f"{value:12.3f}" if isinstance(value, float) else f"{value!s:>12}"
        print(f"{key:48s} {shown}", flush=True)

    try:
        print(f"work folder {work}; {os.cpu_count()} CPUs", flush=True)
        start = time.perf_counter()
        titles = write_seeds(work / "seeds", args.papers)
        report("seeds_write_s", time.perf_counter() - start)
        report("seeds_disk_mb", disk_bytes(work / "seeds") / 2**20)
        queries = work / "queries.json"
        queries.write_text(json.dumps(make_queries(titles)))
        for mode in modes:
            run_mode(mode, args.embedder, work / "seeds", queries, work, report)
    finally:
        if args.json:
            meta = {"papers": args.papers, "embedder": args.embedder}
            Path(args.json).write_text(json.dumps({**meta, **figures}, indent=1))
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
