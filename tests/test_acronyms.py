"""Abbreviations spelled out at their first use in a draft (pure logic)."""

from __future__ import annotations

import pytest

from assistant.acronyms import definitions, introduced, long_form
from tests.conftest import make_paper

MOE = make_paper(
    "moe", title="Experts Weights Averaging: A New General Training Scheme for Vision Transformers",
    abstract="We assign experts by random uniform partition, and perform Experts Weights "
    "Averaging (EWA) on these experts at the end of each iteration. Vision Transformers "
    "(ViTs) gain on 2D and 3D tasks.",
)  # fmt: skip
HEAD = make_paper(
    "head", title="Decoupled Heads for Detection Transformers",
    abstract="Inspired by this, we propose the Decoupling Head (DH) to disentangle "
    "classification and regression in multi-modal vision-language models (MVLMs).",
)  # fmt: skip
IRRA = make_paper(
    "irra", title="IRRA: Cross-Modal Implicit Relation Reasoning and Aligning",
    abstract="We present IRRA: Implicit Relation Reasoning and Aligning (IRRA), a framework "
    "for text-based person search.",
)  # fmt: skip


@pytest.mark.parametrize(
    ("before", "short", "long"),
    [
        ("and perform Experts Weights Averaging", "EWA", "Experts Weights Averaging"),
        ("we propose the Decoupling Head", "DH", "Decoupling Head"),
        # the whole hyphenated word, not the part whose letter matched
        ("in multi-modal vision-language models", "MVLMs", "multi-modal vision-language models"),
        ("the first attempt to address Cross-modal BT", "XBT", None),  # no x to match
        ("a method we call", "EWA", None),
        # a capital that only opened the abstract's sentence is dropped; a name keeps its own
        ("Large language models", "LLMs", "large language models"),
        (
            "the International Classification of Disease",
            "ICD",
            "International Classification of Disease",
        ),
    ],
)
def test_the_long_form_is_the_words_whose_letters_spell_the_abbreviation(
    before: str, short: str, long: str | None
) -> None:
    assert long_form(before, short) == long


def test_an_abstract_defines_its_abbreviations() -> None:
    assert definitions(MOE.abstract) == {
        "EWA": "Experts Weights Averaging", "ViTs": "Vision Transformers"
    }  # fmt: skip


def test_the_first_use_in_a_draft_is_spelled_out_from_the_cited_abstract() -> None:
    papers = {1: MOE, 2: HEAD, 3: IRRA}
    known: dict[str, bool] = {}
    first = introduced(
        [
            "The proposed EWA technique improves naive MoE on small datasets [1].",
            "EWA costs nothing at inference [1].",
            "The DH learns to separate the two tasks [2].",
            "IRRA aligns images and text implicitly [3].",  # the paper's own name
            "DH is not defined by [1], which this sentence cites [1].",
        ],
        papers,
        known,
    )
    assert first == [
        "The proposed Experts Weights Averaging (EWA) technique improves naive MoE on small "
        "datasets [1].",
        "EWA costs nothing at inference [1].",  # said once, then short
        "The Decoupling Head (DH) learns to separate the two tasks [2].",
        "IRRA aligns images and text implicitly [3].",
        "DH is not defined by [1], which this sentence cites [1].",
    ]
    # The next paragraph of the same draft does not spell them out again.
    again = introduced(["The DH is light [2]."], papers, known)
    assert again == ["The DH is light [2]."]
    # Inside a name being defined it is part of the name: left, and spelled out later.
    named = introduced(["STViT is a Semantic Token ViTs (STViT) [1].", "ViTs scale [1]."], papers)
    assert named == [
        "STViT is a Semantic Token ViTs (STViT) [1].",
        "Vision Transformers (ViTs) scale [1].",
    ]
    # An abbreviation whose long form the sentence already holds is left alone.
    said = "Experts Weights Averaging (EWA) merges experts [1]."
    assert introduced([said], papers) == [said]
    # Defined again after the draft gave its long form, it is said short (a blind read found
    # MLLM spelled out three times in one draft); defined where it was only used, it stays.
    assert introduced([said, "They cut Experts Weights Averaging (EWA) costs [1]."], papers) == [
        said,
        "They cut EWA costs [1].",
    ]
    bare = ["XBT is hard [1].", "Cross-modal Bidirectional Transfer (XBT) helps [1]."]
    assert introduced(bare, papers) == bare
