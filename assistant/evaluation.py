"""``assistant eval``: retrieval quality on development query sets, per retrieval mode."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llama_index.core.evaluation import MRR, HitRate
from llama_index.core.evaluation.retrieval.metrics_base import BaseRetrievalMetric

from assistant.errors import AssistantError
from assistant.retrieval import MODES, Searcher

DEV_DATA = Path(__file__).parent / "data" / "dev"
RETRIEVAL_SETS = ("known_item", "topical", "own_words", "own_words_topical")
K_MAX = 10


def load_set(folder: Path, name: str) -> list[dict[str, Any]]:
    """Read ``<name>.jsonl``; each line a JSON object."""
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        raise AssistantError(f"evaluation set {path} not found; pass --data FOLDER")
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def ids_for_titles(searcher: Searcher, titles: Iterable[str]) -> set[str]:
    """Paper ids of the given exact titles (every version); unknown titles are an error."""
    by_title: dict[str, set[str]] = {}
    for p in searcher.papers.values():
        by_title.setdefault(p.title, set()).add(p.id)
    ids: set[str] = set()
    for t in titles:
        if t not in by_title:
            raise AssistantError(f"evaluation data names a paper not in the collection: {t!r}")
        ids |= by_title[t]
    return ids


def _score(metric: BaseRetrievalMetric, ranked: list[str], relevant: set[str]) -> float:
    """llama-index's ``metric`` for one query; 0.0 for no results, which its metrics refuse."""
    if not ranked or not relevant:
        return 0.0
    return metric.compute(expected_ids=sorted(relevant), retrieved_ids=ranked).score


def known_item_metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    """Recall@1/5/10, reciprocal rank and nDCG@10 for a query with one wanted paper."""
    top = ranked[:K_MAX]
    rank = next((i for i, pid in enumerate(top, 1) if pid in relevant), None)
    return {
        # R@k of one wanted paper is a hit in the top k: llama-index's (non-granular) HitRate.
        "R@1": _score(HitRate(), top[:1], relevant),
        "R@5": _score(HitRate(), top[:5], relevant),
        "R@10": _score(HitRate(), top, relevant),
        "MRR": _score(MRR(), top, relevant),
        # Ours: llama-index's NDCG counts each id as a wanted paper, but ``relevant`` holds the
        # versions of one paper (ideal 1, not 2; a second version found is not a gain).
        "nDCG@10": 1.0 / math.log2(rank + 1) if rank else 0.0,
    }


def topical_metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    """Recall@5/10 over the full relevant set, reciprocal rank of the first hit, nDCG@10."""
    top = ranked[:K_MAX]
    gains = [1.0 if pid in relevant else 0.0 for pid in top]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), K_MAX)))
    # Recall@10 is capped by what 10 results can hold: a set of 14 counts 10 found as 1.0. That
    # cap keeps R@k and nDCG ours: llama-index's Recall, granular HitRate and NDCG divide by all
    # 14 (Recall 10/14 = 0.714), so a large set could never score 1.0.
    return {
        "R@5": sum(gains[:5]) / min(len(relevant), 5),
        "R@10": sum(gains) / min(len(relevant), K_MAX),
        "MRR": _score(MRR(), top, relevant),
        "nDCG@10": dcg / ideal if ideal else 0.0,
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} if rows else {}


def run_retrieval_eval(searcher: Searcher, folder: Path | None = None) -> dict[str, Any]:
    """Every retrieval set under every mode, in one run: ``{"retrieval": {set: {...}}}``."""
    folder = folder or DEV_DATA
    out: dict[str, Any] = {}
    for name in RETRIEVAL_SETS:
        rows = load_set(folder, name)
        metric = topical_metrics if "topical" in name else known_item_metrics
        modes: dict[str, dict[str, float]] = {}
        for mode in MODES:
            scores = []
            for row in rows:
                relevant = ids_for_titles(searcher, row["relevant"])
                ranked = [h.paper.id for h in searcher.search(row["query"], k=K_MAX, mode=mode)]
                scores.append(metric(ranked, relevant))
            modes[mode] = {k: round(v, 3) for k, v in _mean(scores).items()}
        out[name] = {"queries": len(rows), "modes": modes}
    return {"retrieval": out}


def _sentence_support(answer: Any) -> tuple[int, int]:
    """(supported, total) over the answer's sentences that carry citation markers; supported:
    each cited paper backs what the sentence says of it (:func:`citations.supports_each`)."""
    from assistant.citations import markers, paper_facts, paper_names, supports_each
    from assistant.prose import plain_text
    from assistant.text import prose_sentences

    by_n = {c.n: c.paper for c in answer.citations}
    facts = {n: plain_text(paper_facts(p)) for n, p in by_n.items()}
    names = {n: " ".join(paper_names(p)) for n, p in by_n.items()}
    supported = total = 0
    for sentence in prose_sentences(answer.text.replace("\n", " ")):
        cited = [by_n[n] for n in markers(sentence) if n in by_n]
        if not cited:
            continue
        total += 1
        # Bold titles and theme headings name the paper or group; they are not claims.
        body = re.sub(r"\*\*[^*]+\*\*(\s*\([^)]*\))?", "", sentence)
        supported += supports_each(body, facts, names)
    return supported, total


def run_answer_eval(answerer: Any, folder: Path | None = None) -> dict[str, Any]:
    """Citation correctness, fabrication, support and refusal rates of ``answerer``."""
    from assistant.citations import markers

    folder = folder or DEV_DATA
    searcher = answerer.searcher
    known = set(searcher.papers)
    cited_right: dict[str, list[float]] = {}
    fabricated = supported = sentences = 0
    times: list[float] = []
    for row in load_set(folder, "questions"):
        start = time.perf_counter()
        answer = answerer.ask(row["question"])
        times.append(time.perf_counter() - start)
        numbers = {c.n for c in answer.citations}
        fabricated += sum(n not in numbers for n in markers(answer.text))
        fabricated += sum(c.paper.id not in known for c in answer.citations)
        right = ids_for_titles(searcher, row["relevant"])
        cited_right.setdefault(row["style"], []).append(
            float(bool(right & {c.paper.id for c in answer.citations}))
        )
        s, t = _sentence_support(answer)
        supported, sentences = supported + s, sentences + t
    off = [answerer.ask(r["question"]) for r in load_set(folder, "offtopic")]
    f1s = []
    for row in load_set(folder, "metadata"):
        truth = ids_for_titles(searcher, row["relevant"])
        got = {c.paper.id for c in answerer.ask(row["question"]).citations}
        f1s.append(2 * len(truth & got) / (len(truth) + len(got)) if truth or got else 1.0)
    out: dict[str, Any] = {
        f"right_paper_cited_{style}": round(sum(v) / len(v), 3) for style, v in cited_right.items()
    }
    out.update(
        {
            "fabricated_citations": fabricated,
            "support_rate": round(supported / sentences, 3) if sentences else 1.0,
            "offtopic_refused": f"{sum(a.refused for a in off)}/{len(off)}",
            "offtopic_with_citations": sum(bool(a.citations) for a in off),
            "metadata_f1": round(sum(f1s) / len(f1s), 3) if f1s else 0.0,
            "answer_p50_s": round(sorted(times)[len(times) // 2], 2) if times else 0.0,
            "backend": answerer.backend,
        }
    )
    return out


def run_writing_eval(
    searcher: Searcher,
    folder: Path | None = None,
    answerer: Any = None,
    drafts_dir: Path | None = None,
) -> dict[str, Any]:
    """Related-work drafts on the topic set: share of the relevant papers cited, drafts that
    cite a paper outside the relevant set, support of the cited sentences, prose checks
    (theme names made of a word pair, raw LaTeX, sentences over 60 words), sentences that cite
    two or more papers (synthesis: what papers share or how they differ), BibTeX, speed.

    ``answerer``: its model writes and its judge checks the topic (None: evidence only).
    ``drafts_dir``: where each draft is written as Markdown (``01.md``, ...), its references
    listed, for reading them.
    """
    import bibtexparser

    from assistant.citations import markers
    from assistant.export import bibtex
    from assistant.prose import MAX_WORDS
    from assistant.writing import Draft, TopicFilter, related_work_steps

    folder = folder or DEV_DATA
    model = answerer.model if answerer is not None and answerer.mode == "write" else None
    topics = TopicFilter.using(searcher, answerer)
    recall, precision, times, outline_times = [], [], [], []
    supported = sentences = bib_complete = off_topic = pairs = raw = long = joint = 0
    # Citations marked "less sure", outside and inside the relevant sets, of all there; and
    # the drafts as a researcher who drops every marked paper would keep them.
    doubt = {"outside": 0, "outside_all": 0, "inside": 0, "inside_all": 0}
    off_after_drop, recall_after_drop = 0, []
    written = {"model_sentences": 0, "model_rejected": 0, "evidence_sentences": 0}
    rows = load_set(folder, "topics")
    for row in rows:
        start = time.perf_counter()
        draft, outline = None, None
        for piece in related_work_steps(row["topic"], searcher, model, topics=topics):
            if isinstance(piece, Draft):
                draft = piece
            elif outline is None:  # the outline comes first
                outline = time.perf_counter() - start
        assert draft is not None
        times.append(time.perf_counter() - start)
        outline_times.append(outline if outline is not None else times[-1])
        truth = ids_for_titles(searcher, row["relevant"])
        cited = {c.paper.id for c in draft.citations}
        recall.append(len(truth & cited) / len(truth))
        precision.append(len(truth & cited) / len(cited) if cited else 1.0)
        off_topic += bool(cited - truth)
        doubtful = {c.paper.id for c in draft.citations if c.n in draft.less_sure}
        doubt["outside"] += len(doubtful - truth)
        doubt["outside_all"] += len(cited - truth)
        doubt["inside"] += len(doubtful & truth)
        doubt["inside_all"] += len(cited & truth)
        off_after_drop += bool(cited - doubtful - truth)
        recall_after_drop.append(len(truth & (cited - doubtful)) / len(truth))
        s, t = _sentence_support(draft)
        supported, sentences = supported + s, sentences + t
        entries = bibtexparser.loads(bibtex(draft.papers)).entries
        bib_complete += {e["ID"] for e in entries} == {p.bibkey for p in draft.papers}
        headings = re.findall(r"\*\*([^*]+)\.\*\*", draft.text)
        pairs += sum(bool(re.fullmatch(r"[\w-]+ and [\w-]+", h, re.I)) for h in headings)
        prose = re.sub(r"\*\*[^*]+\*\*", "", draft.text)
        raw += len(re.findall(r"\\[A-Za-z]+|\$|``|`\w", prose))  # macros, math, TeX quotes
        long += sum(len(x.split()) > MAX_WORDS for x in _split(prose))
        joint += sum(len(set(markers(x))) >= 2 for x in _split(prose))
        for key in written:
            written[key] += draft.written_by.get(key, 0)
        if drafts_dir is not None:
            drafts_dir.mkdir(parents=True, exist_ok=True)
            references = "\n".join(f"[{c.n}] {c.paper.title}" for c in draft.citations)
            page = f"# {row['topic']}\n\n{draft.text}\n\n## References\n\n{references}\n"
            (drafts_dir / f"{len(times):02d}.md").write_text(page, encoding="utf-8")

    def p50(values: list[float]) -> float:
        return round(sorted(values)[len(values) // 2], 2) if values else 0.0

    return {
        "topics": len(rows),
        "related_work_recall": round(sum(recall) / len(recall), 3),
        "related_work_precision": round(sum(precision) / len(precision), 3),
        "drafts_citing_off_topic": f"{off_topic}/{len(rows)}",
        "less_sure_of_outside_set": f"{doubt['outside']}/{doubt['outside_all']}",
        "less_sure_of_inside_set": f"{doubt['inside']}/{doubt['inside_all']}",
        "less_sure_dropped_recall": round(sum(recall_after_drop) / len(rows), 3),
        "less_sure_dropped_drafts_off_topic": f"{off_after_drop}/{len(rows)}",
        "support_rate": round(supported / sentences, 3) if sentences else 1.0,
        "word_pair_theme_names": pairs,
        "raw_latex_in_prose": raw,
        "sentences_over_60_words": long,
        "sentences_citing_several": joint,
        "bibtex_complete": f"{bib_complete}/{len(rows)}",
        **written,
        "outline_p50_s": p50(outline_times),
        "draft_p50_s": p50(times),
        "backend": model.backend if model is not None else "evidence",
    }


def _split(text: str) -> list[str]:
    from assistant.text import prose_sentences

    return prose_sentences(text.replace("\n", " "))


REQUEST_DATA = Path(__file__).parent / "data" / "requests" / "dev"
DRAFT_KINDS = {
    "related_work": "related work",
    "review": "review outline",
    "compare": "comparison",
    "summarize": "summary",
}


def run_request_eval(answerer: Any, folder: Path | None = None) -> dict[str, Any]:
    """Requests as users type them, through the chat's one entry point (:func:`respond`):
    questions (right paper cited, fabricated citations), off-topic questions (refused without
    citations), metadata lists (citation F1), writing requests (drafted as asked), and speed
    (reading a request, the whole reply)."""
    from assistant.chat import respond
    from assistant.citations import markers
    from assistant.writing import Draft

    folder = folder or REQUEST_DATA
    searcher = answerer.searcher
    known = set(searcher.papers)
    reading: list[float] = []
    replying: list[float] = []
    written = {"model_sentences": 0, "evidence_sentences": 0}

    def run(text: str) -> Any:
        start = time.perf_counter()
        answerer.read(text)
        reading.append(time.perf_counter() - start)
        start = time.perf_counter()
        final = None
        for piece in respond(answerer, text):
            if not isinstance(piece, str):
                final = piece
        replying.append(time.perf_counter() - start)
        for key in written:
            written[key] += getattr(final, "written_by", {}).get(key, 0)
        return final

    cited: dict[str, list[float]] = {}
    fabricated = 0
    for row in load_set(folder, "questions"):
        reply = run(row["question"])
        numbers = {c.n for c in reply.citations}
        fabricated += sum(n not in numbers for n in markers(reply.text))
        fabricated += sum(c.paper.id not in known for c in reply.citations)
        right = ids_for_titles(searcher, row["relevant"])
        cited.setdefault(row["style"], []).append(
            float(bool(right & {c.paper.id for c in reply.citations}))
        )
    refused: dict[str, list[bool]] = {}
    for row in load_set(folder, "offtopic"):
        reply = run(row["question"])
        refused.setdefault(row["kind"], []).append(not reply.citations)
    f1s = []
    for row in load_set(folder, "metadata"):
        truth = ids_for_titles(searcher, row["relevant"])
        got = {c.paper.id for c in run(row["question"]).citations}
        f1s.append(2 * len(truth & got) / (len(truth) + len(got)) if truth or got else 1.0)
    drafted: dict[str, list[bool]] = {}
    recall = []
    for row in load_set(folder, "writing"):
        reply = run(row["request"])
        ok = isinstance(reply, Draft) and reply.kind == DRAFT_KINDS[row["intent"]]
        got = {c.paper.id for c in reply.citations}
        if row["intent"] in ("compare", "summarize"):
            ok = ok and ids_for_titles(searcher, row["papers"]) <= got
        elif row["relevant"]:
            truth = ids_for_titles(searcher, row["relevant"])
            recall.append(len(truth & got) / len(truth) if ok else 0.0)
        drafted.setdefault(row["intent"], []).append(ok and bool(got))

    def share(values: list[Any]) -> str:
        return f"{sum(values)}/{len(values)}"

    out: dict[str, Any] = {f"right_paper_cited_{k}": share(v) for k, v in cited.items()}
    out["fabricated_citations"] = fabricated
    out.update({f"offtopic_refused_{k}": share(v) for k, v in refused.items()})
    out["metadata_f1"] = round(sum(f1s) / len(f1s), 3) if f1s else 0.0
    out.update({f"drafted_{k}": share(v) for k, v in drafted.items()})
    out["related_work_recall"] = round(sum(recall) / len(recall), 3) if recall else 0.0
    out["sentences_model_written"] = written["model_sentences"]
    out["sentences_from_evidence"] = written["evidence_sentences"]
    out["read_p50_s"] = round(sorted(reading)[len(reading) // 2], 2) if reading else 0.0
    out["reply_p50_s"] = round(sorted(replying)[len(replying) // 2], 2) if replying else 0.0
    out["backend"] = answerer.backend
    return out
