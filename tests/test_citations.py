"""Citation markers: finding, keeping and renumbering [n]; sentence support against evidence."""

from __future__ import annotations

import pytest
from conftest import make_paper

from assistant.citations import (
    SUPPORT_MIN_OVERLAP,
    Citation,
    claims,
    content_words,
    credits_own,
    grounded,
    is_supported,
    keep_markers,
    markers,
    owns,
    phrasing,
    renumber,
    support,
    supports_each,
)
from assistant.papers import Paper, Source
from assistant.text import prose_sentences


def paper(**fields) -> Paper:
    teaching_detr = dict(
        bibkey="zhu2023detr",
        title="Teaching DETR with Teachers",
        abstract="We train DETR with teacher detectors.",
        authors=["Jinguo Zhu", "Guanglu Song"],
        date="Mar 3, 2023",
        year=2023,
        category="CV",
        has_code=True,
        sources=[Source("000_x.txt", 4), Source("004_y.txt", 12)],
    )
    return make_paper("p1", **{**teaching_detr, **fields})


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("A [1]. B [2, 3]. C [4;5].", [1, 2, 3, 4, 5]),
        ("Repeated [2] and again [2].", [2, 2]),
        ("No space before it[6].", [6]),
        ("Spaced list [1 , 2 ; 3].", [1, 2, 3]),
        ("No markers at all.", []),
        ("Not markers: [2023a], [1-3], [a], [].", []),
    ],
)
def test_markers_are_every_number_in_order_of_appearance(text, found):
    assert markers(text) == found


@pytest.mark.parametrize(
    ("text", "valid", "kept"),
    [
        ("A [1]. B [9]. C [1, 9].", {1}, "A [1]. B. C [1]."),
        ("D [9; 2].", {2}, "D [2]."),
        ("E [3, 1].", {1, 3}, "E [3, 1]."),
        ("F [4].", set(), "F."),
        ("G has no marker.", {1}, "G has no marker."),
    ],
)
def test_keep_markers_drops_numbers_that_do_not_resolve(text, valid, kept):
    assert keep_markers(text, valid) == kept


def test_renumber_rewrites_every_number_through_the_mapping():
    assert renumber("A [2]. B [1, 2]. C[3].", {1: 2, 2: 1, 3: 3}) == "A [1]. B [2, 1]. C [3]."
    assert renumber("Nothing cited.", {}) == "Nothing cited."


def test_prose_sentences_splits_at_end_punctuation_before_a_capital_quote_or_bracket():
    text = 'We use e.g. the COCO set. It works! Does it? "Yes" said he. (Maybe) not. *Bold* end'
    assert prose_sentences(text) == [
        "We use e.g. the COCO set.",
        "It works!",
        "Does it?",
        '"Yes" said he.',
        "(Maybe) not.",
        "*Bold* end",
    ]
    assert prose_sentences("  \n ") == []
    assert prose_sentences("version 2.0 of it. and lower case.") == [
        "version 2.0 of it. and lower case."
    ]
    # Two papers told apart by year: "et al. (2024a)" goes on in the same sentence, and the
    # label is no number the support check looks for in the abstract.
    told = "It prunes tokens [1]. Wang et al. (2024a) merge visual tokens [2]."
    assert prose_sentences(told) == ["It prunes tokens [1].", told.split("[1]. ")[1]]
    facts = "Wei Wang, Li Zhu. We merge visual tokens."
    assert is_supported("Wang et al. (2024a) merge visual tokens", facts)
    assert not is_supported("Wang et al. merge 2024 tokens", facts)


def test_content_words_are_stemmed_without_stop_words_or_markers():
    assert content_words("Detectors and models of the DETR-based family [3].") == {
        "detector",
        "detr-bas",
        "famili",
    }
    assert content_words("the of and [1, 2]") == set()


def test_a_sentence_quoted_from_its_evidence_is_fully_supported():
    evidence = "It reaches 45.2 AP on COCO with Teach-DETR."
    assert support("It reaches 45.2 AP on COCO with Teach-DETR [1].", evidence) == 1.0
    assert is_supported("It reaches 45.2 AP on COCO with Teach-DETR [1].", evidence)


def test_support_is_the_share_of_content_words_found_in_the_evidence():
    sentence = "transformer detector converges faster everywhere"  # 5 content words
    assert support(sentence, "a transformer detector converges") == pytest.approx(0.6)
    assert support(sentence, "a transformer detector") == pytest.approx(0.4)
    assert SUPPORT_MIN_OVERLAP == 0.6
    assert is_supported(sentence, "a transformer detector converges")
    assert not is_supported(sentence, "a transformer detector")


@pytest.mark.parametrize(
    ("sentence", "evidence"),
    [
        ("It reaches 47.0 AP on COCO.", "It reaches 45.2 AP on COCO."),  # another number
        ("The detector was proposed by Zhu.", "The detector was proposed by Song."),  # a name
        ("It is trained like GPT-4.", "It is trained like a detector."),  # a model
    ],
)
def test_a_name_or_number_the_evidence_lacks_gets_no_support(sentence, evidence):
    assert support(sentence, evidence) == 0.0
    assert not is_supported(sentence, evidence)


def test_a_sentence_initial_capital_is_no_fact_and_an_empty_sentence_is_supported():
    assert support("Detectors train faster.", "detectors train faster") == 1.0
    assert support("the of and", "unrelated evidence") == 1.0  # nothing to check


@pytest.mark.parametrize(
    ("sentence", "evidence"),
    [
        ("The method improves accuracy by 5%.", "The method improves accuracy by 15%."),
        ("The detector was proposed by Li.", "The detector was proposed by Liu."),
    ],
)
def test_a_number_or_name_inside_a_longer_one_is_not_support(sentence, evidence):
    assert support(sentence, evidence) == 0.0


@pytest.mark.parametrize(
    ("sentence", "evidence"),
    [
        ("Training DETR converges faster.", "Co-DETR training converges faster."),
        ("Training DETR converges faster.", "Training DETRs converges faster."),
        ("It beats GPT-4 by 5%.", "It beats GPT-4o by 5%, a new best."),
    ],
)
def test_a_name_or_number_inside_a_hyphenated_or_plural_word_is_no_missing_fact(sentence, evidence):
    assert support(sentence, evidence) > 0.5  # not zeroed by a missing name or number


def test_citation_json_carries_the_paper_and_its_evidence():
    p = paper()
    c = Citation(2, p, ["We train DETR with teacher detectors."], supported=False)
    assert c.to_json() == {
        "n": 2,
        "id": "p1",
        "title": "Teaching DETR with Teachers",
        "authors": ["Jinguo Zhu", "Guanglu Song"],
        "year": 2023,
        "bibkey": "zhu2023detr",
        "source": "000_x.txt:4; 004_y.txt:12",
        "evidence": ["We train DETR with teacher detectors."],
        "supported": False,
    }
    assert Citation(1, p).evidence == [] and Citation(1, p).supported


# --- a sentence citing several papers: each backs what is said of it --------------------------

FACTS = {
    1: "Teach-DETR trains DETR detectors with boxes from teacher detectors.",
    2: "Co-DETR adds auxiliary heads with one-to-many label assignment to DETR detectors.",
    3: "OvarNet recognises the attributes of objects with a text encoder.",
}
NAMES = {1: "Huang Teach-DETR", 2: "Zong Co-DETR", 3: "Chen OvarNet"}


def test_claims_split_a_sentence_at_its_runs_of_markers():
    assert claims("A prunes tokens [1], while B merges them [2].") == [
        ("A prunes tokens .", [1]),
        (", while B merges them .", [2]),
    ]
    # Markers in a row cite the same words; the words after the last run are said of all.
    assert claims("The papers [1], [2], and [3] all prune tokens.") == [
        ("The papers  all prune tokens.", [1, 2, 3])
    ]
    assert claims("Both A [1] and B [2] use COCO.") == [
        ("Both A  use COCO.", [1]),
        (" and B  use COCO.", [2]),
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Teach-DETR trains DETR with teacher boxes [1], while Co-DETR adds auxiliary heads [2].",
        "Unlike Teach-DETR [1], Co-DETR adds auxiliary heads [2].",
        "Teach-DETR and Co-DETR both train DETR detectors [1, 2].",
        "Teach-DETR uses teacher boxes [1].",
    ],
)
def test_a_contrast_each_of_whose_papers_backs_its_part_is_supported(sentence):
    assert supports_each(sentence, FACTS, NAMES)


@pytest.mark.parametrize(
    "sentence",
    [
        # What one paper does, said of three: the three together would have passed.
        "The papers [1], [2], and [3] all train DETR detectors with teacher boxes.",
        "Teach-DETR and Co-DETR both use teacher boxes [1, 2].",
        "OvarNet uses teacher boxes [3].",
    ],
)
def test_a_claim_one_cited_paper_does_not_back_is_unsupported(sentence):
    assert not supports_each(sentence, FACTS, NAMES)


def test_the_cited_papers_together_are_not_enough():
    sentence = "The papers [1], [2], and [3] all train DETR detectors with teacher boxes."
    assert is_supported(sentence, " ".join(FACTS.values()))  # the check before
    assert not supports_each(sentence, FACTS, NAMES)


_PYRAMID = (
    "Previous approaches have attempted to reduce the number of image tokens. We propose "
    "PyramidDrop, a visual redundancy reduction strategy for LVLMs to boost their efficiency in "
    "both training and inference with neglectable performance loss. Extensive experiments "
    "demonstrate that PyramidDrop can achieve a 40% training time and 55% inference FLOPs "
    "acceleration of LLaVA-NeXT with comparable performance."
)


def test_a_clause_in_its_papers_phrasing_keeps_it_and_recombined_words_do_not():
    kept = "PyramidDrop achieves a 40% training time acceleration of LLaVA-NeXT"
    inverted = "PyramidDrop reduces LVLMs' efficiency by 40% in training"
    assert phrasing(kept, _PYRAMID) == 1.0
    assert phrasing(inverted, _PYRAMID) < 0.6  # every word is the paper's; the claim is not
    assert support(inverted, _PYRAMID) == 1.0  # which the word count alone cannot see
    assert phrasing("PyramidDrop", _PYRAMID) == 1.0  # no pair of words to misplace


SEARCH_BENCH = make_paper(
    "mm",
    title="MMSearch: Benchmarking the Potential of Large Models as Multi-modal Search Engines",
    authors=["Dongzhi Jiang"],
    abstract=(
        "We introduce MMSearch, a benchmark for multimodal search engines, and design a pipeline "
        "called MMSearch-Engine. On MMSearch, GPT-4o with MMSearch-Engine achieves the best "
        "results, surpassing the commercial product Perplexity Pro."
    ),
)


def test_a_paper_owns_what_its_title_or_its_credit_verbs_name():
    assert owns(SEARCH_BENCH, "MMSearch")
    assert owns(SEARCH_BENCH, "MMSearch-Engine")  # "design a pipeline called MMSearch-Engine"
    assert not owns(SEARCH_BENCH, "GPT-4o")  # only scored on the benchmark
    assert not owns(SEARCH_BENCH, "Perplexity")


def test_a_sentence_may_not_credit_a_paper_with_a_model_it_only_uses():
    papers = {1: SEARCH_BENCH}
    wrong = "Jiang et al. introduce GPT-4o with MMSearch-Engine, achieving the best results [1]."
    right = "Jiang et al. introduce MMSearch, a benchmark for multimodal search engines [1]."
    assert supports_each(wrong, {1: SEARCH_BENCH.abstract + " Jiang"}, {1: "Jiang"})
    assert not credits_own(wrong, papers)
    assert grounded(wrong, papers) is None
    assert credits_own(right, papers)
    assert grounded(right, papers) == right
    # A verb with no name after it credits nothing.
    assert credits_own("Jiang et al. propose a new benchmark for search engines [1].", papers)
