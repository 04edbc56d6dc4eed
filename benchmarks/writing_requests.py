"""Writing requests sent as users type them: is the topic found, and are they read as writing?

``benchmarks/data/writing_requests.json`` holds request templates five helpers wrote (see its
"about"); each is filled with one of the 30 topics of ``assistant/data/writing`` (template i
with topic 7i mod 30). First it prints how many of the 60 plain topics of
``benchmarks/data/plain_topics.json`` :func:`~assistant.writing_request.topic_of` keeps whole,
alone and inside three requests; then, for each set of templates:

- the topic :func:`assistant.writing_request.topic_of` finds: the share of the topic's words
  it keeps (recall), the share of its words that are the topic's (precision), exact matches;
- what the topic filter keeps (score rule, no model) from the true topic, from the whole
  request, and from the topic found: the share of the topic's relevant papers kept;
- with ``--reader`` (bundled models, about 1 s a request): how many the chat's request reader
  reads as writing, and the words of its topic, with and without the shape's help.

Usage::

    python benchmarks/writing_requests.py [--reader]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def _overlap(got: str, want: str) -> tuple[float, float]:
    from assistant.citations import content_words

    g, w = content_words(got), content_words(want)
    return len(g & w) / max(1, len(w)), len(g & w) / max(1, len(g))


# Requests the plain topics are put in: topic_of must find each topic whole in them.
WRAPS = (
    "Write a related work section on {TOPIC}.",
    "Could you draft a literature review about {TOPIC}?",
    "related work: {TOPIC}",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", action="store_true", help="read with the bundled models too")
    args = parser.parse_args()

    from assistant import intent
    from assistant.cli import open_index
    from assistant.config import Settings
    from assistant.writing import TopicFilter
    from assistant.writing_request import topic_of

    data = json.loads((ROOT / "benchmarks/data/writing_requests.json").read_text())
    rows = [
        json.loads(line)
        for part in ("dev", "aside")
        for line in (ROOT / f"assistant/data/writing/{part}/topics.jsonl").open()
    ]
    searcher = open_index(Settings())
    keep = TopicFilter(searcher)
    reader = models = None
    if args.reader:
        from assistant.llm import LocalModels

        models = LocalModels(Settings())
        reader = intent.RequestReader(searcher, models.model("read"), models.model("judge"))

    def share(topic: str, relevant: set[str]) -> float:
        kept = {p.title for p, _ in keep.papers(topic)}
        return len(kept & relevant) / len(relevant)

    plain = json.loads((ROOT / "benchmarks/data/plain_topics.json").read_text())["topics"]
    for wrap in ("{TOPIC}", *WRAPS):
        kept = sum(
            topic_of(wrap.replace("{TOPIC}", t)).rstrip(" .?") == t.rstrip(" .?") for t in plain
        )
        print(f"plain topics in {wrap!r}: {kept}/{len(plain)} kept whole")
    for name in [k for k in data if k != "about"]:
        cases = [
            (t.replace("{TOPIC}", rows[(i * 7) % len(rows)]["topic"]), rows[(i * 7) % len(rows)])
            for i, t in enumerate(data[name])
        ]
        n = len(cases)
        found = [(topic_of(text), row) for text, row in cases]
        recall = sum(_overlap(t, r["topic"])[0] for t, r in found) / n
        precision = sum(_overlap(t, r["topic"])[1] for t, r in found) / n
        exact = sum(t == r["topic"] for t, r in found)
        print(
            f"{name} ({n}): topic_of keeps {recall:.3f} of the topic's words at precision "
            f"{precision:.3f}, {exact} exact"
        )
        shares = {
            "the topic": [share(r["topic"], set(r["relevant"])) for _, r in cases],
            "the whole request": [share(text, set(r["relevant"])) for text, r in cases],
            "topic_of": [share(t, set(r["relevant"])) for t, r in found],
        }
        print(
            "  relevant papers kept from "
            + ", ".join(f"{k} {sum(v) / n:.3f}" for k, v in shares.items())
        )
        if reader is None:
            continue
        whole_topic = intent._whole_topic
        for mode in ("the model alone", "with the shape"):
            if mode == "the model alone":
                intent._whole_topic = lambda copied, text: copied
                intent.SHAPED_LIFT = 100.0  # the second look keeps the first reading
            read = [(reader.read(text), row) for text, row in cases]
            intent._whole_topic, intent.SHAPED_LIFT = whole_topic, 0.0
            writing = [(q, r) for q, r in read if q.intent in ("related_work", "review")]
            words = [_overlap(q.topic, r["topic"]) for q, r in writing]
            print(
                f"  reader, {mode}: {len(writing)}/{n} read as writing; their topics keep "
                f"{sum(w[0] for w in words) / max(1, len(words)):.3f} of the topic's words at "
                f"precision {sum(w[1] for w in words) / max(1, len(words)):.3f}"
            )
    if models is not None:
        models.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
