"""The conversation core's own logic: turns, the action registry, context for "it"/"they".

The answering and writing these actions lead to are tested with the real index and models in
test_answer.py, test_writing.py, test_cli.py and test_ui.py; here the actions are small ones of
the test's own, so that what the session does with them is all that is measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assistant.answer import Answer
from assistant.chat import ACTIONS, ActionRequest, ChatSession, action, as_answer
from assistant.citations import Citation
from assistant.errors import AssistantError, QuestionError
from assistant.papers import Paper
from assistant.writing import Draft


def paper(title: str, pid: str = "") -> Paper:
    return Paper(
        pid or title.lower(), "key", title, "An abstract.", ["Ann Lee"], False,
        "2024-01-01", 2024, "cs.CV", None, None, [],
    )  # fmt: skip


def cited(question: str, *titles: str, refused: bool = False) -> Answer:
    citations = [Citation(n, paper(t)) for n, t in enumerate(titles, 1)]
    return Answer(question, "Text [1].", citations, refused, "evidence")


def session_with(replies: dict[str, Any]) -> tuple[ChatSession, list[ActionRequest]]:
    """A session whose one action answers each message from ``replies`` and records requests."""
    seen: list[ActionRequest] = []
    registry: dict[str, Any] = {}

    @action("Reply", registry)
    def reply(req: ActionRequest) -> Iterator[Any]:
        seen.append(req)
        final = replies[req.text]
        if isinstance(final, Exception):
            yield "half a sentence"
            raise final
        yield from final.text.split(" ")[:1]
        yield final

    return ChatSession(answerer=None, actions=registry), seen  # type: ignore[arg-type]


def send(session: ChatSession, message: str) -> Any:
    *_, final = session.send(message, "Reply")
    return final


def test_a_turn_is_recorded_from_the_start_and_gets_its_reply() -> None:
    first = cited("What is Co-DETR?", "Co-DETR: collaborative hybrid assignments")
    session, _ = session_with({"What is Co-DETR?": first})
    pieces = session.send("  What is   Co-DETR? ", "Reply")
    assert [t.message for t in session.turns] == ["What is Co-DETR?"]  # before any piece
    assert session.turns[0].reply is None
    assert next(pieces) == "Text"
    assert session.turns[0].text == "Text" and session.turns[0].reply is None
    assert list(pieces) == [first]
    assert session.turns[0].reply is first and session.turns[0].text == first.text
    assert session.replies == [first]


def test_messages_are_checked_before_anything_runs() -> None:
    session, seen = session_with({})
    with pytest.raises(QuestionError, match="the question is empty"):
        session.send(" \t ", "Reply")
    with pytest.raises(QuestionError, match="characters long"):
        session.send("x" * 100_000, "Reply")
    with pytest.raises(AssistantError, match=r"unknown action 'Dance'; choose one of \['Reply'\]"):
        session.send("hello", "Dance")
    assert session.turns == [] and seen == []


def test_it_refers_to_the_last_cited_paper_and_they_to_two() -> None:
    replies = {
        "What is Co-DETR?": cited("", "Co-DETR: hybrid assignments", "Teach-DETR: teachers"),
        "What data does it use?": cited("", "x"),
        "How do they differ?": cited("", "x"),
        "Is there anything on soil?": cited("", refused=True),
        "What about the authors?": cited("", "x"),
        "Tell me about InternVL3": cited("", "x"),
    }
    session, seen = session_with(replies)
    send(session, "What is Co-DETR?")
    send(session, "What data does it use?")
    assert seen[-1].searched == "What data does it use? (Co-DETR)"
    send(session, "How do they differ?")
    assert seen[-1].searched == "How do they differ? (x)"  # the last reply's papers: one here
    send(session, "Is there anything on soil?")  # refused: no papers to refer to
    send(session, "What about the authors?")
    assert seen[-1].searched == "What about the authors? (x)"  # skips the refusal
    send(session, "Tell me about InternVL3")  # nothing refers back
    assert seen[-1].searched == "Tell me about InternVL3"


def test_they_names_the_first_two_papers() -> None:
    replies = {
        "Compare them": cited("", "A: one", "B: two", "C: three"),
        "Which of them has code?": cited("", "x"),
    }
    session, seen = session_with(replies)
    send(session, "Compare them")
    send(session, "Which of them has code?")
    assert seen[-1].searched == "Which of them has code? (A; B)"


def test_a_failed_action_keeps_its_turn_without_a_reply() -> None:
    ok = cited("", "Co-DETR: hybrid assignments")
    session, seen = session_with({"first": ok, "boom": RuntimeError("bug"), "and it?": ok})
    send(session, "first")
    with pytest.raises(RuntimeError):
        send(session, "boom")
    assert session.turns[-1].reply is None and session.turns[-1].text == "half a sentence"
    assert session.replies == [ok]
    send(session, "and it?")
    assert seen[-1].searched == "and it? (Co-DETR)"


def test_the_last_draft_is_the_newest_draft_reply() -> None:
    draft = Draft("summary", "Co-DETR", "Co-DETR does X [1].", [Citation(1, paper("Co-DETR"))])
    session, _ = session_with({"summarize Co-DETR": draft, "What is it?": cited("", "x")})
    assert session.last_draft is None
    send(session, "summarize Co-DETR")
    send(session, "What is it?")
    assert session.last_draft is draft


def test_sessions_share_nothing() -> None:
    a, _ = session_with({"hi": cited("", "x")})
    b, _ = session_with({"hi": cited("", "x")})
    send(a, "hi")
    assert b.turns == [] and b.replies == []


def test_action_registers_in_the_given_registry_only() -> None:
    registry: dict[str, Any] = {}

    @action("Echo", registry)
    def echo(req: ActionRequest) -> Iterator[Any]:
        yield req.text

    assert registry == {"Echo": echo} and "Echo" not in ACTIONS
    assert list(ACTIONS) == [
        "Answer", "Search", "Summarize", "Compare", "Related work", "Related-work outline",
        "Review outline",
    ]  # fmt: skip


def test_a_draft_shown_as_an_answer_credits_its_writer() -> None:
    class Endpoint:
        backend = "openai"

    citations = [Citation(1, paper("Co-DETR"))]
    written = Draft("summary", "t", "Text [1].", citations, written_by={"model_sentences": 2})
    evidence = Draft("summary", "t", "Text [1].", citations, written_by={"evidence_sentences": 2})
    empty = Draft("related work", "t", "Nothing.", [], note="nothing on this")
    writer: Any = Endpoint()
    assert as_answer(written, "q", writer).backend == "openai"
    assert as_answer(written, "q", None).backend == "evidence"
    assert as_answer(evidence, "q", writer).backend == "evidence"
    shown = as_answer(empty, "q", writer)
    assert shown.refused and shown.note == "nothing on this" and shown.question == "q"
    assert shown.written_by == {"draft": 0}
    answer = cited("q", "x")
    assert as_answer(answer, "other", writer) is answer
