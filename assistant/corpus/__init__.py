"""Collection files -> papers: read each file, detect its format, parse, merge duplicates.

A collection folder holds listing pages (three layouts) and reference-manager exports
(BibTeX, RIS, CSL-JSON), told apart by their content, whatever the file is called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import COLLECTION_NAME, DEFAULT_COLLECTION
from assistant.corpus.layouts import LAYOUTS, Parsed, Problem, detect
from assistant.corpus.merge import merge
from assistant.corpus.references import FORMATS, detect_reference
from assistant.errors import SeedError
from assistant.papers import Entry, Paper

__all__ = [
    "FORMATS_READ",
    "Collection",
    "Problem",
    "collection_files",
    "load_collection",
    "parse_file",
    "read_listing",
]
# What a collection file may be, as the error for an unknown one lists them.
FORMATS_READ = (
    "BibTeX (.bib)",
    "RIS (.ris)",
    "CSL-JSON (.json)",
    *(f"{name} listing (.txt)" for name in LAYOUTS),
)


@dataclass
class Collection:
    """The parsed collection: papers, how they came about, and what was skipped."""

    papers: list[Paper]
    entries: int
    problems: list[Problem] = field(default_factory=list)
    layouts: dict[str, str] = field(default_factory=dict)

    @property
    def merged(self) -> int:
        """Entries folded into another entry of the same paper."""
        return self.entries - len(self.papers)


# Bump when parsing or merging changes which papers the same files give: the index notices
# and updates itself on the next start (re-embedding only the papers that changed).
READER_VERSION = 2


def read_listing(path: Path) -> str:
    """Read a listing file as text; SeedError names the file and says what is wrong with it."""
    data = path.read_bytes()
    if not data.strip():
        raise SeedError(f"{path}: the file is empty; add paper entries or remove it")
    if b"\x00" in data:
        raise SeedError(
            f"{path}: binary file, not a paper listing; remove it from the seeds folder"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SeedError(
            f"{path}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None


def parse_file(path: Path) -> tuple[str, Parsed]:
    """Parse one collection file; returns its format (or listing layout) and what was parsed."""
    text = read_listing(path)
    if fmt := detect_reference(text):
        return fmt, FORMATS[fmt](path.name, text)
    layout = detect(text)
    if layout is None:
        raise SeedError(
            f"{path}: format not recognised; the formats read are {', '.join(FORMATS_READ)} "
            "(see the README)"
        )
    return layout, LAYOUTS[layout](path.name, text)


def collection_files(folder: Path) -> list[Path]:
    """The files of a collection folder, by name (hidden files and folders left out)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def collection_names(collections_dir: Path) -> list[str]:
    """The default collection, then one per folder under ``collections_dir``, by name."""
    named = (
        sorted(
            p.name
            for p in collections_dir.iterdir()
            if p.is_dir() and re.fullmatch(COLLECTION_NAME, p.name)
        )
        if collections_dir.is_dir()
        else []
    )
    return [DEFAULT_COLLECTION, *(n for n in named if n != DEFAULT_COLLECTION)]


def load_collection(seeds_dir: Path) -> Collection:
    """Parse every file under ``seeds_dir`` (sorted by name) into papers.

    A file that cannot be read or recognised, and an entry that cannot be parsed, become
    problems with file and line (0 for a whole file); the rest is still loaded.
    """
    if not seeds_dir.is_dir():
        raise SeedError(
            f"seeds folder {seeds_dir} not found; add papers with `assistant add FILE`, or "
            "set ASSISTANT_SEEDS_DIR or --seeds (the default collection's folder)"
        )
    entries: list[Entry] = []
    problems: list[Problem] = []
    layouts: dict[str, str] = {}
    for path in collection_files(seeds_dir):
        try:
            layout, parsed = parse_file(path)
        except SeedError as e:
            problems.append(Problem(path.name, 0, str(e).removeprefix(f"{path}: ")))
            continue
        layouts[path.name] = layout
        entries.extend(parsed.entries)
        problems.extend(parsed.problems)
    return Collection(
        papers=merge(entries), entries=len(entries), problems=problems, layouts=layouts
    )
