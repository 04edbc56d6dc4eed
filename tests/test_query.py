"""Query understanding: words, the lexicon's field terms, quoted titles, remembered authors and
years, and the glossary matched by meaning."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_paper

from assistant.embedding import MiniLM
from assistant.papers import Paper
from assistant.query import (
    GLOSSARY_MOST,
    AuthorIndex,
    Glossary,
    Hints,
    Rule,
    TitleIndex,
    author_score,
    expand,
    load_lexicon,
    words,
    year_score,
)


def paper(pid: str, authors: list[str], year: int | None) -> Paper:
    return make_paper(pid, authors=authors, year=year)


PAPERS = [
    paper("song22", ["Guanglu Song", "Jinguo Zhu"], 2022),
    paper("kimi", ["Kimi Team"], 2025),
    paper("li24", ["Hao Li", "Changyao Tian"], 2024),
    paper("song21", ["Yu Liu", "Guanglu Song"], 2021),
    paper("undated", ["Jinguo Zhu"], None),
]


@pytest.fixture(scope="module")
def authors() -> AuthorIndex:
    return AuthorIndex(PAPERS)


def test_words_are_lower_case_with_hyphenated_words_whole():
    assert words("Teach-DETR's 'plain' words -- and MORE, v2.0") == [
        "teach-detr's",
        "plain",
        "words",
        "and",
        "more",
        "v2",
        "0",
    ]
    assert words("  ") == []


def test_the_lexicon_file_is_read_rule_by_rule(tmp_path):
    path = tmp_path / "lexicon.txt"
    path.write_text(
        "# a comment => not a rule\n"
        "\n"
        "Half Cover* | teacher and student||  => occlusion  distillation \n"
        "a line without an arrow\n"
        "pixel => segmentation => mask\n",
        encoding="utf-8",
    )
    assert load_lexicon(path) == (
        Rule(triggers=(("half", "cover*"), ("teacher", "and", "student")), terms="occlusion  distillation"),
        Rule(triggers=(("pixel",),), terms="segmentation => mask"),
    )  # fmt: skip


def test_expansion_gives_each_rules_terms_once_in_rule_order():
    rules = (
        Rule(triggers=(("pixel",),), terms="segmentation"),
        Rule(triggers=(("face*",),), terms="face recognition"),
        Rule(triggers=(("mask*",),), terms="segmentation"),  # same terms as the first rule
    )
    assert expand("faces and masks on every pixel, pixel by pixel", rules) == (
        "segmentation face recognition"
    )
    assert expand("", rules) == ""
    assert expand("nothing that triggers", rules) == ""


def test_a_capitalised_acronym_is_not_an_everyday_word():
    rules = (Rule(triggers=(("clip",),), terms="video"), Rule(triggers=(("nas",),), terms="x"))
    assert expand("a clip of a cat", rules) == "video"
    assert expand("CLIP and NAS", rules) == ""
    assert expand("Clip of a cat", rules) == "video"  # a capital letter is not an acronym


def test_the_bundled_lexicon_turns_everyday_words_into_field_terms():
    terms = expand("pictures of faces").split()
    assert {"image", "face", "recognition"} <= set(terms)


def test_quoted_titles_are_normalised_and_titles_under_eight_characters_ignored():
    titles = TitleIndex(
        [
            ("a", "DeiT III"),  # exactly 8 characters: long enough
            ("b", "Fusion"),
            ("c", "Ｗｉｄｅ Residual Networks"),  # full-width letters fold to ASCII
            ("d", "wide residual  networks"),
        ]
    )
    assert titles.quoted_in("how do WIDE residual\nnetworks train? and deit iii") == {
        "a": "deit iii",
        "c": "wide residual networks",
        "d": "wide residual networks",
    }
    assert titles.quoted_in("fusion of wide residual") == {}
    assert TitleIndex([]).quoted_in("anything at all") == {}


@pytest.mark.parametrize(
    ("query", "years", "names"),
    [
        ("What did Guanglu Song publish in 2022?", {2022}, {"guanglu song", "song"}),
        ("Guanglu Song's profile", set(), {"guanglu song", "song"}),  # possessive
        ("the Kimi paper on residual connections", set(), {"kimi"}),  # a team by its name
        ("Kimi Team and Hao Li", set(), {"kimi", "kimi team", "hao li", "li"}),
        ("papers by Zhu and Tian", set(), {"zhu", "tian"}),
        ("what did guanglu song publish", set(), set()),  # names are capitalised
        ("Team work in 1979, 1985, 2049 and 2050", {1985, 2049}, set()),
    ],
)
def test_hints_are_the_years_and_known_names_a_query_mentions(authors, query, years, names):
    hints = authors.hints(query)
    assert hints.years == years and hints.authors == names
    assert hints.any == bool(years or names)


def test_author_index_finds_papers_by_full_name_surname_or_team():
    authors = AuthorIndex(PAPERS)
    assert authors.papers_of("song") == {"song22", "song21"}
    assert authors.papers_of("guanglu song") == {"song22", "song21"}
    assert authors.papers_of("kimi") == authors.papers_of("kimi team") == {"kimi"}
    assert authors.papers_of("team") == set()
    assert authors.papers_of("nobody") == set()
    assert authors.papers_of_any(["hao li", "kimi"]) == {"li24", "kimi"}
    assert authors.papers_of_any([]) == set()


def test_author_score_is_the_share_of_remembered_names_on_the_paper(authors):
    hints = Hints(authors={"guanglu song", "jinguo zhu"})
    by_id = {p.id: p for p in PAPERS}
    assert author_score(by_id["song22"], hints, authors) == 1.0
    assert author_score(by_id["song21"], hints, authors) == 0.5
    assert author_score(by_id["li24"], hints, authors) == 0.0
    assert author_score(by_id["song22"], Hints(years={2022}), authors) == 0.0


@pytest.mark.parametrize(
    ("year", "remembered", "score"),
    [(2022, {2022}, 1.0), (2021, {2022}, 0.5), (2023, {2022}, 0.5), (2024, {2022}, 0.0),
     (2024, {2020, 2025}, 0.5), (None, {2022}, 0.0), (2022, set(), 0.0)],
)  # fmt: skip
def test_year_score_is_one_for_the_year_and_half_one_year_off(year, remembered, score):
    assert year_score(paper("x", [], year), Hints(years=remembered)) == score


GLOSSARY_TEXT = """# terms :: plain description
knowledge distillation :: training a compact network to reproduce the behaviour of a larger trained network
knowledge distillation :: training a compact network to reproduce the behaviour of a larger trained network
occlusion occluded :: objects partly hidden behind other objects in a photo
weather forecasting :: forecasting the weather from satellite images
a line without the separator
"""


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: MiniLM):
        self.inner, self.embedded = inner, 0

    def embed(self, texts):
        self.embedded += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def minilm(models_dir) -> MiniLM:
    return MiniLM(models_dir, threads=1)


@pytest.fixture
def glossary_file(tmp_path):
    path = tmp_path / "glossary.txt"
    path.write_text(GLOSSARY_TEXT, encoding="utf-8")
    return path


def test_the_glossary_gives_the_terms_of_the_concept_a_query_describes(
    minilm, glossary_file, tmp_path
):
    glossary = Glossary(minilm, tmp_path / "cache", glossary_file)
    assert glossary.terms == [
        "knowledge distillation",
        "knowledge distillation",
        "occlusion occluded",
        "weather forecasting",
    ]
    # Two entries match: their terms come once.
    assert glossary.terms_for("a small network trained to copy a big network") == (
        "knowledge distillation"
    )
    assert glossary.terms_for("cars partly hidden behind trucks") == "occlusion occluded"
    assert glossary.terms_for("the best recipe for sourdough bread") == ""


def test_the_glossary_gives_at_most_two_concepts(minilm, tmp_path):
    path = tmp_path / "three.txt"
    same = "objects partly hidden behind other objects in a photo"
    path.write_text(f"alpha :: {same}\nbeta :: {same}\ngamma :: {same}\n", encoding="utf-8")
    terms = Glossary(minilm, tmp_path, path).terms_for(same).split()
    assert GLOSSARY_MOST == 2 and len(terms) == 2 and set(terms) <= {"alpha", "beta", "gamma"}


def test_glossary_vectors_are_cached_and_a_damaged_cache_is_rebuilt(
    minilm, glossary_file, tmp_path
):
    cache = tmp_path / "cache"
    first = CountingEmbedder(minilm)
    Glossary(first, cache, glossary_file)
    assert first.embedded == 4
    (saved,) = cache.glob("glossary-*.npy")

    second = CountingEmbedder(minilm)
    glossary = Glossary(second, cache, glossary_file)
    assert second.embedded == 0  # read from the cache
    assert glossary.terms_for("cars partly hidden behind trucks") == "occlusion occluded"

    saved.write_bytes(b"not an array")
    third = CountingEmbedder(minilm)
    Glossary(third, cache, glossary_file)
    assert third.embedded == 4
    assert np.load(saved).shape == (4, minilm.dimensions)

    # Other descriptions are another cache file, not the stale vectors.
    glossary_file.write_text(GLOSSARY_TEXT.replace("in a photo", "in a picture"), "utf-8")
    fourth = CountingEmbedder(minilm)
    Glossary(fourth, cache, glossary_file)
    assert fourth.embedded == 4 and len(list(cache.glob("glossary-*.npy"))) == 2
