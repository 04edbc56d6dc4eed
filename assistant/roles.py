"""The pieces of an abstract: which sentence states the problem, the method, the result, and
which sentences speak of the paper's own work rather than of the field around it.

Found by cue words ("we propose", "however", "outperforms"); a best guess that the writers
use to choose what a paper is cited for.
"""

from __future__ import annotations

import re

from assistant.papers import Paper
from assistant.text import own_names, sentences

# Cue words that mark what an abstract sentence does (problem, method, result).
_PROBLEM = re.compile(
    r"\b(however|challeng\w*|problem\w*|limit\w*|remain\w*|suffer\w*|lack\w*|difficult\w*|"
    r"bottleneck|costly|expensive|fail\w*|struggl\w*|issue\w*|hinder\w*|gap)\b",
    re.IGNORECASE,
)
_METHOD = re.compile(
    r"\b(we (propose|present|introduce|design|develop|build|devise|study|explore|investigate)|"
    r"our (method|approach|framework|model)|this (paper|work) (proposes|presents|introduces))\b",
    re.IGNORECASE,
)
_RESULT = re.compile(
    r"\b(experiment\w*|result\w*|outperform\w*|achiev\w*|surpass\w*|state-of-the-art|"
    r"improv\w*|gains?|demonstrat\w*|show that|\d+(\.\d+)?\s?%)\b",
    re.IGNORECASE,
)
_DATASETS = re.compile(
    r"\b(ImageNet(?:-[\w]+)?|MS[- ]?COCO|COCO|ADE20K|Cityscapes|LAION-\w+|CIFAR-\d+|"
    r"Kinetics(?:-\d+)?|VQAv2|nuScenes|KITTI|Pascal VOC|PASCAL VOC|LVIS|Objects365|"
    r"[A-Z][A-Za-z]*(?:Bench|QA|VQA)\w*|MMMU|MMBench|MathVista|GSM8K|MMLU)\b"
)


def roles(paper: Paper) -> dict[str, str]:
    """The abstract's problem, method and result sentences (best guess by cue words)."""
    parts = sentences(paper.abstract) or [paper.abstract]
    method = next((s for s in parts if _METHOD.search(s)), parts[min(1, len(parts) - 1)])
    problem = next((s for s in parts if _PROBLEM.search(s) and s != method), "")
    if not problem and parts[0] != method:
        problem = parts[0]
    late = parts[len(parts) // 2 :]
    result = next(
        (s for s in reversed(late) if _RESULT.search(s) and s not in (method, problem)), ""
    )
    return {"problem": problem, "method": method, "result": result}


def datasets(paper: Paper) -> str:
    found = list(dict.fromkeys(m.group(0) for m in _DATASETS.finditer(paper.abstract)))
    return ", ".join(found[:4]) or "not stated"


# A sentence of an abstract that speaks of the paper's own work ("we ...", "our ...", "this
# paper ...", "the proposed ..."), not of the field around it.
_OWN_WORK = re.compile(
    r"\b(we|our|us|this (paper|work|study|article|survey|review)|the proposed)\b", re.I
)


def speaks_of_itself(sentence: str, paper: Paper) -> bool:
    """Whether an abstract sentence is about the paper's own work: its first person, "this
    paper", or a name it gives its method (:func:`~assistant.text.own_names`). The field's
    background ("Vision transformers suffer from heavy computation") cited to the paper reads
    as the paper's claim."""
    return bool(_OWN_WORK.search(sentence)) or any(name in sentence for name in own_names(paper))


def contribution(paper: Paper) -> list[str]:
    """What the model writes a paper's sentences from: its method and result sentences that
    speak of its own work (the problem sentence too when there is nothing else)."""
    r = roles(paper)
    own = [s for s in (r["method"], r["result"]) if s and speaks_of_itself(s, paper)]
    return own or [s for s in r.values() if s]
