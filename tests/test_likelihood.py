"""Topic likelihood from the bundled 0.5B model, run in this process (no server, no network)."""

from __future__ import annotations

import pytest

from assistant import models
from assistant.config import Settings
from assistant.errors import LLMError
from assistant.evaluation import ids_for_titles
from assistant.likelihood import Scorer


@pytest.fixture(scope="module")
def scorer():
    settings = Settings()
    return Scorer(
        lambda: models.resolve("qwen2.5-coder-0.5b", settings.model_cache_dir),
        threads=settings.llm_threads,
    )


def _paper(searcher, title):
    (pid,) = ids_for_titles(searcher, [title])
    paper = searcher.papers[pid]
    return paper.title, paper.abstract


def test_a_paper_on_the_topic_makes_the_topic_likelier_than_a_neighbour(scorer, searcher):
    topic = "token pruning and merging to cut the cost of vision transformers"
    on = _paper(
        searcher,
        "Not All Patches are What You Need: Expediting Vision Transformers via Token Reorganizations",
    )
    near = _paper(searcher, "Q-VLM: Post-training Quantization for Large Vision-Language Models")
    far = _paper(searcher, "Towards Large-scale Masked Face Recognition")
    on_score, near_score, far_score = scorer.relevance(topic, [on, near, far])
    assert on_score > near_score > far_score
    # What llama.cpp keeps cached between papers does not change a score (beyond the float
    # rounding of evaluating the tokens in other batches: 0.006 nats measured).
    far_again, on_again = scorer.relevance(topic, [far, on])
    assert on_again == pytest.approx(on_score, abs=0.05)
    assert far_again == pytest.approx(far_score, abs=0.05)


def test_a_missing_scoring_model_is_one_line(tmp_path):
    scorer = Scorer(tmp_path / "absent.gguf", threads=1)
    with pytest.raises(LLMError, match="not found") as failure:
        scorer.relevance("token pruning", [("A title", "An abstract.")])
    assert "\n" not in str(failure.value)
