"""Topic relevance by likelihood: how likely a small language model finds a topic after a paper.

The **query likelihood** of a topic given a paper (as in UPR, Sachan et al. 2022): the mean
log-probability of the topic's tokens after the paper's title and the opening of its abstract,
by the bundled 0.5B model run in this process by llama.cpp with the logits of every token kept
(the servers keep only the last token's, and llama.cpp's server computes prompt
log-probabilities by sorting the whole vocabulary for every token).

It is no yes/no answer: the bundled models said yes to nearly every neighbouring paper when
asked (``writing.TopicFilter`` has the figures); a likelihood ranks instead, and the caller
turns it into a selection together with the retrieval score.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.errors import LLMError, ModelError
from assistant.models import runnable

# Context of the scoring model, in tokens: a title, the abstract's opening and the topic need
# about 150; the logits kept for every position cost context x vocabulary x 4 bytes (Qwen2.5:
# 256 x 151,936 x 4 = 156 MB).
CONTEXT = 256
# The abstract's opening read with the title: mixed with the retrieval score (standard scores,
# 0.5 : 1), the likelihood after 25 words ranks a writing topic's relevant papers above its
# other candidates at within-topic AUC 0.864 / 0.919 (dev / aside topics), after 60 words
# 0.871 / 0.919, after the title alone 0.847 / 0.911, the score alone 0.850 / 0.840; 25 words
# take 0.54 s a paper on 2 cores, 60 take 0.83 s.
ABSTRACT_WORDS = 25
MAX_TOPIC_TOKENS = 64
PASSAGE_PROMPT = "Paper: {passage}\n\nThis paper belongs in a literature review on: "


class Scorer:
    """Log-likelihood scores from a GGUF model loaded on first use (one at a time: llama.cpp
    keeps one context).

    Args:
        model: the GGUF file, or a function that finds it (joining a bundled model's parts).
        threads: CPU threads for llama.cpp.
    """

    def __init__(self, model: Path | Callable[[], Path], threads: int):
        self._locate = model if callable(model) else (lambda: model)
        self.threads = threads
        self._llm: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._llm is None:
            path = runnable(self._locate, "run `make install`")
            from llama_cpp import Llama

            try:
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=CONTEXT,
                    n_batch=CONTEXT,
                    n_threads=self.threads,
                    logits_all=True,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as e:
                raise LLMError(f"the scoring model {path.name} did not load: {e}") from None
        return self._llm

    def relevance(self, topic: str, papers: list[tuple[str, str]]) -> list[float]:
        """Per paper ``(title, abstract)``: the mean log-probability of ``topic``'s tokens after
        the paper (higher is closer). Raises LLMError when the model cannot be loaded or run."""
        with self._lock:
            try:
                llm = self._model()
            except ModelError as e:
                raise LLMError(str(e)) from None
            topic_tokens = self._tokens(" ".join(topic.split()))[:MAX_TOPIC_TOKENS]
            scores = []
            for title, abstract in papers:
                opening = " ".join(abstract.split()[:ABSTRACT_WORDS])
                passage = f"{title}. {opening}" if opening else title
                prefix = self._tokens(PASSAGE_PROMPT.format(passage=passage), bos=True)
                logprobs = self._logprob(llm, prefix[: CONTEXT - len(topic_tokens)], topic_tokens)
                scores.append(sum(logprobs) / len(logprobs) if logprobs else 0.0)
            return scores

    def _tokens(self, text: str, bos: bool = False) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=bos))

    @staticmethod
    def _logprob(llm: Any, prefix: list[int], continuation: list[int]) -> list[float]:
        """Log-probability of each continuation token after ``prefix``, reusing the evaluated
        tokens the prefix starts with (llama.cpp keeps them cached)."""
        import numpy as np

        if not prefix or not continuation:
            return []
        common = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], prefix, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(prefix) - 1)  # the prefix's last logits are needed again
        llm.n_tokens = common
        try:
            llm.eval(prefix[common:] + continuation)
        except (ValueError, RuntimeError) as e:
            raise LLMError(f"the scoring model failed: {e}") from None
        start = len(prefix) - 1
        logits = np.asarray(llm.scores[start : start + len(continuation)], dtype=np.float64)
        peak = logits.max(axis=1, keepdims=True)
        norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
        picked = logits[np.arange(len(continuation)), continuation]
        return (picked - norm).tolist()
