"""The parts a topic line names, as the sections of its related work.

A researcher's topic often lists its own parts: "Teacher-student pseudo-labelling for object
detection with scarce labels: semi-supervised, few-shot, source-free and 3D settings". A survey
of it has those parts as its sections, and a reader looks for them (a blind read of our
drafts asked for exactly that, against headings the grouping found by itself). The judging
model lists the parts; each part must be made of the topic's own words, so a reply that
invents a part, or merely says the topic again, lists nothing. The papers then go to the part
their closest sentence is closest to (MiniLM, the build's stored sentence vectors).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.citations import content_words
from assistant.errors import LLMError
from assistant.llm import Message
from assistant.prose import is_clean

if TYPE_CHECKING:
    from assistant.llm import ChatModel
    from assistant.papers import Paper
    from assistant.retrieval import Searcher

PARTS_PROMPT = (
    "You read the topic of a literature review. If the topic lists several parts of it (kinds "
    "of method, settings, tasks, data or models it covers), reply with those parts, one per "
    "line, each a short noun phrase in the topic's own words. If it lists no parts, reply "
    "with the single word: none."
)
# Worked examples from outside the collection's field: the form is learnt, the words are not
# copied (a part must be made of the topic's words).
_EXAMPLES = (
    (
        "Topic: Crop yield forecasting from satellite images, weather records and soil maps",
        "Forecasting from satellite images\nForecasting from weather records\n"
        "Forecasting from soil maps",
    ),
    (
        "Topic: Pest detection with scarce labels: weakly supervised, few-shot and 3D settings",
        "Weakly supervised settings\nFew-shot settings\n3D settings",
    ),
    ("Topic: Graph neural networks for predicting molecular properties", "none"),
)
MIN_PARTS, MAX_PARTS = 2, 5  # the outline's 2-5 themes
# The share of a topic's papers its parts must hold for the outline to follow them.
COVERED = 0.6


def parts(model: ChatModel, topic: str) -> list[str]:
    """The parts ``topic`` lists, as the model reads them, each checked: 1-8 words, every
    content word one the topic uses, not the whole topic again, not a repeat. Empty when the
    topic lists fewer than two parts, or the model fails."""
    messages = [Message("system", PARTS_PROMPT)]
    for request, reply in _EXAMPLES:
        messages += [Message("user", request), Message("assistant", reply)]
    messages.append(Message("user", f"Topic: {topic}"))
    try:
        reply = model.complete(messages, max_tokens=80)
    except LLMError:
        return []
    whole = _words(topic)
    found: list[str] = []
    for line in reply.splitlines():
        part = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip(" .;:\"'")
        mine = _words(part)
        if not mine or not 1 <= len(part.split()) <= 8 or not is_clean(part):
            continue
        if not mine <= whole or len(mine) >= 0.8 * len(whole):
            continue  # a part the topic does not name, or the topic said again
        if any(_words(other) == mine for other in found):
            continue
        found.append(part[0].upper() + part[1:])
    return found[:MAX_PARTS] if len(found) >= MIN_PARTS else []


def outline(
    model: ChatModel, searcher: Searcher, topic: str, papers: list[Paper]
) -> tuple[list[tuple[str, list[Paper]]], list[Paper]] | None:
    """The topic's parts (:func:`parts`) with their papers, in the topic's order, and the
    papers that fit none, for the caller to group (empty when fewer than two, which then join
    their closest part, as they do when the parts make five themes already). None when the
    topic lists no parts, when fewer than two parts hold a paper, or when the parts hold less
    than :data:`COVERED` of the papers: the topic's own words then do not describe what the
    collection has on it."""
    names = parts(model, topic)
    if not names:
        return None
    closest, fits = _closest(searcher, topic, names, papers)
    groups: dict[str, list[Paper]] = {name: [] for name in names}
    rest: list[Paper] = []
    for paper in papers:
        (groups[closest[paper.id]] if fits[paper.id] else rest).append(paper)
    if len(rest) > (1 - COVERED) * len(papers):
        return None
    held = sum(bool(group) for group in groups.values())
    if len(rest) < 2 or held >= MAX_PARTS:  # a theme of one, or a sixth theme: none
        for paper in rest:
            groups[closest[paper.id]].append(paper)
        rest = []
    filled = [(name, group) for name, group in groups.items() if group]
    return (filled, rest) if len(filled) >= MIN_PARTS else None


# "...: training-free mitigation vs. preference-based alignment": two approaches the topic
# sets against each other, each ending at a clause's end or before what they are for.
_VERSUS = re.compile(
    r"(?:^|[:;,(]\s*)(?P<a>[^:;,()]{3,60}?)\s+(?:vs\.?|versus)\s+(?P<b>[^:;,()]{3,60}?)"
    r"(?=\s+(?:for|in|on|of|with|under|across)\b|\s*[:;,()]|\s*$)",
    re.IGNORECASE,
)


def contrasted(topic: str) -> list[str]:
    """The two things ``topic`` sets against each other ("A vs. B", "A versus B"), as it
    words them; empty when it sets none."""
    m = _VERSUS.search(topic.strip().rstrip(".?!"))
    if not m:
        return []
    return [m["a"].strip(), m["b"].strip()]


def papers_by_side(searcher: Searcher, topic: str, papers: list[Paper]) -> dict[str, str]:
    """Paper id to the side of the topic's contrast (:func:`contrasted`) it takes, for the
    papers that use that side's own words and are closer to it (:func:`_closest`); empty
    when the topic sets nothing against each other. The model's reading of the topic's parts
    is not used: for "hallucination ...: training-free mitigation vs. preference-based
    alignment" the 1.5B model listed "Hallucination" and "Factual errors"."""
    sides = contrasted(topic)
    if len(sides) < 2:
        return {}
    closest, fits = _closest(searcher, topic, sides, papers)
    return {pid: side for pid, side in closest.items() if fits[pid]}


def _closest(
    searcher: Searcher, topic: str, names: list[str], papers: list[Paper]
) -> tuple[dict[str, str], dict[str, bool]]:
    """Per paper id: the part its best sentence (or title) is closest to among the parts
    whose own words it uses, each part read within the topic ("Clustering" alone is any
    clustering), and whether there is such a part. A part's own words are those no other
    part has ("pruning" of "Token pruning" beside "Token merging"; "long" of "Long videos"
    beside "Video generation"): a heading says of each paper under it that it is about
    those words, which a quantization paper close to "Token pruning" in vector space is
    not."""
    queries = [f"{name} ({topic})" for name in names]
    scores: dict[str, list[float]] = {p.id: [0.0] * len(queries) for p in papers}
    for i, query in enumerate(queries):
        for e in searcher.evidence(query, papers, bar=0.0, lead_bar=0.0):
            scores[e.paper.id][i] = e.best
    vocab = [_words(name) for name in names]
    own = [
        words - set().union(*(other for j, other in enumerate(vocab) if j != i)) or words
        for i, words in enumerate(vocab)
    ]
    closest, fits = {}, {}
    for paper in papers:
        said = _words(f"{paper.title} {paper.abstract}")
        using = [i for i, words in enumerate(own) if words & said] or list(range(len(names)))
        best = max(using, key=lambda i: scores[paper.id][i])
        closest[paper.id], fits[paper.id] = names[best], bool(own[best] & said)
    return closest, fits


def _words(text: str) -> set[str]:
    """Stemmed content words, hyphenated ones split ("few-shot" is "few" and "shot")."""
    return content_words(text.replace("-", " "))
