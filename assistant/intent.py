"""Reading a request: what is asked (intent), about what (topic), within which metadata (filters).

A language model reads the task as one word, after a fixed prompt with worked examples that
its llama.cpp server keeps in its prompt cache (so a request costs about its own tokens), and
for a task other than a question it then copies the topic and the paper names. Nothing it
writes is trusted as is: topic words must be the request's own and a named paper must
resolve. Metadata is read against the catalog (an author must be in the collection and in the
request, a year must be written in the request). Without a model, or when it fails, fixed
patterns and :mod:`assistant.metadata` read the request instead.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.errors import LLMError, QuestionError
from assistant.llm import Message
from assistant.query import words
from assistant.text import is_team
from assistant.writing_request import asks_for_writing, topic_of
from assistant.writing_request import first_sentence as _first_sentence
from assistant.years import years_named, years_phrase

if TYPE_CHECKING:
    from assistant.filters import Filters
    from assistant.llm import ChatModel
    from assistant.papers import Paper
    from assistant.retrieval import Searcher

log = logging.getLogger(__name__)

Intent = Literal["question", "list", "summarize", "compare", "related_work", "review"]
INTENTS: tuple[Intent, ...] = ("question", "list", "summarize", "compare", "related_work", "review")

# arXiv category codes and the words people use for them; a category is kept only when the
# request writes its code or one of these names.
CATEGORY_NAMES = {
    "CV": ("computer vision", "cs.cv", "vision and pattern recognition"),
    "CL": ("computation and language", "cs.cl", "natural language processing", "nlp"),
    "LG": ("machine learning", "cs.lg"),
    "AI": ("artificial intelligence", "cs.ai"),
    "CR": ("cryptography", "security", "cs.cr"),
    "RO": ("robotics", "cs.ro"),
    "IR": ("information retrieval", "cs.ir"),
}
_CODE_WORDS = re.compile(
    # "codes" alone is more often something else in this field (ICD codes, a quantizer's
    # discrete codes) than software: only with a word that makes it software.
    r"\b(code|(?:source|released|public|their|its|the|with) codes|github|implementations?|"
    r"open[- ]?sourced?|repo|repos|repositor(?:y|ies))\b",
    re.IGNORECASE,
)


@dataclass
class ResearchRequest:
    """One request, read: what to do, on which topic, within which filters.

    ``authors`` are names as the catalog spells them; ``papers`` are paper ids.
    """

    text: str
    intent: Intent = "question"
    topic: str = ""
    authors: list[str] = field(default_factory=list)
    first_author: bool = False
    year_from: int | None = None
    year_to: int | None = None
    has_code: bool | None = None
    category: str | None = None
    org: str | None = None
    papers: list[str] = field(default_factory=list)
    read_by: str = "rules"
    dropped: list[str] = field(default_factory=list)
    # Why each paper name the request gives found no one paper ("'ALIGN' fits several ...").
    unresolved: list[str] = field(default_factory=list)

    @property
    def has_metadata(self) -> bool:
        """Whether the request narrows the collection by metadata (not by topic alone)."""
        return bool(
            self.authors
            or self.year_from is not None
            or self.year_to is not None
            or self.has_code is not None
            or self.category
            or self.org
        )

    def allows(self, paper: Paper) -> bool:
        """Whether ``paper`` meets every metadata constraint (unknown values never match)."""
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.has_code is not None and paper.has_code is not self.has_code:
            return False
        if self.category and (paper.category or "").upper() != self.category.upper():
            return False
        if self.org and (paper.org or "").lower() != self.org.lower():
            return False
        for name in self.authors:
            listed = paper.authors[:1] if self.first_author else paper.authors
            if not any(_is_author(name, a) for a in listed):
                return False
        return True

    def filters(self) -> Filters:
        """The constraints that search filters can express (years, category, code)."""
        from assistant.filters import Filters

        return Filters(
            year_from=self.year_from,
            year_to=self.year_to,
            category=self.category,
            has_code=self.has_code,
        )

    def describe(self) -> str:
        """The constraints in words: ``on token pruning by Guanglu Song from 2022 with code``."""
        parts = []
        if self.topic:
            parts.append(f"on {self.topic}")
        if self.authors:
            who = " and ".join(self.authors)
            parts.append(f"with {who} as first author" if self.first_author else f"by {who}")
        if self.category:
            parts.append(f"in category {self.category}")
        if self.org:
            parts.append(f"from {self.org}")
        if years := years_phrase(self.year_from, self.year_to):
            parts.append(years)
        if self.has_code is not None:
            parts.append("with code" if self.has_code else "without released code")
        return " ".join(parts) or "matching the request"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "text"}


def _is_author(name: str, author: str) -> bool:
    """Whether ``name`` (a full name, or a surname or team name alone) is ``author``."""
    if " " in name.strip():
        return name.casefold() == author.casefold()
    parts = author.casefold().split()
    return bool(parts) and name.casefold() in (parts[-1], parts[0] if is_team(author) else "")


# --- what the model reads: the task, the topic, the papers named -------------------------------
# The words the model answers with first, and the intent each stands for. Their first tokens
# differ, so the probability of every intent is read off the reply's first token.
LABELS: dict[str, Intent] = {
    "question": "question",
    "list": "list",
    "summary": "summarize",
    "compare": "compare",
    "related": "related_work",
    "review": "review",
}
# The logit added to "question" before the model's first word is read: answering a request
# that wanted a summary or a list still helps, drafting related work for a question does not.
# Measured on the development requests with the bundled 0.5B model (first-token probabilities,
# printed by a one-off script): with no lift 13 of 40 questions that name a method were read as
# another task; with 1.0, 1 of 40, while 27 of 30 lists and 23 of 25 writing requests were
# still read as such (1.5: 24 lists, 21 writing requests).
QUESTION_LIFT = 1.0
# The lift for "question" when the 1.5B model takes a second look at a request the 0.5B read
# as a question although it names metadata. Measured on the dev and aside request sets (62
# requests with metadata, each pick printed by a one-off script): at 0.0 and 1.0 the second look
# turned 6 metadata requests into lists and 2 own-words questions ("the ICCV 2019 winner",
# "patient notes and ICD codes") too; at 2.0 the 6 and neither of the 2.
SECOND_LOOK_QUESTION_LIFT = 2.0
# The lift for the first reading when the 1.5B takes a second look at a request with a
# writing request's shape (below). On request phrasings helpers wrote around the writing
# topics (one-off script; 24, 24 and 30 requests), the requests read as writing went from 20,
# 16 and 16 (no second look) to 21, 19 and 19 at a lift of 1.0, and 23, 21 and 20 at 0.0.
# Measured again on 6 December (night) with 180 shaped requests of six helper-written sets
# and 26 shaped questions (24 a helper wrote to mention surveys and reviews while asking about
# the collection: "Do I have any survey papers on X?"). A one-off script printed each 1.5B
# pick: looking only at requests with a verb asking for text, at -1.0, it counted 151 read as
# writing and 9 questions, against 144 and 9 here. But the whole reader
# (``benchmarks/writing_requests.py --reader``) read 131 of the 194 requests as writing with
# that gate and lift, in each of two runs, and 135 here (one run, at 1eab127): this stays.
SHAPED_LIFT = 0.0

SYSTEM_PROMPT = """You sort requests sent to a research assistant that answers from a collection of research papers. Reply with one word:
question - asks what papers say, how a method works, what was found or measured, or whether the collection covers something; also any question outside research.
list - asks to list, count or show papers selected by author, year, code availability, category or organisation.
summary - asks for a summary, overview or tl;dr of one named paper.
compare - asks how two or more named papers or methods differ, or to compare them.
related - asks to write or draft a related-work section or paragraph.
review - asks to outline or structure a literature review or survey.
When asked to copy the topic and the papers, reply in two lines: "topic: " and the research subject only, copied from the request without greetings, instructions, person names, years, organisations or words such as paper, collection, abstract, code; then "papers: " and the names of the specific papers, models or methods the request names, separated by ";". Write none for what the request does not have; copy words, add nothing."""

# Worked examples: the request, its task, and the topic and papers copied from it.
_EXAMPLES: list[tuple[str, str, str, str]] = [
    (
        "How does GraphSAGE sample neighbours, and does it generalise to unseen nodes?",
        "question", "neighbour sampling and generalisation to unseen nodes", "GraphSAGE",
    ),
    ("which papers did maria okafor write as first author after 2019?", "list", "", ""),
    (
        "Draft a related-work paragraph on contrastive pretraining of speech encoders for my "
        "paper (wav2vec-style objectives especially)",
        "related", "contrastive pretraining of speech encoders (wav2vec-style objectives)", "",
    ),
    (
        "could u outline a lit review about reinforcement learning from human feedback",
        "review", "reinforcement learning from human feedback", "",
    ),
    ("WaveNet vs Tacotron 2: what's different?", "compare", "", "WaveNet; Tacotron 2"),
    ("Give me a short summary of the AlphaZero paper.", "summary", "", "AlphaZero"),
    (
        "my tomato plants have yellow leaves, is it overwatering?",
        "question", "yellow leaves on tomato plants", "",
    ),
    (
        "Show me the 2021 CL papers from Stanford on neural machine translation",
        "list", "neural machine translation", "",
    ),
]  # fmt: skip
# Asked after the task, in the same conversation: the server has everything before it cached,
# so this costs about its own tokens and the reply's.
EXTRACT_PROMPT = "Copy the topic and the papers."


# Asked when a request has metadata and a topic survived the checks: whether the topic is a
# subject at all, or words of the request left over ("that are recent"). The examples are
# neither from our request sets nor from the collection's field.
SUBJECT_PROMPT = (
    "Answer yes or no. Is the phrase a research subject: a field, task, problem, method or "
    "kind of model that papers are written about? Words left over from a request (about who "
    "wrote the papers, when, their code or tags, or the asking itself) are not."
)
_SUBJECTS = [
    ("protein structure prediction", "yes"),
    ("written by them", "no"),
    ("graph neural networks for molecules", "yes"),
    ("that are recent", "no"),
    ("speech recognition", "yes"),
    ("ones she lists", "no"),
]


def subject_messages(topic: str) -> list[Message]:
    """The prompt asking whether ``topic`` is a research subject (fixed prefix, then it)."""
    messages = [Message("system", SUBJECT_PROMPT)]
    for phrase, answer in _SUBJECTS:
        messages += [Message("user", phrase), Message("assistant", answer)]
    return [*messages, Message("user", topic)]


def _copied(topic: str, papers: str) -> str:
    return f"topic: {topic or 'none'}\npapers: {papers or 'none'}"


def prompt_messages(text: str) -> list[Message]:
    """The reading prompt: instructions and worked examples (task, then topic and papers when
    asked), then the request."""
    messages = [Message("system", SYSTEM_PROMPT)]
    for request, label, topic, papers in _EXAMPLES:
        messages += [
            Message("user", request),
            Message("assistant", label),
            Message("user", EXTRACT_PROMPT),
            Message("assistant", _copied(topic, papers)),
        ]
    return [*messages, Message("user", text)]


def extract_messages(text: str, label: str) -> list[Message]:
    """The reading prompt, its answer ``label``, and the request for topic and paper names."""
    return [*prompt_messages(text), Message("assistant", label), Message("user", EXTRACT_PROMPT)]


def parse_reply(reply: str) -> tuple[str, list[str]]:
    """The topic and the paper names of a reply (``none`` read as nothing)."""
    topic, papers = "", []
    for line in reply.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if value.lower() in ("none", "", "[]", '""'):
            continue
        if key.strip().lower() == "topic":
            topic = value.strip("\"' ")
        elif key.strip().lower() == "papers":
            papers = [v.strip("\"' ") for v in value.split(";") if v.strip("\"' ")]
    return topic, papers


# --- metadata: read from the catalog and the request's own words -----------------------------
def _normal(text: str) -> str:
    return " ".join(words(re.sub(r"['’]s\b", "", text).replace("-", " ")))


def _same_word(a: str, b: str) -> bool:
    """Equal words, or one typo apart in a word of five letters or more."""
    from rapidfuzz.distance import OSA

    if a == b:
        return True
    # Optimal string alignment: two letters swapped ("zhoufan") is one typo, as typed.
    return min(len(a), len(b)) >= 5 and OSA.distance(a, b) <= 1 + (len(a) >= 9)


def _written_in(phrase: str, text: str) -> bool:
    """Whether the words of ``phrase`` stand together in ``text`` (case, hyphens and a typo
    per long word forgiven)."""
    want, have = _normal(phrase).split(), _normal(text).split()
    if not want:
        return False
    return any(
        all(_same_word(w, h) for w, h in zip(want, have[i : i + len(want)], strict=True))
        for i in range(len(have) - len(want) + 1)
    )


def authors_named(text: str, searcher: Searcher) -> list[str]:
    """Catalog authors the request names: a full name in either order (``song guanglu``), or
    a capitalised surname or team name (``Song's papers``) when the collection has it."""
    found = []
    for name in searcher.author_names():
        parts = _normal(name).split()
        if len(parts) < 2:
            continue
        if _written_in(" ".join(parts), text) or _written_in(" ".join(reversed(parts)), text):
            found.append(name)
    if not found:
        hints = searcher.authors.hints(text).authors
        spelled = {n.casefold(): n for n in searcher.author_names()}
        full = {spelled.get(a, a) for a in hints if " " in a}
        surnames = {a for a in hints if " " not in a and not any(_is_author(a, f) for f in full)}
        found = sorted(full | surnames)
    return found


# A word that can only be a name: a capital after its first letter (PyramidDrop, CvT, Co-DETR)
# or letters and digits together (InternVL3). "Compare" or "Vision" at a sentence's start are
# not names; "CLIP" is, and is resolved like any other.
_NAME_LIKE = re.compile(r"(?<![\w-])(?=[\w-]*(?:[a-z-][A-Z]|[A-Za-z]\d|[A-Z]{2}))[A-Za-z][\w-]*\w")


def papers_named(text: str, searcher: Searcher) -> list[str]:
    """Ids of the papers ``text`` names by a method name that only one paper can be
    (``PyramidDrop vs FoPru`` names two; ``CNN`` or ``ViT`` none) or by a whole title."""
    from assistant.writing import named_paper

    found: list[str] = []
    for name in dict.fromkeys(_NAME_LIKE.findall(text)):
        paper = named_paper(name, searcher)
        if paper is not None and paper.id not in found:
            found.append(paper.id)
    # ... or by its whole title: "ALIGN (Scaling Up Visual and Vision-Language ...)".
    return found + [pid for pid in searcher.quoted_titles(text) if pid not in found]


def papers_titled(text: str, searcher: Searcher) -> frozenset[str]:
    """Ids of the papers ``text`` names by the method name of their title ("how do MLLMs
    score on VisuLogic" names "VisuLogic: A Benchmark for ..."): a name the paper gave itself,
    never a word it only uses, so a question outside the collection names none."""
    from assistant.writing import titled_paper

    found = (titled_paper(name, searcher) for name in dict.fromkeys(_NAME_LIKE.findall(text)))
    return frozenset(p.id for p in found if p is not None)


_FIRST_AUTHOR = re.compile(
    r"\b(first|lead|leading|main|primary)[- ](?:\(\w+\)\s)?(author|authored|authorship)\b"
    r"|\bas (the )?first\b",
    re.IGNORECASE,
)
_WITHOUT_CODE = re.compile(
    r"\b(without|no|lack\w*|missing|not?\s+(?:release|share|provide|publish)\w*)\b[^.?!]{0,30}"
    r"\b(code|github|implementation|repo\w*)\b|\b(code|implementation)\s+(?:is\s+|was\s+)?"
    r"(not|never|un)\w*",
    re.IGNORECASE,
)


def read_metadata(request: ResearchRequest, searcher: Searcher) -> None:
    """Fill the metadata fields of ``request`` from its text, checked against the catalog."""
    text = request.text
    request.authors = authors_named(text, searcher)
    request.first_author = bool(request.authors) and bool(_FIRST_AUTHOR.search(text))
    request.year_from, request.year_to = years_named(text)
    if _CODE_WORDS.search(text):
        request.has_code = not _WITHOUT_CODE.search(text)
    for org in sorted(searcher.orgs()):
        if _written_in(org, text):
            request.org = org
            break
    # An organisation's own words name no category: "Tencent AI" is not the category AI.
    rest = text
    for w in _normal(request.org or "").split():
        rest = re.sub(rf"\b{re.escape(w)}\b", " ", rest, flags=re.IGNORECASE)
    for code in sorted(searcher.categories()):
        names = CATEGORY_NAMES.get(code, ())
        if re.search(rf"\b{code}\b", rest) or any(_written_in(n, rest) for n in names):
            request.category = code
            break


def _metadata_words(request: ResearchRequest) -> set[str]:
    """Words of the request that name its metadata, which a topic must not contain."""
    named = {w for a in request.authors for w in _normal(a).split()}
    named |= {w for w in _normal(request.org or "").split()}
    if request.category:
        named.add(request.category.lower())
        named |= {w for n in CATEGORY_NAMES.get(request.category, ()) for w in n.split()}
    # Words that name documents, not subjects: "face recognition papers" is about faces.
    named |= {"paper", "papers", "work", "works", "article", "articles", "publication"}
    named |= {"publications", "study", "studies", "list", "collection", "ones"}
    # The words the metadata was read from: "first-author", "with code", "no github repo".
    text = request.text
    spans = _FIRST_AUTHOR.finditer(text) if request.first_author else iter(())
    found = [m.group(0) for m in spans]
    if request.has_code is not None:
        found += [m.group(0) for m in _CODE_WORDS.finditer(text)]
        found += [m.group(0) for m in _WITHOUT_CODE.finditer(text)]
    named |= {w for phrase in found for w in _normal(phrase).split()}
    return named | {str(y) for y in (request.year_from, request.year_to) if y}


def _is_metadata_word(word: str, meta: set[str]) -> bool:
    """Whether a topic word names metadata: every part of it (``tencent-ai``) is a metadata
    word, a typo forgiven (``Zhoufan`` for the author Zhuofan Zong)."""
    parts = _normal(word).split()
    return all(any(_same_word(p, m) for m in meta) for p in parts)


def check(
    request: ResearchRequest, topic: str, papers: list[str], searcher: Searcher
) -> ResearchRequest:
    """Complete ``request`` with the model's ``topic`` and ``papers`` and the metadata, keeping
    only what the request's words and the catalog back."""
    from assistant.writing import resolve_paper

    text = request.text
    read_metadata(request, searcher)
    for name in papers:
        if not _written_in(name, text):
            request.dropped.append(f"paper {name!r}")
            continue
        try:
            paper = resolve_paper(name, searcher)
        except QuestionError as e:
            request.dropped.append(f"paper {name!r}")
            request.unresolved.append(str(e))
            continue
        if paper.id not in request.papers:
            request.papers.append(paper.id)
    if request.intent in ("compare", "summarize") and len(request.papers) < 2:
        # The model's names may hold more than the name ("DietNeRF (the 'Putting NeRF on a
        # Diet' one)") or miss one ("PyramidDrop vs FoPru" copied as the topic): the
        # request's own method names fill in.
        for pid in papers_named(text, searcher):
            if pid not in request.papers:
                request.papers.append(pid)
        if request.intent == "summarize":
            request.papers = request.papers[:1]
    meta = _metadata_words(request)
    kept = [w for w in topic.split() if not _is_metadata_word(w, meta)]
    topic_words = [w for w in words(" ".join(kept)) if len(w) > 2]
    # Every topic word must come from the request (a typo forgiven): the model copies, it
    # does not add. A topic left with only metadata words is no topic.
    if topic_words and all(_written_in(w, text) for w in topic_words):
        request.topic = " ".join(kept).strip(" ,;:.")
    elif topic_words:
        request.dropped.append(f"topic {topic!r}")
    request.read_by = "model"
    return _consistent(request)


def _consistent(request: ResearchRequest) -> ResearchRequest:
    """Intents that cannot stand with what survived the checks become the nearest one."""
    if request.intent == "compare" and len(request.papers) < 2:
        request.intent = "summarize" if request.papers else "question"
    if request.intent == "summarize" and not request.papers:
        request.intent = "question"
    if request.intent in ("related_work", "review") and not request.topic:
        request.intent = "question"
    if request.intent == "list" and not (request.has_metadata or request.topic):
        request.intent = "question"
    return request


# --- without a model: the rules ---------------------------------------------------------------
_RELATED = re.compile(
    r"related[- ]work(?: (?:paragraph|section|draft))?\s+(?:on|about|for|regarding)\s+(?P<topic>.+)",
    re.IGNORECASE,
)
_REVIEW = re.compile(
    r"(?:(?:literature|lit)[- ]review|review outline|survey outline|outline)(?:\s+outline)?"
    # "... outline of a survey on X", "outline for a literature review: X"
    r"(?:\s+(?:(?:of|for)\s+)?(?:an?\s+|the\s+)?(?:(?:literature|lit)\s+)?(?:survey|review)"
    r"(?:\s+paper)?)?(?:\s+(?:of|for))?\s*:?\s+(?:on|about|of|for|covering)?\s*(?P<topic>.+)",
    re.IGNORECASE,
)
_COMPARE = re.compile(r"^\s*compare\s+(?P<items>.+)", re.IGNORECASE)
_SUMMARIZE = re.compile(r"^\s*(?:summari[sz]e|summary of|tl;?dr)\s+(?P<paper>.+)", re.IGNORECASE)


def _whole_topic(copied: str, text: str) -> str:
    """The topic the model copied from a writing request, or the whole of it where the model
    cut it short: the small model copies "CLIP-like vision-language models" of "Compressing
    CLIP-like vision-language models into lightweight students via distillation". The
    request's topic by its shape (:func:`topic_of`) stands in when it holds every word the
    model copied."""
    shaped = topic_of(text)
    if shaped == " ".join(text.split()):
        return copied  # no request shape found: the model's reading is all there is
    return shaped if set(words(copied)) <= set(words(shaped)) else copied


# Between the papers a comparison names: "A, B and C", "A vs. B", "A with B".
_NAME_SEPARATORS = re.compile(r"\s*(?:,|\band\b|\bvs\.?|\bversus\b|\bwith\b)\s*")


def split_names(text: str) -> list[str]:
    """The paper names in ``text``: split at ";" alone when it has one (titles hold commas
    and "and"), else at commas, "and", "vs." and "with"."""
    parts = text.split(";") if ";" in text else _NAME_SEPARATORS.split(text)
    return [name for part in parts if (name := part.strip(" .?!"))]


def read_by_rules(text: str, searcher: Searcher) -> ResearchRequest:
    """The request as fixed patterns read it: commands by their first words, a list of papers
    by :func:`assistant.metadata.parse_metadata_question`, metadata from the catalog."""
    from assistant.metadata import parse_metadata_question
    from assistant.writing import resolve_paper

    request = ResearchRequest(text)
    if m := _RELATED.search(text):
        request.intent, request.topic = "related_work", _first_sentence(m.group("topic"))
        return request
    if m := _REVIEW.search(text):
        request.intent, request.topic = "review", _first_sentence(m.group("topic"))
        return request
    named = None
    if m := _COMPARE.match(text):
        request.intent = "compare"
        named = split_names(m.group("items"))
    elif m := _SUMMARIZE.match(text):
        request.intent, named = "summarize", [m.group("paper").strip(" .?!")]
    if named is not None:
        # A paper that cannot be found is the user's to fix: resolve_paper says which.
        request.papers = [resolve_paper(n, searcher).id for n in named if n.strip()]
        return request
    meta = parse_metadata_question(text, searcher)
    if meta is not None:
        request.intent = "list"
        read_metadata(request, searcher)
        request.topic = " ".join(meta.topic)
    return _consistent(request)


def _rules_writing(text: str, searcher: Searcher) -> ResearchRequest | None:
    """The request as the rules read it when they read a related-work or review request."""
    try:
        ruled = read_by_rules(text, searcher)
    except QuestionError:  # a comparison naming a paper the collection lacks
        return None
    return ruled if ruled.intent in ("related_work", "review") else None


class RequestReader:
    """Reads requests with a model when there is one, else (or when it fails) by the rules.

    Args:
        searcher: the opened index (its catalog checks what the model wrote).
        model: the model that reads, or None.
        judge: the model that tells a subject from leftover words; None: ``model``.
    """

    def __init__(self, searcher: Searcher, model: ChatModel | None, judge: ChatModel | None = None):
        self.searcher, self.model, self.judge = searcher, model, judge or model
        self.note = ""

    def read(self, text: str) -> ResearchRequest:
        """The typed request for ``text`` (already cleaned)."""
        self.note = ""
        if self.model is not None:
            try:
                return self._read_with_model(text)
            except LLMError as e:
                self.note = f"{e}; the request was read by the fixed rules"
                log.info("request read by rules: %s", e)
        return read_by_rules(text, self.searcher)

    def _read_with_model(self, text: str) -> ResearchRequest:
        assert self.model is not None
        messages = prompt_messages(text)
        label = self.model.pick(messages, list(LABELS), {"question": QUESTION_LIFT})
        if label == "question" and len(papers_named(text, self.searcher)) >= 2:
            # Two papers named by their method names ("How do Co-DETR and Teach-DETR
            # differ?"): question or comparison is asked again without the question's lift.
            # On the 250 development and aside requests (each pick printed by a one-off
            # script) the 0.5B model read 10 of 10 comparisons right without the lift and 8
            # with it; the 11 requests naming two such papers (5 comparisons, 6 questions)
            # were all read right by this second pick.
            label = self.model.pick(messages, ["question", "compare"])
        # Read by the rules only when a check below needs them, and then once.
        ruled = functools.cache(lambda: _rules_writing(text, self.searcher))
        shaped = label in ("question", "summary", "list") and (
            asks_for_writing(text) or ruled() is not None
        )
        if shaped and self.judge is not self.model:
            # The request has a writing request's shape (a related work, review, survey or
            # background section "on" a topic; :func:`topic_of`) that the model read as
            # another task ("Background section needed on the following topic: X", "Could you
            # summarize the state of the art in X as a related-work section?"): the larger
            # model takes a second look, at even odds (SHAPED_LIFT). Of the 50 dev and aside
            # writing requests the 0.5B read 2 as questions; the rules saw one, which the
            # 1.5B read as an outline. Of 54 request phrasings two helpers wrote, the 0.5B
            # read 18 as another task, every one with the shape.
            assert self.judge is not None
            lift = {label: SHAPED_LIFT}
            label = self.judge.pick(messages, [label, "related", "review"], lift)
        if label == "question" and self.judge is not self.model:
            probe = ResearchRequest(text)
            read_metadata(probe, self.searcher)
            if probe.has_metadata:
                # An author, a year or a tag the catalog has: whether papers are to be listed
                # or asked about is a second opinion of the larger model, at even odds.
                assert self.judge is not None
                lift = {"question": SECOND_LOOK_QUESTION_LIFT}
                label = self.judge.pick(messages, ["question", "list"], lift)
        request = ResearchRequest(text, intent=LABELS[label])
        topic, papers = "", list[str]()
        if request.intent != "question":
            label = next(k for k, v in LABELS.items() if v == request.intent)
            # Free text, not a grammar: with llama-cpp-python's grammar sampling the reply took
            # twice as long (1.14 s against 0.57 s), and every line is checked below anyway.
            reply = self.model.complete_once(extract_messages(text, label), max_tokens=80)
            topic, papers = parse_reply(reply)
            if request.intent in ("related_work", "review") and not topic and (rules := ruled()):
                # Nothing copied ("... the related work on image matching across modalities.
                # Can you write it?"): the topic the rules read after "related work on".
                topic, papers = rules.topic, []
            if request.intent in ("related_work", "review", "list") and not topic:
                # ... and a topic sometimes in the papers line: "DETR-style detectors".
                topic, papers = "; ".join(papers), []
            if request.intent in ("related_work", "review") and topic:
                topic = _whole_topic(topic, text)
            if request.intent in ("summarize", "compare") and not papers:
                # The names sometimes land in the topic line: "Co-DETR and Teach-DETR".
                papers = split_names(topic)
        request = check(request, topic, papers, self.searcher)
        # "2022 papers that come with code": the words around the metadata are no topic, and
        # a list narrowed by them would be empty.
        if (
            request.topic
            and request.has_metadata
            and self.judge is not None
            and self.judge.pick(subject_messages(request.topic), ["yes", "no"]) == "no"
        ):
            request.dropped.append(f"topic {request.topic!r} (not a subject)")
            request.topic = ""
            request = _consistent(request)
        return request
