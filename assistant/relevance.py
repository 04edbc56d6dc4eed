"""Judging relevance: does a retrieved paper address what was asked? One yes/no per paper.

Retrieval and sentence similarity find papers that share words or neighbourhoods with a
question; whether a paper is *about* it needs reading. The model sees the question, then the
paper's title and its best evidence sentences, and answers yes or no; the probability it
gives "yes" (from the first token's log-probabilities) is compared with a bar calibrated on
development questions near the collection's field and far from it. The question comes first
and the paper last, so the server's prompt cache reuses the question's tokens for every
candidate of the same question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.llm import Message

if TYPE_CHECKING:
    from assistant.evidence import Evidence
    from assistant.llm import ChatModel

# P(yes) that makes a paper citable. Calibrated with benchmarks/judge.py on the development
# requests (assistant/data/requests/dev); see the README's "Measured" section.
YES_BAR = 0.5
# Words of evidence shown per paper: its title and best sentences, cut to keep the prompt short.
EVIDENCE_WORDS = 70

SYSTEM_PROMPT = (
    "You check search results for a research assistant. You are given a user's question and "
    "one paper (title and sentences from its abstract). Answer yes if the paper is about the "
    "subject the question asks about, so that it helps answer the question. Answer no if it "
    "is about something else, even when it shares some words with the question. Reply with "
    "one word: yes or no."
)


def judge_messages(question: str, title: str, sentences: Sequence[str]) -> list[Message]:
    """The yes/no prompt for one paper."""
    text = " ".join(" ".join(sentences).split()[:EVIDENCE_WORDS])
    return [
        Message("system", SYSTEM_PROMPT),
        Message(
            "user",
            f"Question: {question}\n\nPaper: {title}\n{text}\n\nIs this paper about what the question asks? yes or no",
        ),
    ]


class RelevanceJudge:
    """Scores candidate papers for a question with a model's yes/no.

    Args:
        model: the model that judges.
        bar: the P(yes) a paper needs.
    """

    def __init__(self, model: ChatModel, bar: float = YES_BAR):
        self.model, self.bar = model, bar

    def probability(self, question: str, evidence: Evidence) -> float:
        """P(yes) that ``evidence``'s paper addresses ``question``; LLMError if the model fails."""
        sentences = evidence.sentences or [evidence.paper.abstract]
        return self.model.yes_probability(judge_messages(question, evidence.paper.title, sentences))

    def relevant(self, question: str, candidates: Sequence[Evidence]) -> list[Evidence]:
        """The candidates the model judges relevant, in their order; each gets ``extra["p_yes"]``."""
        kept = []
        for e in candidates:
            e.extra["p_yes"] = self.probability(question, e)
            if e.extra["p_yes"] >= self.bar:
                kept.append(e)
        return kept
