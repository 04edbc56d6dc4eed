"""Chunking: sentence splitting, the chunk header, token-budget windows with overlap, chunk ids."""

from __future__ import annotations

import pytest
from conftest import make_paper

import assistant.index
from assistant.chunking import chunk_paper, chunk_papers, header, sentences, windows
from assistant.config import Settings
from assistant.index import Store
from assistant.papers import Paper


def word_count(text: str) -> int:
    return len(text.split())


def paper(pid: str = "p1", **fields) -> Paper:
    teach_detr = dict(
        title="Teach-DETR: Better Training DETR with Teachers",
        abstract="We train DETR with teachers. It converges faster.",
        authors=["Linjiang Huang", "Kaixin Lu"],
        date="Dec 22, 2022",
        year=2022,
        category="CV",
        has_code=True,
    )
    return make_paper(pid, **{**teach_detr, **fields})


# Five sentences of twelve words each: 60 words, more than one 32-word window holds.
SENTENCES = [
    f"Sentence {i} says something about detectors trained with teachers on many images."
    for i in range(5)
]
assert all(word_count(s) == 12 for s in SENTENCES)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("One. Two.", ["One.", "Two."]),
        (
            "Intro. 3 things matter. (a) Bracketed.",
            ["Intro.", "3 things matter.", "(a) Bracketed."],
        ),
        ('Said so. "Quoted" one.', ["Said so.", '"Quoted" one.']),
        ("Done!  Next? Yes", ["Done!", "Next?", "Yes"]),
        # No split before a lower-case word: abbreviations stay inside their sentence.
        ("We use e.g. the COCO set. it goes on.", ["We use e.g. the COCO set. it goes on."]),
        ("Version 2.0 is out.", ["Version 2.0 is out."]),
        ("  \n  ", []),
    ],
)
def test_sentences_split_before_a_capital_digit_quote_or_bracket(text, parts):
    assert sentences(text) == parts


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "Teach-DETR: Better Training DETR with Teachers\nLinjiang Huang, Kaixin Lu (2022)"),
        ({"year": None}, "Teach-DETR: Better Training DETR with Teachers\nLinjiang Huang, Kaixin Lu"),
        ({"authors": []}, "Teach-DETR: Better Training DETR with Teachers\n(2022)"),
        ({"authors": [], "year": None}, "Teach-DETR: Better Training DETR with Teachers"),
        ({"more_authors": True}, "Teach-DETR: Better Training DETR with Teachers\n"
         "Linjiang Huang, Kaixin Lu et al. (2022)"),
    ],
)  # fmt: skip
def test_header_is_title_then_authors_and_year(fields, expected):
    assert header(paper(**fields)) == expected


def test_header_names_at_most_six_authors():
    authors = [f"Author {c}" for c in "ABCDEFG"]
    assert header(paper(authors=authors, year=None)).splitlines()[1] == (
        "Author A, Author B, Author C, Author D, Author E, Author F et al."
    )


@pytest.mark.parametrize(
    ("parts", "budget", "expected"),
    [
        # Greedy within the budget, each window starting on the last sentence of the one before.
        (["a b", "c d", "e f", "g h"], 4, ["a b c d", "c d e f", "e f g h"]),
        (["a", "b", "c"], 100, ["a b c"]),
        # A sentence over budget is a window of its own; the next window does not repeat it.
        (["a b c d e f", "g h", "i j"], 4, ["a b c d e f", "g h i j"]),
        (["a b", "c d e f g h", "i j"], 4, ["a b", "c d e f g h", "i j"]),
        ([], 4, []),
    ],
)
def test_windows_fill_the_budget_with_one_sentence_overlap(parts, budget, expected):
    assert windows(parts, budget, word_count) == expected


def test_every_window_but_a_lone_long_sentence_keeps_to_the_budget():
    out = windows(SENTENCES, 30, word_count)
    assert len(out) == 4  # two sentences a window, overlapping by one
    assert all(word_count(w) <= 30 for w in out)
    for left, right in zip(out, out[1:], strict=False):
        assert sentences(left)[-1] == sentences(right)[0]


def test_chunks_carry_the_header_ids_and_every_sentence():
    p = paper(abstract=" ".join(SENTENCES))
    chunks = chunk_paper(p, budget=40, count=word_count)
    head = header(p)
    assert [c.id for c in chunks] == [f"p1:{n}" for n in range(len(chunks))]
    assert len(chunks) == 4  # 40 - header words leaves under 32: the 32-token floor applies
    for c in chunks:
        assert c.paper_id == "p1"
        assert c.text == f"{head}\n{c.passage}"
        assert word_count(c.passage) <= 32
    covered = {s for c in chunks for s in sentences(c.passage)}
    assert covered == set(SENTENCES)


def test_a_short_abstract_is_one_chunk_and_an_empty_one_still_gets_its_header():
    (short,) = chunk_paper(paper(), budget=256, count=word_count)
    assert short.passage == "We train DETR with teachers. It converges faster."
    (empty,) = chunk_paper(paper(abstract=""), budget=256, count=word_count)
    assert empty.id == "p1:0" and empty.passage == ""
    assert empty.text.startswith("Teach-DETR: Better Training DETR with Teachers\n")


def test_chunk_papers_keeps_the_papers_order():
    papers = [paper("b", abstract=" ".join(SENTENCES)), paper("a")]
    ids = [c.id for c in chunk_papers(papers, budget=40, count=word_count)]
    assert ids == ["b:0", "b:1", "b:2", "b:3", "a:0"]
    assert chunk_papers([], budget=40, count=word_count) == []


def test_the_chunk_format_is_part_of_the_index_key(tmp_path, monkeypatch):
    store = Store(Settings(seeds_dir=tmp_path / "seeds", storage_dir=tmp_path / "storage"))
    before = store.index_key("minilm")
    monkeypatch.setattr(assistant.index, "CHUNK_FORMAT", assistant.index.CHUNK_FORMAT + 1)
    assert store.index_key("minilm") != before
