"""The writing sets against two more judges: are the off-topic citations a strict set's?

Two helpers, each seeing only the collection's 310 abstracts and the 30 topic lines of
``assistant/data/writing`` (not the sets, the code, or each other's work), judged every paper
against every topic as relevant, borderline or neither (``benchmarks/data/judge_a.jsonl``,
``judge_b.jsonl``; 6 December 2026). This prints how far the judges and the sets agree, and
scores drafts written by ``assistant eval --sections writing --drafts DIR`` against each
judge, strictly and with borderline papers counted as relevant.

Usage::

    python benchmarks/judges.py DEV_DRAFTS_DIR ASIDE_DRAFTS_DIR
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Judgement = list[tuple[set[str], set[str]]]  # per topic: relevant, borderline (titles)


def _key(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", title.lower())


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def judgements() -> dict[str, Judgement]:
    sets = []
    for part in ("dev", "aside"):
        rows = _lines(ROOT / "assistant" / "data" / "writing" / part / "topics.jsonl")
        sets += [({_key(t) for t in row["relevant"]}, set()) for row in rows]
    out = {"sets": sets}
    for name in ("a", "b"):
        rows = _lines(ROOT / "benchmarks" / "data" / f"judge_{name}.jsonl")
        out[f"judge {name}"] = [
            ({_key(t) for t in r["relevant"]}, {_key(t) for t in r["borderline"]}) for r in rows
        ]
    return out


def cited(folder: Path) -> list[set[str]]:
    """The titles each draft of ``folder`` cites (its "[n] Title" reference lines), in order."""
    return [
        {_key(t) for t in re.findall(r"^\[\d+\] (.+)$", f.read_text(encoding="utf-8"), re.M)}
        for f in sorted(folder.glob("*.md"))
    ]


def score(drafts: list[set[str]], truth: Judgement, lenient: bool) -> str:
    recall, precision, off = [], [], 0
    for draft, (relevant, borderline) in zip(drafts, truth, strict=True):
        accepted = relevant | borderline if lenient else relevant
        recall.append(len(draft & relevant) / max(1, len(relevant)))
        precision.append(len(draft & accepted) / max(1, len(draft)))
        off += bool(draft - accepted)
    n = len(drafts)
    return (
        f"recall {sum(recall) / n:.3f}, precision {sum(precision) / n:.3f}, off the set {off}/{n}"
    )


def main(dev: Path, aside: Path) -> None:
    judged = judgements()
    for x, y in itertools.combinations(judged, 2):
        pairs = zip(judged[x], judged[y], strict=True)
        jaccard = [len(a[0] & b[0]) / max(1, len(a[0] | b[0])) for a, b in pairs]
        print(f"{x} / {y}: mean Jaccard of the relevant sets {sum(jaccard) / len(jaccard):.3f}")
    for x, y in itertools.permutations(judged, 2):
        print(f"{x} as a draft, scored by {y} (borderline counted): ", end="")
        print(score([r for r, _ in judged[x]], judged[y], lenient=True))
    drafts = cited(dev) + cited(aside)
    if len(drafts) != len(judged["sets"]):
        sys.exit(f"expected {len(judged['sets'])} drafts, found {len(drafts)}")
    parts = {"dev": slice(0, len(cited(dev))), "aside": slice(len(cited(dev)), len(drafts))}
    for name, truth in judged.items():
        for part, cut in parts.items():
            for lenient in (False, True):
                how = "borderline counted" if lenient else "strict"
                print(
                    f"drafts, {part}, by {name} ({how}): {score(drafts[cut], truth[cut], lenient)}"
                )
    nobody = [
        d - set().union(*(truth[i][0] | truth[i][1] for truth in judged.values()))
        for i, d in enumerate(drafts)
    ]
    print(
        f"cited papers no judge accepts: {sum(map(len, nobody))}, "
        f"in {sum(map(bool, nobody))} of {len(drafts)} drafts"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
