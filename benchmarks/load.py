"""Load benchmark: the web page served by its own process, N chat sessions at once from this one.

Usage: ``python benchmarks/load.py [--sessions 50] [--action Answer] [--overflow 10] [--json F]``.

1. Starts ``python ui.py`` on a free 127.0.0.1 port over a copy of the prepared index
   (``storage/`` by default; the app builds one there first if it is missing or stale), and
   waits until it is really ready: the status line says "N papers indexed" and one warm-up
   answer came back through the page's ``respond`` endpoint, written by the chosen backend.
2. Opens N ``gradio_client`` sessions (one visitor each), lets them ask N distinct questions at
   the same instant through ``respond`` (the endpoint the Send button uses) and records each
   request's latency, its wait in the queue, errors, throughput and p50/p95; meanwhile an
   HTTP request that skips the queue, every 2 s, times the server's event loop.
3. Checks every session for cross-talk: its chat holds exactly its own question and one answer,
   no other session's question appears in its chat or notice, and its first source is not
   another session's paper (every question has its own expected paper, so a reply delivered to
   the wrong session fails). Whether the first source is the session's own paper is reported
   as ``on_topic`` (a retrieval figure: a miss elsewhere is not cross-talk).
4. Samples the app's memory every 0.2 s: VmRSS summed over the ui process and its children
   (the llama.cpp server), and each process's VmHWM; both peaks are reported in MB.
5. With ``--overflow K``, fills the queue: ANSWER_CONCURRENCY + QUEUE_SIZE + K requests at once;
   the last K must be refused with Gradio's "Queue is full" message while the server stays up.

Every figure is printed as it is measured. The machines are shared: compare runs made on the
same machine at the same time, not seconds across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.processes import free_port, stop_process  # noqa: E402
from assistant.web import ANSWER_CONCURRENCY, QUEUE_SIZE  # noqa: E402

DEV = ROOT / "assistant" / "data" / "dev"
NO_FILTERS = ("", "", "", "", False, "")  # author, years from and to, category, code, venue
WARM_UP_QUESTION = "What is a vision transformer?"
WARM_UP_TRIES = 3
SAMPLE_EVERY = 0.2
HTTP_TIMEOUT = 120.0
OPENING_AT_ONCE = 8  # sessions opening the page at the same time, before they all ask at once


@dataclass(frozen=True)
class Load:
    """What to run: how many sessions, which model and action, how far to overflow the queue."""

    sessions: int = 50
    backend: str | None = None  # None: the page's default, the bundled local model
    action: str = "Answer"  # or "Search": same endpoint and queue, no model, under a second
    overflow: int = 10  # requests beyond ANSWER_CONCURRENCY + QUEUE_SIZE (0: skip)
    timeout: float = 3600.0  # seconds for one request, queue included

    @property
    def note(self) -> str:
        """How the notice under a good reply begins."""
        if self.action == "Search":
            return "Search results:"
        return f"Written by: **{self.backend or 'local'}**"

    def shown(self, question: str) -> str:
        """The question as the chat shows it (other actions than Answer are labelled)."""
        return question if self.action == "Answer" else f"*{self.action}:* {question}"


# --- the questions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """A question and the one paper of the collection it is about."""

    question: str
    paper: str


def probes(n: int) -> list[Probe]:
    """N distinct questions about N distinct papers, from the development sets.

    First the plain questions of ``questions.jsonl``, then the ``known_item.jsonl`` queries:
    both name their paper, and the index ranks it first (all but one, measured). The
    ``own_words`` questions are left out: they are paraphrase tests that often miss, which would
    leave nothing to tell a session's own answer from another's.
    """
    rows = [
        (r["question"], r["relevant"])
        for r in _jsonl(DEV / "questions.jsonl")
        if r.get("style") == "plain"
    ]
    rows += [(r["query"], r["relevant"]) for r in _jsonl(DEV / "known_item.jsonl")]
    out: list[Probe] = []
    for text, relevant in rows:
        if len(relevant) == 1 and relevant[0] not in {p.paper for p in out}:
            out.append(Probe(" ".join(text.split()), relevant[0]))
    if n > len(out):
        raise SystemExit(f"at most {len(out)} sessions: there are {len(out)} distinct questions")
    return out[:n]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# --- the app's process and its memory ----------------------------------------------------------
def prepare_storage(source: Path, dest: Path) -> Path:
    """A private copy of an index (the app may write to it); the models folder is linked."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "builds", "chroma"):
        path = source / name
        if path.is_dir():
            shutil.copytree(path, dest / name)
        elif path.is_file():
            shutil.copy2(path, dest / name)
    if (source / "models").is_dir() and not (dest / "models").exists():
        (dest / "models").symlink_to((source / "models").resolve(), target_is_directory=True)
    return dest


def process_tree(root: int) -> list[tuple[int, int]]:
    """(pid, parent) of ``root`` and all its descendants, parents first, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [(root, 0)]
    while todo:
        pid, parent = todo.pop()
        tree.append((pid, parent))
        todo.extend((child, pid) for child in children.get(pid, []))
    return tree


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB; (0, 0) once it is gone."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition("\t")
            if key in values:
                values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values["VmRSS:"], values["VmHWM:"]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


@dataclass
class Seen:
    """One process of the app's tree, as last sampled."""

    command: str
    hwm_kb: int = 0
    rss_kb: int = 0


class MemorySampler(threading.Thread):
    """Every 0.2 s: the RSS of the app's whole process tree, summed; each process's VmHWM."""

    def __init__(self, root: int):
        super().__init__(name="memory-sampler", daemon=True)
        self.root = root
        self.peak_sum_kb = 0
        self.processes: dict[int, Seen] = {}
        self._stop = threading.Event()

    def sample(self) -> None:
        total = 0
        commands: dict[int, str] = {}
        for pid, parent in process_tree(self.root):
            command = commands[pid] = command_line(pid)
            if not command or (pid != self.root and command == commands.get(parent)):
                continue  # gone, or forked but not yet exec'd: its pages are its parent's
            rss, hwm = memory_kb(pid)
            seen = self.processes.get(pid)
            if seen is None or seen.command != command:  # new, or exec'd (VmHWM starts over)
                seen = self.processes[pid] = Seen(command)
            seen.hwm_kb, seen.rss_kb = max(seen.hwm_kb, hwm), rss
            total += rss
        self.peak_sum_kb = max(self.peak_sum_kb, total)

    def run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.sample()

    def stop(self) -> None:
        self.sample()  # the last VmHWM of every process still running
        self._stop.set()

    def figures(self) -> dict[str, float]:
        """Peak total RSS (max of the sums sampled) and the sum of per-process VmHWM (bound)."""
        llama = [s for s in self.processes.values() if "llama_cpp.server" in s.command]
        ui = self.processes.get(self.root, Seen(""))
        return {
            "peak_rss_total_mb": self.peak_sum_kb / 1024,
            "peak_hwm_sum_mb": sum(s.hwm_kb for s in self.processes.values()) / 1024,
            "peak_hwm_ui_mb": ui.hwm_kb / 1024,
            "peak_hwm_llama_server_mb": max((s.hwm_kb for s in llama), default=0) / 1024,
            "llama_servers_started": len(llama),
        }


class App:
    """``python ui.py`` on a free loopback port over ``storage``; stopped with everything it
    started, even when the benchmark fails."""

    def __init__(self, storage: Path, log: Path):
        self.storage, self.log = storage, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sampler: MemorySampler | None = None
        self.leftovers: list[int] = []  # processes of the app still running after stop()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env |= {
            "ASSISTANT_STORAGE_DIR": str(self.storage),
            "ASSISTANT_SEEDS_DIR": str(ROOT / "seeds"),
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [sys.executable, "ui.py", "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.sampler = MemorySampler(self.proc.pid)
        self.sampler.start()

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"the app exited early; its output ends with:\n{tail}")

    def stop(self) -> None:
        """SIGTERM (the app then stops its llama.cpp server), SIGKILL if it lingers, then any
        child still running that the sampler saw (checked by command line, not by name)."""
        if self.sampler is not None:
            self.sampler.stop()
        if self.proc is not None:
            stop_process(self.proc, grace=20)
        seen = self.sampler.processes if self.sampler else {}
        for pid, process in seen.items():
            if process.command and command_line(pid) == process.command:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        self.leftovers = [p for p, s in seen.items() if s.command and command_line(p) == s.command]

    def __enter__(self) -> App:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- talking to the page -----------------------------------------------------------------------
def client(url: str) -> Any:
    """A fresh ``gradio_client`` session: one visitor with their own chat.

    httpx's default 5 s read timeout is the client's, not a browser's: on two busy cores some
    of 50 pages opened at once took longer (measured), so it waits up to HTTP_TIMEOUT.
    """
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": HTTP_TIMEOUT})


def use_backend(session: Any, backend: str | None) -> None:
    """Switch this session's model through the page's Settings tab (None: the page's default)."""
    if backend is not None:
        session.predict(backend, "", "", "", api_name="/apply_backend")


def texts(chat: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each chat message."""
    out = []
    for m in chat or []:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        out.append((m.get("role", ""), str(content or "")))
    return out


def source_titles(sources_html: str) -> list[str]:
    """The titles of the source cards, in order ([1] first)."""
    titles = []
    for card in sources_html.split('<div class="source" id="src-')[1:]:
        titles.append(html.unescape(card.split("</b> ", 1)[1].split(" <span", 1)[0]))
    return titles


def wait_ready(app: App, load: Load) -> float:
    """Seconds until the page answers: index opened (status line), then one real request
    through ``respond`` answered by the backend under test (the local model is then warm)."""
    from gradio_client.exceptions import AppError

    start = time.perf_counter()
    deadline = start + load.timeout
    session = None
    while session is None:
        app.check_alive()
        try:
            session = client(app.url)
        except Exception:  # not listening yet
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.5)
    status = ""
    while "papers indexed" not in status:
        app.check_alive()
        if "⚠" in status or time.perf_counter() > deadline:
            raise RuntimeError(f"the index did not open: {status}")
        status = str(session.predict(*NO_FILTERS, "", api_name="/status")[0])
        time.sleep(1.0)
    use_backend(session, load.backend)
    notice = ""
    for _ in range(WARM_UP_TRIES):  # a cold model on busy cores may miss its deadline once
        try:
            out = session.predict(WARM_UP_QUESTION, load.action, *NO_FILTERS, api_name="/respond")
        except AppError as e:
            raise RuntimeError(f"the warm-up request failed: {e}") from None
        notice = str(out[2])
        # Answered by the chosen backend; a written answer that failed its checks and gave way
        # to the evidence answer is still an answer (the other warnings are not).
        if load.note in notice and ("⚠" not in notice or "evidence shown" in notice):
            session.close()
            return time.perf_counter() - start
        print(f"... warm-up not answered as expected: {notice!r}", file=sys.stderr)
    raise RuntimeError(f"the warm-up request was not answered as expected: {notice!r}")


# --- one session, the burst, the checks --------------------------------------------------------
@dataclass
class Outcome:
    """What one session asked and got, with its timings (seconds from its request)."""

    index: int
    probe: Probe
    error: str = ""
    latency_s: float = 0.0
    queued_s: float = 0.0  # until the app started working on it
    queue_position: int | None = None  # the first rank Gradio reported (0: next in line)
    chat: list[tuple[str, str]] = field(default_factory=list)
    notice: str = ""
    sources: list[str] = field(default_factory=list)


def converse(url: str, index: int, probe: Probe, load: Load, go: threading.Barrier,
             opening: threading.Semaphore) -> Outcome:  # fmt: skip
    """One visitor: open the page, choose the backend, wait for everyone, ask, read the reply."""
    from gradio_client.utils import Status

    outcome = Outcome(index, probe)
    session = None
    try:
        with opening:
            session = client(url)
            use_backend(session, load.backend)
    except Exception as e:  # the others still go; this session reports why it could not
        outcome.error = f"opening the page: {type(e).__name__}: {e}"
        if session is not None:
            session.close()
    go.wait()
    if outcome.error:
        return outcome
    try:
        start = time.perf_counter()
        job = session.submit(probe.question, load.action, *NO_FILTERS, api_name="/respond")
        while not job.done():
            status = job.status()
            if status.code == Status.IN_QUEUE and outcome.queue_position is None:
                outcome.queue_position = status.rank
            if not outcome.queued_s and (job.outputs() or status.code == Status.PROCESSING):
                outcome.queued_s = time.perf_counter() - start
            if time.perf_counter() - start > load.timeout:
                raise TimeoutError(f"no answer within {load.timeout:.0f} s")
            time.sleep(0.1)
        chat, sources, notice, *_ = job.result()
        outcome.latency_s = time.perf_counter() - start
        outcome.queued_s = outcome.queued_s or outcome.latency_s
        outcome.chat, outcome.notice = texts(chat), str(notice)
        outcome.sources = source_titles(str(sources))
    except Exception as e:  # reported with the session it happened in
        outcome.error = f"{type(e).__name__}: {e}"
    finally:
        session.close()
    return outcome


def burst(url: str, batch: list[Probe], load: Load) -> tuple[list[Outcome], float]:
    """All sessions ask at the same instant; their outcomes and the wall time of the burst."""
    go, opening = threading.Barrier(len(batch) + 1), threading.Semaphore(OPENING_AT_ONCE)
    results: list[Outcome | None] = [None] * len(batch)
    lock, start = threading.Lock(), 0.0

    def run(i: int) -> None:
        results[i] = converse(url, i, batch[i], load, go, opening)
        with lock:  # progress, on stderr: a run with the local model takes minutes
            done = sum(r is not None for r in results)
            if done % 10 == 0 or done == len(batch):
                elapsed = time.perf_counter() - start
                print(f"... {done}/{len(batch)} replies after {elapsed:.0f} s", file=sys.stderr)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(batch))]
    for t in threads:
        t.start()
    go.wait()  # every session has opened the page (or failed to)
    with lock:
        start = time.perf_counter()
    for t in threads:
        t.join(load.timeout + 60)
    wall = time.perf_counter() - start
    return [r or Outcome(i, batch[i], error="no result") for i, r in enumerate(results)], wall


class Liveness(threading.Thread):
    """Every 2 s, an HTTP request that skips the queue (the API description): how long the
    server's event loop takes to answer. A stall here stalls every session's stream."""

    def __init__(self, url: str):
        super().__init__(name="liveness", daemon=True)
        self.url, self.slowest_s, self.failures = url, 0.0, 0
        self._stop = threading.Event()

    def run(self) -> None:
        import httpx

        while not self._stop.wait(2.0):
            start = time.perf_counter()
            try:
                httpx.get(f"{self.url}gradio_api/info", timeout=HTTP_TIMEOUT).raise_for_status()
            except httpx.HTTPError:
                self.failures += 1
            self.slowest_s = max(self.slowest_s, time.perf_counter() - start)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        return {"http_probe_max_s": self.slowest_s, "http_probe_failures": self.failures}


def problems(outcome: Outcome, others: dict[str, str], load: Load) -> dict[str, str]:
    """What is wrong with one session's reply, by kind: ``error``, ``crosstalk``, ``off_topic``,
    ``model_note`` (the model failed and the answer fell back to evidence)."""
    found: dict[str, str] = {}
    own = outcome.probe
    if outcome.error:
        return {"error": outcome.error}
    answer = [t for role, t in outcome.chat if role == "assistant"]
    if not answer or not answer[-1].strip() or answer[-1].startswith("⚠"):
        found["error"] = f"no answer: {outcome.notice!r}"
    elif load.note not in outcome.notice:
        found["error"] = f"not answered as expected: {outcome.notice!r}"
    asked = [t for role, t in outcome.chat if role == "user"]
    if asked != [load.shown(own.question)] or len(outcome.chat) != 2:
        found["crosstalk"] = f"its chat holds {asked!r}"
    alien = [q for q in others if q != own.question and any(q in t for _, t in outcome.chat)]
    alien += [q for q in others if q != own.question and q in outcome.notice]
    if alien:
        found["crosstalk"] = f"another session's question in its reply: {alien[0]!r}"
    first = outcome.sources[0] if outcome.sources else ""
    if first != own.paper:
        if first in others.values():
            found["crosstalk"] = f"source [1] is another session's paper: {first!r}"
        else:
            found["off_topic"] = f"source [1] is {first!r}, not {own.paper!r}"
    if "⚠" in outcome.notice and "error" not in found:
        found["model_note"] = outcome.notice.split("⚠", 1)[1].strip()
    return found


def pct(values: list[float], q: float) -> float:
    """The q-quantile, nearest rank (as benchmarks/run.py)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def summarize(outcomes: list[Outcome], wall: float, load: Load
              ) -> tuple[dict[str, float], dict[str, list[str]]]:  # fmt: skip
    """The burst's figures and, by kind, the sessions with a problem."""
    others = {o.probe.question: o.probe.paper for o in outcomes}
    by_kind: dict[str, list[str]] = {}
    for o in outcomes:
        for kind, what in problems(o, others, load).items():
            by_kind.setdefault(kind, []).append(f"session {o.index} ({o.probe.question!r}): {what}")
    done = [o for o in outcomes if not o.error]
    latency = [o.latency_s for o in done]
    queued = [o.queued_s for o in done]
    positions = [o.queue_position for o in outcomes if o.queue_position is not None]
    figures = {
        "sessions": len(outcomes),
        "answers": len(done),
        "errors": len(by_kind.get("error", [])),
        "crosstalk": len(by_kind.get("crosstalk", [])),
        "on_topic": sum(1 for o in done if o.sources[:1] == [o.probe.paper]),
        "model_notes": len(by_kind.get("model_note", [])),
        "wall_s": wall,
        "throughput_answers_per_s": len(done) / wall if wall else 0.0,
        "latency_p50_s": statistics.median(latency) if latency else 0.0,
        "latency_p95_s": pct(latency, 0.95),
        "latency_max_s": max(latency, default=0.0),
        "queued_p50_s": statistics.median(queued) if queued else 0.0,
        "queued_p95_s": pct(queued, 0.95),
        "queue_position_max": max(positions, default=0),
    }  # fmt: skip
    return figures, by_kind


# --- a full queue --------------------------------------------------------------------------------
def overflow(url: str, extra: int, question: str) -> dict[str, Any]:
    """ANSWER_CONCURRENCY + QUEUE_SIZE + ``extra`` answers, sent one after the other as fast as
    the queue takes them, on the page's default (slow) backend so the queue is full when the
    last ones arrive: those must be refused with a clear message, not crash anything. Then the
    accepted ones are cancelled and the page must answer again.
    """
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client.utils import Status

    total = ANSWER_CONCURRENCY + QUEUE_SIZE + extra
    with ThreadPoolExecutor(OPENING_AT_ONCE) as pool:
        sessions = list(pool.map(lambda _: client(url), range(total)))
    start = time.perf_counter()
    jobs = []
    for session in sessions:  # each waits until the queue has taken or refused it
        job = session.submit(question, "Answer", *NO_FILTERS, api_name="/respond")
        while not job.done() and job.status().code in (Status.STARTING, Status.JOINING_QUEUE):
            time.sleep(0.005)
        jobs.append(job)
    figures: dict[str, Any] = {
        "overflow_requests": total,
        "overflow_submit_s": time.perf_counter() - start,
    }
    refused = [n for n, j in enumerate(jobs, 1) if j.done() and _queue_full(j.exception())]
    failed = [j for n, j in enumerate(jobs, 1) if j.done() and j.exception() and n not in refused]
    figures |= {
        "overflow_refused": len(refused),
        "overflow_first_refused": min(refused, default=0),  # 1-based position in the sending
        "overflow_other_errors": len(failed),
        "overflow_client_message": str(jobs[refused[0] - 1].exception()) if refused else "",
        "overflow_server_reply": _raw_join(url, sessions[0], question),
        "overflow_status_while_full": _light_request(sessions[0]),
    }
    cancelling = ThreadPoolExecutor(OPENING_AT_ONCE)  # a running answer ends its step first
    for job in jobs:
        cancelling.submit(_quietly, job.cancel)
    figures["overflow_recovered_s"] = _until_answered(sessions[0], deadline=120.0)
    cancelling.shutdown(wait=False, cancel_futures=True)
    with ThreadPoolExecutor(len(sessions)) as pool:  # close() waits up to 1 s for its heartbeat
        list(pool.map(lambda session: session.close(), sessions))
    return figures


def _queue_full(error: BaseException | None) -> bool:
    from gradio_client.utils import QueueError

    return isinstance(error, QueueError)


def _quietly(fn: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):
        fn()


def _light_request(session: Any) -> str:
    """Whether the status line (a cheap event of the LIGHT group) gets through now."""
    try:
        session.predict(*NO_FILTERS, "", api_name="/status")
        return "answered"
    except Exception as e:
        return f"refused ({type(e).__name__}: {e})"


def _until_answered(session: Any, deadline: float) -> float:
    """Seconds until the status line is answered again (-1: not within ``deadline``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline:
        if _light_request(session) == "answered":
            return time.perf_counter() - start
        time.sleep(0.5)
    return -1.0


def _raw_join(url: str, session: Any, question: str, attempts: int = 5) -> str:
    """The server's own reply (HTTP status and detail) to one more ``respond`` request while the
    queue is full. An answer that ends meanwhile frees a place, which a join takes back; so
    joins are sent until one is refused, at most ``attempts``, and the last reply is returned.
    """
    import httpx

    fn = next(d["id"] for d in session.config["dependencies"] if d.get("api_name") == "respond")
    reply = "no reply"
    for n in range(attempts):
        body = {
            "data": [question, "Answer", *NO_FILTERS, None],
            "fn_index": fn,
            "session_hash": f"load-benchmark-probe-{n}",
            "event_data": None,
            "trigger_id": None,
        }
        try:
            got = httpx.post(f"{url}gradio_api/queue/join", json=body, timeout=HTTP_TIMEOUT)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        reply = f"HTTP {got.status_code}: {got.text[:200]}"
        if got.status_code != 200:
            break
    return reply


# --- the run -------------------------------------------------------------------------------------
def run_load(storage: Path, load: Load, report: Callable[[dict[str, Any]], None]
             ) -> tuple[dict[str, Any], dict[str, list[str]]]:  # fmt: skip
    """Start the app, wait for it, run the burst (and the overflow), stop it; all figures."""
    batch = probes(load.sessions)
    figures: dict[str, Any] = {}

    def add(part: dict[str, Any]) -> None:
        figures.update(part)
        report(part)

    log = storage.parent / "ui.log"
    with App(storage, log) as app:
        add({"ready_s": wait_ready(app, load)})
        assert app.sampler is not None
        add(app.sampler.figures() | {"phase": "ready"})
        liveness = Liveness(app.url)
        liveness.start()
        outcomes, wall = burst(app.url, batch, load)
        app.check_alive()
        part, by_kind = summarize(outcomes, wall, load)
        add(part | liveness.stop())
        if by_kind.get("error"):  # the app's own account of what went wrong
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        add(app.sampler.figures() | {"phase": "after burst"})
        if load.overflow:
            add(overflow(app.url, load.overflow, batch[0].question))
            app.check_alive()
    end = {"phase": "end", "leftover_processes": len(app.leftovers)}
    add(app.sampler.figures() | end)
    return figures, by_kind


@contextlib.contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """A SIGTERM (``timeout``, ``kill``) exits through ``finally``, which stops the app."""
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def print_figures(part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, float):
            print(f"{key:32s} {value:10.3f}", flush=True)
        elif isinstance(value, list):
            for item in value:
                print(f"{key:32s} {item}", flush=True)
        else:
            print(f"{key:32s} {value}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent chat sessions")
    parser.add_argument(
        "--backend", choices=["local", "extractive"], default=None,
        help="model for the sessions (default: the page's default, the bundled local model)",
    )  # fmt: skip
    parser.add_argument(
        "--overflow", type=int, default=10, metavar="K",
        help=f"then send {ANSWER_CONCURRENCY}+{QUEUE_SIZE}+K answers at once (0: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--action", choices=["Answer", "Search"], default="Answer", help="what the sessions do"
    )
    parser.add_argument("--storage", type=Path, default=ROOT / "storage", help="index to copy")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per request")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(f"{'machine':32s} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    try:
        with stopped_by_sigterm():
            storage = prepare_storage(args.storage, work / "storage")
            load = Load(args.sessions, args.backend, args.action, args.overflow, args.timeout)
            figures, by_kind = run_load(storage, load, print_figures)
        for kind, lines in by_kind.items():
            for line in lines:
                print(f"{kind}: {line}")
        if args.json:
            figures["problems"] = by_kind
            Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bad = figures["errors"] + figures["crosstalk"]
    return 1 if bad or figures["peak_rss_total_mb"] >= 2048 else 0


if __name__ == "__main__":
    sys.exit(main())
