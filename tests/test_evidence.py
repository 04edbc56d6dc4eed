"""Evidence: the sentences of each retrieved paper that bear on a question, scored with the real
MiniLM model; the bars that make a paper citable, named papers, the field-term expansion."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_paper

from assistant.embedding import MiniLM
from assistant.evidence import LEAD_BAR, RELEVANCE_BAR, Evidence, select_evidence
from assistant.papers import Paper
from assistant.sentence_vectors import paper_texts


def paper(pid: str, title: str, abstract: str) -> Paper:
    return make_paper(pid, title=title, abstract=abstract, authors=["Linjiang Huang"])


QUESTION = "How are DETR object detectors trained with teacher detectors?"
# Two sentences answer the question (about 0.85 each), the others do not (0.05 and 0.49).
DETR = paper(
    "detr",
    "Teach-DETR: Better Training DETR with Teachers",
    "Bread rises in a warm kitchen. We train DETR-based object detectors with the boxes "
    "predicted by teacher detectors. Teacher detectors give DETR detectors extra supervision "
    "during training. The detectors reach higher accuracy on COCO.",
)
# Off the question: its best sentence scores about 0.30, under both bars.
BAKE = paper(
    "bake",
    "Sourdough Fermentation Forecasting with Gas Sensor Arrays",
    "Predicting when a sourdough starter peaks is guesswork for most bakers. We attach a cheap "
    "array of gas sensors to the jar and train a small recurrent model on the readings.",
)
# Only the title answers the question (about 0.92).
TITLED = paper(
    "titled",
    "How are object detectors trained with teacher detectors?",
    "Bread rises in a warm kitchen. Rye flour ferments slowly.",
)


@pytest.fixture(scope="module")
def embedder(models_dir) -> MiniLM:
    return MiniLM(models_dir, threads=1)


def ids(evidence: list[Evidence]) -> list[tuple[str, int]]:
    return [(e.paper.id, e.rank) for e in evidence]


def test_papers_that_clear_the_bar_are_kept_in_retrieval_order_with_their_rank(embedder):
    evidence = select_evidence(QUESTION, [DETR, BAKE, TITLED], embedder)
    assert ids(evidence) == [("detr", 0), ("titled", 2)]


def test_the_best_two_sentences_in_the_abstracts_order_each_with_its_score(embedder):
    (e,) = select_evidence(QUESTION, [DETR], embedder)
    assert e.sentences == [
        "We train DETR-based object detectors with the boxes predicted by teacher detectors.",
        "Teacher detectors give DETR detectors extra supervision during training.",
    ]
    # The second is the best sentence (the one kept with per_paper=1, below): its score too.
    assert len(e.scores) == 2 and e.scores[1] >= e.scores[0] >= RELEVANCE_BAR
    assert e.score == e.scores[1]


def test_per_paper_limits_the_sentences_and_a_weaker_second_sentence_is_not_quoted(embedder):
    (one,) = select_evidence(QUESTION, [DETR], embedder, per_paper=1)
    assert one.sentences == [
        "Teacher detectors give DETR detectors extra supervision during training."
    ]
    (many,) = select_evidence(QUESTION, [DETR], embedder, per_paper=4)
    # The COCO sentence (0.49) is under 0.85 of the best (0.86): not quoted however many fit.
    assert len(many.sentences) == 2 and not any("COCO" in s for s in many.sentences)


def test_the_lead_paper_needs_only_the_lead_bar(embedder):
    assert LEAD_BAR < RELEVANCE_BAR
    # The off-topic paper first fails the lead bar too; the right one is kept at rank 1.
    assert ids(select_evidence(QUESTION, [BAKE, DETR], embedder)) == [("detr", 1)]
    assert ids(select_evidence(QUESTION, [BAKE, DETR], embedder, lead_bar=0.0)) == [
        ("bake", 0),
        ("detr", 1),
    ]
    # The lead bar is for the first paper only.
    assert ids(select_evidence(QUESTION, [DETR, BAKE], embedder, lead_bar=0.0)) == [("detr", 0)]
    assert ids(select_evidence(QUESTION, [DETR, BAKE], embedder, bar=0.0)) == [
        ("detr", 0),
        ("bake", 1),
    ]


def test_bars_above_every_similarity_keep_nothing_but_named_papers(embedder):
    papers = [DETR, BAKE, TITLED]
    assert select_evidence(QUESTION, papers, embedder, bar=1.01, lead_bar=1.01) == []
    named = select_evidence(
        QUESTION, papers, embedder, bar=1.01, lead_bar=1.01, named=frozenset({"bake"})
    )
    assert ids(named) == [("bake", 1)]
    # A named paper below the bar quotes its best sentence only (a second must clear the bar).
    assert named[0].sentences == [
        "We attach a cheap array of gas sensors to the jar and train a small recurrent model on "
        "the readings."
    ]


def test_a_title_that_answers_the_question_makes_the_paper_citable(embedder):
    (e,) = select_evidence(QUESTION, [DETR, TITLED], embedder, lead_bar=1.01)
    assert e.paper.id == "titled" and e.rank == 1
    assert e.sentences[0] in TITLED.abstract  # the quoted evidence is the abstract's
    assert (
        select_evidence(
            QUESTION, [paper("t2", "Rye flour", TITLED.abstract)], embedder, lead_bar=RELEVANCE_BAR
        )
        == []
    )


def test_sentences_also_score_against_the_expanded_question(embedder):
    question = "a pupil network copying its teacher"
    kd = paper(
        "kd",
        "Knowledge Distillation",
        "Knowledge distillation trains a small student network from a large teacher network. "
        "It is used for model compression.",
    )
    (plain,) = select_evidence(question, [kd], embedder, bar=0.0, lead_bar=0.0)
    (expanded,) = select_evidence(
        question,
        [kd],
        embedder,
        bar=0.0,
        lead_bar=0.0,
        expanded=f"{question} knowledge distillation teacher student",
    )
    assert plain.sentences == expanded.sentences == [kd.abstract.split(". ")[0] + "."]
    assert expanded.score > plain.score + 0.2  # about 0.55 -> 0.85


def test_the_expansion_does_not_count_where_the_question_itself_is_far(embedder):
    # The expansion matches the DETR sentences (about 0.8), the question does not (under 0.2):
    # the paper's best sentence stays the one closest to the question itself.
    question = "sourdough starter"
    kwargs = dict(bar=0.0, lead_bar=0.0, per_paper=1)
    (plain,) = select_evidence(question, [DETR], embedder, **kwargs)
    (expanded,) = select_evidence(
        question, [DETR], embedder, expanded=f"{question} {QUESTION}", **kwargs
    )
    assert plain.sentences == expanded.sentences == ["Bread rises in a warm kitchen."]
    assert expanded.score == pytest.approx(plain.score)
    assert select_evidence(question, [DETR], embedder, expanded=f"{question} {QUESTION}") == []


def test_nothing_to_score_gives_no_evidence_and_an_empty_evidence_scores_zero(embedder):
    assert select_evidence(QUESTION, [], embedder) == []
    assert Evidence(DETR, [], []).score == 0.0
    assert Evidence(DETR, ["a", "b"], [0.7, 0.5]).score == 0.7


# --- the build's stored sentence vectors -----------------------------------------------------


class Counting:
    """The real model, counting the texts it embeds."""

    def __init__(self, inner: MiniLM):
        self.inner, self.texts = inner, 0

    def embed(self, texts: list[str]) -> Any:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.mark.parametrize(
    "question",
    [
        "How is DETR trained with teacher detectors?",
        "which papers make vision transformers cheaper on phones",
        "What is the capital of Peru?",
    ],
)
def test_stored_sentence_vectors_give_the_evidence_embedding_gives(searcher, question):
    papers = [h.paper for h in searcher.search(question, k=6)]
    expanded = searcher.expanded(question)
    counting = Counting(searcher.store.embedder)
    embedded = select_evidence(question, papers, counting, expanded=expanded)
    assert counting.texts >= sum(len(paper_texts(p)) for p in papers)
    counting.texts = 0
    stored = select_evidence(
        question, papers, counting, expanded=expanded, stored=searcher.sentence_vectors.get
    )
    assert counting.texts <= 2  # the question and its expansion, nothing of the papers
    assert [(e.paper.id, e.sentences) for e in stored] == [
        (e.paper.id, e.sentences) for e in embedded
    ]
    assert [e.best for e in stored] == pytest.approx([e.best for e in embedded], abs=1e-5)


def test_a_paper_whose_texts_changed_since_the_build_is_embedded_again(searcher):
    paper = next(iter(searcher.papers.values()))
    assert searcher.sentence_vectors.get(paper) is not None
    longer = make_paper(paper.id, title=paper.title, abstract=paper.abstract + " One more line.")
    assert searcher.sentence_vectors.get(longer) is None
    counting = Counting(searcher.store.embedder)
    (evidence,) = select_evidence(
        "One more line.", [longer], counting, stored=searcher.sentence_vectors.get
    )
    assert counting.texts == 1 + len(paper_texts(longer))
    assert evidence.sentences == ["One more line."]
