"""Judging relevance: does a retrieved paper address what was asked? One yes/no per paper;
for a related-work topic and an endpoint's model, one choice among all candidates (:func:`choose`).

Retrieval and sentence similarity find papers that share words or neighbourhoods with a
question; whether a paper is *about* it needs reading. The model sees the question, then the
paper's title and its best evidence sentences, and answers yes or no, its "yes" lifted by a
logit calibrated on development questions near the collection's field and far from it. The question comes first
and the paper last, so the server's prompt cache reuses the question's tokens for every
candidate of the same question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.llm import Message

if TYPE_CHECKING:
    from assistant.evidence import Evidence
    from assistant.llm import ChatModel

# The logit added to "yes" when judging a question's candidates, which reach the judge only
# when their evidence is neither clearly close nor clearly far (answer.SURE_BAR): "yes" must be
# e^1.5 (4.5) times as likely as "no". Measured with the bundled 1.5B model (first-token
# log-odds, 284 candidates of the dev and aside request sets): the right papers and the
# off-topic questions' candidates separate with AUC 0.86 (dev) and 0.92 (aside); the 0.5B
# model managed 0.58 and 0.56, no better than chance, and judges no more.
YES_LIFT = -1.5
# A topic's candidates are all judged (a related-work topic, a metadata list's topic): there
# the model's own even odds decide.
TOPIC_LIFT = 0.0
# Words of evidence shown per paper: its title and best sentences, cut to keep the prompt short.
EVIDENCE_WORDS = 50

SYSTEM_PROMPT = (
    "You check search results for a research assistant. You are given a user's question and "
    "one paper (title and sentences from its abstract). Answer yes if the paper is about the "
    "subject the question asks about, so that it helps answer the question. Answer no if it "
    "is about something else, even when it shares some words with the question. Reply with "
    "one word: yes or no."
)
# Worked examples (fictional papers), a fixed prefix the judging server keeps cached.
_EXAMPLES = [
    (
        "How do graph networks cope with adversarial edge perturbations?",
        "Certified Robustness for Graph Convolutions",
        "We bound how far a graph convolutional network's prediction can move when an attacker "
        "inserts or deletes up to k edges, and train networks to enlarge that bound.",
        "yes",
    ),
    (
        "What is the best way to forecast electricity demand a day ahead?",
        "Attention Over Time for Video Action Recognition",
        "We propose a temporal attention module that forecasts which frames matter for the "
        "action being performed in a clip.",
        "no",
    ),
    (
        "Which methods speed up diffusion sampling?",
        "Consistency Distillation in Two Steps",
        "We distil a pretrained diffusion model into a student that generates images in two "
        "sampling steps with little loss in quality.",
        "yes",
    ),
    (
        "How is attention measured in children with ADHD?",
        "Sparse Attention for Long Documents",
        "We make transformer attention sparse so that documents of 64k tokens fit in memory.",
        "no",
    ),
]


def _ask(question: str, title: str, text: str) -> str:
    return (
        f"Question: {question}\n\nPaper: {title}\n{text}\n\n"
        "Is this paper about what the question asks? yes or no"
    )


def judge_messages(question: str, title: str, sentences: Sequence[str]) -> list[Message]:
    """The yes/no prompt for one paper: instructions and examples, then question and paper."""
    text = " ".join(" ".join(sentences).split()[:EVIDENCE_WORDS])
    messages = [Message("system", SYSTEM_PROMPT)]
    for q, t, abstract, verdict in _EXAMPLES:
        messages += [Message("user", _ask(q, t, abstract)), Message("assistant", verdict)]
    return [*messages, Message("user", _ask(question, title, text))]


class RelevanceJudge:
    """Scores candidate papers for a question with a model's yes/no.

    Args:
        model: the model that judges.
        lift: the logit added to "yes" (negative: the judge must be surer than even odds).
    """

    def __init__(self, model: ChatModel, lift: float = YES_LIFT):
        self.model, self.lift = model, lift

    def is_relevant(self, question: str, evidence: Evidence, lift: float | None = None) -> bool:
        """Whether ``evidence``'s paper addresses ``question``; LLMError if the model fails.
        ``lift`` replaces the judge's own (:data:`TOPIC_LIFT` for a topic)."""
        sentences = evidence.sentences or [evidence.paper.abstract]
        messages = judge_messages(question, evidence.paper.title, sentences)
        bias = {"yes": self.lift if lift is None else lift}
        return self.model.pick(messages, ["yes", "no"], bias) == "yes"

    def relevant(
        self, question: str, candidates: Sequence[Evidence], lift: float | None = None
    ) -> list[Evidence]:
        """The candidates the model judges relevant, in their order."""
        return [e for e in candidates if self.is_relevant(question, e, lift)]


CHOOSE_PROMPT = (
    "You select the papers for the related-work section of a research paper on a topic. You "
    "are given the topic and numbered candidate papers found by search (title and the start "
    "of the abstract). Keep a paper only if the topic is what it is about; leave out papers "
    "on a neighbouring subject that merely share words, methods or data with the topic. "
    "Reply with a JSON list of the numbers of the papers to keep, like [1, 4, 5], and nothing "
    "else."
)
# Words of the abstract shown per candidate when choosing among many.
CHOICE_WORDS = 40


def choose(model: ChatModel, topic: str, papers: Sequence[tuple[str, str]]) -> list[int] | None:
    """The positions (0-based) of the ``papers`` (title, abstract) that ``model`` keeps for a
    related-work section on ``topic``, in their order; None when its reply names none of them
    or cannot be read. One request for all: meant for an endpoint's model, strong enough to
    compare candidates (the bundled models say yes to the neighbours). LLMError if it fails."""
    listing = "\n".join(
        f"[{i}] {title}. {' '.join(abstract.split()[:CHOICE_WORDS])}"
        for i, (title, abstract) in enumerate(papers, 1)
    )
    messages = [
        Message("system", CHOOSE_PROMPT),
        Message("user", f"Topic: {topic}\n\nCandidates:\n{listing}\n\nPapers to keep:"),
    ]
    reply = model.complete(messages, max_tokens=8 + 4 * len(papers))
    found = re.search(r"\[([\d,\s]*)\]", reply)
    if not found:
        return None
    chosen = {int(x) - 1 for x in re.findall(r"\d+", found.group(1))}
    kept = sorted(i for i in chosen if 0 <= i < len(papers))
    return kept or None
