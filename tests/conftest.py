"""Shared fixtures: the default index built once per session, small throwaway stores, the CLI.

Everything is real: the bundled MiniLM model, embedded Chroma, subprocesses for the CLI.
The ONNX model converted for the session store is shared with every other store through a
``models`` symlink, so no test pays for the conversion twice.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.index import IngestReport, Store
from assistant.papers import Paper
from assistant.processes import free_port, stop_process

REPO = Path(__file__).resolve().parent.parent


def make_paper(pid: str = "p1", **fields: Any) -> Paper:
    """A paper built in a test: an id and the fields the test cares about, plain defaults."""
    values: dict[str, Any] = {
        "id": pid, "bibkey": pid, "title": f"Paper {pid}", "abstract": "", "authors": [],
        "more_authors": False, "date": None, "year": None, "category": None, "has_code": None,
        "org": None, "sources": [],
    }  # fmt: skip
    values.update(fields)
    return Paper(**values)


SEEDS = REPO / "seeds"
# The smallest real listing: 24 entries, 24 papers, glued layout.
SMALL_SEED = next(SEEDS.glob("000_*.txt"))
# Small stores hold its first 10 entries (3 lines each, verbatim, under the same file name):
# Kimi K2.5, Uni-Perceiver-MoE, VLATTACK, ..., InternVL3, SEED-X, Attention Residuals, MPO.
# Embedding them takes about a second on two cores, so a test can afford several builds.
SMALL_SEED_PAPERS = 10
SMALL_SEED_TEXT = "".join(
    SMALL_SEED.read_text(encoding="utf-8").splitlines(True)[: 3 * SMALL_SEED_PAPERS]
)

# Environment variables that would leak into Settings or steer the libraries' networking.
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY")


def glued_entry(title: str, authors: str, abstract: str, meta: str = "CVMar 3, 2023Code") -> str:
    """One entry of the ``glued`` layout (``000_*.txt``): meta line, title+authors, abstract."""
    return f"{meta}\n{title}{authors}\n{abstract}\n"


# Hand-written papers about topics absent from the real collection, so they are easy to find.
NEW_PAPERS = [
    (
        "Beekeeping Robots: Autonomous Hive Inspection with Tactile Sensing",
        "Marta Quillfeather, Oskar Hivewright et al.",
        "We present a robot that inspects beehives without disturbing the colony. A soft "
        "tactile gripper lifts frames while a small camera counts capped brood cells. Across "
        "forty hives the robot matched the counts of expert beekeepers and reduced inspection "
        "stress on the bees, measured by hive temperature and acoustic activity.",
    ),
    (
        "Sourdough Fermentation Forecasting with Gas Sensor Arrays",
        "Ilse Crumbwell, Tobias Leavenfield",
        "Predicting when a sourdough starter peaks is guesswork for most bakers. We attach a "
        "cheap array of gas sensors to the jar and train a small recurrent model on the "
        "readings. The model forecasts the rise peak within twenty minutes on held-out "
        "starters and transfers to rye and spelt flours without retraining.",
    ),
]


def new_papers_listing(papers: Iterable[tuple[str, str, str]] = NEW_PAPERS) -> str:
    return "".join(glued_entry(t, a, b) for t, a, b in papers)


def link_models(root: Path, models: Path) -> None:
    """Give a storage root the session's converted model (and glossary vectors)."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / "models"
    if not target.exists():
        target.symlink_to(models, target_is_directory=True)


@contextlib.contextmanager
def loopback_endpoint(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1; yields the ``/v1`` base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a handler that never returns must not block shutdown
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    storage = tmp_path_factory.mktemp("default-storage")
    return Settings(seeds_dir=SEEDS, storage_dir=storage)


@pytest.fixture(scope="session")
def default_build(default_settings: Settings) -> tuple[Store, IngestReport]:
    """The default collection, ingested once for the whole session (about 30 s)."""
    store = Store(default_settings)
    report = store.ingest()
    return store, report


@pytest.fixture(scope="session")
def default_store(default_build: tuple[Store, IngestReport]) -> Store:
    return default_build[0]


@pytest.fixture(scope="session")
def default_report(default_build: tuple[Store, IngestReport]) -> IngestReport:
    return default_build[1]


@pytest.fixture(scope="session")
def searcher(default_store: Store) -> Any:
    from assistant.retrieval import Searcher

    return Searcher(default_store)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the converted ONNX file, shared by every small store.

    Built here (not taken from the default store) so tests of small stores need not wait
    for the default index.
    """
    from assistant.embedding import MiniLM

    folder = tmp_path_factory.mktemp("shared-models")
    MiniLM(folder, threads=1)
    return folder


@dataclass
class SmallIndex:
    """A throwaway seeds folder + storage folder; ``store()`` opens a Store on them."""

    seeds: Path
    storage: Path
    models: Path
    overrides: dict[str, Any] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        values = {"seeds_dir": self.seeds, "storage_dir": self.storage, "embed_threads": 2}
        values.update(self.overrides)
        values.update(overrides)
        return Settings(**values)

    def store(self, embedder_factory: Callable[[], Any] | None = None, **overrides: Any) -> Store:
        store = Store(self.settings(**overrides), embedder_factory=embedder_factory)
        link_models(store.root, self.models)
        return store

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.seeds / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


@pytest.fixture
def make_index(tmp_path: Path, models_dir: Path) -> Callable[..., SmallIndex]:
    """Factory: ``make_index(real=(...), files={name: text}, **settings)``.

    Without ``real``, the seeds folder holds the first 10 entries of ``000_*.txt``.
    """
    counter = iter(range(1000))

    def make(
        real: Iterable[Path] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        **overrides: Any,
    ) -> SmallIndex:
        n = next(counter)
        seeds = tmp_path / f"seeds-{n}"
        storage = tmp_path / f"storage-{n}"
        seeds.mkdir()
        storage.mkdir()
        if real is None:
            (seeds / SMALL_SEED.name).write_text(SMALL_SEED_TEXT, encoding="utf-8")
        for path in real or ():
            shutil.copy(path, seeds / path.name)
        index = SmallIndex(seeds, storage, models_dir, dict(overrides))
        for name, content in (files or {}).items():
            index.write(name, content)
        link_models(storage, models_dir)
        return index

    return make


def cli_env(storage: Path, seeds: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without ASSISTANT_* or proxy settings, plus storage/seeds."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ASSISTANT_") and k.upper() not in _PROXY_VARS
    }
    env["ASSISTANT_STORAGE_DIR"] = str(storage)
    env["ASSISTANT_SEEDS_DIR"] = str(seeds)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_assistant(
    *args: str,
    storage: Path,
    seeds: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> tuple[int, str, str]:
    """Run ``python -m assistant ARGS`` in a subprocess; returns (returncode, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=REPO,
        env=cli_env(storage, seeds, env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def run_cli(default_store: Store) -> Callable[..., tuple[int, str, str]]:
    """``run_cli(*args, env=..., input=...)`` against the session's default index.

    ``storage=`` / ``seeds=`` point a call elsewhere.
    """
    settings = default_store.settings

    def run(
        *args: str,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        storage: Path | None = None,
        seeds: Path | None = None,
        timeout: float = 300,
    ) -> tuple[int, str, str]:
        return run_assistant(
            *args,
            storage=storage or Path(settings.storage_dir),
            seeds=seeds or Path(settings.seeds_dir),
            env=env,
            input=input,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def llama_server() -> Any:
    """The bundled SmolLM2 behind a real llama.cpp OpenAI-compatible server on 127.0.0.1."""
    from assistant.llm import LocalServer, bundled_model

    server = LocalServer(bundled_model(), threads=2)
    server.ensure()
    yield server
    server.stop()


@dataclass
class ChromaServer:
    """A running ``chroma run`` process and its port."""

    port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.proc, grace=15)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A real ``chroma run`` on a free loopback port; stopped by PID afterwards."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        found = shutil.which("chroma")
        assert found, "the chroma CLI is not installed"
        chroma = Path(found)
    port = free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "chroma.log").read_text(errors="replace")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chroma server did not start"
            time.sleep(0.2)
        yield ChromaServer(port, proc)
    finally:
        ChromaServer(port, proc).stop()
        log.close()
