"""The conversation core: one person's chat, the research actions, follow-ups and context.

Every front end talks through a :class:`ChatSession`: the page (:mod:`assistant.web`),
``assistant chat`` and the one-shot writing commands. A message is read once
(:meth:`Answerer.read` gives the typed request) and routed to what it asks: an answer, a list,
a summary, a comparison, related work or a review outline. A follow-up changes the last draft
("shorter", "more formal", "drop [2]", "add the 2024 papers", "merge the first two themes",
"write it as LaTeX") or its outline (an outline sent back edited, "another outline", "show the
outline", "write it"); a question that says "it" or "they" is searched with the papers of the
last reply.

Research actions are functions registered in :data:`ACTIONS` with :func:`action`; the page
offers every registered one. Each gets an :class:`ActionRequest` and yields text pieces, then
its reply (an :class:`Answer` or a :class:`Draft`), like :meth:`Answerer.stream`::

    @action("Summarize")
    def summarize_action(req: ActionRequest) -> Iterator[str | Answer | Draft]:
        ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from assistant.answer import Answer, Answerer, clean_question
from assistant.citations import Citation
from assistant.errors import AssistantError
from assistant.intent import ResearchRequest, split_names
from assistant.llm import ChatModel
from assistant.outlines import outline_of, parse_outline, regroup
from assistant.retrieval import Filters, Searcher
from assistant.text import short_name, year_label
from assistant.writing import (
    OUTLINE_KIND,
    Draft,
    TopicFilter,
    add_papers,
    compare,
    drop_citation,
    merge_themes,
    outline_draft,
    related_work,
    related_work_outline,
    related_work_steps,
    resolve_paper,
    review_outline,
    shorter,
    summarize,
    write_outline,
)
from assistant.writing_request import Wishes, wishes
from assistant.years import years_phrase

Reply = Answer | Draft

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
_FORMAL = re.compile(
    r"^\s*(?:make it |write it |rewrite it |a bit |please )?(?:more formal(?:ly)?|"
    r"(?:in )?(?:a )?(?:more )?(?:formal|academic) (?:register|tone|style))\W*$",
    re.IGNORECASE,
)
_SHOW_OUTLINE = re.compile(r"^\s*(?:show|give|back to) (?:me )?(?:the |its )?outline\W*$", re.I)
_ANOTHER_OUTLINE = re.compile(
    r"^\s*(?:(?:give me |try |show me |suggest |make )?(?:an)?other (?:outline|grouping)|"
    r"regroup(?: it| the papers| the themes)?|group (?:them|the papers) differently)\W*$",
    re.IGNORECASE,
)
_WRITE_IT = re.compile(
    r"^\s*(?:(?:now |ok,? |okay,? |good,? )?(?:write|draft) (?:it|the paragraphs|them|"
    r"the related work|from (?:it|this|the outline))|go ahead)\W*$",
    re.IGNORECASE,
)
# Words that point back at the last reply's papers: one paper, or several.
_ONE = (
    r"it|its|this one|that one|(?:this|that|the) (?:paper|work|study|model|method|approach|"
    r"authors?)"
)
_SEVERAL = r"they|them|their|these|those|(?:these|those|the) (?:papers|works|studies|models)"
_REFERS_BACK = re.compile(rf"\b(?:(?P<one>{_ONE})|(?P<several>{_SEVERAL}))\b", re.IGNORECASE)


# --- turns and the session -------------------------------------------------------------------
@dataclass
class Turn:
    """One exchange: the message, the action it asked for, and what came back."""

    message: str
    action: str = "Answer"
    text: str = ""  # the reply's text as shown so far
    reply: Reply | None = None  # None while it is written, or when it failed


@dataclass
class ActionRequest:
    """What an action gets: the message and the session it is part of."""

    text: str
    session: ChatSession
    searched: str  # the text to search: the message with the papers "it" refers to

    @property
    def answerer(self) -> Answerer:
        return self.session.answerer

    @property
    def filters(self) -> Filters | None:
        return self.session.filters

    @property
    def writer(self) -> ChatModel | None:
        return rewriter(self.session.answerer)


ActionFn = Callable[[ActionRequest], Iterator[str | Reply]]
ACTIONS: dict[str, ActionFn] = {}


def action(
    name: str, registry: dict[str, ActionFn] | None = None
) -> Callable[[ActionFn], ActionFn]:
    """Register a research action under the name the page shows (in :data:`ACTIONS`, or in
    ``registry``)."""

    def register(fn: ActionFn) -> ActionFn:
        (ACTIONS if registry is None else registry)[name] = fn
        return fn

    return register


@dataclass
class ChatSession:
    """One person's conversation; nothing in it is shared with another session.

    Args:
        answerer: the index and the model that answer (replace it to change either; an
            Answerer is not thread-safe, so a session sends one message at a time).
        filters: the filters every message of the session is answered under.
        actions: the research actions the session offers (by default every registered one).
    """

    answerer: Answerer
    filters: Filters | None = None
    turns: list[Turn] = field(default_factory=list)
    actions: Mapping[str, ActionFn] = field(default_factory=lambda: ACTIONS)
    _topics: TopicFilter | None = None

    @property
    def replies(self) -> list[Reply]:
        return [t.reply for t in self.turns if t.reply is not None]

    @property
    def last_draft(self) -> Draft | None:
        return next((r for r in reversed(self.replies) if isinstance(r, Draft)), None)

    @property
    def topics(self) -> TopicFilter:
        if self._topics is None or self._topics.searcher is not self.answerer.searcher:
            self._topics = TopicFilter.using(self.answerer.searcher, self.answerer)
        return self._topics

    def send(self, message: str, action: str = "Answer") -> Iterator[str | Reply]:
        """Run ``action`` on the message: the iterator yields the reply's text as it comes,
        then the reply.

        The message is checked at once (QuestionError, AssistantError for an unknown action);
        the turn is in :attr:`turns` from then on, its text growing, so a page can show it
        while it is written.
        """
        text = clean_question(message)
        if action not in self.actions:
            raise AssistantError(f"unknown action {action!r}; choose one of {list(self.actions)}")
        request = ActionRequest(text, self, self._with_context(text))
        turn = Turn(text, action)
        self.turns.append(turn)
        return self._run(self.actions[action], request, turn)

    @staticmethod
    def _run(fn: ActionFn, request: ActionRequest, turn: Turn) -> Iterator[str | Reply]:
        for piece in fn(request):
            if isinstance(piece, str):
                turn.text += piece
            elif not (isinstance(piece, Answer) and piece.partial):
                turn.reply, turn.text = piece, piece.text
            yield piece

    def reply(self, request: ActionRequest) -> Iterator[str | Reply]:
        """What the message asks (the Answer action): a change to the last draft, else what
        the request reader makes of it."""
        follow_up = self._follow_up(request.text)
        if follow_up is not None:
            yield from follow_up
            return
        yield from respond(self.answerer, request.text, self.filters, request.searched, self.topics)

    def _follow_up(self, text: str) -> Iterator[str | Reply] | None:
        """The change to the last draft (or to its outline) the message asks for; else None."""
        last = self.last_draft
        if last is None:
            return None
        rewrite = self.outline_follow_up(text)
        if rewrite is not None:
            return rewrite
        draft = self._draft_for(text, last)
        return None if draft is None else _shown(draft)

    def outline_follow_up(self, text: str) -> Iterator[str | Reply] | None:
        """Related work rewritten from the last draft's outline (sent back edited, as it is,
        or in a formal register), or that outline shown or grouped anew; None when the
        message asks none of these or the last draft has no outline."""
        last = self.last_draft
        if last is None or last.kind not in ("related work", OUTLINE_KIND):
            return None
        model = rewriter(self.answerer)
        searcher = self.answerer.searcher
        # The papers marked less sure stay marked, by id, through every rewrite and regrouping.
        doubtful = {c.paper.id for c in last.citations if c.n in last.less_sure}
        if (edited := parse_outline(text, last)) is not None:
            return write_outline(
                last.topic, edited, model, frequency=searcher.frequency, less_sure=doubtful
            )
        if _WRITE_IT.match(text) and last.kind == OUTLINE_KIND:
            outline = outline_of(last)
            return write_outline(
                last.topic, outline, model, frequency=searcher.frequency, less_sure=doubtful
            )
        if _FORMAL.match(text) and last.kind == "related work":
            outline = outline_of(last)
            return write_outline(last.topic, outline, model, True, searcher.frequency, doubtful)
        if _SHOW_OUTLINE.match(text):
            draft = outline_draft(last.topic, outline_of(last), doubtful)
        elif _ANOTHER_OUTLINE.match(text):
            outline = regroup(last.topic, outline_of(last), searcher, model)
            draft = outline_draft(last.topic, outline, doubtful)
        else:
            return None
        return _shown(draft)

    def _draft_for(self, text: str, last: Draft) -> Draft | None:
        """A change to the last draft that the message asks for; else None."""
        if _SHORTER.match(text):
            return shorter(last)
        if m := _DROP.match(text):
            return drop_citation(last, int(m.group("n")))
        if m := _MERGE.match(text):
            a, b = (1, 2) if m.group("two") else (int(m.group("a")), int(m.group("b")))
            return merge_themes(last, a, b)
        if _AS_LATEX.match(text):
            return as_latex(last)
        if (m := _ADD_YEAR.match(text)) and last.kind in ("related work", "review outline"):
            year = int(m.group("year"))
            widened = _in_years(self.filters, year, year)
            model = rewriter(self.answerer)
            extra = related_work(last.topic, self.answerer.searcher, model, widened, self.topics)
            return add_papers(last, extra, f"added the {year} papers")
        return None

    def _with_context(self, text: str) -> str:
        """The message with the titles of the last reply's papers it refers to, in brackets:
        "what data does it use? (Teach-DETR)"."""
        m = _REFERS_BACK.search(text)
        last = next((r for r in reversed(self.replies) if r.citations and not _refused(r)), None)
        if m is None or last is None:
            return text
        cited = last.citations[: 1 if m.group("one") else 2]
        return f"{text} ({'; '.join(c.paper.title.split(':')[0].strip() for c in cited)})"


def as_latex(draft: Draft) -> Draft:
    """``draft`` in LaTeX, its markers as ``\\cite{}`` of the papers' BibTeX keys."""
    from assistant.export import to_latex

    return replace(draft, text=to_latex(draft.text, draft.citations), note="as LaTeX")


def as_wished(
    kind: str,
    text: str,
    topic: str,
    searcher: Searcher,
    model: ChatModel | None,
    filters: Filters | None,
    topics: TopicFilter,
) -> Iterator[str | Reply]:
    """Related work (``kind`` "related_work") or a review outline ("review") on ``topic`` as
    the request ``text`` asks beside its topic (:func:`~assistant.writing_request.wishes`):
    from the years it names, in LaTeX where it asks; related work also in a formal register
    and shortened. An outline is one line a paper already, and its lines are no prose to set
    in a register, so "short" and "formal" ask nothing of it. The draft's note says what was
    done as asked, and how many papers on the topic the years left out for want of a date."""
    wish = wishes(text)
    filters = _with_years(filters, wish)
    if kind == "review":
        draft = review_outline(topic, searcher, filters, topics, model)
        wish = wish._replace(short=False, formal=False)
        yield from _shown(_as_asked(draft, wish, _undated(draft, filters, topics)))
        return
    for piece in related_work_steps(topic, searcher, model, filters, topics, wish.formal):
        if isinstance(piece, Draft):
            piece = _as_asked(piece, wish, _undated(piece, filters, topics))
        yield piece


def _undated(draft: Draft, filters: Filters | None, topics: TopicFilter) -> int:
    """How many papers on the draft's topic its year range left out for want of a date."""
    if filters is None or not draft.topic:
        return 0
    return topics.undated(draft.topic, filters)


def _with_years(filters: Filters | None, wish: Wishes) -> Filters | None:
    """``filters`` narrowed to the years a request names, where the filters name none."""

    def names_years(f: Filters | Wishes | None) -> bool:
        return f is not None and (f.year_from is not None or f.year_to is not None)

    if not names_years(wish) or names_years(filters):
        return filters
    return _in_years(filters, wish.year_from, wish.year_to)


def _in_years(filters: Filters | None, year_from: int | None, year_to: int | None) -> Filters:
    """``filters`` (or none) with their year range set to ``year_from``-``year_to``."""
    return Filters(**{**vars(filters or Filters()), "year_from": year_from, "year_to": year_to})


def _as_asked(draft: Draft, wish: Wishes, undated: int = 0) -> Draft:
    """The draft shortened or in LaTeX where the request asked; its note says what was done
    as asked (the years and the register too, which the draft was written with), and how
    many papers on the topic the years left out for want of a date."""
    done = []
    if years := years_phrase(wish.year_from, wish.year_to):
        done.append(f"papers {years}, as asked")
    if undated:
        done.append(_undated_note(undated))
    if wish.formal:
        done.append("formal register, as asked")
    if wish.short and draft.citations:
        draft = replace(draft, text=shorter(draft).text)
        done.append("one sentence per paper, as asked")
    if wish.latex and draft.citations:
        draft = replace(draft, text=as_latex(draft).text)
        done.append("in LaTeX, as asked")
    if done:
        draft = replace(draft, note="; ".join(filter(None, [draft.note, *done])))
    return draft


def _undated_note(n: int) -> str:
    """The note on ``n`` papers on a topic that a year range left out for want of a date."""
    if n == 1:
        return "1 paper on the topic has no date, so it was left out"
    return f"{n} papers on the topic have no date, so they were left out"


def _shown(draft: Draft) -> Iterator[str | Reply]:
    """A draft made at once, as a reply: its text, then itself."""
    yield draft.text
    yield draft


def _refused(reply: Reply) -> bool:
    return isinstance(reply, Answer) and reply.refused


def rewriter(answerer: Answerer) -> ChatModel | None:
    """The model that writes drafts: any model trusted to write (the bundled Qwen models, an
    endpoint); None for the tiny model, whose drafts are the evidence sentences."""
    return answerer.model if answerer.mode == "write" else None


def as_answer(reply: Reply, question: str, writer: ChatModel | None) -> Answer:
    """A reply as an Answer (what the page renders and exports); a draft is credited to
    ``writer`` when the model wrote some of its sentences."""
    if isinstance(reply, Answer):
        return reply
    wrote = writer is not None and reply.written_by.get("model_sentences")
    return Answer(
        question,
        reply.text,
        reply.citations,
        not reply.citations,
        writer.backend if wrote and writer else "evidence",
        {"draft": len(reply.citations), **reply.written_by},
        reply.note,
    )


def respond(
    answerer: Answerer,
    text: str,
    filters: Filters | None = None,
    searched: str | None = None,
    topics: TopicFilter | None = None,
) -> Iterator[str | Reply]:
    """Read ``text`` once and do what it asks: answer, list, summarize, compare, draft related
    work or a review outline. Yields text pieces, then the Answer or Draft.

    ``searched`` is the text to answer from when it differs (a follow-up with its context).
    """
    request = answerer.read(text)
    searcher = answerer.searcher
    topics = topics or TopicFilter.using(searcher, answerer)
    model = rewriter(answerer)
    draft: Draft | None = None
    if request.intent in ("related_work", "review"):
        yield from as_wished(request.intent, text, request.topic, searcher, model, filters, topics)
        return
    if request.intent == "compare":
        draft = compare([searcher.papers[pid] for pid in request.papers], model, searcher.frequency)
    elif request.intent == "summarize":
        draft = summarize(searcher.papers[request.papers[0]], model)
    if draft is not None:
        if request.unresolved:
            # "Compare CLIP and ALIGN" where ALIGN fits several papers: say which, so that the
            # user can name it by its title.
            draft.note = "; ".join(filter(None, [draft.note, *request.unresolved]))
        yield draft.text
        yield draft
        return
    if searched and searched != text:
        request = ResearchRequest(
            searched, **{k: v for k, v in vars(request).items() if k != "text"}
        )
    yield from answerer.stream(searched or text, filters, request)


# --- the research actions ----------------------------------------------------------------------
@action("Answer")
def answer_action(req: ActionRequest) -> Iterator[str | Reply]:
    """What the text asks: a cited answer, a list of papers, or a summary, comparison, related
    work or review outline; a follow-up changes the last draft or is read in its light."""
    yield from req.session.reply(req)


@action("Search")
def search_action(req: ActionRequest) -> Iterator[str | Reply]:
    """The best papers for the text, each with its best passage as evidence."""
    filters = req.filters or Filters()
    hits = req.answerer.searcher.search(req.text, k=8, filters=filters)
    citations, text = [], ""
    for n, h in enumerate(hits, 1):
        citations.append(Citation(n, h.paper, [h.snippet]))
        piece = f"{n}. **{h.paper.title}** ({short_name(h.paper)}, {year_label(h.paper)}) [{n}]\n"
        text += piece
        yield piece
    if not hits:
        text = "No paper matches" + (" these filters." if filters.active else " this search.")
        yield text
    yield Answer(req.text, text, citations, not hits, "search", {"papers": len(hits)})


@action("Summarize")
def summarize_action(req: ActionRequest) -> Iterator[str | Reply]:
    """Problem, method and result of the paper named in the text (title, method name or id)."""
    draft = summarize(resolve_paper(req.text, req.answerer.searcher), req.writer)
    yield draft.text
    yield draft


@action("Compare")
def compare_action(req: ActionRequest) -> Iterator[str | Reply]:
    """A table and paragraph for 2 to 6 papers named in the text: "A, B and C", or "A; B"."""
    searcher = req.answerer.searcher
    draft = compare(
        [resolve_paper(n, searcher) for n in split_names(req.text)], req.writer, searcher.frequency
    )
    yield draft.text
    yield draft


@action("Related work")
def related_work_action(req: ActionRequest) -> Iterator[str | Reply]:
    """Related-work paragraphs on the topic in the text: the outline, then each paragraph
    (from the last outline, when the text is that outline edited)."""
    if (edited := req.session.outline_follow_up(req.text)) is not None:
        yield from edited
        return
    searcher, topics = req.answerer.searcher, req.session.topics
    yield from as_wished(
        "related_work", req.text, req.text, searcher, req.writer, req.filters, topics
    )


@action("Related-work outline")
def outline_action(req: ActionRequest) -> Iterator[str | Reply]:
    """The outline of related work on the topic, to edit, regroup or have written (a follow-up
    on the last outline, when the text is one)."""
    if (edited := req.session.outline_follow_up(req.text)) is not None:
        yield from edited
        return
    searcher, topics = req.answerer.searcher, req.session.topics
    topic, outline, less_sure = related_work_outline(
        req.text, searcher, req.writer, req.filters, topics
    )
    draft = outline_draft(topic, outline, less_sure)
    yield draft.text
    yield draft


@action("Review outline")
def review_action(req: ActionRequest) -> Iterator[str | Reply]:
    """A literature-review outline on the topic in the text."""
    searcher, topics = req.answerer.searcher, req.session.topics
    yield from as_wished("review", req.text, req.text, searcher, req.writer, req.filters, topics)
