"""Research writing end to end on the real collection: summaries, comparisons, drafts, chat."""

from __future__ import annotations

import http.server
import json
import re

import bibtexparser
import pytest

from assistant.answer import Answerer
from assistant.chat import ChatSession
from assistant.citations import markers
from assistant.errors import QuestionError
from assistant.evaluation import DEV_DATA, ids_for_titles, load_set, run_writing_eval
from assistant.export import bibtex
from assistant.text import prose_sentences
from assistant.writing import (
    Draft,
    TopicFilter,
    compare,
    drop_citation,
    related_work,
    resolve_paper,
    review_outline,
    summarize,
)


@pytest.fixture(scope="module")
def topics(searcher):
    return TopicFilter(searcher)


def numbered_in_order(draft):
    first = []
    for n in markers(draft.text):
        if n not in first:
            first.append(n)
    assert first == list(range(1, len(first) + 1))
    assert set(first) == {c.n for c in draft.citations}


def cited_ids(draft):
    return [(c.n, c.paper.id) for c in draft.citations]


def repeated_citations(draft):
    """Sentences citing only papers that an earlier sentence of their paragraph cites."""

    out = []
    for paragraph in draft.text.split("\n\n"):
        seen: set[int] = set()
        for sentence in prose_sentences(paragraph):
            cited = set(markers(sentence))
            if cited and cited <= seen:
                out.append(sentence)
            seen |= cited
    return out


def test_resolve_paper_by_title_method_name_id_and_did_you_mean(searcher):
    assert resolve_paper("Teach-DETR", searcher).title.startswith("Teach-DETR")
    assert (
        resolve_paper("Co-DETR", searcher).title
        == "DETRs with Collaborative Hybrid Assignments Training"
    )
    assert resolve_paper("internvl3 exploring advanced training", searcher).title.startswith(
        "InternVL3"
    )
    p = resolve_paper("Attention Residuals", searcher)
    assert resolve_paper(p.id, searcher) is p
    with pytest.raises(QuestionError, match="did you mean"):
        resolve_paper("Quantum Gravity Loops For Birds", searcher)


def test_the_collections_own_inversions_and_empty_shared_phrases_are_refused(searcher):
    """On the indexed collection (no model asked): the two inversions blind reads found in
    drafts are refused, their papers' own claims pass; the collection's word counts tell a
    particular shared phrase from one most papers could say."""
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.synthesis import particular

    stan = resolve_paper("Mug-STAN", searcher)
    coop = resolve_paper("Learning to Prompt for Vision-Language Models", searcher)
    papers = {1: stan, 2: coop}
    drafter = Drafter(ChatModel("openai", "none", "http://127.0.0.1:9", "key", 1))
    inverted = [
        "Mug-STAN leverages non-generalizable temporal modeling and partially misaligned "
        "video-text data to adapt image-language models [1].",
        "CoOp adapts CLIP-like vision-language models for downstream image recognition "
        "using hand-crafted prompts [2].",
    ]
    assert [drafter.check(s, papers) for s in inverted] == [None, None]
    kept = "CoOp adapts CLIP-like vision-language models for downstream image recognition [2]."
    assert drafter.check(kept, papers) == kept
    frequency = searcher.frequency
    assert frequency.size == len(searcher.papers)
    assert particular("prune redundant visual tokens", "Efficient inference", frequency)
    assert not particular("learn from data to improve matching", "Matching", frequency)


def test_abbreviations_and_measured_results_come_from_the_real_abstracts(searcher):
    """The blind reads' "EWA" and "DH" never introduced, and papers described without a
    result: their long forms and figures are in the collection's own abstracts."""
    from assistant.acronyms import definitions, introduced
    from assistant.writing import result_sentence

    ewa = resolve_paper("Experts Weights Averaging", searcher)
    assert definitions(ewa.abstract)["EWA"] == "Experts Weights Averaging"
    written = "The proposed EWA technique improves naive MoE on small datasets [4]."
    assert introduced([written], {4: ewa})[0].startswith(
        "The proposed Experts Weights Averaging (EWA) technique"
    )
    drop = resolve_paper("PyramidDrop", searcher)
    assert result_sentence(drop, 7) == (
        "Extensive experiments demonstrate that PyramidDrop can achieve a 40% training time and "
        "55% inference FLOPs acceleration of LLaVA-NeXT with comparable performance [7]."
    )


def test_summary_has_problem_method_result_from_the_abstract(searcher):
    paper = resolve_paper("InternVL3", searcher)
    draft = summarize(paper)
    assert "**Method.**" in draft.text and "[1]" in draft.text
    assert paper.source in draft.text
    for sentence in draft.citations[0].evidence:
        assert sentence in paper.abstract


def test_compare_table_and_paragraph(searcher):
    papers = [resolve_paper(n, searcher) for n in ("Co-DETR", "Teach-DETR")]
    draft = compare(papers)
    assert [row["year"] for row in draft.table] == ["2022", "2022"]
    assert {row["code"] for row in draft.table} == {"yes"}
    assert "[1]" in draft.text and "[2]" in draft.text
    numbered_in_order(draft)
    with pytest.raises(QuestionError):
        compare(papers[:1])


def test_related_work_cites_the_topic_and_nothing_off_topic(searcher, topics):
    report = run_writing_eval(searcher)
    assert report["related_work_recall"] >= 0.75
    assert report["support_rate"] == 1.0
    assert report["bibtex_complete"] == f"{report['topics']}/{report['topics']}"
    draft = related_work("knowledge distillation", searcher, topics=topics)
    numbered_in_order(draft)
    for c in draft.citations:  # every cited paper is about distillation
        assert "distil" in (c.paper.title + c.paper.abstract).lower()
    entries = bibtexparser.loads(bibtex(draft.papers)).entries
    assert len(entries) == len(draft.citations)


def test_nothing_on_an_absent_topic(searcher, topics):
    draft = related_work("soil microbiology of rice paddies", searcher, topics=topics)
    assert draft.citations == [] and "nothing" in draft.text


class FixedLikelihood:
    """A scoring model's stand-in for the selection logic: a likelihood per title (0 unless
    given), or an LLMError as a model that fails."""

    def __init__(self, by_title=None, fails=False):
        self.by_title, self.fails = by_title or {}, fails

    def relevance(self, topic, papers):
        from assistant.errors import LLMError

        if self.fails:
            raise LLMError("the scoring model failed: test")
        return [self.by_title.get(title, 0.0) for title, _ in papers]


def test_the_topic_likelihood_moves_candidates_across_the_score_bar(searcher):
    from assistant.writing import RELATED_DEPTH

    topic = "Knowledge distillation across heterogeneous architectures, e.g. ViT teachers"
    hits = searcher.search(topic, k=RELATED_DEPTH)
    ratio = {h.paper.title: h.score / hits[0].score for h in hits[: TopicFilter.MAX_POOL]}
    below = [t for t, r in ratio.items() if TopicFilter.POOL_SHARE <= r < 0.6]
    above = [t for t, r in ratio.items() if 0.65 <= r < 0.75]
    assert below and above, ratio  # the collection gives candidates on both sides of the bar
    plain = {p.title for p, _ in TopicFilter(searcher).papers(topic)}
    assert below[0] not in plain and above[0] in plain

    likely = FixedLikelihood({below[0]: 4.0, above[0]: -4.0})  # +-0.2 of the best score
    kept = {p.title for p, _ in TopicFilter(searcher, scorer=likely).papers(topic)}
    assert below[0] in kept and above[0] not in kept
    assert kept - {below[0]} == plain - {above[0]}  # the rest as the score decides
    # A model that fails leaves the score rule.
    failing = TopicFilter(searcher, scorer=FixedLikelihood(fails=True)).papers(topic)
    assert {p.title for p, _ in failing} == plain


def test_review_outline_sections_and_a_line_per_paper(searcher, topics):
    draft = review_outline("knowledge distillation", searcher, topics=topics)
    assert draft.text.count("\n## ") >= 1 and "Scope:" in draft.text
    assert draft.text.count("\n- ") == len(draft.citations)
    numbered_in_order(draft)


def test_drop_renumbers(searcher, topics):
    draft = related_work("neural architecture search", searcher, topics=topics)
    assert len(draft.citations) >= 2
    dropped = drop_citation(draft, 1)
    assert len(dropped.citations) == len(draft.citations) - 1
    assert draft.citations[0].paper.id not in {c.paper.id for c in dropped.citations}
    numbered_in_order(dropped)


def test_chat_routes_tasks_and_follow_ups(searcher):
    session = ChatSession(Answerer(searcher, None))
    replies = {}
    for message in (
        "draft a related-work paragraph on knowledge distillation",
        "shorter",
        "drop [2]",
        "merge the first two themes",
        "write it as LaTeX",
        "compare Co-DETR and Teach-DETR",
        "summarize InternVL3",
        "What does Teach-DETR propose?",
        "What dataset does it use?",
    ):
        *_, final = list(session.send(message))
        replies[message] = final
    assert (
        replies["draft a related-work paragraph on knowledge distillation"].kind == "related work"
    )
    assert len(replies["shorter"].text) <= len(
        replies["draft a related-work paragraph on knowledge distillation"].text
    )
    first, short = (
        replies["draft a related-work paragraph on knowledge distillation"],
        replies["shorter"],
    )
    if short.text == first.text:
        # Nothing to cut: each sentence is the first of its paragraph to cite its papers
        # (the note on it: test_shorter_says_when_the_draft_is_already_at_its_shortest).
        assert not repeated_citations(first)
    else:
        assert len(short.text) < len(first.text) and not repeated_citations(short)
    assert cited_ids(short) == cited_ids(first)  # sentences are cut, never a paper
    dropped = replies["drop [2]"]
    assert (
        dropped.note == "dropped [2]"
        and len(dropped.citations) == len(replies["shorter"].citations) - 1
    )
    gone = next(c.paper for c in short.citations if c.n == 2)
    assert gone.title not in {c.paper.title for c in dropped.citations}
    assert max(markers(dropped.text)) == len(dropped.citations)  # no [n] past the last paper
    assert set(markers(dropped.text)) == {c.n for c in dropped.citations}  # every [n] resolves
    numbered_in_order(dropped)
    merged = replies["merge the first two themes"]
    assert merged.text.count("**") == dropped.text.count("**") - 2  # one heading fewer
    assert {c.paper.id for c in merged.citations} == {c.paper.id for c in dropped.citations}
    numbered_in_order(merged)
    latex = replies["write it as LaTeX"].text
    assert "\\cite{" in latex and "[1]" not in latex
    assert replies["compare Co-DETR and Teach-DETR"].kind == "comparison"
    assert replies["summarize InternVL3"].kind == "summary"
    follow_up = replies["What dataset does it use?"]
    assert "Teach-DETR" in follow_up.citations[0].paper.title


def test_a_request_gets_the_years_length_and_format_it_asks_for(searcher):
    session = ChatSession(Answerer(searcher, None))
    request = (
        "Write a short related-work paragraph on knowledge distillation in LaTeX with \\cite "
        "keys, papers from 2023 onwards please"
    )
    *_, draft = session.send(request, "Related work")
    assert draft.kind == "related work" and draft.topic == "knowledge distillation"
    assert draft.citations and all(c.paper.year and c.paper.year >= 2023 for c in draft.citations)
    assert "\\cite{" in draft.text and not markers(draft.text)
    assert "papers from 2023 on, as asked" in draft.note and "in LaTeX, as asked" in draft.note
    assert re.search(r"\d+ papers on the topic have no date, so they were left out", draft.note)
    # One sentence per paper: no paper cited twice in a paragraph.
    for paragraph in draft.text.split("\n\n"):
        keys = re.findall(r"\\cite\{([^}]*)\}", paragraph)
        assert len(keys) == len(set(keys))
    *_, plain = session.send("knowledge distillation", "Related work")
    assert markers(plain.text) and "as asked" not in plain.note


def test_a_review_outline_gets_the_years_and_format_it_asks_for(searcher):
    session = ChatSession(Answerer(searcher, None))
    request = "Outline a literature review on knowledge distillation, 2023 onwards, in LaTeX"
    *_, outline = session.send(request, "Review outline")
    assert outline.kind == "review outline" and outline.topic == "knowledge distillation"
    cited = outline.citations
    assert cited and all(c.paper.year and c.paper.year >= 2023 for c in cited)
    assert "\\section*{" in outline.text and "\\cite{" in outline.text
    assert not markers(outline.text)
    # 245 of the 310 papers have no date: the note says how many on the topic the years left out.
    assert re.fullmatch(
        r"papers from 2023 on, as asked; \d+ papers on the topic have no date, so they were left "
        r"out; in LaTeX, as asked",
        outline.note,
    )
    # Years with no dated paper on the topic: nothing to outline, and the note says why.
    *_, none = session.send(
        "literature review on knowledge distillation from 2030", "Review outline"
    )
    assert not none.citations and "have no date, so they were left out" in none.note
    *_, plain = session.send("knowledge distillation", "Review outline")
    assert any(c.paper.year and c.paper.year < 2023 for c in plain.citations)
    assert plain.text.startswith("# Literature review: ") and not plain.note


def test_chat_adds_the_papers_of_a_year_it_did_not_cite_yet(searcher):
    session = ChatSession(Answerer(searcher, None))
    draft, added, again = (
        list(session.send(message))[-1]
        for message in (
            "draft a related-work paragraph on knowledge distillation",
            "add the 2024 papers",
            "add the 2024 papers",
        )
    )
    before = cited_ids(draft)
    assert cited_ids(added)[: len(before)] == before  # the old citations keep their numbers
    new = added.citations[len(before) :]
    if new:
        assert added.note == "added the 2024 papers"
        assert added.text.startswith(draft.text + "\n\n**Further work.** ")
        old = {pid for _, pid in before}
        for c in new:
            assert c.paper.year == 2024 and c.paper.id not in old, c.paper.title
            assert "distil" in (c.paper.title + c.paper.abstract).lower()
    else:
        assert added.note == "no new papers" and added.text == draft.text
    assert set(markers(added.text)) == {c.n for c in added.citations}  # every [n] resolves
    numbered_in_order(added)
    # The same year again: nothing left to add, nothing changed.
    assert again.note == "no new papers"
    assert again.text == added.text and cited_ids(again) == cited_ids(added)


def _paper(pid):
    from assistant.papers import Paper

    return Paper(pid, pid, f"Paper {pid}", "", [f"Author {pid}"], False, None, 2023, None, None,
                 None, [])  # fmt: skip


def test_shorter_keeps_the_first_sentence_per_cited_paper_in_each_paragraph():
    from assistant.citations import Citation
    from assistant.writing import shorter

    citations = [Citation(n, _paper(f"p{n}")) for n in (1, 2, 3)]
    draft = Draft(
        "related work",
        "topic",
        "**Theme.** A does x [1]. A also does y [1]. B does z [2]. Both do w [1, 2].\n\n"
        "**Other.** C does v [3]. It connects them. A is cited again here [1]. C again [3].",
        citations,
    )
    short = shorter(draft)
    assert short.text == (
        "**Theme.** A does x [1]. B does z [2].\n\n"
        "**Other.** C does v [3]. It connects them. A is cited again here [1]."
    )
    assert short.citations == citations and short.note == "shorter"
    assert shorter(short).text == short.text


def test_shorter_says_when_the_draft_is_already_at_its_shortest():
    from assistant.citations import Citation
    from assistant.writing import shorter

    citations = [Citation(n, _paper(f"p{n}")) for n in (1, 2)]
    draft = Draft("related work", "topic", "**Theme.** A does x [1]. B does z [2].", citations)
    short = shorter(draft)
    assert short.text == draft.text
    assert "already" in short.note or "shortest" in short.note


def test_sessions_do_not_share_history(searcher):
    a, b = ChatSession(Answerer(searcher, None)), ChatSession(Answerer(searcher, None))
    list(a.send("summarize InternVL3"))
    assert b.turns == [] and b.last_draft is None


def test_cli_related_work_json_batch_and_bibtex_file(run_cli, tmp_path):
    bib = tmp_path / "refs.bib"
    code, out, err = run_cli(
        "related-work", "--json", "--bibtex", str(bib),
        input="knowledge distillation\nneural architecture search\n",
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [d["topic"] for d in lines] == ["knowledge distillation", "neural architecture search"]
    for d in lines:
        assert set(d) >= {"topic", "text", "citations", "bibtex"}
        assert set(markers(d["text"])) == {c["n"] for c in d["citations"]}
        assert len(bibtexparser.loads(d["bibtex"]).entries) == len(d["citations"])
    assert len(bibtexparser.loads(bib.read_text()).entries) == len(lines[-1]["citations"])


def test_cli_compare_latex(run_cli):
    code, out, err = run_cli("compare", "Co-DETR", "Teach-DETR", "--format", "latex")
    assert code == 0, err
    assert "\\cite{zong2022detrs}" in out and "\\cite{huang2022teach}" in out


def test_dev_topics_exist_in_the_collection(searcher):
    for row in load_set(DEV_DATA, "topics"):
        assert ids_for_titles(searcher, row["relevant"])


# --- the bundled Qwen models write ---------------------------------------------------------
@pytest.fixture(scope="module")
def qwen_writer(searcher):
    from assistant.config import Settings
    from assistant.llm import LocalModels

    models = LocalModels(Settings())
    answerer = Answerer(searcher, models.model("write"), "write")
    yield answerer
    models.stop()


def _claims_supported(draft):
    """Every sentence with a marker is supported by the papers it cites (plain-text facts),
    each paper by what the sentence says of it."""

    from assistant.answer import paper_facts
    from assistant.citations import paper_names, supports_each
    from assistant.prose import plain_text
    from assistant.text import prose_sentences

    by_n = {c.n: c.paper for c in draft.citations}
    for paragraph in draft.text.split("\n\n"):
        body = re.sub(r"\*\*[^*]+\*\*", "", paragraph)  # headings and labels are no claims
        for sentence in prose_sentences(body.replace("\n", " ")):
            cited = markers(sentence)
            assert set(cited) <= set(by_n), sentence
            if cited:
                facts = {n: plain_text(paper_facts(p)) for n, p in by_n.items()}
                names = {n: " ".join(paper_names(p)) for n, p in by_n.items()}
                assert supports_each(sentence, facts, names), sentence


def test_the_bundled_model_drafts_related_work_outline_first_every_sentence_checked(
    qwen_writer, searcher
):

    from assistant.prose import MAX_WORDS
    from assistant.text import prose_sentences
    from assistant.writing import THEME_HEADING, Draft, related_work_steps

    topic = "knowledge distillation from vision transformer teachers into smaller students"
    pieces = list(
        related_work_steps(
            topic,
            searcher,
            qwen_writer.model,
            topics=TopicFilter(searcher, qwen_writer.judge, qwen_writer.scorer),
        )
    )
    *streamed, draft = pieces
    assert isinstance(draft, Draft) and draft.citations
    assert streamed[0].startswith("Outline for") and len(streamed) >= 2  # outline, paragraphs
    assert draft.written_by["model_sentences"] > 0  # the model wrote, not only the abstracts
    paragraphs = [THEME_HEADING.sub("", p.strip()) for p in streamed[1:]]
    said = sum(len(prose_sentences(p)) for p in paragraphs)  # each sentence counted once
    assert said == draft.written_by["model_sentences"] + draft.written_by["evidence_sentences"]
    numbered_in_order(draft)
    _claims_supported(draft)
    outlined = set(map(int, re.findall(r"\[(\d+)\]", streamed[0])))
    assert len(outlined) == len(draft.citations)  # no paper of the outline lost
    headings = re.findall(r"\*\*([^*]+)\.\*\*", draft.text)
    assert headings and not any(re.fullmatch(r"\w+ and \w+", h, re.I) for h in headings)
    prose = re.sub(r"\*\*[^*]+\*\*", "", draft.text)
    assert "\\" not in prose and "$" not in prose

    assert all(len(s.split()) <= MAX_WORDS for s in prose_sentences(prose.replace("\n", " ")))
    assert not re.search(r"\b(we|our)\b", prose, re.I)


def test_the_bundled_model_summarizes_and_compares_in_checked_words(qwen_writer, searcher):
    summary = summarize(resolve_paper("Co-DETR", searcher), qwen_writer.model)
    assert "**Method.**" in summary.text and "$" not in summary.text
    assert "mathcal" not in summary.text  # the LaTeX of its name rendered or left out
    _claims_supported(summary)
    draft = compare(
        [resolve_paper("Co-DETR", searcher), resolve_paper("Teach-DETR", searcher)],
        qwen_writer.model,
    )
    assert {"task", "method", "data", "key result"} <= set(draft.table[0])
    assert all(len(row["method"].split()) <= 40 for row in draft.table)
    paragraph = draft.text.split("\n\n", 1)[1]
    assert "[1]" in paragraph and "[2]" in paragraph and "$" not in paragraph
    _claims_supported(Draft(draft.kind, draft.topic, paragraph, draft.citations))


def test_the_bundled_model_writes_an_edited_outline_and_a_more_formal_draft(qwen_writer):

    from assistant.chat import ChatSession
    from assistant.outlines import outline_of
    from assistant.text import short_name

    session = ChatSession(qwen_writer)
    topic = "pruning or merging visual tokens to make multimodal LLMs faster"
    *_, outline = session.send(topic, "Related-work outline")
    themes = outline_of(outline)
    assert themes, outline.text
    # The first heading renamed by the user, the rest sent back as shown.
    lines = outline.text.splitlines()
    edited = re.sub(r"^1\. [^:]+:", "1. Dropping visual tokens inside the LLM:", lines[1])
    *_, draft = session.send("\n".join([edited, *lines[2:]]))
    assert draft.kind == "related work" and draft.written_by["model_sentences"] > 0
    assert outline_of(draft)[0][0] == "Dropping visual tokens inside the LLM"
    # Every paper of the outline is cited, or the note says why it was left out.
    cited = {c.paper.id for c in draft.citations}
    lost = [c.paper for c in outline.citations if c.paper.id not in cited]
    assert all(f"{short_name(p)} left out" in draft.note for p in lost)
    numbered_in_order(draft)
    _claims_supported(draft)
    *_, formal = session.send("more formal")
    assert formal.kind == "related work" and formal.written_by["model_sentences"] > 0
    assert [name for name, _ in outline_of(formal)] == [name for name, _ in outline_of(draft)]
    numbered_in_order(formal)
    _claims_supported(formal)
    assert not re.search(r"\b(?:\w+n't|it's|they're)\b", formal.text, re.I)


class _Choosing(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint whose model replies ``reply`` (streamed), keeping what
    it was asked: the choice of papers is tested here, not a model's judgement."""

    reply = "[2, 1]"
    asked: list[str] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.asked.append(body["messages"][-1]["content"])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for delta, finish in (({"content": self.reply}, None), ({}, "stop")):
            chunk = {
                "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }  # fmt: skip
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


def test_an_endpoints_model_chooses_the_topics_papers_from_the_candidates(searcher):
    from assistant.llm import ChatModel
    from tests.conftest import loopback_endpoint

    topic = "knowledge distillation for vision transformers"
    by_score = [p.title for p, _ in TopicFilter(searcher).papers(topic)]
    handler = type("H", (_Choosing,), {"asked": []})
    with loopback_endpoint(handler) as url:
        chooser = ChatModel("openai", "m", url, "key", 10)
        chosen = [p.title for p, _ in TopicFilter(searcher, chooser=chooser).papers(topic)]
        # The model saw the candidates numbered in retrieval order and kept [1] and [2].
        listing = re.findall(r"^\[(\d+)\] (.+?)\. ", handler.asked[0], re.MULTILINE)
        assert len(listing) >= len(by_score) >= 2
        assert chosen == [title for n, title in listing if n in ("1", "2")]
        # A reply naming no candidate leaves the score rule.
        handler.reply = "All of them look relevant."
        assert [
            p.title for p, _ in TopicFilter(searcher, chooser=chooser).papers(topic)
        ] == by_score
    # So does an endpoint that cannot be reached.
    gone = ChatModel("openai", "m", "http://127.0.0.1:9/v1", "key", 2)
    assert [p.title for p, _ in TopicFilter(searcher, chooser=gone).papers(topic)] == by_score


def test_a_heading_that_copies_the_topic_is_asked_again_from_the_titles_alone(searcher):
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from tests.conftest import loopback_endpoint

    topic = "Sparse mixture-of-experts layers for scaling vision models at roughly fixed compute"
    group = [resolve_paper("AIM", searcher), resolve_paper("PyramidDrop", searcher)]
    handler = type("H", (_Choosing,), {"asked": [], "reply": topic})
    with loopback_endpoint(handler) as url:
        drafter = Drafter(ChatModel("openai", "m", url, "key", 10))
        assert drafter.theme_name(topic, group, set()) is None
        assert handler.asked[0].startswith("Topic:") and not handler.asked[1].startswith("Topic:")
        # A long heading of its own is cut before its first qualifier.
        handler.reply = (
            "Visual token pruning in multimodal large language models for fast inference"
        )
        assert drafter.theme_name(topic, group, set()) == "Visual token pruning"


def test_a_shared_phrase_writes_acronyms_as_the_abstracts_do():
    from assistant.drafting import Drafter
    from assistant.llm import ChatModel
    from assistant.synthesis import shared_phrase
    from tests.conftest import loopback_endpoint, make_paper

    first = make_paper(
        "a", title="Neighbor GRPO for Cross-Modal Flow", abstract="We align 3D models."
    )
    second = make_paper(
        "b", title="GRPO for Video Diffusion", abstract="We align models with GRPO."
    )
    handler = type(
        "H", (_Choosing,), {"asked": [], "reply": "Align 3d models using neighbor grpo."}
    )
    with loopback_endpoint(handler) as url:
        drafter = Drafter(ChatModel("openai", "m", url, "key", 10))
        pair = [first, second]
        assert shared_phrase(drafter, "Alignment", pair) == "align 3D models using neighbor GRPO"
        assert "Words both papers use: grpo, align" in handler.asked[0]
        handler.reply = "learn cross-modal flow"  # title case is no acronym: kept lower
        assert shared_phrase(drafter, "Alignment", pair) == "learn cross-modal flow"
        handler.reply = "towards robust alignment"  # no verb: no sentence
        assert shared_phrase(drafter, "Alignment", pair) == ""


class _Replying:
    """A chat model that returns one fixed reply (unit tests of the reply's checks only)."""

    def __init__(self, reply: str):
        self.reply = reply

    def complete(self, messages, max_tokens=None):
        return self.reply


def test_the_parts_a_topic_lists_must_be_in_its_own_words():
    from assistant.subtopics import parts

    topic = "Teacher-student pseudo-labelling for detection: semi-supervised and few-shot settings"
    listed = "- Semi-supervised settings\n2. few-shot settings\nActive learning\nSemi-supervised settings"
    # A part the topic does not name is dropped, a repeat too; the rest are capitalised.
    assert parts(_Replying(listed), topic) == ["Semi-supervised settings", "Few-shot settings"]
    assert parts(_Replying("none"), topic) == []
    assert parts(_Replying("Semi-supervised settings"), topic) == []  # one part is no split
    assert parts(_Replying(f"{topic}\nFew-shot settings"), topic) == []  # the topic again


def test_a_topic_that_lists_its_parts_is_outlined_by_them(qwen_writer, searcher):
    # The bundled 1.5B model reads the parts; the papers go to the part their sentences fit.
    from assistant.writing import related_work_outline

    topic = (
        "Diffusion based video generation and editing: long videos, outpainting and face swapping"
    )
    _, outline, _ = related_work_outline(
        topic,
        searcher,
        qwen_writer.model,
        topics=TopicFilter(searcher, qwen_writer.judge, qwen_writer.scorer),
    )
    names = {name.lower(): [p.title for p in group] for name, group in outline}
    assert {"long videos", "outpainting", "face swapping"} <= set(names), names
    assert any("Outpaint" in t for t in names["outpainting"])
    assert any("Face Swapping" in t for t in names["face swapping"])
    assert any("Long Video" in t for t in names["long videos"])


def test_papers_go_to_the_part_whose_words_they_use_and_the_others_to_one_more_theme(searcher):
    # The parts as a model lists them (a fixed reply: the assignment is what is tested, with
    # the real index); two quantization papers use none of the parts' words.
    from assistant.subtopics import outline

    topic = "Diffusion based video generation and editing: long videos, outpainting, face swapping"
    names = ["Be-Your-Outpainter", "VividFace", "Gen-L-Video", "Q-VLM", "Quantune"]
    papers = [resolve_paper(n, searcher) for n in names]
    split = outline(_Replying("Long videos\nOutpainting\nFace swapping"), searcher, topic, papers)
    assert split is not None
    parts, rest = split
    titles = {name: [p.title.split(":")[0] for p in group] for name, group in parts}
    assert titles == {
        "Long videos": ["Gen-L-Video"],
        "Outpainting": ["Be-Your-Outpainter"],
        "Face swapping": ["VividFace"],
    }
    assert sorted(p.title.split(":")[0] for p in rest) == ["Q-VLM", "Quantune"]
    # When the parts hold under 0.6 of the papers, the topic's words do not describe them.
    more = papers + [resolve_paper(n, searcher) for n in ("PyramidDrop", "TinyCLIP", "FoPru")]
    assert outline(_Replying("Long videos\nOutpainting"), searcher, topic, more) is None


def test_a_versus_topic_drafts_a_contrast_of_two_papers_on_its_two_sides(qwen_writer, searcher):
    # The topic sets two approaches against each other; where a theme holds papers of both
    # sides (here the one theme the model names), the paragraph opens with a contrast that
    # cites one paper of each side, each clause checked against its own paper.
    from assistant import subtopics
    from assistant.text import prose_sentences
    from assistant.writing import related_work_steps

    topic = (
        "Hallucination and factual errors in large vision-language models: training-free "
        "mitigation vs. preference-based alignment"
    )
    filter_ = TopicFilter(searcher, qwen_writer.judge, qwen_writer.scorer)
    *_, draft = related_work_steps(topic, searcher, qwen_writer.model, topics=filter_)
    sides = [side.lower() for side in subtopics.contrasted(topic)]
    prose = re.sub(r"\*\*[^*]+\*\*", "", draft.text).replace("\n", " ")
    contrasts = [
        s
        for s in prose_sentences(prose)
        if ", whereas " in s and all(x in s.lower() for x in sides)
    ]
    assert contrasts, draft.text
    first, second = contrasts[0].split(", whereas ")
    assert all(any(x in clause.lower() for x in sides) for clause in (first, second))
    by_n = {c.n: c.paper for c in draft.citations}
    a, b = markers(first)[0], markers(second)[0]
    assert a != b and by_n[a].id != by_n[b].id
    _claims_supported(draft)


def test_the_papers_the_model_ranks_least_sure_are_marked_in_the_outline(qwen_writer, searcher):
    # With the bundled 0.5B model's likelihood in the fit, the outline marks exactly the kept
    # papers whose fit is under the bar, and names them in its note.
    from assistant.writing import outline_draft, related_work_outline

    topic = "token pruning and token merging to speed up vision transformers"
    filter_ = TopicFilter(searcher, qwen_writer.judge, qwen_writer.scorer)
    kept = filter_.papers(topic)
    doubtful = TopicFilter.less_sure(kept)
    assert doubtful == {p.id for p, fit in kept if fit < TopicFilter.LESS_SURE}
    assert doubtful and {p.id for p, _ in kept} - doubtful  # some marked, the best not
    cleaned, outline, less_sure = related_work_outline(
        topic, searcher, qwen_writer.model, topics=filter_
    )
    assert less_sure == doubtful
    shown = outline_draft(cleaned, outline, less_sure)
    marked = {c.paper.id for c in shown.citations if c.n in shown.less_sure}
    assert marked == doubtful
    assert all(f"[{n}] (less sure)" in shown.text for n in shown.less_sure)
