"""Adding reference files to a collection: check them, copy them in, index what is new.

The command line's ``assistant add`` and the page's upload box both call ``add_files``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.corpus import load_collection, parse_file
from assistant.corpus.layouts import Problem
from assistant.errors import AssistantError, SeedError
from assistant.index import IngestReport, Progress, Store


@dataclass
class FileAdded:
    """One file as read: its name, format and how many entries it held."""

    name: str
    format: str
    entries: int
    copied_as: str


@dataclass
class AddReport:
    """What adding files did to the collection."""

    files: list[FileAdded]
    added: int  # papers the collection did not have
    merged: int  # entries that joined papers already there (or each other)
    rejected: list[Problem] = field(default_factory=list)  # file is the name given
    ingest: IngestReport | None = None

    def summary(self) -> str:
        papers = self.ingest.papers if self.ingest else 0
        return (
            f"added {self.added} papers, {self.merged} entries merged with papers already "
            f"there, {len(self.rejected)} rejected; the collection has {papers} papers"
        )


def _target(folder: Path, path: Path, name: str) -> Path:
    """Where a file goes: its own name, or ``name-2`` when another file has that name."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while target.exists() and target.read_bytes() != path.read_bytes():
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


def add_files(
    settings: Settings,
    paths: Sequence[Path],
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """Copy reference files into the collection's folder and index what is new.

    Every file is read first: one that is missing, not text or of an unknown format stops
    the whole call before anything is copied. Entries that cannot be parsed are rejected
    with file and line; the rest of their file is added.

    Args:
        settings: which collection (its folder is created when new) and index.
        paths: the files to add.
        names: the names to report and copy them as (an upload's original names); default
            the files' own names.
    """
    names = list(names) if names is not None else [p.name for p in paths]
    folder = settings.collection_dir
    parsed = []
    for path, name in zip(paths, names, strict=True):
        if not path.is_file():
            raise AssistantError(f"{name}: no such file")
        try:
            fmt, result = parse_file(path)
        except SeedError as e:  # unknown format, not text: nothing is copied
            raise AssistantError(str(e).replace(str(path), name, 1)) from None
        parsed.append((path, name, fmt, result))
    folder.mkdir(parents=True, exist_ok=True)
    before = len(load_collection(folder).papers)
    files, rejected = [], []
    for path, name, fmt, result in parsed:
        target = _target(folder, path, name)
        if not target.exists():
            shutil.copyfile(path, target)
        files.append(FileAdded(name, fmt, len(result.entries), target.name))
        rejected += [Problem(name, p.line, p.reason) for p in result.problems]
    store = Store(settings)
    report = store.ingest(progress=progress)
    # Counted, not matched by id: a longer abstract arriving changes its paper's id.
    added = report.papers - before
    entries = sum(f.entries for f in files)
    return AddReport(files, added, entries - added, rejected, report)
