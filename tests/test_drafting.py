"""The checks a model-written sentence passes before a draft keeps it (pure logic)."""

from __future__ import annotations

import pytest

from assistant.drafting import leans_on_context, repeats_claim, restates_title
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


def test_a_claim_said_again_in_other_words_is_a_repeat() -> None:
    first = "It achieves new state-of-the-art results on all three public datasets [1]."
    again = "The proposed method achieves new state-of-the-art results on all three datasets [1]."
    assert repeats_claim(again, first)
    assert not repeats_claim("It prunes visual tokens inside the language model [1].", first)
