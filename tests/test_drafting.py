"""The checks a model-written sentence passes before a draft keeps it (pure logic)."""

from __future__ import annotations

import pytest

from assistant.drafting import (
    leans_on_context,
    repeats_claim,
    restates_title,
    speaks_of_its_input,
    switches_paper,
)
from tests.conftest import make_paper

NVLM = make_paper(
    "nvlm", title="NVLM: Open Frontier-Class Multimodal LLMs", authors=["Wenliang Dai", "Nayeon Lee"],
    more_authors=True,
)  # fmt: skip


@pytest.mark.parametrize(
    ("sentence", "restated"),
    [
        ("NVLM introduces NVLM: Open Frontier-Class Multimodal LLMs [1].", True),
        ("Dai et al. present NVLM, open frontier-class multimodal LLMs [1].", True),
        ("NVLM rivals proprietary models on vision-language benchmarks [1].", False),
    ],
)
def test_a_sentence_that_only_restates_the_title_is_recognised(
    sentence: str, restated: bool
) -> None:
    assert restates_title(sentence, NVLM) is restated


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("However, existing methods are slow.", True),
        ("The resulting pre-trained model transfers well.", True),
        ("This problem has no closed form.", True),
        ("This paper proposes a token pruning method.", False),  # the paper itself
        ("Token pruning speeds up vision transformers.", False),
    ],
)
def test_a_sentence_leaning_on_a_sentence_before_it_is_recognised(
    sentence: str, leans: bool
) -> None:
    assert leans_on_context(sentence) is leans


@pytest.mark.parametrize(
    ("sentence", "switches"),
    [
        ("By combining these components, the students gain 8.0% on CIFAR-100 [3].", True),
        ("It also introduces self-distillation without a teacher [3].", True),
        ("This approach suits models with complex representations [3].", True),
        ("It also introduces self-distillation without a teacher [2].", False),  # the same paper
        ("These components also help the students of [2] and [3].", False),
        ("Unlike these, ScaleKD aligns the teacher's features with the student's [3].", False),
        ("ScaleKD aligns the teacher's features with the student's [3].", False),
        # "Their results" after another paper's sentence reads as that paper's (a blind read).
        ("Their results demonstrate that the adapter matches fine-tuning [3].", True),
        ("Their results demonstrate that the adapter matches fine-tuning [2].", False),
        ("The solution is demonstrated on eight video datasets [3].", True),
    ],
)
def test_a_sentence_pointing_back_must_cite_the_paper_before_it(
    sentence: str, switches: bool
) -> None:
    # The sentence before: "The framework uses a cross-attention projector [2]."
    assert switches_paper(sentence, [2]) is switches


@pytest.mark.parametrize(
    ("sentence", "meta"),
    [
        ("The evidence from these three papers highlights the modality gap [1].", True),
        ("The evidence from both papers stresses generalizable representations [1].", True),
        ("Both papers fine-tune CLIP on known classes [1].", True),
        ("Both papers fine-tune CLIP on known classes [1], [2].", False),
        ("These works prune tokens inside the language model [1, 3].", False),
        ("PyramidDrop prunes visual tokens in stages [1].", False),
        ("The theme of masked image modeling is to learn representations [1].", True),
        ("Wang et al. on language involves several papers, each improving reasoning [11].", True),
        ("Several works prune visual tokens [1], [2].", False),
        # a comparison with a paper it does not cite (a dev draft)
        (
            "It reaches 84% on ImageNet, while the previous paper achieved similar results [6].",
            True,
        ),
        ("The former method prunes tokens [1].", True),
    ],
)
def test_a_sentence_about_its_own_evidence_is_recognised(sentence: str, meta: bool) -> None:
    assert speaks_of_its_input(sentence) is meta


def test_a_claim_said_again_in_other_words_is_a_repeat() -> None:
    first = "It achieves new state-of-the-art results on all three public datasets [1]."
    again = "The proposed method achieves new state-of-the-art results on all three datasets [1]."
    assert repeats_claim(again, first)
    assert not repeats_claim("It prunes visual tokens inside the language model [1].", first)
    # The same claim with a qualifier added is a repeat; a claim that adds as much as it
    # shares is not.
    short = "UniRepLKNet excels at time-series forecasting and audio recognition [6]."
    longer = (
        "With modality-related preprocessing, UniRepLKNet excels at time-series forecasting and "
        "audio recognition [6]."
    )
    assert repeats_claim(longer, short)
    elaborated = "The self-slimmed vision transformer reduces tokens by 40% on ImageNet [6]."
    assert not repeats_claim(
        elaborated, "Zong et al. propose a self-slimmed Vision Transformer [6]."
    )


def test_a_bold_label_before_a_written_sentence_is_dropped() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel

    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))  # never asked
    reply = (
        "**Token merging**: The paper reduces redundant visual tokens stage by stage [2]. "
        "**Quantization.** Q-VLM quantizes the weights of vision-language models [3]."
    )
    written = drafter._kept(reply, {1: AIM, 2: DROP, 3: QUANT})
    assert written.sentences == [
        "PyramidDrop reduces redundant visual tokens stage by stage [2].",
        "Q-VLM quantizes the weights of vision-language models [3].",
    ]


MUG = make_paper("mug", title="Mug-STAN: Adapting Image-Language Pretrained Models")
ADAPTER = make_paper(
    "vla", title="Parameter-Efficient Transfer for V&L Tasks", authors=["Yi-Lin Sung", "Jaemin Cho"]
)


@pytest.mark.parametrize(
    ("sentence", "named"),
    [
        (
            "The paper “Mug-STAN: Adapting Image-Language Pretrained Models” proposes a "
            "temporal module [1].",
            "Mug-STAN proposes a temporal module [1].",
        ),
        # Unquoted, the one paper it cites names it; the authors take a plural verb.
        (
            "The paper proposes adapters for V&L models [2].",
            "Sung and Cho propose adapters for V&L models [2].",
        ),
        (
            "This paper also introduces MOTIA for outpainting [1].",
            "Mug-STAN also introduces MOTIA for outpainting [1].",
        ),
        # "The authors" of the one paper cited: its name, the verb agreeing with it.
        (
            "The authors also propose a bag of tricks [1].",
            "Mug-STAN also proposes a bag of tricks [1].",
        ),
        ("The authors propose adapters [2].", "Sung and Cho propose adapters [2]."),
        ("The authors propose adapters [1, 2].", "The authors propose adapters [1, 2]."),
        # "The proposed model" is the paper's method: its name, else the paper's; another
        # name than the paper's is left as written.
        ("The proposed model transfers to video [1].", "Mug-STAN transfers to video [1]."),
        ("The proposed Mug-STAN method adds a branch [1].", "Mug-STAN adds a branch [1]."),
        ("The proposed model achieves 80% [2].", "Sung and Cho achieve 80% [2]."),
        ("The proposed EWA technique helps [1].", "The proposed EWA technique helps [1]."),
        ("The proposed method prunes tokens [1, 2].", "The proposed method prunes tokens [1, 2]."),
        # Two papers cited, or a title no paper has: left for the checks.
        ("The paper proposes adapters [1, 2].", "The paper proposes adapters [1, 2]."),
        (
            'The paper "Some Other Title" proposes X [1].',
            'The paper "Some Other Title" proposes X [1].',
        ),
    ],
)
def test_the_paper_is_named_by_its_name_not_the_listing_title(sentence: str, named: str) -> None:
    from assistant.drafting import _called_by_name

    assert _called_by_name(sentence, {1: MUG, 2: ADAPTER}) == named


AIM = make_paper(
    "aim", title="AIM: Adaptive Inference of Multi-Modal LLMs via Token Merging and Pruning",
    abstract="We propose a training-free method that reduces redundant visual tokens in "
    "multimodal LLMs by merging and pruning them.",
)  # fmt: skip
DROP = make_paper(
    "drop", title="PyramidDrop: Accelerating Large Vision-Language Models",
    abstract="PyramidDrop reduces redundant visual tokens stage by stage inside the LLM.",
)  # fmt: skip
QUANT = make_paper(
    "quant", title="Q-VLM: Post-training Quantization for Large Vision-Language Models",
    abstract="We quantize the weights of vision-language models to four bits after training.",
)  # fmt: skip


def test_a_common_thread_cites_exactly_the_papers_that_say_it() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.synthesis import thread_sentence

    # Never asked: the sentence is built from a phrase given here (the model's part is tested
    # with the bundled model in test_writing.py).
    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))
    papers = {1: AIM, 2: DROP, 3: QUANT}
    sentence = thread_sentence(drafter, "reduce redundant visual tokens", [1, 2], papers)
    assert sentence == "AIM [1] and PyramidDrop [2] both reduce redundant visual tokens."
    # A phrase one of the cited papers does not say fails the support check.
    assert thread_sentence(drafter, "reduce redundant visual tokens", [1, 3], papers) is None


def test_a_contrast_cites_each_clause_to_the_paper_that_says_it() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.synthesis import contrast_sentence

    # Never asked: the model's reply is given here; its sentences are checked by the draft
    # tests with the bundled model.
    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))
    papers = {1: AIM, 3: DROP, 4: QUANT}
    reply = (
        "AIM merges and prunes visual tokens without training, whereas PyramidDrop reduces "
        "redundant visual tokens stage by stage inside the LLM."
    )
    assert contrast_sentence(drafter, reply, 1, 3, papers) == (
        "AIM merges and prunes visual tokens without training [1], whereas PyramidDrop "
        "reduces redundant visual tokens stage by stage inside the LLM [3]."
    )
    # A clause its paper does not support fails, though the other paper says it.
    swapped = (
        "AIM reduces redundant visual tokens stage by stage inside the LLM, whereas "
        "PyramidDrop merges and prunes them without training."
    )
    assert contrast_sentence(drafter, swapped, 1, 3, papers) is None
    # The papers in the other order, no "whereas", or the same thing said twice: none.
    assert contrast_sentence(drafter, reply, 3, 1, papers) is None
    assert contrast_sentence(drafter, reply.replace(", whereas", ". And"), 1, 3, papers) is None
    same = "AIM quantizes weights to four bits, whereas Q-VLM quantizes weights to four bits."
    assert contrast_sentence(drafter, same, 1, 4, papers) is None


def test_a_papers_sentence_that_its_contrast_says_again_goes() -> None:
    from assistant.synthesis import said_again

    versus = (
        "AIM proposes a training-free adaptive inference method for multi-modal LLMs [1], "
        "whereas PyramidDrop drops visual tokens stage by stage [2]."
    )
    # The blind read found it twice: the clause and, further on, the paper's own sentence.
    longer = (
        "AIM proposes a training-free adaptive inference method for multi-modal LLMs that "
        "accommodates a broad range of efficiency requirements [1]."
    )
    assert said_again(longer, versus)
    assert not said_again("AIM merges tokens before the LLM and prunes them inside it [1].", versus)
    assert not said_again(longer.replace("[1]", "[3]"), versus)  # another paper's sentence


def test_a_sentence_pinning_the_heading_on_a_paper_that_never_says_it_is_recognised() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel

    face = make_paper(
        "face", title="Towards Flops-constrained Face Recognition",
        abstract="We propose a loss function, ArcNegFace, and a frame aggregation method for "
        "face recognition under a computational budget.",
    )  # fmt: skip
    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))
    theme = "Sparse mixture of experts layers"
    pinned = "Liu et al. propose ArcNegFace, a novel approach to sparse mixture of experts [1]."
    assert drafter.pins_theme(pinned, theme, {1: face})
    said = "Liu et al. propose ArcNegFace, a loss function for face recognition [1]."
    assert not drafter.pins_theme(said, theme, {1: face})


@pytest.mark.parametrize(
    ("sentence", "own"),
    [
        ("We propose entity prompts for open-vocabulary detection.", True),
        ("This survey reviews vision-language models.", True),
        ("EViT reorganizes image tokens between attention and feed-forward layers.", True),
        ("Vision transformers suffer from heavy computation on many tokens.", False),
    ],
)
def test_an_abstract_sentence_about_the_papers_own_work_is_told_from_background(sentence, own):
    from assistant.roles import speaks_of_itself

    paper = make_paper("evit", title="EViT: Expediting Vision Transformers", abstract="")
    assert speaks_of_itself(sentence, paper) is own


def test_a_dangling_challenge_and_a_title_said_twice_are_recognised() -> None:
    from assistant.drafting import dangles, says_twice

    assert dangles("PC^2 introduces pseudo-captioning to address this challenge [6].")
    assert not dangles("PC^2 introduces pseudo-captioning for noisy image-text pairs [6].")
    assert dangles("T2T-ViT finds it is because: 1) the tokenization fails [8].")
    assert not dangles("T2T-ViT finds it is possible to train ViTs from scratch [8].")
    # "the challenge" closing its clause is one named before; "the challenge of X" names it.
    assert dangles("CMD proposes a distillation framework to tackle the challenge [6].")
    assert not dangles("Gen-L-Video tackles the challenge of long videos [2].")
    # One item of a list spread over sentences: the first alone, or a later one without it.
    assert dangles("OvarNet makes the following contributions: (i) they start with CLIP-Attr [4].")
    assert dangles("Finally, (iv) conducts a study of the design space [2].")
    assert not dangles("X finds (i) the data and (ii) the loss matter [1].")
    assert not dangles("X needs O(1) memory per token [1].")
    twice = (
        "The proposed Towards Cross-modal Backward-compatible Representation Learning, Towards "
        "Cross-modal Backward-compatible Representation Learning, is a new solution [4]."
    )
    assert says_twice(twice)
    assert not says_twice("XBT maps the new model's embeddings to the old model's space [4].")


def test_a_heading_in_other_words_of_one_already_used_is_refused() -> None:
    from assistant.drafting import Drafter

    papers = [make_paper("v", title="Video-language pretraining", abstract="image-text models")]
    taken = {"video-language pretraining and adapting image-text models"}
    again = "Video-Language Pretraining and Image-Text Adaptation"
    assert Drafter._heading(again, "video", papers, taken) is None
    assert Drafter._heading("Video-language pretraining", "video", papers, set()) is not None


# Abstracts in the shape of the two the blind reads found inverted: obstacles named in one
# sentence, a baseline brought in by "compared with".
_STAN = make_paper(
    "stan",
    title="STAN: Adapting Image-Language Models to Video",
    abstract=(
        "We study image-to-video transfer and find two key obstacles impeding it: "
        "non-generalizable temporal modeling and partially misaligned video-text data. "
        "To address these challenges, we propose STAN, a branch of spatial-temporal modules "
        "that enables generalizable temporal modeling and suppresses misalignment. "
        "STAN improves adaptation of CLIP on video-text retrieval."
    ),
)
_COOP = make_paper(
    "coop",
    title="CoOp: Learning to Prompt for Vision-Language Models",
    abstract=(
        "We propose CoOp, which models a prompt's context words with learnable vectors for "
        "adapting CLIP-like vision-language models to image recognition. CoOp generalizes "
        "across domains well compared with the zero-shot model using hand-crafted prompts."
    ),
)


@pytest.mark.parametrize(
    ("sentence", "inverted"),
    [
        # What the paper overcomes, said as what it uses.
        (
            "STAN leverages non-generalizable temporal modeling and partially misaligned "
            "video-text data to adapt CLIP [1].",
            True,
        ),
        ("CoOp adapts CLIP-like vision-language models using hand-crafted prompts [2].", True),
        # What it overcomes said as overcome, its own means as used, the baseline as baseline.
        (
            "STAN addresses non-generalizable temporal modeling and misaligned video-text "
            "data [1].",
            False,
        ),
        (
            "STAN uses spatial-temporal modules to enable generalizable temporal modeling [1].",
            False,
        ),
        ("CoOp generalizes better than the zero-shot model using hand-crafted prompts [2].", False),
        ("CoOp uses learnable context vectors instead of hand-crafted prompts [2].", False),
    ],
)
def test_a_sentence_that_has_a_paper_use_what_it_overcomes_is_refused(sentence, inverted):
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.stance import uses_what_it_opposes, words_against

    against = {1: words_against(_STAN.abstract), 2: words_against(_COOP.abstract)}
    assert uses_what_it_opposes(sentence, against) is inverted
    # The drafter's check refuses it (never asked: the sentence is given).
    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))
    assert (drafter.check(sentence, {1: _STAN, 2: _COOP}) is None) is inverted


def test_a_shared_phrase_must_name_something_few_papers_say() -> None:
    from assistant.frequency import DocumentFrequency
    from assistant.synthesis import particular

    # Twenty papers on segmentation that all learn from data; two of them prune tokens.
    papers = [
        make_paper(f"s{i}", title=f"Segmentation model {i}", abstract="We learn from data.")
        for i in range(18)
    ]
    papers += [
        make_paper(f"t{i}", title="Token pruning", abstract="We prune redundant visual tokens.")
        for i in range(2)
    ]
    frequency = DocumentFrequency(papers)
    assert frequency.size == 20
    assert particular("prune redundant visual tokens", "Efficient models", frequency)
    assert not particular("learn from data to improve segmentation", "Models", frequency)
    # What the heading says is no news in its section.
    assert not particular(
        "prune redundant visual tokens", "Redundant visual token pruning", frequency
    )


def test_a_reply_cut_off_mid_sentence_loses_that_sentence() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel

    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))  # never asked
    reply = (
        "PyramidDrop reduces redundant visual tokens stage by stage [2]. "
        "AIM reduces redundant visual tokens in multimodal LLMs by merging and"
    )
    written = drafter._kept(reply, {1: AIM, 2: DROP})
    assert written.sentences == ["PyramidDrop reduces redundant visual tokens stage by stage [2]."]
    assert written.cut == 1


def test_a_title_pasted_in_as_a_description_is_cut() -> None:
    from assistant.drafting import pastes_title

    mot = make_paper(
        "mot", title="Mixture-of-Transformers: A Sparse and Scalable Architecture for Multi-Modal "
        "Foundation Models",
    )  # fmt: skip
    pasted = (
        "Mixture-of-Transformers proposes Mixture-of-Transformers: A Sparse and Scalable "
        "Architecture for Multi-Modal Foundation Models, which reduces pretraining cost [12]."
    )
    assert pastes_title(pasted, mot)
    assert not pastes_title("Mixture-of-Transformers is a sparse architecture [12].", mot)
    # The title in quotes is how a draft names a paper without a shorter name.
    quoted = "“A Sparse and Scalable Architecture for Multi-Modal Foundation Models” scales [12]."
    assert not pastes_title(quoted, mot)


@pytest.mark.parametrize(
    ("sentence", "kept"),
    [
        # The writer's praise after what the paper does goes; the claim stays.
        (
            "POVID is proposed to generate feedback data with AI models, which is a significant "
            "step towards reducing hallucinations [1].",
            "POVID is proposed to generate feedback data with AI models [1].",
        ),
        (
            "X prunes tokens, which is particularly important for dense prediction [2].",
            "X prunes tokens [2].",
        ),
        # A sentence that only rates the work is cut whole.
        ("This approach is particularly useful for tasks such as image classification [2].", None),
        ("It is an important contribution to the field [3].", None),
        # What a paper does or measured is no rating.
        (
            "X prunes tokens, which reduces FLOPs by 40% [2].",
            "X prunes tokens, which reduces FLOPs by 40% [2].",
        ),
        (
            "This method reduces the cost of attention [2].",
            "This method reduces the cost of attention [2].",
        ),
        ("The key idea is to prune tokens [2].", "The key idea is to prune tokens [2]."),
    ],
)
def test_the_writers_own_praise_is_dropped(sentence, kept):
    from assistant.drafting import without_rating

    assert without_rating(sentence) == kept


POVID = make_paper(
    "povid", title="Aligning Modalities in Vision Large Language Models via Preference Fine-tuning",
    abstract="Vision large language models hallucinate. In this work, we frame the hallucination "
    "problem as an alignment issue and tackle it with preference tuning. Specifically, we "
    "propose POVID to generate feedback data with AI models.",
)  # fmt: skip
MVP = make_paper(
    "mvp", title="Look, Compare, Decide: Alleviating Hallucination in Large Vision-Language Models",
    abstract="Large vision-language models suffer from hallucination. In this paper, we propose a "
    "training-free framework that mitigates hallucination by multi-view multi-path reasoning. "
    "Experiments show that our proposed MVP mitigates hallucination across four LVLMs.",
)  # fmt: skip


def test_two_papers_taking_different_parts_of_the_topic_are_contrasted() -> None:
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.synthesis import facet_contrast

    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))  # never asked
    papers = {1: POVID, 2: MVP}
    side_of = {"povid": "Preference-based alignment", "mvp": "Training-free mitigation"}
    assert facet_contrast(drafter, papers, side_of) == (
        "POVID is about preference-based alignment [1], whereas MVP is about "
        "training-free mitigation [2]."
    )
    # One part, or a part the paper's abstract does not bear out: no contrast.
    assert facet_contrast(drafter, papers, {"povid": "Training-free mitigation"}) is None
    swapped = {"povid": "Training-free mitigation", "mvp": "Preference-based alignment"}
    assert facet_contrast(drafter, papers, swapped) is None


def test_a_number_standing_for_a_papers_name_is_caught() -> None:
    from assistant.drafting import uses_number_as_name

    assert uses_number_as_name("POVID and [2] differ significantly in their approach.")
    assert uses_number_as_name("Compared with [3] it is faster [1].")
    # Markers closing claims, and the runs citing several papers for one claim, are fine.
    assert not uses_number_as_name("POVID [1] and MVP [2] both reduce hallucination.")
    assert not uses_number_as_name("Both reduce hallucination [1] and [2].")
    assert not uses_number_as_name("POVID tunes preferences [1], whereas MVP needs none [2].")


def test_the_two_sides_a_topic_sets_against_each_other_are_read_from_its_words() -> None:
    from assistant.subtopics import contrasted

    topic = "Hallucination in LVLMs: training-free mitigation vs. preference-based alignment"
    assert contrasted(topic) == ["training-free mitigation", "preference-based alignment"]
    assert contrasted("CNNs versus vision transformers for dense prediction") == [
        "CNNs",
        "vision transformers",
    ]
    assert contrasted("Token pruning, merging and slimming for vision transformers") == []
    # Asked as a question, the mark is no part of the second side.
    assert contrasted("Hallucination: training free mitigation versus preference alignment?") == [
        "training free mitigation",
        "preference alignment",
    ]
