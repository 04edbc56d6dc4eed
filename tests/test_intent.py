"""Reading requests: the bundled model's task and topic, metadata checked against the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.config import Settings
from assistant.intent import RequestReader, ResearchRequest, read_by_rules
from assistant.writing_request import Wishes, asks_for_writing, topic_of, wishes
from assistant.years import years_named


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("papers from 2022", (2022, 2022)),
        ("anything since 2021?", (2021, None)),
        ("after 2022", (2023, None)),
        ("older than 2020", (None, 2019)),
        ("between 2019 and 2020", (2019, 2020)),
        ("from 2021 to 2023 please", (2021, 2023)),
        ("2023 onwards", (2023, None)),
        ("after 2020 and before 2023", (2021, 2022)),
        ("2020 and earlier", (None, 2020)),
        ("what is new in detection", (None, None)),
    ],
)
def test_years_are_read_as_ranges(text: str, years: tuple[int | None, int | None]) -> None:
    assert years_named(text) == years


def test_metadata_is_read_from_the_catalog_in_any_case(searcher: Any) -> None:
    request = read_by_rules("which papers did song guanglu publish before 2021?", searcher)
    assert request.intent == "list"
    assert request.authors == ["Guanglu Song"] and request.year_to == 2020
    # A name that is not in the collection is no author filter.
    request = read_by_rules("papers by Maria Okafor", searcher)
    assert request.authors == []


def test_a_request_allows_only_known_values(searcher: Any) -> None:
    request = ResearchRequest("x", intent="list", year_from=2023, has_code=False)
    for paper in searcher.papers.values():
        if request.allows(paper):
            assert paper.year is not None and paper.year >= 2023 and paper.has_code is False


@pytest.fixture(scope="module")
def reader(searcher: Any) -> Any:
    from assistant.llm import LocalModels

    models = LocalModels(Settings())
    yield RequestReader(searcher, models.model("read"))
    models.stop()


def test_the_model_reads_a_metadata_request_into_filters(reader: Any) -> None:
    request = reader.read(
        "Hi! According to the listed metadata, could you give me Guanglu Song's papers "
        "since 2022 that have released code?"
    )
    assert reader.note == ""
    assert request.read_by == "model" and request.intent == "list"
    assert request.authors == ["Guanglu Song"]
    assert (request.year_from, request.year_to, request.has_code) == (2022, None, True)


def test_the_model_reads_a_writing_request_and_its_topic(reader: Any) -> None:
    request = reader.read(
        "Draft a related-work paragraph on pruning or merging tokens to make vision "
        "transformers faster (dense prediction especially)"
    )
    assert request.intent == "related_work"
    assert "token" in request.topic and "Draft" not in request.topic


@pytest.mark.parametrize(
    ("text", "intent", "topic"),
    [
        ("Outline for a survey: masked image modeling", "review", "masked image modeling"),
        ("could u outline a lit review about RLHF", "review", "RLHF"),
        (
            "an outline of a review paper on video diffusion. Keep it short.",
            "review",
            "video diffusion",
        ),
        (
            "I need related work on ViT-to-CNN distillation, e.g. DeiT. Can you write it?",
            "related_work",
            "ViT-to-CNN distillation, e.g. DeiT",
        ),
        ("What does the survey on hallucination find?", "question", ""),
        ("Which survey outlines the field?", "question", ""),
    ],
)
def test_the_rules_read_writing_requests_and_cut_the_topic_at_its_sentence(
    searcher: Any, text: str, intent: str, topic: str
) -> None:
    request = read_by_rules(text, searcher)
    assert (request.intent, request.topic) == (intent, topic)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Draft a related-work paragraph on token pruning for ViTs", "token pruning for ViTs"),
        ("pls write related works about CNNs vs ViTs thanks", "CNNs vs ViTs"),
        ("Related work: sparse mixture-of-experts layers", "sparse mixture-of-experts layers"),
        (
            "Please write the related work section of my paper, which is about token pruning. "
            "Thank you!",
            "token pruning",
        ),
        ("Could you propose an outline for a literature review on open-vocabulary segmentation?",
         "open-vocabulary segmentation"),
        ("I need a survey of methods for distillation in detection, please",
         "methods for distillation in detection"),
        ("I am in my third year. The topic is visual token pruning. Keep it brief.",
         "visual token pruning"),
        ("Please write the background of my thesis. My project is about dataset distillation.",
         "dataset distillation"),
        ("Token merging in ViTs -- we need a state-of-the-art summary for a CVPR paper",
         "Token merging in ViTs"),
        ("Related work, open-vocabulary detection, ~600 words, numbered citations",
         "open-vocabulary detection"),
        ("Write the prior work section for a CVPR paper", "Write the prior work section for a CVPR paper"),
        # Names that look like the asker are no asker: "U-Net", "I-JEPA", "US".
        ("Write related work on segmentation with U-Net variants for my thesis",
         "segmentation with U-Net variants"),
        ("related work on I-JEPA and US census imagery", "I-JEPA and US census imagery"),
        ("survey on DETR-style models for me pls", "DETR-style models"),
        # Typos in the writing's noun, a topic in a later sentence or after a role, a line
        # break, and what a request says of the writing after its topic.
        ("pls do a relatd wrok sectoin on event cameras for SLAM", "event cameras for SLAM"),
        ("I need a literature review for my thesis. Focus on diffusion models for video editing.",
         "diffusion models for video editing"),
        ("As an expert in speech enhancement, write a background section.", "speech enhancement"),
        ("Topic: neural audio codecs\nFormat: related work, IEEE style", "neural audio codecs"),
        ("related work on graph transformers. keep it brief", "graph transformers"),
        ("Survey on point cloud registration, grouped by method family", "point cloud registration"),
        ("Related work on sparse attention (e.g. sliding windows) in three paragraphs",
         "sparse attention (e.g. sliding windows)"),
        ("lit review monocular depth estimation asap", "monocular depth estimation"),
        ("Write a review of the recent papers on open-set recognition for a robotics journal",
         "open-set recognition"),
        ("We study federated learning under label skew. Please write the related work for our "
         "paper.", "federated learning under label skew"),
        ("Im writing my first paper and its about neural ODEs, can u write the related work section",
         "neural ODEs"),
        ("sparse autoencoders for interpretability\n\nreading list, 10 papers, easiest first",
         "sparse autoencoders for interpretability"),
        ("Papers dealing with graph rewiring -- can you organize them into a short survey?",
         "graph rewiring"),
        ("Write a review of graph rewiring, covering 2019-2024 only", "graph rewiring"),
        ("Act as a senior reviewer. Write an overview of token merging, then list open problems.",
         "token merging"),
        # Plain topics stay whole, alone or in a request: a review named after a colon, a noun
        # of the writing that is the topic's own, words that name writing in another sense.
        ("Write a related work section on Detecting section headings in scientific PDFs.",
         "Detecting section headings in scientific PDFs"),
        ("Could you draft a literature review about Survey sampling for emotion corpora?",
         "Survey sampling for emotion corpora"),
        ("related work: Markdown and LaTeX OCR for lecture notes",
         "Markdown and LaTeX OCR for lecture notes"),
        ("Background modelling and subtraction for video surveillance",
         "Background modelling and subtraction for video surveillance"),
        ("Foreground-background separation for video matting",
         "Foreground-background separation for video matting"),
        ("Token pruning and merging for ViTs (training-free)", "Token pruning and merging for ViTs (training-free)"),
        ("Multimodal benchmarks for reasoning: a review of evaluation suites",
         "Multimodal benchmarks for reasoning: a review of evaluation suites"),
        ("Knowledge distillation across architectures, e.g. ViT teachers of CNN students",
         "Knowledge distillation across architectures, e.g. ViT teachers of CNN students"),
    ],
)  # fmt: skip
def test_a_writing_request_sent_as_a_topic_is_cut_to_its_topic(text: str, topic: str) -> None:
    assert topic_of(text) == topic


def test_a_long_request_naming_the_writing_many_times_is_still_read() -> None:
    # Every writing noun once read the rest of the text: topic_of took 23 s on this one (0.13 s
    # now). Each reads a bounded window now, and only a sentence's last few count.
    text = "Write a literature review on token pruning for vision transformers. "
    text += "Survey, review, related work, overview; " * 500
    assert topic_of(text) == "token pruning for vision transformers"
    assert asks_for_writing(text)
    assert wishes(text) == Wishes()


@pytest.mark.parametrize(
    ("text", "wish"),
    [
        ("Write a short related-work paragraph on token pruning in LaTeX, 2021 onwards",
         Wishes(latex=True, short=True, year_from=2021)),
        ("lit review on domain adaptation from 2015 to 2020, formal academic tone",
         Wishes(formal=True, year_from=2015, year_to=2020)),
        # A plain topic asks nothing, even with "LaTeX", "short" or a year in it.
        ("Related work on LaTeX OCR for short handwritten formulas", Wishes()),
        ("short-term load forecasting", Wishes()),
        ("Benchmarks released after 2020 for video QA", Wishes()),
        # The same reader as the chat's: "after" starts a year later, "before" ends one earlier;
        # a year alone beside the topic may be a venue's and names no range.
        ("Survey of token pruning, only papers after 2021", Wishes(year_from=2022)),
        ("Related work on token pruning, papers before 2023 please", Wishes(year_to=2022)),
        ("Related work on token pruning for my CVPR 2026 submission", Wishes()),
        ("Lit review on token pruning, papers from 2021", Wishes(year_from=2021)),
    ],
)  # fmt: skip
def test_a_request_says_what_it_wants_of_the_writing(text: str, wish: Wishes) -> None:
    assert wishes(text) == wish


@pytest.fixture(scope="module")
def two_readers(searcher: Any) -> Any:
    from assistant.llm import LocalModels

    models = LocalModels(Settings())
    yield RequestReader(searcher, models.model("read"), models.model("judge"))
    models.stop()


def test_a_writing_request_the_small_model_misreads_is_read_as_writing(two_readers: Any) -> None:
    # The 0.5B model reads this as a question, or copies "sketch" as its topic; the rules see
    # an outline, so the 1.5B model takes a second look and the rules' topic stands in.
    request = two_readers.read(
        "Sketch the outline of a survey on masked image modeling for self-supervised pretraining."
    )
    assert request.intent == "review"
    assert "masked image modeling" in request.topic and "ketch" not in request.topic


def test_a_request_with_a_writing_shape_is_read_as_writing_with_its_whole_topic(
    two_readers: Any,
) -> None:
    # The 0.5B model reads this as a question and copies part of the topic; the request has a
    # writing request's shape, so the 1.5B model takes a second look, and the topic is the
    # whole of what the shape finds.
    topic = "compressing CLIP-like vision-language models into lightweight students"
    request = two_readers.read(f"Background section needed on the following topic: {topic}")
    assert request.intent in ("related_work", "review")
    assert request.topic == topic


def test_a_question_naming_a_method_stays_a_question(reader: Any) -> None:
    request = reader.read("How does Teach-DETR use teacher detectors to train DETR?")
    assert request.intent == "question"


def test_a_question_that_contrasts_two_named_methods_is_a_comparison(reader: Any) -> None:
    request = reader.read("Could you contrast AnimateLCM with Gen-L-Video for me?")
    assert request.intent == "compare"
    titles = [reader.searcher.papers[pid].title for pid in request.papers]
    assert [t.split(":")[0] for t in titles] == ["AnimateLCM", "Gen-L-Video"]


def test_papers_are_named_by_method_names_only_one_paper_can_be(searcher: Any) -> None:
    from assistant.intent import papers_named

    def heads(text: str) -> list[str]:
        return [searcher.papers[pid].title.split(":")[0] for pid in papers_named(text, searcher)]

    assert heads("PyramidDrop vs FoPru: where does each drop tokens?") == ["PyramidDrop", "FoPru"]
    # Words every other abstract uses name no paper; a sentence's first word is no name.
    assert heads("Compare a CNN with a ViT and an LLM") == []
    # The CLIP paper links its code as github.com/OpenAI/CLIP; titles that use the name don't.
    clip = papers_named("how is CLIP trained?", searcher)
    assert [searcher.papers[p].title for p in clip] == [
        "Learning Transferable Visual Models From Natural Language Supervision"
    ]
    # A whole title names its paper too.
    quoted = "ALIGN (Scaling Up Visual and Vision-Language Representation Learning With Noisy Text Supervision)"
    assert len(papers_named(quoted, searcher)) == 1


def test_a_paper_name_that_fits_several_papers_says_which(reader: Any) -> None:
    request = reader.read("Compare CLIP and ALIGN: training data, scale, what differs?")
    assert any("'ALIGN' fits several papers; did you mean" in e for e in request.unresolved)
