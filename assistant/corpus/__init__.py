"""Seed listings -> papers: read each file, detect its layout, parse, merge duplicates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.corpus.layouts import LAYOUTS, Parsed, Problem, detect
from assistant.corpus.merge import merge
from assistant.errors import SeedError
from assistant.papers import Entry, Paper

__all__ = ["Collection", "Problem", "load_collection", "parse_file", "read_listing"]


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
    """Parse one listing file; returns its layout name and what was parsed."""
    text = read_listing(path)
    layout = detect(text)
    if layout is None:
        raise SeedError(
            f"{path}: layout not recognised (expected one of: {', '.join(LAYOUTS)}); "
            "see the README for the listing formats"
        )
    return layout, LAYOUTS[layout](path.name, text)


def load_collection(seeds_dir: Path) -> Collection:
    """Parse every ``*.txt`` listing under ``seeds_dir`` (sorted by name) into papers.

    A file that cannot be read or recognised, and an entry that cannot be parsed, become
    problems with file and line (0 for a whole file); the rest is still loaded.
    """
    if not seeds_dir.is_dir():
        raise SeedError(f"seeds folder {seeds_dir} not found; set ASSISTANT_SEEDS_DIR or --seeds")
    entries: list[Entry] = []
    problems: list[Problem] = []
    layouts: dict[str, str] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
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
