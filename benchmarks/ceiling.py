"""How far any keep rule on today's ranking could go: the best cut of each topic's candidates.

The writing target asks for two things at once: drafts citing at least 0.75 of a topic's
relevant papers, and at most 1 draft in 10 citing a paper off the topic. The topic filter
ranks a topic's candidates (the 16 best scoring at least 0.55 of the best) by its fit (the
relative fused score, plus the bundled model's likelihood with ``--likelihood``) and keeps
those above a bar. This finds, for each of the 30 writing topics, the longest run of the
ranking from its top with no off-topic paper in it: a rule that knew each topic's best bar
(an oracle) could keep no more without citing an off-topic paper. Its recall is the ceiling
of every bar on this ranking. "Off-topic" is judged strictly (outside the topic's relevant
set) and leniently (outside the set and outside what the two judges of
``benchmarks/judges.py`` called relevant or borderline).

Usage::

    python benchmarks/ceiling.py [--likelihood]     # about 5 minutes with the likelihood
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likelihood", action="store_true", help="rank with the bundled model too")
    args = parser.parse_args()

    from judges import _key, judgements

    from assistant.config import Settings
    from assistant.evaluation import ids_for_titles, load_set
    from assistant.index import Store
    from assistant.retrieval import Searcher
    from assistant.writing import RELATED_DEPTH, TopicFilter

    settings = Settings()
    searcher = Searcher(Store(settings))
    scorer = None
    if args.likelihood:
        from assistant.llm import LocalModels

        scorer = LocalModels(settings).scorer
    rule = TopicFilter(searcher, scorer=scorer)
    judged = judgements()
    rows = [
        row
        for part in ("dev", "aside")
        for row in load_set(ROOT / "assistant" / "data" / "writing" / part, "topics")
    ]
    ceiling: dict[bool, list[float]] = {False: [], True: []}
    kept_recall, kept_off = [], {False: 0, True: 0}
    for t, row in enumerate(rows):
        truth = ids_for_titles(searcher, row["relevant"])
        hits = searcher.search(row["topic"], k=RELATED_DEPTH)
        pool = rule._pool(hits)
        fits = [h.score / hits[0].score for h in pool]
        if scorer is not None:
            likely = scorer.relevance(
                row["topic"], [(h.paper.title, h.paper.abstract) for h in pool]
            )
            middle = statistics.median(likely)
            fits = [
                f + rule.LIKELIHOOD_WEIGHT * (lk - middle)
                for f, lk in zip(fits, likely, strict=True)
            ]
        ranked = [h for _, h in sorted(zip(fits, pool, strict=True), key=lambda x: -x[0])]
        kept = [h for f, h in zip(fits, pool, strict=True) if f >= rule.MIN_RELATIVE_SCORE]
        kept_recall.append(len({h.paper.id for h in kept} & truth) / len(truth))
        for lenient in (False, True):
            accepted = set()
            if lenient:
                for name in ("judge a", "judge b"):
                    accepted |= judged[name][t][0] | judged[name][t][1]

            on_topic = [h.paper.id in truth or _key(h.paper.title) in accepted for h in ranked]
            run = 0
            while run < len(ranked) and on_topic[run]:
                run += 1
            ceiling[lenient].append(len({h.paper.id for h in ranked[:run]} & truth) / len(truth))
            fine = {h.paper.id for h, ok in zip(ranked, on_topic, strict=True) if ok}
            kept_off[lenient] += any(h.paper.id not in fine for h in kept)
    n = len(rows)
    ranking = "fused score and likelihood" if scorer else "fused score"
    print(f"{n} topics, ranked by the {ranking}, pools of up to {rule.MAX_POOL}")
    print(f"today's bar ({rule.MIN_RELATIVE_SCORE}): recall {sum(kept_recall) / n:.3f}, ", end="")
    print(
        f"topics keeping an off-topic paper {kept_off[False]}/{n} strict, {kept_off[True]}/{n} lenient"
    )
    for lenient in (False, True):
        how = "lenient" if lenient else "strict"
        print(f"best bar for each topic ({how}): recall {sum(ceiling[lenient]) / n:.3f}, none off")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
