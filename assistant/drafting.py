"""Model-written research prose: theme names, related-work paragraphs, a line per paper, a
summary; every sentence is checked against the abstracts and cut when it fails.

The papers and their grouping come from retrieval and the relevance judgement; the model only
names and writes. What it writes must cite valid numbers, be supported by the cited papers'
abstracts (:func:`assistant.citations.grounded`), and be clean prose (:func:`prose.is_clean`).
A caller falls back to the evidence sentences for whatever the model could not write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.citations import (
    claims,
    content_words,
    grounded,
    is_supported,
    markers,
    paper_facts,
)
from assistant.errors import LLMError
from assistant.frequency import DocumentFrequency
from assistant.llm import ChatModel, Message
from assistant.papers import Paper
from assistant.prose import is_clean, plain_text
from assistant.query import words
from assistant.stance import uses_what_it_opposes, words_against
from assistant.text import (
    THE_PROPOSED,
    is_phrase,
    method_name,
    named_once,
    names_several,
    own_names,
    plural_verb,
    proposed_named,
    prose_sentences,
    short_name,
    singular_verb,
    without_connective,
)

PARAGRAPH_PROMPT = (
    "You write one paragraph of the related-work section of a research paper, using only the "
    "numbered papers' abstract excerpts. Write 3 to 5 sentences of plain prose in your own "
    "words, in the third person: refer to each paper as its 'Refer to it as' line says (for "
    "example 'Kim et al. propose ...'), never as 'we' or 'our', and put the paper's number in "
    "brackets at the end of each sentence about it, like [4]. Cite every numbered paper. Say "
    "what this line of work does and how the papers differ or build on each other; a "
    "sentence that contrasts two papers cites both. Do not copy the excerpts' layout; no "
    "lists, headings, LaTeX, links, or numbers the excerpts do not give."
)
# Added to a prompt when the user asks for a more formal draft.
FORMAL_REGISTER = (
    " Write in the formal register of a journal article: no contractions, no colloquial or "
    "promotional words (such as 'huge', 'amazing', 'a lot of'), no questions or exclamations."
)
THEME_PROMPT = (
    "You name the sections of a literature survey. Given the survey's topic and the titles of "
    "the papers in one section, reply with a heading for the section: a noun phrase of 2 to 6 "
    "words naming what these papers have in common, the way a survey names its sections. "
    "Reply with the heading only."
)
# One worked example, from outside the collection's field, so that the heading's form is
# learnt and its words are not copied.
_THEME_EXAMPLE = (
    "Topic: speech recognition\nTitles:\n- Wav2Vec-style Pretraining for Low-Resource ASR\n"
    "- Contrastive Audio Representations Without Labels",
    "Self-supervised speech pretraining",
)
LINES_PROMPT = (
    "For each numbered paper, write one sentence in the third person saying what it "
    "contributes, using only its evidence. Start each line with the paper's number in "
    "brackets, like '[4] Kim et al. propose ...'. One line per paper, nothing else."
)
SUMMARY_PROMPT = (
    "Summarize the paper from its abstract in three sentences of your own words, in the third "
    "person (never 'we'): the problem it addresses, its method, and its main result. Write "
    "them as three lines starting 'Problem:', 'Method:' and 'Result:'."
)
CELLS_PROMPT = (
    "Read the abstract and fill in four short phrases of at most 12 words each, copied or "
    "closely paraphrased from the abstract: the task, the method, the data (datasets or "
    "benchmarks), and the main result (a metric and number where the abstract gives one). "
    "Write 'not stated' when the abstract does not say. Reply with four lines starting "
    "'Task:', 'Method:', 'Data:' and 'Result:'."
)
COMPARE_PROMPT = (
    "You compare research papers, using only the numbered evidence. Write 3 to 5 sentences "
    "of plain prose in the third person: what the papers share, then how they differ in "
    "method, data or results. Refer to a paper by its authors (for example 'Kim et al.') and "
    "put its number in brackets after each claim, like [2]; a sentence that contrasts two "
    "papers cites both. No lists, headings, LaTeX, links, or numbers the evidence does not give."
)
# Where a long heading's qualifiers start: "X for Y", "X in Y", "X: Y", "X, Y".
_QUALIFIER = re.compile(r",|:|\s(?:for|in|with|via|using|across|on|from|to)\s", re.IGNORECASE)
_BAD_HEADING = re.compile(r"\b(section|heading|survey|papers?|titles?)\b", re.IGNORECASE)


@dataclass
class Written:
    """What the model wrote for one part of a draft, after the checks."""

    sentences: list[str] = field(default_factory=list)
    cut: int = 0  # sentences the checks removed

    @property
    def cited(self) -> set[int]:
        return {n for s in self.sentences for n in markers(s)}

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def called(paper: Paper) -> str:
    """How a draft refers to a paper: its authors, else the name it gives its method, else its
    title."""
    if paper.authors:
        return short_name(paper)
    if name := method_name(paper):
        return plain_text(name)
    head = plain_text(paper.title.split(":")[0].strip())
    if len(head.split()) > 4:
        return f"“{plain_text(paper.title)}”"
    return f"“{head}”" if is_phrase(head) else head  # “Escaping Plato's Cave”, a title


def evidence_listing(numbered: dict[int, tuple[Paper, list[str]]]) -> str:
    """The numbered evidence as the model reads it: how to refer to each paper, its title and
    year, its sentences."""
    blocks = []
    for n, (p, sentences) in numbered.items():
        year = f", {p.year}" if p.year else ""
        blocks.append(
            f"Paper [{n}]: “{plain_text(p.title)}”{year}. Refer to it as: {called(p)}.\n"
            f"Abstract excerpt: " + " ".join(plain_text(s) for s in sentences)
        )
    return "\n\n".join(blocks)


# A sentence that goes on about the paper of the sentence before it ("It prunes ...", "Their
# results demonstrate ...", "The solution is ...").
_CONTINUES = re.compile(
    r"^(it|its|they|their|this (method|approach|model|work|framework)|the (method|solution))\b",
    re.I,
)
# How a whole sentence ends: a stop or a citation marker, perhaps inside quotes or brackets.
_ENDED = re.compile(r"(?:[.!?]|\[[\d,\s]+\])[\"”’)\]]*\s*$")
# "**Performance**: The paper achieves ...", "**Token slimming.** Zong et al. ...": a bold label
# the model puts before a sentence, as in a list; the sentence is what follows it.
_LABEL = re.compile(r"^\s*(?:\*\*)?[^*\n]{1,80}?(?:[:.]\s*\*\*|\*\*\s*[:.])\s*")
# The writer's own praise, which no abstract backs (a blind read: "POVID is proposed to ...,
# which is a significant step towards reducing hallucinations [1]"): a trailing clause that
# rates what the sentence said, or a sentence that only rates "this approach".
_RATING = (
    r"(?:\w+ly\s+)?(?:significant|promising|important|crucial|valuable|notable|remarkable|"
    r"major|key|useful|powerful|impressive|innovative|elegant|interesting|essential|vital|"
    r"step|milestone|breakthrough|contribution|advance(?:ment)?)\b"
)
_RATING_CLAUSE = re.compile(
    r",\s+(?:which|making it|this)\s+(?:is|was|represents|marks|makes|constitutes|offers)\s+"
    r"(?:(?:a|an|the|it|them)\s+)?(?:particularly\s+|especially\s+|highly\s+|very\s+)?"
    + _RATING
    + r"[^\[]*?(?=\s*(?:\[[\d,\s]+\])?\s*\.?$)",
    re.I,
)
_RATING_SENTENCE = re.compile(
    r"^(?:it|this|these|such)(?:\s+\w+){0,2}?\s+(?:is|are|was|represents|marks|offers)\s+"
    r"(?:(?:a|an|the)\s+)?(?:particularly\s+|especially\s+|highly\s+|very\s+)?" + _RATING,
    re.I,
)


def without_rating(sentence: str) -> str | None:
    """``sentence`` without a trailing clause that rates it (", which is a significant step
    towards ..."); None when all it does is rate ("This approach is particularly useful for
    ...")."""
    if _RATING_SENTENCE.match(sentence.strip()):
        return None
    return _RATING_CLAUSE.sub("", sentence)


# "Paper [2] proposes ...", "[2] proposes ...": the model refers to the listing's numbers.
_BY_NUMBER = re.compile(r"^(?:the )?(?:paper |work |study )?\[(\d+)\]\s+(?=[a-z])", re.I)


# "POVID and [2] differ in ...": a number in the middle of a clause, used as the name of a
# paper, where a marker can only close a claim.
_NUMBER_AS_NAME = re.compile(
    r"\b(?:and|with|than|to|from|unlike|of|between|versus|vs\.)\s+\[\d+\]\s+"
    r"(?!(?:and|or|whereas|while|but)\b)[a-z]"
)


def uses_number_as_name(sentence: str) -> bool:
    """Whether a paper's number stands for its name inside the sentence ("POVID and [2]
    differ significantly ...", read in an aside draft of 6 December)."""
    return bool(_NUMBER_AS_NAME.search(sentence))


def _named(sentence: str, papers: dict[int, Paper]) -> str:
    """A sentence that opens with a paper's number ("Paper [2] proposes X.") opened with its
    name instead, the number moved to the end: "Liu et al. propose X [2]."."""
    m = _BY_NUMBER.match(sentence.strip())
    if not m or int(m.group(1)) not in papers:
        return sentence
    n = int(m.group(1))
    return _opened_with_name(sentence.strip()[m.end() :], n, papers[n])


def _opened_with_name(rest: str, n: int, paper: Paper) -> str:
    """``rest`` of a sentence opened with ``paper``'s name, its verb agreeing, cited ``[n]``
    at the end when it cites nothing yet."""
    if names_several(paper):
        rest = plural_verb(rest)
    who = called(paper)
    body = f"{who[:1].upper()}{who[1:]} {rest}".rstrip()
    if markers(body):
        return body
    end = body[-1] if body[-1] in ".!?" else "."
    return f"{body.rstrip('.!?')} [{n}]{end}"


# "The paper “Mug-STAN: Adapting ...” proposes ...", "The paper proposes ... [5]": the model
# names the paper by the listing's title, or not at all.
_THE_PAPER = re.compile(
    r"^(?:the|this) (?:paper|work|study|article)\s+(?:[“\"]([^”\"]+)[”\"],?\s+)?(?=[a-z])", re.I
)


def _title_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", plain_text(text).casefold()))


# "The authors propose ... [3]": whose authors, in a paragraph about several papers, only the
# marker says.
_THE_AUTHORS = re.compile(r"^the (?:authors|researchers)\s+(?=[a-z])", re.IGNORECASE)


def _called_by_name(sentence: str, papers: dict[int, Paper]) -> str:
    """A sentence that opens "The paper “<title>” ..." or, citing one paper, "The paper ..."
    or "The authors ..." opened with that paper's name instead: "Mug-STAN proposes ... [2]",
    "Liu et al. propose ... [1]"."""
    s = sentence.strip()
    cited = sorted(set(markers(s)) & set(papers))
    if authors := _THE_AUTHORS.match(s):
        if len(cited) != 1:
            return sentence
        n, rest = cited[0], s[authors.end() :]
        agreeing = rest if names_several(papers[n]) else singular_verb(rest)
        return _opened_with_name(agreeing, n, papers[n])
    if (proposed := THE_PROPOSED.match(s)) and len(cited) == 1:
        # "The proposed model achieves ... [6]": by its name (proposed_named), else the paper's
        n = cited[0]
        if proposed["between"] is not None or own_names(papers[n]):
            return proposed_named(s, papers[n])
        return _opened_with_name(s[proposed.end() :].lstrip(), n, papers[n])
    m = _THE_PAPER.match(s)
    if not m:
        return sentence
    if m.group(1):
        quoted = _title_key(m.group(1))
        found = [n for n, p in papers.items() if _title_key(p.title) == quoted]
    else:
        found = cited
    if len(found) != 1:
        return sentence
    return _opened_with_name(s[m.end() :], found[0], papers[found[0]])


# What an abstract sentence opens with when it leans on text around it ("However, ...",
# "To this end, ..."): copied into a draft it refers to nothing.
_LEANING = re.compile(
    r"^(however|to this end|in this (paper|work|study)|here\b|to address (this|these)|"
    r"to tackle|despite (this|these|their)|although existing|specifically|paper \[)",
    re.IGNORECASE,
)


def leans_on_context(sentence: str) -> bool:
    """Whether a sentence opens by leaning on text around it ("However, ...")."""
    return bool(_LEANING.match(sentence.strip()) or _POINTS_BACK.match(sentence.strip()))


# What a sentence opens with when its subject was named in a sentence before it ("The
# resulting model ...", "This problem ..."): at a paragraph's start it refers to nothing.
_POINTS_BACK = re.compile(
    # "This paper ..." names the paper itself, which the third person rewrites.
    r"^(?:this(?! (?:paper|work|study|article|report)\b)|these|those|such|the resulting|"
    r"the above|the experiments|the former|the latter)\b",
    re.IGNORECASE,
)


# "By combining these components, ...": an opening that takes its subject from the sentence before.
_BY_POINTING = re.compile(r"^by \w+ing (?:this|these|those|such|its|their)\b", re.IGNORECASE)


# "... to address this challenge": a problem named in a sentence that is not there.
# "... finds it is because: 1) ...": a cause of something said before.
# "... to tackle the challenge [6]": "the challenge" closing a clause is one named before.
_DANGLING = re.compile(
    r"\b(?:this|these|such) (?:challenges?|problems?|issues?|limitations?|gaps?|"
    r"difficult(?:y|ies))\b|\b(?:it|this|that) (?:is|was) (?:because|due to|caused by)\b|"
    r"\bthe (?:challenges?|problems?|issues?|limitations?|gaps?|difficult(?:y|ies))"
    r"(?=\s*(?:\[\d|[.,;]|$))",
    re.IGNORECASE,
)


# An enumeration's item marker: "(i)", "ii)", "(2)" after a space or at the start.
_ITEM = re.compile(r"(?:^|\s)\(?(i{1,3}|iv|v|vi{1,3}|[1-9])\)(?=\s)")


def _part_of_a_list(sentence: str) -> bool:
    """Whether the sentence holds one item of an enumeration the abstract spreads over several
    sentences: a first item alone ("makes the following contributions: (i) they start ...")
    or a later one without the first ("Finally, (iv) conducts ...")."""
    items = [m.group(1) for m in _ITEM.finditer(sentence)]
    return bool(items) and (items[0] not in ("i", "1") or len(items) == 1)


def dangles(sentence: str) -> bool:
    """Whether a sentence names "this challenge" (problem, issue, limitation) that it does not
    state, gives the cause of an "it" it does not name, or holds one item of a list spread
    over several sentences: it refers to a sentence before or after it."""
    return bool(_DANGLING.search(sentence)) or _part_of_a_list(sentence)


def says_twice(sentence: str, run: int = 5) -> bool:
    """Whether a run of ``run`` words occurs twice in the sentence ("The proposed X, X, is
    ...": a title pasted in twice)."""
    ws = re.findall(r"[\w-]+", sentence.lower())
    seen = [tuple(ws[i : i + run]) for i in range(len(ws) - run + 1)]
    return len(set(seen)) < len(seen)


def points_back(sentence: str) -> bool:
    """Whether a sentence opens by referring to what the sentence before it said ("It ...",
    "This approach ...", "By combining these components ...")."""
    s = sentence.strip()
    return bool(_CONTINUES.match(s) or _POINTS_BACK.match(s) or _BY_POINTING.match(s))


def switches_paper(sentence: str, previous: list[int]) -> bool:
    """Whether a sentence points back to the sentence before it but cites none of that
    sentence's papers: "The framework uses X [2]. By combining these components, the
    students gain 8% [3]." says of [3] what [2] did, or cites the wrong paper."""
    cited = markers(sentence)
    return points_back(sentence) and bool(cited) and not set(cited) & set(previous)


# The model speaking of what it was given ("The evidence from these three papers highlights
# ...", "The theme of X is to ...", "Both papers ..." citing one): no survey sentence speaks
# of its excerpts or of the heading it was asked to write under.
_OF_THE_INPUT = re.compile(
    r"\b(?:the|this|these|all) (?:evidence|excerpts?|themes?)\b", re.IGNORECASE
)
_OF_SEVERAL = re.compile(
    r"\b(?:both|these|those|all|the|several|many|multiple|various) "
    r"(?:two |three |four |five |\d+ )?(?:papers|works|studies)\b|"
    # "..., while the previous paper achieved similar results [6]": another paper, not cited
    r"\bthe (?:previous|preceding|other|former|latter|first|second) "
    r"(?:papers?|works?|stud(?:y|ies)|methods?|approach(?:es)?)\b",
    re.IGNORECASE,
)


def speaks_of_its_input(sentence: str) -> bool:
    """Whether a sentence talks about the evidence it was written from, or about several
    papers while citing one."""
    return bool(_OF_THE_INPUT.search(sentence)) or (
        bool(_OF_SEVERAL.search(sentence)) and len(set(markers(sentence))) < 2
    )


def repeats_claim(sentence: str, earlier: str) -> bool:
    """Whether ``sentence`` says again what ``earlier`` said: four in five of its content
    words are the earlier sentence's, or it holds four in five of the earlier sentence's and
    adds at most half as many of its own (the same claim with a qualifier added)."""
    mine, theirs = _content_words(sentence), _content_words(earlier)
    shared = len(mine & theirs)
    if not mine or not theirs:
        return False
    return shared >= 0.8 * len(mine) or (
        shared >= 0.8 * len(theirs) and len(mine - theirs) <= 0.5 * shared
    )


def pastes_title(sentence: str, paper: Paper) -> bool:
    """Whether the sentence holds the part of the paper's title after its colon, four words
    or more, outside quotes: "Mixture-of-Transformers proposes Mixture-of-Transformers: A
    Sparse and Scalable Architecture for ..., which ..." (a title is no description)."""
    if ":" not in paper.title:
        return False
    rest = _title_key(paper.title.split(":", 1)[1])
    unquoted = re.sub(r"“[^”]*”|\"[^\"]*\"", " ", sentence)
    return len(rest.split()) >= 4 and f" {rest} " in f" {_title_key(unquoted)} "


def restates_title(sentence: str, paper: Paper) -> bool:
    """Whether ``sentence`` says nothing its paper's title and name do not ("NVLM introduces
    NVLM: Open Frontier-Class Multimodal LLMs")."""
    known = {w for part in (paper.title, short_name(paper)) for w in _content_words(part)}
    return not (_content_words(sentence) - known)


def _content_words(text: str) -> set[str]:
    """The support check's content words, hyphenated words split ("frontier-class" is
    "frontier" and "class") and bare numbers left out."""
    return {w for w in content_words(text.replace("-", " ")) if not w.isdigit()}


def _copied_listing(sentence: str) -> bool:
    """Whether the model copied the evidence's layout (or an abstract's own framing) instead
    of writing prose. ("However, ..." may open a written contrast, so it is not refused.)"""
    return bool(
        re.match(
            r"^\s*\[\d+\]|^(to this end|in this (paper|work|study)|here\b|paper \[)", sentence, re.I
        )
        or "Abstract excerpt" in sentence
        or "Refer to it as" in sentence
    )


class Drafter:
    """Writes parts of drafts with a model and keeps only what passes the checks.

    Args:
        model: the model that writes (the bundled one, or an endpoint).
        frequency: the collection's document frequency, by which a sentence on what papers
            share must name something particular to them (None: not asked).
    """

    def __init__(self, model: ChatModel, frequency: DocumentFrequency | None = None):
        self.model = model
        self.frequency = frequency
        self._facts: dict[str, str] = {}
        self._against: dict[str, set[str]] = {}
        # Headings come from the judging model (the 1.5B one locally): on 13 themes of 4
        # development topics the 0.5B model named 6 "Self-supervised ..." whatever they held
        # ("Self-supervised search" for architecture search); the 1.5B named each after its
        # papers, at 1.6 s a heading against 0.8 s.
        self.namer = model.for_task("judge")

    def facts(self, paper: Paper) -> str:
        """What a sentence about ``paper`` may draw on, LaTeX rendered (computed once)."""
        if paper.id not in self._facts:
            self._facts[paper.id] = plain_text(paper_facts(paper))
        return self._facts[paper.id]

    def first_line(
        self, system: str, example: tuple[str, str], request: str, max_tokens: int
    ) -> str | None:
        """The first line of the naming model's reply to ``request``, shown one worked
        ``example`` (request, reply) first; "" when it replies nothing, None when it fails."""
        messages = [
            Message("system", system),
            Message("user", example[0]),
            Message("assistant", example[1]),
            Message("user", request),
        ]
        try:
            reply = self.namer.complete(messages, max_tokens=max_tokens).strip().splitlines()
        except LLMError:
            return None
        return reply[0] if reply else ""

    def _ask(self, messages: list[Message], max_tokens: int) -> str:
        """The model's reply, or "" when it fails (the caller falls back to the evidence)."""
        try:
            return self.model.complete(messages, max_tokens=max_tokens)
        except LLMError:
            return ""

    def against(self, paper: Paper) -> set[str]:
        """The words ``paper``'s abstract uses only against something (computed once)."""
        if paper.id not in self._against:
            self._against[paper.id] = words_against(plain_text(paper.abstract))
        return self._against[paper.id]

    def check(self, sentence: str, papers: dict[int, Paper]) -> str | None:
        """A written sentence if it is clean and grounded in the papers it cites, and does not
        have a paper use what its abstract speaks against (:mod:`assistant.stance`)."""
        s = named_once(plain_text(" ".join(sentence.split()).strip(" -*•\"'")))
        s = re.sub(r"\b([\w-]+) \(\1\)", r"\1", s)  # "PyramidDrop (PyramidDrop)"
        names = tuple(called(p) for p in papers.values())
        if not s or not is_clean(s, names) or len(s.split()) < 5 or _copied_listing(s):
            return None
        if says_twice(s):
            return None
        cited = markers(s)
        if len(cited) == 1 and cited[0] in papers and restates_title(s, papers[cited[0]]):
            return None  # the title said again is no sentence about the paper
        if any(pastes_title(s, papers[n]) for n in cited if n in papers):
            return None
        ok = grounded(s, papers, {n: self.facts(p) for n, p in papers.items()})
        cited_papers = {n: papers[n] for n in markers(ok or "") if n in papers}
        if ok and uses_what_it_opposes(ok, {n: self.against(p) for n, p in cited_papers.items()}):
            return None  # "It leverages non-generalizable temporal modeling" (an obstacle)
        return ok

    def _kept(self, reply: str, papers: dict[int, Paper], theme: str = "") -> Written:
        """The reply's sentences that cite a paper and pass the checks, in order (``theme``:
        the heading the model wrote under, whose words it must not pin on a paper)."""
        facts = {n: self.facts(p) for n, p in papers.items()}
        out = Written()
        previous: list[int] = []
        said = prose_sentences(reply.replace("\n", " "))
        if said and not _ENDED.search(said[-1]):
            said.pop()  # the reply ran out of tokens mid-sentence
            out.cut += 1
        for s in said:
            s = _named(_LABEL.sub("", s), papers)
            if not markers(s):
                # "It prunes ...", right after a sentence about [n], is about [n] too; "The
                # authors propose X" is about the one paper whose abstract supports it.
                backing = [n for n in papers if is_supported(s, facts[n])]
                if previous and _CONTINUES.match(s):
                    backing = previous[:1]
                if len(backing) == 1:
                    s = f"{s.rstrip().rstrip('.')} [{backing[0]}]."
            s = without_connective(_called_by_name(s, papers), opening=not out.sentences)
            if uses_number_as_name(s):
                out.cut += 1
                continue
            if (unrated := without_rating(s)) is None:
                out.cut += 1
                continue
            s = unrated
            if len(one := set(markers(s)) & set(papers)) == 1:
                s = proposed_named(s, papers[one.pop()])  # "... that the proposed method ..."
            ok = self.check(s, papers)
            if ok and not previous and points_back(ok):
                ok = None  # "This problem ..." with nothing before it to point back to
            if ok and dangles(ok) and not set(markers(ok)) & set(previous):
                ok = None  # "... to address this challenge", the challenge said nowhere
            if ok and speaks_of_its_input(ok):
                ok = None  # "The evidence from these three papers ..." citing one
            if ok and self.pins_theme(ok, theme, papers):
                ok = None  # "... novel approaches to sparse mixture of experts" for a face paper
            if ok and previous and switches_paper(ok, previous):
                ok = None  # "It ..." about the paper before, cited to another
            if ok and any(repeats_claim(ok, earlier) for earlier in out.sentences):
                ok = None  # the same claim again in other words
            # A sentence citing nothing is a claim without a source (or filler): cut.
            if ok and markers(ok):
                out.sentences.append(ok)
                previous = markers(ok)
            else:
                out.cut += 1
                previous = []
        return out

    def pins_theme(self, sentence: str, theme: str, papers: dict[int, Paper]) -> bool:
        """Whether the sentence says of a paper two or more of the theme's words that the
        paper's facts lack: the small model copies its heading into a paper's description."""
        heading = content_words(theme)
        for text, run in claims(sentence):
            for n in (n for n in run if n in papers):
                lacking = content_words(text) - content_words(self.facts(papers[n]))
                if len(lacking & heading) >= 2:
                    return True
        return False

    def paragraph(
        self,
        theme: str,
        numbered: dict[int, tuple[Paper, list[str]]],
        prompt: str = PARAGRAPH_PROMPT,
    ) -> Written:
        """A paragraph on one theme from its papers' evidence; asked again once when papers
        are left uncited, the better of the two kept. ``prompt``: what to write
        (:data:`PARAGRAPH_PROMPT`, :data:`COMPARE_PROMPT`)."""
        papers = {n: p for n, (p, _) in numbered.items()}
        user = f"Theme: {theme}\n\nEvidence:\n{evidence_listing(numbered)}\n\nParagraph:"
        messages = [Message("system", prompt), Message("user", user)]
        budget = 120 + 60 * len(numbered)
        best = self._kept(self._ask(messages, budget), papers, theme)
        if len(best.cited) * 2 < len(papers):
            # Most papers uncited: asked once more, the numbers spelled out. (Fewer missing
            # are cited from their abstracts by the caller: a second reply costs as long as
            # the first.)
            numbers = ", ".join(f"[{n}]" for n in sorted(papers))
            user_again = (
                f"{user}\n(End every sentence with the number of the paper it is about: {numbers}.)"
            )
            again = [Message("system", prompt), Message("user", user_again)]
            second = self._kept(self._ask(again, budget), papers, theme)
            if len(second.cited) > len(best.cited):
                second.cut += best.cut + len(best.sentences)
                best = second
            else:
                best.cut += second.cut + len(second.sentences)
        return best

    def theme_name(self, topic: str, papers: list[Paper], taken: set[str]) -> str | None:
        """A survey-style heading for a group of papers, or None when the reply is no heading
        (a bare "X and Y", words of no title, one already used). Asked with the topic, then,
        when that reply copies the topic or fails, with the titles alone; a long heading is
        cut before its first qualifier ("Hallucination mitigation in large ..." ->
        "Hallucination mitigation")."""
        titles = "\n".join(f"- {plain_text(p.title)}" for p in papers[:8])
        others = f"\nHeadings already used (give another): {'; '.join(taken)}" if taken else ""
        for context in (f"Topic: {topic}\n", ""):
            request = f"{context}Titles:\n{titles}{others}"
            reply = self.first_line(THEME_PROMPT, _THEME_EXAMPLE, request, 24)
            if reply is None:
                return None
            name = re.sub(r"^[#*\s\-\"']+|[\s\"'.*:]+$", "", reply)
            if words(name)[:5] == words(topic)[:5] and len(name.split()) > 8:
                continue  # the topic said again: the group is not named
            if len(name.split()) > 8:
                name = _QUALIFIER.split(name, maxsplit=1)[0]
            if heading := self._heading(name, topic, papers, taken):
                return heading
        return None

    @staticmethod
    def _heading(name: str, topic: str, papers: list[Paper], taken: set[str]) -> str | None:
        """``name`` as a heading, or None: not 2-8 words, a bare "X and Y", one already used
        (or mostly the same words as one), or words of no title."""
        if not 2 <= len(name.split()) <= 8 or _BAD_HEADING.search(name) or not is_clean(name):
            return None
        if re.fullmatch(r"[\w-]+ (and|&) [\w-]+", name, re.IGNORECASE):
            return None  # two words joined: a word list, not a heading
        mine = content_words(name)
        for other in map(content_words, taken):  # "Video-Language Pretraining" again, recased
            if mine and len(mine & other) >= 0.6 * len(mine | other):
                return None
        source = {w for p in papers for w in words(f"{p.title} {p.abstract}")} | set(words(topic))
        if not set(words(name)) & source:
            return None  # names nothing the papers or the topic say
        return name[0].upper() + name[1:]

    def paper_lines(self, numbered: dict[int, tuple[Paper, list[str]]]) -> dict[int, str]:
        """One checked sentence per paper, by number (papers the model failed are absent)."""
        papers = {n: p for n, (p, _) in numbered.items()}
        messages = [
            Message("system", LINES_PROMPT),
            Message("user", f"Evidence:\n{evidence_listing(numbered)}"),
        ]
        out: dict[int, str] = {}
        for line in self._ask(messages, 70 * len(numbered)).splitlines():
            m = re.match(r"\s*[-*]?\s*\[(\d+)\]\s*(.+)", line)
            if not m or int(m.group(1)) not in papers or int(m.group(1)) in out:
                continue
            n = int(m.group(1))
            first = (prose_sentences(m.group(2)) or [""])[0]
            ok = self.check(first, {n: papers[n]})
            if ok and markers(ok) in ([], [n]):
                out[n] = ok if markers(ok) else f"{ok.rstrip('.')} [{n}]."
        return out

    def summary(self, paper: Paper) -> dict[str, str]:
        """Problem, method and result in the model's words, each checked; failed parts absent."""
        messages = [
            Message("system", SUMMARY_PROMPT),
            Message("user", f"{plain_text(paper.title)}\n\n{plain_text(paper.abstract)}"),
        ]
        out: dict[str, str] = {}
        for line in self._ask(messages, 200).splitlines():
            m = re.match(r"\s*[-*]*\s*\**(Problem|Method|Result)s?\**\s*:\**\s*(.+)", line, re.I)
            if not m or m.group(1).lower() in out:
                continue
            first = (prose_sentences(m.group(2)) or [""])[0]
            ok = self.check(first, {1: paper})
            if ok:
                out[m.group(1).lower()] = ok if markers(ok) else f"{ok.rstrip('.')} [1]."
        return out

    def cells(self, paper: Paper) -> dict[str, str]:
        """A comparison table's cells for one paper (task, method, data, result) as short
        phrases the abstract supports; a cell that fails the check is absent."""
        messages = [
            Message("system", CELLS_PROMPT),
            Message("user", f"{plain_text(paper.title)}\n\n{plain_text(paper.abstract)}"),
        ]
        facts = self.facts(paper)
        out: dict[str, str] = {}
        for line in self._ask(messages, 120).splitlines():
            m = re.match(r"\s*[-*]*\s*\**(Task|Method|Data|Result)s?\**\s*:\**\s*(.+)", line, re.I)
            key = m.group(1).lower() if m else ""
            if not m or key in out:
                continue
            phrase = plain_text(m.group(2)).strip(" .;\"'")
            if phrase.lower().startswith("not stated") or not phrase:
                out[key] = "not stated"
            elif len(phrase.split()) <= 16 and is_clean(phrase) and is_supported(phrase, facts):
                out[key] = phrase
        return out
