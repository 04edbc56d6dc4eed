"""The listing parsers against the real default collection and hand-made broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus import load_collection, parse_file, read_listing
from assistant.corpus.authors import parse_authors, split_glued
from assistant.corpus.layouts import detect
from assistant.corpus.merge import merge, paper_id
from assistant.errors import SeedError
from assistant.papers import Entry, Source

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def collection():
    return load_collection(SEEDS)


def test_default_collection_counts(collection):
    assert collection.entries == 330
    assert len(collection.papers) == 310
    assert collection.merged == 20
    assert collection.problems == []


def test_each_file_gets_its_layout(collection):
    assert collection.layouts == {
        "000_f0db7f4a82767389.txt": "glued",
        "001_32e40f1fabcd0ce7.txt": "daily",
        "002_9d2363d6754c9f34.txt": "daily",
        "003_34764c5ec54a55fb.txt": "daily",
        "004_63d23c1cc21f1398.txt": "profile",
    }


@pytest.mark.parametrize(
    ("line", "title", "authors"),
    [
        (
            "Uni-Perceiver-MoE: Learning Sparse Generalist Models with Conditional MoEs"
            "Jinguo Zhu, Xizhou Zhu, Wenhai Wang et al.",
            "Uni-Perceiver-MoE: Learning Sparse Generalist Models with Conditional MoEs",
            ["Jinguo Zhu", "Xizhou Zhu", "Wenhai Wang"],
        ),
        (
            "InternVL3: Exploring Advanced Training and Test-Time Recipes for Open-Source "
            "Multimodal ModelsJinguo Zhu, Weiyun Wang, Zhe Chen et al.",
            "InternVL3: Exploring Advanced Training and Test-Time Recipes for Open-Source "
            "Multimodal Models",
            ["Jinguo Zhu", "Weiyun Wang", "Zhe Chen"],
        ),
        (
            "SynerGen-VL: Towards Synergistic Image Understanding and Generation with Vision "
            "Experts and Token FoldingHao Li, Changyao Tian, Jie Shao et al.",
            "SynerGen-VL: Towards Synergistic Image Understanding and Generation with Vision "
            "Experts and Token Folding",
            ["Hao Li", "Changyao Tian", "Jie Shao"],
        ),
        (
            "Attention ResidualsKimi Team, Guangyu Chen, Yu Zhang et al.",
            "Attention Residuals",
            ["Kimi Team", "Guangyu Chen", "Yu Zhang"],
        ),
        (
            "Learning With LLaMAMary-Jane McDonald, Jia-Hao Li",
            "Learning With LLaMA",
            ["Mary-Jane McDonald", "Jia-Hao Li"],
        ),
        (
            "Scaling ViTsAnna MacDonald, Pieter VanDyke, Sean O'Brien",
            "Scaling ViTs",
            ["Anna MacDonald", "Pieter VanDyke", "Sean O'Brien"],
        ),
    ],
)
def test_glued_title_and_authors_split_exactly(line, title, authors):
    split = split_glued(line)
    assert split is not None
    assert split[0] == title
    assert split[1].names == authors


def test_organisation_tag_and_et_al():
    parsed = parse_authors("Yuying Ge, Sijie Zhao, Jinguo Zhu et al. · tencent-ai")
    assert parsed is not None
    assert parsed.names == ["Yuying Ge", "Sijie Zhao", "Jinguo Zhu"]
    assert parsed.more and parsed.org == "tencent-ai"


def test_fields_of_a_glued_entry(collection):
    p = next(p for p in collection.papers if p.title.startswith("SEED-X"))
    assert (p.category, p.date, p.year, p.has_code, p.org) == (
        "CV",
        "Apr 22, 2024",
        2024,
        True,
        "tencent-ai",
    )
    assert p.sources == [Source("000_f0db7f4a82767389.txt", 22)]


def test_date_without_year_stays_unknown(collection):
    p = next(p for p in collection.papers if p.title == "Attention Residuals")
    assert p.date == "Mar 16"
    assert p.year is None


def test_profile_entry(collection):
    p = next(
        p
        for p in collection.papers
        if p.title == "DETRs with Collaborative Hybrid Assignments Training"
    )
    assert p.authors == ["Zhuofan Zong", "Guanglu Song", "Yu Liu"]
    assert not p.more_authors
    assert p.year == 2022 and p.category == "CV" and p.has_code


def test_merged_paper_keeps_every_source_and_richest_metadata(collection):
    multi = [p for p in collection.papers if len(p.sources) > 1]
    assert len(multi) == 19
    # A paper listed on a daily page (no authors, no year) and on the profile page.
    rich = [p for p in multi if {s.file[:3] for s in p.sources} >= {"004"}]
    assert rich and all(p.authors and p.year for p in rich)


def test_two_versions_of_an_abstract_are_one_paper_keeping_both(collection):
    # UniNet is listed twice by Jihao Liu et al. (2021 and 2022) with two abstracts.
    uninet = [p for p in collection.papers if p.title.startswith("UniNet: Unified Architecture")]
    assert len(uninet) == 1
    paper = uninet[0]
    assert len(paper.sources) == 2 and len(paper.other_abstracts) == 1
    assert len(paper.abstract) > len(paper.other_abstracts[0])  # the longest is indexed
    assert paper.abstract.startswith("Recently, transformer and multi-layer perceptron")
    # Listed once with authors and once on a daily page without them: still one paper.
    uniformer = [p for p in collection.papers if p.title.startswith("UniFormer: Unifying Conv")]
    assert len(uniformer) == 1 and uniformer[0].authors[0] == "Kunchang Li"


def test_same_title_by_another_first_author_stays_another_paper():
    def entry(author: str, abstract: str, line: int) -> Entry:
        return Entry(
            title="Deep Learning for Tables",
            abstract=abstract,
            authors=[author],
            source=Source("f", line),
        )

    papers = merge(
        [
            entry("Ann Smith", "We parse tables.", 1),
            entry("Bo Chen", "We generate tables.", 5),
            entry("A. Smith", "We parse tables, again.", 9),
        ]
    )
    assert len(papers) == 2
    assert sorted(len(p.sources) for p in papers) == [1, 2]


def test_ids_and_bibkeys_are_stable_and_unique(collection):
    again = load_collection(SEEDS)
    assert [p.id for p in again.papers] == [p.id for p in collection.papers]
    assert [p.bibkey for p in again.papers] == [p.bibkey for p in collection.papers]
    assert len({p.bibkey for p in collection.papers}) == len(collection.papers)
    p = next(p for p in collection.papers if p.title.startswith("InternVL3"))
    assert p.bibkey == "zhu2025internvl3"


def test_bibkey_fallbacks():
    papers = merge([Entry(title="The Untitled Thing", abstract="A. B.", source=Source("f", 1))])
    assert papers[0].bibkey == "anonnduntitled"


def test_merge_needs_same_title_and_abstract_or_first_author():
    a = Entry(title="T", abstract="Same words here.", source=Source("a", 1), year=2020)
    b = Entry(title="T", abstract="Same  words here.", source=Source("b", 5), authors=["X Y"])
    c = Entry(title="T", abstract="Other words.", source=Source("c", 9), authors=["Q Z"])
    papers = merge([a, b, c])
    assert len(papers) == 2
    assert papers[0].sources == [Source("a", 1), Source("b", 5)]
    assert papers[0].year == 2020 and papers[0].authors == ["X Y"]
    assert papers[0].id == paper_id("T", "Same words here.")


ABSTRACT = "We study a problem. Our method works well on many benchmarks and datasets today."


def test_malformed_entries_are_reported_with_file_and_line(tmp_path):
    text = (
        "CVJun 9, 2022\n"
        f"Good PaperAda Lovelace, Alan Turing\n{ABSTRACT}\n"
        "CVJun 9, 2022Code\n"
        "no author list here at all\n"
        f"{ABSTRACT}\n"
        "CLMar 1, 2021\n"
        "Another Good OneGrace Hopper\n"
        f"{ABSTRACT}\n"
        "CVJan 2, 2020\n"
        "Missing AbstractAda Lovelace\n"
    )
    (tmp_path / "a.txt").write_text(text)
    layout, parsed = parse_file(tmp_path / "a.txt")
    assert layout == "glued"
    assert [e.title for e in parsed.entries] == ["Good Paper", "Another Good One"]
    assert [(p.file, p.line) for p in parsed.problems] == [("a.txt", 5), ("a.txt", 10)]


def test_daily_title_without_abstract_is_reported(tmp_path):
    text = f"Mar 12\n\nFirst Title\n\n{ABSTRACT}\n\nLonely Title\n\nThird Title\n\n{ABSTRACT}\n"
    (tmp_path / "d.txt").write_text(text)
    layout, parsed = parse_file(tmp_path / "d.txt")
    assert layout == "daily"
    assert [e.title for e in parsed.entries] == ["First Title", "Third Title"]
    assert [(p.line, p.reason) for p in parsed.problems] == [(7, "title has no abstract after it")]
    assert parsed.entries[0].date == "Mar 12" and parsed.entries[0].year is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
        ("caf\u00e9 listing".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unreadable_files_give_one_line_naming_them(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SeedError) as err:
        read_listing(path)
    assert message in str(err.value) and "bad.txt" in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_file_is_skipped_and_the_rest_loaded(tmp_path):
    for f in SEEDS.glob("*.txt"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "zz_bad.txt").write_bytes(b"\xff\xfe broken")
    (tmp_path / "zz_prose.txt").write_text("just some words\nthat are not a listing\n")
    c = load_collection(tmp_path)
    assert len(c.papers) == 310
    assert {(p.file, p.line) for p in c.problems} == {("zz_bad.txt", 0), ("zz_prose.txt", 0)}
    assert any("format not recognised" in p.reason and "BibTeX" in p.reason for p in c.problems)


def test_detect_unknown_layout():
    assert detect("hello\nworld\n") is None
