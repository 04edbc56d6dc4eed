"""Fuzzing the listing parsers: mutated real listings never crash them and lose no entry.

Every example starts from a window of real, consecutive entries of one of the seed files
(``glued`` 000, ``daily`` 001-003, ``profile`` 004, with or without its page header) and applies
random mutations: truncated, deleted, duplicated, swapped, split and glued lines, odd Unicode
(combining marks, RTL, zero-width, emoji, astral characters, NBSP, line separators, control
characters other than NUL), removed abstracts, blank-line changes, other line endings, a BOM,
and lines of 200 kB (a parser token, odd text or the line itself, glued to a word). Byte-level
damage (cuts mid-character, stray bytes, NUL) is fuzzed too. The properties:

1. The public path (``parse_file``, ``load_collection``) raises nothing but ``SeedError``, and
   that only for a whole file that is empty, binary, not UTF-8 or of no known layout.
2. Every parsed entry and every problem names its file and a line of it, numbered as an editor
   and Python's ``open()`` number them (``\\n``, ``\\r\\n`` or ``\\r`` end a line; a U+2028 or
   form feed inside a line does not).
3. An unmutated window parses with no problem and one entry per real entry.
4. Nothing is dropped silently. ``glued``/``profile``: each block that starts at a category/date
   line yields exactly one entry (at that line) or one problem (inside the block), and each
   prose line above the first block is reported; so entries + problems = blocks + such lines.
   ``daily``: after the page header and listing date, every non-blank line is covered exactly
   once, by an entry (its title and abstract lines) or a problem; so 2 x entries + problems =
   those lines.

About 2,700 examples in all, derandomized (the same ones every run, so CI is reproducible),
and no failing examples are saved between runs (``database=None``).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from assistant.corpus import Collection, load_collection, parse_file, read_listing
from assistant.corpus.authors import is_name, parse_authors
from assistant.corpus.layouts import (
    _DAILY_HEADER,  # white-box: the checks restate what the parsers take for a page header
    LAYOUTS,
    LISTING_DATE,
    META,
    Parsed,
    Problem,
    _looks_like_abstract,  # ... and for prose
    parse_glued,
)
from assistant.errors import SeedError
from assistant.papers import Source

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
HUGE = 200_000  # characters in a huge line
MAX_WINDOW = 5  # real entries per example

# Whole-file reasons a SeedError may give (see assistant.corpus.read_listing / parse_file).
ABSTRACT = "We study a problem. Our method works well on many benchmarks and datasets today."
WHOLE_FILE_REASONS = ("the file is empty", "binary file", "not UTF-8", "format not recognised")

# Odd text inserted into lines: combining marks, RTL, zero-width, emoji and astral characters,
# odd spaces and line separators, control characters (all but NUL), case and digit oddities,
# and tokens the parsers look for.
ODD = [
    *("\u0301", "e\u0308\u0323\u0301", "\u20dd"),
    *("\u202e", "\u200f", "\u202b", "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627"),
    *("\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"),
    *("\U0001f600", "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\U0001f1ef\U0001f1f5"),
    *("\U0001d518", "\U00020000", "\U0010fffd"),
    *("\u00a0", "\u2028", "\u2029", "\u3000", "\u1680"),
    *("\x01", "\x07", "\x08", "\t", "\x0b", "\x0c", "\r", "\n", "\x1b", "\x1c", "\x1f"),
    *("\x7f", "\x85", "\x9f"),
    *("\uff21", "\u01c5", "\u0130", "\u00df", "\ufb01", "\u0664\u0662\u0660\u0662"),
    *("\u00b7", " \u00b7 ", ", ", " et al.", "Code", "CV", "Mar 3, 2023", "CVJun 9, 2022Code"),
]
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
ODD_TEXT = st.one_of(st.sampled_from(ODD), st.text(_CHARS, min_size=1, max_size=8))
# What a huge line repeats: parser tokens (name prefixes, white space, separators, capitals),
# odd text, or (None) the line itself.
HUGE_FRAGMENTS = st.one_of(
    st.none(),
    st.sampled_from(
        ["De", "Mc", "O'", " ", "\t", "\u00a0", "A", "Ab ", ", ", " \u00b7 ", "et al. "]
    ),
    ODD_TEXT,
)
LINE_ENDINGS = ["\n", "\r\n", "\r"]
BLANKS = ["", " ", "\t \u00a0", "\u3000"]

_FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    """The fuzz settings with ``examples`` examples."""
    return settings(_FUZZ, max_examples=examples)


# --- real listings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """A real seed file cut into its page header and its entries (each with trailing blanks)."""

    name: str
    layout: str
    header: tuple[str, ...]
    entries: tuple[tuple[str, ...], ...]

    def window(self, start: int, size: int, header: bool = True) -> list[str]:
        """The lines of ``size`` consecutive entries from ``start``, with the header or not."""
        body = [line for entry in self.entries[start : start + size] for line in entry]
        return [*self.header, *body] if header else body


def _cut(path: Path) -> Listing:
    layout, parsed = parse_file(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    starts = [e.source.line - 1 for e in parsed.entries] + [len(lines)]
    entries = tuple(tuple(lines[a:b]) for a, b in zip(starts, starts[1:], strict=False))
    return Listing(path.name, layout, tuple(lines[: starts[0]]), entries)


LISTINGS = [_cut(p) for p in sorted(SEEDS.glob("*.txt"))]
BY_LAYOUT = {layout: [x for x in LISTINGS if x.layout == layout] for layout in LAYOUTS}


LISTING = {x.name: x for x in LISTINGS}
# (file name, first entry, number of entries, whether the page header comes first)
Window = tuple[str, int, int, bool]


def windows(layout: str) -> st.SearchStrategy[Window]:
    """Windows of consecutive real entries in the files of ``layout``."""

    def within(listing: Listing) -> st.SearchStrategy[Window]:
        header = st.booleans() if listing.header else st.just(False)
        return st.integers(1, min(MAX_WINDOW, len(listing.entries))).flatmap(
            lambda size: st.tuples(
                st.just(listing.name),
                st.integers(0, len(listing.entries) - size),
                st.just(size),
                header,
            )
        )

    return st.sampled_from(BY_LAYOUT[layout]).flatmap(within)


def window_lines(window: Window) -> list[str]:
    """The lines of a window: its file's page header (if asked), then its entries."""
    name, start, size, header = window
    return LISTING[name].window(start, size, header)


# --- mutations --------------------------------------------------------------------------------
# Each mutation edits a list of lines in place; positions are taken modulo the current size.


def _index(lines: list[str], k: int) -> int:
    return k % len(lines)


def truncate(lines: list[str], k: int, p: int) -> None:
    i = _index(lines, k)
    lines[i] = lines[i][: p % (len(lines[i]) + 1)]


def delete(lines: list[str], k: int) -> None:
    del lines[_index(lines, k)]


def duplicate(lines: list[str], k: int) -> None:
    i = _index(lines, k)
    lines.insert(i, lines[i])


def swap(lines: list[str], a: int, b: int) -> None:
    i, j = _index(lines, a), _index(lines, b)
    lines[i], lines[j] = lines[j], lines[i]


def insert(lines: list[str], k: int, p: int, text: str) -> None:
    i = _index(lines, k)
    p %= len(lines[i]) + 1
    lines[i] = lines[i][:p] + text + lines[i][p:]


def drop_abstract(lines: list[str], k: int, stub: str | None) -> None:
    """Delete an abstract (a prose line), or replace it by a short stub."""
    prose = [i for i, line in enumerate(lines) if len(line.strip()) >= 80]
    if not prose:
        return
    i = prose[k % len(prose)]
    if stub is None:
        del lines[i]
    else:
        lines[i] = stub


def glue(lines: list[str], k: int, sep: str) -> None:
    i = _index(lines, k)
    if i + 1 < len(lines):
        lines[i : i + 2] = [lines[i] + sep + lines[i + 1]]


def split(lines: list[str], k: int, p: int) -> None:
    i = _index(lines, k)
    p %= len(lines[i]) + 1
    lines[i : i + 1] = [lines[i][:p], lines[i][p:]]


def add_blank(lines: list[str], k: int, blank: str) -> None:
    lines.insert(k % (len(lines) + 1), blank)


def drop_blanks(lines: list[str]) -> None:
    lines[:] = [line for line in lines if line.strip()]


def huge(lines: list[str], k: int, w: int, fragment: str | None) -> None:
    """Glue ``HUGE`` characters to the front of a word: a repeated fragment, or the line repeated.

    At a word start of a non-blank line: there a run of name prefixes becomes part of a name.
    """
    words = [i for i, line in enumerate(lines) if line.strip()] or list(range(len(lines)))
    i = words[k % len(words)]
    line = lines[i]
    unit = fragment or line or "x"
    starts = [0] + [j + 1 for j, c in enumerate(line) if c == " "]
    p = starts[w % len(starts)]
    lines[i] = line[:p] + unit * (HUGE // len(unit) + 1) + line[p:]


Mutation = tuple[Callable[..., None], tuple[object, ...]]
_POS = st.integers(0, 10**6)
_STUBS = st.one_of(st.none(), st.sampled_from(["", "Abstract", "See the paper.", "CV"]))


def _mutation(fn: Callable[..., None], *args: st.SearchStrategy[object]) -> st.SearchStrategy:
    return st.tuples(st.just(fn), st.tuples(*args))


MUTATIONS = st.one_of(
    _mutation(truncate, _POS, _POS),
    _mutation(delete, _POS),
    _mutation(duplicate, _POS),
    _mutation(swap, _POS, _POS),
    _mutation(insert, _POS, _POS, ODD_TEXT),
    _mutation(drop_abstract, _POS, _STUBS),
    _mutation(glue, _POS, st.sampled_from(["", " ", "\t"])),
    _mutation(split, _POS, _POS),
    _mutation(add_blank, _POS, st.sampled_from(BLANKS)),
    _mutation(drop_blanks),
)
HUGE_MUTATION = _mutation(huge, _POS, _POS, HUGE_FRAGMENTS)


def apply(lines: list[str], mutations: list[Mutation]) -> list[str]:
    """The lines after the mutations (one that needs a line is skipped once none is left)."""
    out = list(lines)
    for fn, args in mutations:
        if out or fn is add_blank:
            fn(out, *args)
    return out


@st.composite
def styles(draw: st.DrawFn) -> tuple[str, bool, bool]:
    """How lines are joined into a file: line ending, final newline, byte-order mark."""
    return draw(st.sampled_from(LINE_ENDINGS)), draw(st.booleans()), draw(st.booleans())


def render(lines: list[str], style: tuple[str, bool, bool]) -> bytes:
    """The file's bytes: UTF-8, lines joined in the given style."""
    ending, final, bom = style
    text = ending.join(lines) + (ending if final else "")
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


# --- checks -----------------------------------------------------------------------------------


def file_lines(text: str) -> list[str]:
    """A file's lines as an editor and Python's ``open()`` number them (universal newlines)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _nonblank(lines: list[str]) -> list[tuple[int, str]]:
    return [(no, s.strip()) for no, s in enumerate(lines, 1) if s.strip()]


def check_located(name: str, lines: list[str], parsed: Parsed) -> None:
    """Property 2: every entry and problem names the file and a non-blank line of it."""
    for line_no, file in [(e.source.line, e.source.file) for e in parsed.entries] + [
        (p.line, p.file) for p in parsed.problems
    ]:
        assert file == name
        assert 1 <= line_no <= len(lines), f"line {line_no} of a {len(lines)}-line file"
        assert lines[line_no - 1].strip(), f"line {line_no} is blank"


def check_blocks(lines: list[str], parsed: Parsed) -> None:
    """Property 4 for ``glued``/``profile``: one outcome per block, leading prose reported."""
    nonblank = _nonblank(lines)
    heads = [no for no, s in nonblank if META.match(s)]
    first = heads[0] if heads else len(lines) + 1
    leading_prose = [no for no, s in nonblank if no < first and _looks_like_abstract(s)]
    assert sorted(p.line for p in parsed.problems if p.line < first) == leading_prose
    for e in parsed.entries:
        assert e.source.line in heads, f"entry at {e.source.line} is not at a category/date line"
    ends = [*heads[1:], len(lines) + 1] if heads else []
    outcomes = [e.source.line for e in parsed.entries] + [p.line for p in parsed.problems]
    for start, end in zip(heads, ends, strict=True):
        inside = [no for no in outcomes if start <= no < end]
        assert len(inside) == 1, f"block at line {start}: {len(inside)} outcomes"
        block = [s for no, s in nonblank if start <= no < end]
        entry = next((e for e in parsed.entries if e.source.line == start), None)
        if entry is not None:
            assert entry.abstract == block[-1]
            assert any(s.startswith(entry.title) for s in block[1:])
    assert len(parsed.entries) + len(parsed.problems) == len(heads) + len(leading_prose)


def check_daily(lines: list[str], parsed: Parsed) -> None:
    """Property 4 for ``daily``: after header and date, each line is covered exactly once."""
    nonblank = _nonblank(lines)
    k = 0
    while k < len(nonblank) and nonblank[k][1].startswith(_DAILY_HEADER):
        k += 1
    date = None
    if k < len(nonblank) and LISTING_DATE.match(nonblank[k][1]):
        date, k = nonblank[k][1], k + 1
    rest = nonblank[k:]
    position = {no: i for i, (no, _) in enumerate(rest)}
    covered = [p.line for p in parsed.problems]
    for e in parsed.entries:
        assert e.source.line in position, f"entry at {e.source.line} is in the page header"
        i = position[e.source.line]
        assert rest[i][1] == e.title and rest[i + 1][1] == e.abstract and e.date == date
        covered += [rest[i][0], rest[i + 1][0]]
    assert sorted(covered) == [no for no, _ in rest]
    assert 2 * len(parsed.entries) + len(parsed.problems) == len(rest)


def check_parsed(name: str, text: str, layout: str, parsed: Parsed) -> None:
    """Properties 2 and 4 for what ``layout``'s parser made of ``text``."""
    lines = file_lines(text)
    check_located(name, lines, parsed)
    if layout == "daily":
        check_daily(lines, parsed)
    else:
        check_blocks(lines, parsed)


def check_file(path: Path, layout: str) -> Parsed:
    """Properties 1, 2 and 4 for one file: parse it as its own layout and by the public path.

    Returns what the public path parsed (empty when the whole file was refused).
    """
    try:
        text = read_listing(path)
    except SeedError as e:
        check_whole_file_error(path, e)
        return Parsed()
    check_parsed(path.name, text, layout, LAYOUTS[layout](path.name, text))
    try:
        found, parsed = parse_file(path)
    except SeedError as e:
        check_whole_file_error(path, e)
        return Parsed()
    check_parsed(path.name, text, found, parsed)
    event(f"parsed as {found}, {'with' if parsed.problems else 'without'} problems")
    return parsed


def check_whole_file_error(path: Path, error: SeedError) -> None:
    """Property 1: a refused file gets one line naming it and a whole-file reason."""
    message = str(error)
    assert message.startswith(f"{path}: ") and "\n" not in message
    reason = next((r for r in WHOLE_FILE_REASONS if r in message), None)
    assert reason is not None, message
    event(f"refused: {reason}")


def write(folder: Path, name: str, data: bytes) -> Path:
    """Write a listing file; returns its path."""
    path = folder / name
    path.write_bytes(data)
    return path


# --- the fuzz tests -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@fuzz(600)
@given(data=st.data(), mutations=st.lists(MUTATIONS, min_size=1, max_size=8), style=styles())
def test_mutated_listing_parses_or_reports(layout, data, mutations, style):
    """Properties 1, 2, 4 on windows of real entries after 1-8 mutations."""
    window = data.draw(windows(layout), label="window")
    with tempfile.TemporaryDirectory() as folder:
        body = render(apply(window_lines(window), mutations), style)
        check_file(write(Path(folder), window[0], body), layout)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@fuzz(150)
@given(
    data=st.data(),
    mutations=st.lists(MUTATIONS, max_size=3),
    big=HUGE_MUTATION,
    style=styles(),
)
def test_listing_with_a_huge_line_parses_or_reports(layout, data, mutations, big, style):
    """Properties 1, 2, 4 when one line (200 kB) is huge: a token, odd text or itself, repeated."""
    window = data.draw(windows(layout), label="window")
    with tempfile.TemporaryDirectory() as folder:
        body = render(apply(window_lines(window), [*mutations, big]), style)
        check_file(write(Path(folder), window[0], body), layout)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@fuzz(60)
@given(data=st.data(), style=styles())
def test_unmutated_window_parses_without_problems(layout, data, style):
    """Property 3: real entries, in any line ending, parse as themselves with no problem."""
    name, _, size, _ = window = data.draw(windows(layout), label="window")
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), name, render(window_lines(window), style))
        found, parsed = parse_file(path)
        check_parsed(name, read_listing(path), found, parsed)
    assert found == layout
    assert parsed.problems == []
    assert len(parsed.entries) == size


@fuzz(150)
@given(
    data=st.data(),
    mutations=st.lists(st.lists(MUTATIONS, max_size=6), min_size=3, max_size=3),
    cut=_POS,
    junk=st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b""]),
)
def test_collection_accounts_for_every_file_and_entry(data, mutations, cut, junk):
    """``load_collection`` over one mutated file per layout plus a byte-damaged one.

    No exception escapes; a refused file is one problem at line 0; every other problem and
    every paper source names a file and a line of it; each entry ends up in exactly one paper.
    """
    plain = ("\n", True, False)
    with tempfile.TemporaryDirectory() as folder:
        seeds = Path(folder)
        for n, (layout, edits) in enumerate(zip(LAYOUTS, mutations, strict=True)):
            window = data.draw(windows(layout), label=layout)
            write(seeds, f"{n}_{window[0]}", render(apply(window_lines(window), edits), plain))
        damaged = render(window_lines(data.draw(windows("glued"), label="damaged")), plain)
        cut %= len(damaged) + 1
        write(seeds, "9_damaged.txt", damaged[:cut] + junk + damaged[cut:])
        texts = {}
        for path in seeds.glob("*.txt"):
            with contextlib.suppress(SeedError):
                texts[path.name] = read_listing(path)
        collection = load_collection(seeds)
    check_collection(collection, texts, 4)


def check_collection(collection: Collection, texts: dict[str, str], files: int) -> None:
    """Each of ``files`` files is loaded or refused (one problem at line 0); all is located."""
    refused = [p.file for p in collection.problems if p.line == 0]
    assert len(refused) == len(set(refused)) and set(refused).isdisjoint(collection.layouts)
    for p in collection.problems:
        assert p.line or any(r in p.reason for r in WHOLE_FILE_REASONS), p
    assert len(refused) + len(collection.layouts) == files
    assert set(collection.layouts) <= set(texts)
    for p in collection.problems:
        if p.line:
            assert p.file in collection.layouts
            assert 1 <= p.line <= len(file_lines(texts[p.file]))
    sources = [s for paper in collection.papers for s in paper.sources]
    assert len(sources) == len(set(sources)) == collection.entries
    for s in sources:
        lines = file_lines(texts[s.file])
        assert s.file in collection.layouts and 1 <= s.line <= len(lines)
        assert lines[s.line - 1].strip()


@fuzz(150)
@given(data=st.data(), cut=_POS, junk=st.binary(max_size=4))
def test_damaged_bytes_give_a_whole_file_error_or_parse(data, cut, junk):
    """Property 1 on byte-level damage: cut mid-character, stray bytes, NUL, empty files."""
    layout = data.draw(st.sampled_from(list(LAYOUTS)), label="layout")
    window = data.draw(windows(layout), label="window")
    body = render(window_lines(window), ("\n", True, False))
    cut %= len(body) + 1
    with tempfile.TemporaryDirectory() as folder:
        check_file(write(Path(folder), window[0], body[:cut] + junk), layout)


# --- direct tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda x: x.name)
def test_real_files_pass_the_accounting_checks(listing):
    """The checks hold on the real files: every entry parsed, every line accounted for."""
    path = SEEDS / listing.name
    layout, parsed = parse_file(path)
    check_parsed(listing.name, read_listing(path), layout, parsed)
    assert parsed.problems == [] and len(parsed.entries) == len(listing.entries)


def _parse_timed(tmp_path: Path, lines: list[str]) -> tuple[str, Parsed, float]:
    path = write(tmp_path, "x.txt", "\n".join(lines).encode())
    start = time.perf_counter()
    layout, parsed = parse_file(path)
    elapsed = time.perf_counter() - start
    check_parsed(path.name, read_listing(path), layout, parsed)
    return layout, parsed, elapsed


# A line of about 175 kB: a word of 25,000 name prefixes, 25,000 capitals, a 25,000-space run
# and 25,000 apostrophe prefixes; each was pathological for some part of the parsers.
PATHOLOGICAL = " ".join(["De" * 25_000, "A" * 25_000, " " * 25_000 + "x", "O'" * 25_000])
# (layout, index of the line in an entry, where in that line, what the line holds)
HUGE_CASES = [
    ("glued", 1, 20, "title"),
    ("glued", 1, -8, "authors"),
    ("glued", 2, 100, "abstract"),
    ("daily", 0, 20, "title"),
    ("daily", 2, 100, "abstract"),
    ("profile", 1, 20, "title"),
    ("profile", 3, 10, "authors"),
    ("profile", 5, 100, "abstract"),
]


@pytest.mark.parametrize(("layout", "index", "at", "role"), HUGE_CASES)
def test_entry_with_a_huge_line_is_parsed_or_reported(tmp_path, layout, index, at, role):
    """A >= 100 kB line inside the middle entry of three: the others parse, it is one outcome."""
    listing = BY_LAYOUT[layout][0]
    first, middle = listing.entries[:2]
    lines = listing.window(0, 3)
    k = len(listing.header) + len(first) + index
    lines[k] = lines[k][:at] + PATHOLOGICAL + lines[k][at:]
    assert len(lines[k]) >= 100_000
    found, parsed, elapsed = _parse_timed(tmp_path, lines)
    assert found == layout
    start = len(listing.header) + 1  # line of the first entry
    end = start + len(first) + len(middle)  # line of the last entry
    assert {start, end} <= {e.source.line for e in parsed.entries}
    assert all(start + len(first) <= p.line < end for p in parsed.problems), role
    assert elapsed < 20, f"{elapsed:.1f} s to parse a listing with a huge {role} line"


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_entry_with_its_abstract_missing_is_reported(tmp_path, layout):
    """The abstract of the middle entry of three deleted: two entries and one problem."""
    listing = BY_LAYOUT[layout][0]
    lines = listing.window(0, 3)
    start = len(listing.header) + len(listing.entries[0])
    middle = range(start, start + len(listing.entries[1]))
    abstract = next(i for i in middle if len(lines[i]) >= 80)
    del lines[abstract]
    found, parsed, _ = _parse_timed(tmp_path, lines)
    assert found == layout
    assert len(parsed.entries) == 2 and len(parsed.problems) == 1
    assert parsed.problems[0].file == "x.txt"
    assert start < parsed.problems[0].line <= start + len(listing.entries[1])


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_checks_catch_a_lost_or_misplaced_entry(layout):
    """The checks are not vacuous: a parse that lost an entry, or put one a line off, fails."""
    text = "\n".join(BY_LAYOUT[layout][0].window(0, 3))
    parsed = LAYOUTS[layout]("x.txt", text)
    check_parsed("x.txt", text, layout, parsed)
    first = parsed.entries[0]
    lost = Parsed(parsed.entries[1:], parsed.problems)
    moved = replace(first, source=Source("x.txt", first.source.line + 1))
    for broken in (lost, Parsed([moved, *parsed.entries[1:]], parsed.problems)):
        with pytest.raises(AssertionError):
            check_parsed("x.txt", text, layout, broken)


# --- what the fuzzing found (each failed before the fix in assistant/corpus) -------------------


def test_entry_above_the_first_category_line_is_reported(tmp_path):
    """The first entry's category/date line cut away: its abstract was dropped silently."""
    lines = BY_LAYOUT["glued"][0].window(0, 2)
    lines[0] = ""  # "CLFeb 2Code"
    found, parsed, _ = _parse_timed(tmp_path, lines)
    assert found == "glued"
    assert [e.source.line for e in parsed.entries] == [4]
    assert [(p.file, p.line) for p in parsed.problems] == [("x.txt", 3)]


@pytest.mark.parametrize(
    "char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_line_separator_inside_a_line_keeps_line_numbers(tmp_path, char):
    """str.splitlines() broke lines at these, so every later line number was off."""
    listing = LISTING["001_32e40f1fabcd0ce7.txt"]
    lines = listing.window(0, 2)
    title = len(listing.header)
    lines[title] = lines[title].replace(" ", char, 1)
    found, parsed, _ = _parse_timed(tmp_path, lines)
    assert found == "daily" and parsed.problems == []
    assert [e.source.line for e in parsed.entries] == [title + 1, title + 5]


@pytest.mark.parametrize(
    ("what", "call", "expected"),
    [
        # RecursionError: one level per "De" prefix.
        ("name word of 1,200 prefixes", lambda: is_name("De" * 1_200), False),
        # The et-al regex backtracked through the spaces: 35 s for 3,000.
        (
            "3,000 spaces in an author list",
            lambda: parse_authors("Ada" + " " * 3_000 + "Lovelace et al.").more,  # type: ignore[union-attr]
            True,
        ),
        # Every capital was a candidate split, each parsing the rest of the line: 29 s.
        (
            "glued line of 20,000 capitals",
            lambda: parse_glued("x.txt", f"CVJun 9, 2022\n{'A' * 20_000}\n{ABSTRACT}").problems,
            [Problem("x.txt", 2, "cannot tell the title from the author list")],
        ),
    ],
)
def test_pathological_text_is_handled_quickly(what, call, expected):
    start = time.perf_counter()
    assert call() == expected, what
    assert time.perf_counter() - start < 10, what  # was 29-35 s; < 1 s now on 2 busy cores
