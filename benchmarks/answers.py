"""Answer latency and memory with the bundled model, against the evidence-only path.

Usage: ``python benchmarks/answers.py [--questions 12] [--data assistant/data/requests/dev]``.
For each question, in one run: reading the request, sources shown (the first thing the page
can render), first written text, the whole answer; and the same question answered from the
evidence alone (no model), as the baseline. Memory: the app's process and its llama.cpp
servers, resident (RSS) and proportional (PSS: shared weights counted once across them),
sampled while the answers run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of ``pid`` and all its descendants, from /proc."""
    pids = [pid]
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid in pids:
            pids.append(int(p))
    rss = pss = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def _descendants_memory(stop: threading.Event, peak: dict[str, int]) -> None:
    me = os.getpid()
    while not stop.is_set():
        rss, pss = _memory(me)
        peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
        time.sleep(0.2)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--data", default=str(ROOT / "assistant/data/requests/dev"))
    args = parser.parse_args()

    from assistant.answer import Answer, Answerer
    from assistant.cli import open_index
    from assistant.config import Settings
    from assistant.llm import choose_model

    settings = Settings()
    searcher = open_index(settings)
    model, mode = choose_model(settings)
    local = Answerer(searcher, model, mode)
    evidence_only = Answerer(searcher, None)
    text = Path(args.data, "questions.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    questions = [r["question"] for r in rows][:: max(1, len(rows) // args.questions)]
    questions = questions[: args.questions]
    # Servers started and their fixed prompts read, as in the page.
    local.warm_up()
    local.ask("What does Teach-DETR propose?")

    peak = {"rss": 0, "pss": 0}
    stop = threading.Event()
    sampler = threading.Thread(target=_descendants_memory, args=(stop, peak), daemon=True)
    sampler.start()
    figures: dict[str, list[float]] = {k: [] for k in ("read", "sources", "first_text", "whole")}
    baseline: list[float] = []
    for q in questions:
        start = time.perf_counter()
        local.read(q)
        figures["read"].append(time.perf_counter() - start)
        start = time.perf_counter()
        sources = first = None
        for piece in local.stream(q):
            now = time.perf_counter() - start
            if isinstance(piece, Answer) and sources is None:
                sources = now
            elif isinstance(piece, str) and piece.strip() and first is None:
                first = now
                sources = sources if sources is not None else now
        whole = time.perf_counter() - start
        figures["sources"].append(sources if sources is not None else whole)
        figures["first_text"].append(first if first is not None else whole)
        figures["whole"].append(whole)
        start = time.perf_counter()
        evidence_only.ask(q)
        baseline.append(time.perf_counter() - start)
    stop.set()
    sampler.join()
    report = {f"{k}_p50_s": round(pct(v, 0.5), 2) for k, v in figures.items()}
    report.update({f"{k}_p95_s": round(pct(v, 0.95), 2) for k, v in figures.items()})
    report["evidence_only_p50_s"] = round(pct(baseline, 0.5), 2)
    report["questions"] = len(questions)
    report["peak_rss_mb"] = peak["rss"] // 2**20
    report["peak_pss_mb"] = peak["pss"] // 2**20
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
