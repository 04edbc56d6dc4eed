"""Pooled, blind relevance judgements for the writing topic sets (TREC-style pooling).

A draft "cites a paper outside the relevant set" only as surely as the set is complete. This
checks the sets: for every topic it pools the papers the topic filter keeps, the set's own
papers and three retrieved papers it did not keep, shuffles them under opaque keys, and writes
packs of topics and abstracts for judges who see nothing else (not the code, not which paper
came from where). Their verdicts then say how many kept papers outside the sets are on the
topic after all, and how far the judges agree with the sets.

Usage::

    python benchmarks/pool.py pack OUT_DIR           # OUT_DIR/pack1.txt ... and OUT_DIR/key.json
    python benchmarks/pool.py tally OUT_DIR          # reads OUT_DIR/verdicts*.jsonl

A verdict line is ``{"key": "T03-07", "relevant": "yes" | "no", "why": "..."}``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTS = ("dev", "aside")
DECOYS = 3  # retrieved but not kept, per topic: the judges cannot tell the pool's sources apart
TOPICS_PER_PACK = 10


def build(out: Path) -> None:
    from assistant.cli import open_answerer
    from assistant.config import Settings
    from assistant.evaluation import ids_for_titles, load_set
    from assistant.writing import RELATED_DEPTH, TopicFilter

    answerer = open_answerer(Settings())
    searcher = answerer.searcher
    topics = TopicFilter(searcher, answerer.judge)
    rng = random.Random(7)
    key: dict[str, dict[str, object]] = {}
    blocks: list[str] = []
    t = 0
    for part in PARTS:
        for row in load_set(ROOT / "assistant" / "data" / "writing" / part, "topics"):
            t += 1
            truth = ids_for_titles(searcher, row["relevant"])
            kept = [p.id for p, _ in topics.papers(row["topic"])]
            ranked = [h.paper.id for h in searcher.search(row["topic"], k=RELATED_DEPTH)]
            rest = [i for i in ranked if i not in kept and i not in truth][:12]
            ids = list(
                dict.fromkeys([*sorted(truth), *kept, *rng.sample(rest, min(DECOYS, len(rest)))])
            )
            rng.shuffle(ids)
            lines = [f"\n\n=== TOPIC {t:02d}: {row['topic']}\n"]
            for j, pid in enumerate(ids, 1):
                k = f"T{t:02d}-{j:02d}"
                key[k] = {
                    "topic": t,
                    "part": part,
                    "id": pid,
                    "in_set": pid in truth,
                    "kept": pid in kept,
                }
                paper = searcher.papers[pid]
                lines.append(f"\n[{k}] {paper.title}\n{paper.abstract.strip()}\n")
            blocks.append("".join(lines))
    out.mkdir(parents=True, exist_ok=True)
    for n in range(0, len(blocks), TOPICS_PER_PACK):
        pack = out / f"pack{n // TOPICS_PER_PACK + 1}.txt"
        pack.write_text("".join(blocks[n : n + TOPICS_PER_PACK]), encoding="utf-8")
    (out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    print(f"{len(key)} pairs of {t} topics in {out}")


def tally(out: Path) -> None:
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    verdicts = {}
    for path in sorted(out.glob("verdicts*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                verdicts[row["key"]] = row["relevant"]
    missing = set(key) - set(verdicts)
    if missing:
        raise SystemExit(f"{len(missing)} pairs have no verdict, e.g. {sorted(missing)[0]}")
    counts: Counter[tuple[str, str]] = Counter()
    for k, m in key.items():
        group = (
            "in the set" if m["in_set"] else "kept, outside the set" if m["kept"] else "not kept"
        )
        counts[(group, verdicts[k])] += 1
    for group in ("in the set", "kept, outside the set", "not kept"):
        yes, no = counts[(group, "yes")], counts[(group, "no")]
        print(f"{group:<24} judged on the topic {yes:>4} of {yes + no}")
    print("on the topic, outside the sets (pooled additions):")
    for k, m in key.items():
        if not m["in_set"] and verdicts[k] == "yes":
            print(f"  topic {m['topic']:>2} ({m['part']}): {m['id']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["pack", "tally"])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    build(args.out) if args.step == "pack" else tally(args.out)


if __name__ == "__main__":
    main()
