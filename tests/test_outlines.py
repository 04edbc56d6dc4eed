"""Outlines of related work: read back from a draft, edited by the user, grouped anew, and
written into paragraphs (with the evidence writer here; with the bundled model in
test_writing.py)."""

from __future__ import annotations

import re

import pytest

from assistant.answer import Answerer
from assistant.chat import ChatSession
from assistant.citations import Citation, markers
from assistant.errors import QuestionError
from assistant.outlines import outline_of, parse_outline
from assistant.writing import OUTLINE_KIND, Draft, outline_draft
from tests.conftest import make_paper

A, B, C = (make_paper(p, title=f"Method {p.upper()}: a title") for p in ("a", "b", "c"))


def written() -> Draft:
    text = "**Token pruning.** A prunes [1]. B merges [2].\n\n**Distillation.** C distils [3]."
    citations = [Citation(n, p) for n, p in enumerate((A, B, C), 1)]
    return Draft("related work", "efficient vision transformers", text, citations)


def test_a_written_draft_and_its_outline_draft_have_the_same_outline() -> None:
    expected = [("Token pruning", [A, B]), ("Distillation", [C])]
    assert outline_of(written()) == expected
    shown = outline_draft("efficient vision transformers", expected)
    assert shown.kind == OUTLINE_KIND and outline_of(shown) == expected
    assert shown.text.splitlines()[1].startswith("1. Token pruning: ")


def test_papers_marked_less_sure_are_shown_named_and_still_read_back() -> None:
    expected = [("Token pruning", [A, B]), ("Distillation", [C])]
    shown = outline_draft("efficient vision transformers", expected, less_sure={B.id})
    assert shown.less_sure == [2]
    assert "[2] (less sure)" in shown.text and shown.text.count("less sure") == 1
    assert 'Method B [2]; say "drop [2]"' in shown.note
    assert outline_of(shown) == expected  # the mark does not change what the outline holds
    assert outline_draft("efficient vision transformers", expected).note.startswith("edit")


def test_an_outline_sent_back_renames_and_moves_papers() -> None:
    edited = "1. Pruning and merging tokens: [1]\n2. Distilling smaller students: [3], [2]"
    assert parse_outline(edited, written()) == [
        ("Pruning and merging tokens", [A]),
        ("Distilling smaller students", [C, B]),
    ]
    # A paper under two headings stays under the first; a heading left empty goes.
    twice = "1. One: [1] [2]\n2. Two: [2]\n3. Three: [3]"
    assert [name for name, _ in parse_outline(twice, written()) or []] == ["One", "Three"]


def test_text_that_is_no_outline_is_not_read_as_one() -> None:
    assert parse_outline("1. make it shorter", written()) is None
    assert parse_outline("what does [2] do?", written()) is None


def test_an_outline_citing_a_paper_the_draft_lacks_says_which() -> None:
    with pytest.raises(QuestionError, match=r"\[7\].*\[1\] to \[3\]"):
        parse_outline("1. Pruning: [1] [7]", written())


def test_an_outline_is_edited_regrouped_and_written_with_the_evidence_writer(searcher) -> None:
    session = ChatSession(Answerer(searcher, None))
    topic = "making vision transformers efficient: token pruning, quantisation, distillation"
    *_, outline = session.send(topic, "Related-work outline")
    assert isinstance(outline, Draft) and outline.kind == OUTLINE_KIND
    themes = outline_of(outline)
    assert themes and not re.search(r"\*\*", outline.text)  # no paragraphs yet

    *_, other = session.send("another outline")
    assert other.kind == OUTLINE_KIND and len(outline_of(other)) != len(themes)
    assert {p.id for _, g in outline_of(other) for p in g} == {p.id for _, g in themes for p in g}

    # Back to the first outline's numbers: every paper in one renamed theme but the first.
    *_, outline = session.send(topic, "Related-work outline")
    numbers = sorted(c.n for c in outline.citations)
    edited = (
        f"1. Making vision transformers cheaper: {' '.join(f'[{n}]' for n in numbers[1:])}\n"
        f"2. One paper on its own: [{numbers[0]}]"
    )
    *pieces, draft = session.send(edited)
    assert pieces[0].startswith("Outline for")  # the outline is shown before the paragraphs
    assert draft.kind == "related work"
    by_theme = outline_of(draft)
    assert [name for name, _ in by_theme] == [
        "Making vision transformers cheaper",
        "One paper on its own",
    ]
    assert [p.id for p in by_theme[1][1]] == [outline.citations[0].paper.id]
    assert set(markers(draft.text)) == {c.n for c in draft.citations}  # every [n] resolves

    *_, formal = session.send("make it more formal")
    assert formal.kind == "related work" and "no model to rewrite with" in formal.note
    assert {c.paper.id for c in formal.citations} == {c.paper.id for c in draft.citations}


def test_a_request_sent_as_the_topic_outlines_the_topic_it_names(searcher) -> None:
    session = ChatSession(Answerer(searcher, None))
    topic = "token pruning and merging for vision transformers"
    *_, plain = session.send(topic, "Related-work outline")
    *_, asked = session.send(
        f"Could you please draft the related work section of my paper, which is about {topic}?",
        "Related-work outline",
    )
    assert asked.topic == topic and asked.text.splitlines()[0] == plain.text.splitlines()[0]
    assert [c.paper.id for c in asked.citations] == [c.paper.id for c in plain.citations]


def test_the_papers_fitting_the_topic_least_stay_marked_from_outline_to_draft(searcher) -> None:
    from assistant.writing import TopicFilter

    topic = "making vision transformers efficient: token pruning, quantisation, distillation"
    kept = TopicFilter(searcher).papers(topic)
    fits = {p.id: fit for p, fit in kept}
    doubtful = TopicFilter.less_sure(kept)
    assert 0 < len(doubtful) < len(kept)
    assert doubtful == {i for i, fit in fits.items() if fit < TopicFilter.LESS_SURE}
    # Without a scoring model the fit is the relative score: the best is 1, none under the bar.
    assert max(fits.values()) == pytest.approx(1.0)
    assert min(fits.values()) >= TopicFilter.MIN_RELATIVE_SCORE

    session = ChatSession(Answerer(searcher, None))
    *_, outline = session.send(topic, "Related-work outline")
    marked = {c.paper.id for c in outline.citations if c.n in outline.less_sure}
    assert marked == doubtful
    for c in outline.citations:
        assert (f"[{c.n}] (less sure)" in outline.text) == (c.paper.id in doubtful)

    *pieces, draft = session.send("write it")
    assert pieces[0].count("(less sure)") == len(doubtful)  # the outline shown first
    assert {c.paper.id for c in draft.citations if c.n in draft.less_sure} == doubtful & {
        c.paper.id for c in draft.citations
    }
    assert f'say "drop [{draft.less_sure[0]}]"' in draft.note
    assert "(less sure)" not in draft.text  # the paragraphs are prose, the note names them


def test_an_outline_sent_as_one_line_is_read_by_its_numbers() -> None:
    # Chat messages arrive with their line breaks folded into spaces.
    edited = "1. Pruning tokens: [1] [2] 2. 3D-aware distillation: [3]"
    assert parse_outline(edited, written()) == [
        ("Pruning tokens", [A, B]),
        ("3D-aware distillation", [C]),
    ]


@pytest.mark.parametrize(
    ("titles", "name"),
    [
        (
            [
                "Uni-MoE: Scaling Unified Multimodal LLMs with Mixture of Experts",
                "Sparse Mixture of Experts for Vision at Fixed Compute",
                "MoVA: Adapting Mixture of Vision Experts to Multimodal Context",
            ],
            "Mixture of experts",  # not "Work on mixture"
        ),
        (["Token Pruning for Vision Transformers", "Fast token pruning in LLMs"], "Token pruning"),
        # No phrase shared: the phrase around the most distinctive word, not "Work on face".
        (
            ["Towards Flops-constrained Face Recognition", "Sub-center Face Embeddings"],
            "Flops-constrained face recognition",
        ),
    ],
)
def test_a_theme_without_a_model_is_named_by_the_phrase_its_titles_share(titles, name):
    from assistant.writing import _theme_name

    group = [make_paper(f"p{i}", title=t) for i, t in enumerate(titles)]
    assert _theme_name(group, group) == name


DROP = make_paper(
    "drop", title="PyramidDrop: Accelerating Large Vision-Language Models",
    abstract="Large vision-language models spend most of their compute on image tokens. We "
    "propose PyramidDrop, a visual redundancy reduction strategy that drops image tokens "
    "stage by stage. Extensive experiments demonstrate that PyramidDrop can achieve a 40% "
    "training time and 55% inference FLOPs acceleration of LLaVA-NeXT with comparable "
    "performance.",
)  # fmt: skip
VAGUE = make_paper(
    "vague", title="TopV: Token Pruning at Inference",
    abstract="We propose TopV, a training-free token pruning method. Extensive experiments "
    "show that TopV outperforms previous methods by a large margin.",
)  # fmt: skip


def test_a_paper_described_without_a_figure_gets_its_measured_result() -> None:
    from assistant.writing import with_results

    body = [
        "PyramidDrop drops image tokens stage by stage [1].",
        "TopV prunes tokens without training [2].",
    ]
    assert with_results(body, [(1, DROP), (2, VAGUE)]) == [
        body[0],
        "Extensive experiments demonstrate that PyramidDrop can achieve a 40% training time and "
        "55% inference FLOPs acceleration of LLaVA-NeXT with comparable performance [1].",
        body[1],  # "by a large margin" is no figure: nothing added
    ]
    # A paper whose sentence already gives a figure, or that is not cited, gets none.
    measured = ["PyramidDrop cuts inference FLOPs by 55% [1]."]
    assert with_results(measured, [(1, DROP)]) == measured
    assert with_results([body[1]], [(1, DROP), (2, VAGUE)]) == [body[1]]
