"""A chat session: history, follow-up questions, and routing to the writing functions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.answer import Answer, Answerer
from assistant.errors import QuestionError
from assistant.intent import ResearchRequest
from assistant.llm import ChatModel
from assistant.retrieval import Filters
from assistant.writing import (
    Draft,
    TopicFilter,
    compare,
    drop_citation,
    merge_themes,
    related_work,
    related_work_steps,
    review_outline,
    shorter,
    summarize,
)

_SHORTER = re.compile(
    r"^\s*(?:make it |a bit )?(?:shorter|more concise|condense it)\W*$", re.IGNORECASE
)
_DROP = re.compile(r"^\s*(?:drop|remove|delete)\s+\[?(?P<n>\d+)\]?\W*$", re.IGNORECASE)
_ADD_YEAR = re.compile(r"^\s*add (?:the )?(?P<year>(?:19|20)\d\d) papers?\W*$", re.IGNORECASE)
_MERGE = re.compile(
    r"^\s*merge (?:the )?(?:(?P<two>first two)|(?:themes? )?(?P<a>\d+) (?:and|&|with) "
    r"(?:theme )?(?P<b>\d+))(?: themes?| sections?| paragraphs?)?\W*$",
    re.IGNORECASE,
)
_AS_LATEX = re.compile(
    r"^\s*(?:write|give|show|export) (?:it|this|the draft) (?:as|in) latex\W*$", re.IGNORECASE
)
_ANAPHORA = re.compile(
    r"\b(it|its|this paper|that paper|the paper|they|them|their|these|those|this one|that one)\b",
    re.IGNORECASE,
)


@dataclass
class Turn:
    """One exchange: what the user said and what came back."""

    message: str
    reply: Answer | Draft


@dataclass
class ChatSession:
    """One person's conversation; nothing in it is shared with another session."""

    answerer: Answerer
    filters: Filters | None = None
    turns: list[Turn] = field(default_factory=list)
    _topics: TopicFilter | None = None

    @property
    def last_draft(self) -> Draft | None:
        return next((t.reply for t in reversed(self.turns) if isinstance(t.reply, Draft)), None)

    @property
    def topics(self) -> TopicFilter:
        if self._topics is None:
            self._topics = TopicFilter(self.answerer.searcher, self.answerer.judge)
        return self._topics

    def send(self, message: str) -> Iterator[str | Answer | Draft]:
        """Yield the reply's text as it comes, then the reply (an Answer or a Draft)."""
        text = " ".join(message.split())
        if not text:
            raise QuestionError("the message is empty; ask about the papers or name a task")
        draft = self._draft_for(text)
        final: Answer | Draft | None = draft
        pieces: Iterator[str | Answer | Draft] = (
            iter([draft.text, draft])
            if draft is not None
            else respond(self.answerer, text, self.filters, self._with_context(text), self.topics)
        )
        for piece in pieces:
            if isinstance(piece, Answer):
                piece.question = text
            if not isinstance(piece, str):
                final = piece
            yield piece
        if final is not None:
            self.turns.append(Turn(text, final))

    def _draft_for(self, text: str) -> Draft | None:
        """A writing task named by the message, or a change to the last draft; else None."""
        searcher = self.answerer.searcher
        model = rewriter(self.answerer)
        last = self.last_draft
        if last is not None:
            if _SHORTER.match(text):
                return shorter(last)
            if m := _DROP.match(text):
                return drop_citation(last, int(m.group("n")))
            if m := _MERGE.match(text):
                a, b = (1, 2) if m.group("two") else (int(m.group("a")), int(m.group("b")))
                return merge_themes(last, a, b)
            if _AS_LATEX.match(text):
                from assistant.export import to_latex

                latex = to_latex(last.text, last.citations)
                return Draft(last.kind, last.topic, latex, last.citations, last.table, "as LaTeX")
            if (m := _ADD_YEAR.match(text)) and last.kind in ("related work", "review outline"):
                year = int(m.group("year"))
                base = self.filters or Filters()
                widened = Filters(**{**vars(base), "year_from": year, "year_to": year})
                extra = related_work(last.topic, searcher, model, widened, self.topics)
                return _merge(last, extra, f"added the {year} papers")
        return None

    def _with_context(self, text: str) -> str:
        """A follow-up that says "it" or "they" is searched with the last answer's papers."""
        if not self.turns or not _ANAPHORA.search(text):
            return text
        reply = self.turns[-1].reply
        if not reply.citations:
            return text
        titles = "; ".join(c.paper.title for c in reply.citations[:2])
        return f"{text} ({titles})"


def _merge(draft: Draft, extra: Draft, note: str) -> Draft:
    """The draft plus the papers of ``extra`` it did not cite yet, as a new paragraph."""
    from assistant.answer import finalize
    from assistant.evidence import Evidence

    have = {c.paper.id for c in draft.citations}
    new = [c for c in extra.citations if c.paper.id not in have]
    if not new:
        return Draft(
            draft.kind, draft.topic, draft.text, draft.citations, draft.table, "no new papers"
        )
    offset = max((c.n for c in draft.citations), default=0)
    renumber = {c.n: offset + i for i, c in enumerate(new, 1)}
    from assistant.answer import short_name, third_person, with_marker
    from assistant.writing import roles

    sentences = [
        with_marker(third_person(roles(c.paper)["method"], short_name(c.paper)), renumber[c.n])
        for c in new
    ]
    numbered = {c.n: Evidence(c.paper, c.evidence, [1.0]) for c in draft.citations}
    numbered.update({renumber[c.n]: Evidence(c.paper, c.evidence, [1.0]) for c in new})
    text, citations = finalize(
        draft.text + "\n\n**Further work.** " + " ".join(sentences), numbered
    )
    return Draft(draft.kind, draft.topic, text, citations, draft.table, note)


def respond(
    answerer: Answerer,
    text: str,
    filters: Filters | None = None,
    searched: str | None = None,
    topics: TopicFilter | None = None,
) -> Iterator[str | Answer | Draft]:
    """Read ``text`` once and do what it asks: answer, list, summarize, compare, draft related
    work or a review outline. Yields text pieces, then the Answer or Draft.

    ``searched`` is the text to answer from when it differs (a follow-up with its context).
    """
    request = answerer.read(text)
    searcher = answerer.searcher
    topics = topics or TopicFilter(searcher, answerer.judge)
    model = rewriter(answerer)
    draft: Draft | None = None
    if request.intent == "related_work":
        yield from related_work_steps(request.topic, searcher, model, filters, topics)
        return
    if request.intent == "review":
        draft = review_outline(request.topic, searcher, filters, topics, model)
    elif request.intent == "compare":
        draft = compare([searcher.papers[pid] for pid in request.papers], model)
    elif request.intent == "summarize":
        draft = summarize(searcher.papers[request.papers[0]], model)
    if draft is not None:
        yield draft.text
        yield draft
        return
    if searched and searched != text:
        request = ResearchRequest(
            searched, **{k: v for k, v in vars(request).items() if k != "text"}
        )
    yield from answerer.stream(searched or text, filters, request)


def rewriter(answerer: Answerer) -> ChatModel | None:
    """The model that writes drafts: any model trusted to write (the bundled Qwen models, an
    endpoint); None for the tiny model, whose drafts are the evidence sentences."""
    return answerer.model if answerer.mode == "write" else None
