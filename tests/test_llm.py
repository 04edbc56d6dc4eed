"""LLM backends against real loopback servers: llama.cpp with the bundled model, and broken ones."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import loopback_endpoint

from assistant.config import Settings
from assistant.errors import LLMError
from assistant.llm import ChatModel, Message, make_chat_model, repeats_itself


def openai_model(base_url: str, timeout: float = 60.0) -> ChatModel:
    return ChatModel("openai", "smollm2", base_url, "sk-test-not-a-real-key", timeout)


def test_openai_backend_against_real_llama_cpp_server(llama_server):
    model = openai_model(llama_server.base_url)
    pieces = list(model.stream([Message("user", "Name a colour.")], max_tokens=8))
    assert len(pieces) >= 2  # streamed, not one block
    assert "".join(pieces).strip()


def test_local_backend_starts_its_own_server_and_restarts_it():
    model = make_chat_model(Settings(llm_backend="local"))
    assert model.backend == "local" and model.server is not None
    try:
        assert model.complete([Message("user", "Say yes.")], max_tokens=4).strip()
        model.server._proc.kill()  # the server dies
        model.server._proc.wait()
        assert model.complete([Message("user", "Say yes.")], max_tokens=4).strip()
    finally:
        model.server.stop()


def test_local_server_finishes_concurrent_replies(llama_server):
    """Two sessions asking at once: each reply ends properly (llama.cpp's server would
    otherwise end the first stream when the second request arrives)."""
    # Replies queue on the server, so the last one's deadline covers all three; generous, as
    # a busy CI machine is slow (what fails here is a stream cut short, not a slow one).
    model = ChatModel("local", "smollm2", llama_server.base_url, "local", 280)
    results: list[object] = []

    def ask(prompt: str) -> None:
        try:
            results.append(model.complete([Message("user", prompt)], max_tokens=48))
        except LLMError as e:
            results.append(e)

    threads = [
        threading.Thread(target=ask, args=(f"Write two sentences about {topic}.",))
        for topic in ("rivers", "mountains", "forests")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(results) == 3
    assert all(isinstance(r, str) and r.strip() for r in results), results


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_one_line_naming_the_endpoint():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(LLMError) as err:
        openai_model(url, timeout=5).complete([Message("user", "hi")])
    message = str(err.value)
    assert url in message and "refused" in message and "\n" not in message
    assert "sk-test" not in message


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def do_POST(self):  # noqa: N802
        if self.mode == "hang":
            time.sleep(5)
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "boom"}}')

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_server(request) -> Iterator[str]:
    with loopback_endpoint(type("H", (_Handler,), {"mode": request.param})) as url:
        yield url


@pytest.mark.parametrize("broken_server", ["500"], indirect=True)
def test_http_error_is_reported(broken_server):
    with pytest.raises(LLMError, match="HTTP 500"):
        openai_model(broken_server).complete([Message("user", "hi")])


@pytest.mark.parametrize("broken_server", ["hang"], indirect=True)
def test_timeout_is_reported_within_the_timeout(broken_server):
    start = time.monotonic()
    with pytest.raises(LLMError, match="timed out"):
        openai_model(broken_server, timeout=1).complete([Message("user", "hi")])
    assert time.monotonic() - start < 4


def _event(content: str | None, finish: str | None = None) -> bytes:
    delta = {"role": "assistant"} if content is None else {"content": content}
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "broken",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


class _StreamHandler(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that breaks its streamed replies in the ways servers do."""

    mode = "cut"

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.mode == "cut-chunked":
            self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if self.mode == "cut-chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        # A broken pipe means the client gave up on us, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            getattr(self, "_" + self.mode.replace("-", "_"))()

    def _cut(self):  # two pieces, then the connection closes: no finish, no [DONE]
        self.wfile.write(_event(None) + _event("Half an") + _event(" answer"))

    def _cut_chunked(self):  # a chunked body that stops in the middle of a chunk
        body = _event("Half an") + _event(" answer")
        self.wfile.write(f"{len(body) + 50:x}\r\n".encode() + body)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _empty(self):
        self.wfile.write(_event(None) + _event("", "stop") + b"data: [DONE]\n\n")

    def _endless(self):  # the same words forever, until the client hangs up
        while True:
            self.wfile.write(_event("all work and no play makes a dull model "))
            self.wfile.flush()
            time.sleep(0.001)

    def _flood(self):  # new words forever, ignoring max_tokens
        n = 0
        while True:
            n += 1
            self.wfile.write(_event(f"word{n} "))
            self.wfile.flush()

    def _stall(self):  # starts, then goes quiet
        self.wfile.write(_event("Let me think"))
        self.wfile.flush()
        time.sleep(8)

    def log_message(self, *args):
        pass


@pytest.fixture
def stream_server(request) -> Iterator[str]:
    with loopback_endpoint(type("H", (_StreamHandler,), {"mode": request.param})) as url:
        yield url


@pytest.mark.parametrize(
    ("stream_server", "reason"),
    [
        ("cut", "cut its reply off"),
        ("cut-chunked", "cut its reply off"),
        ("empty", "empty reply"),
        ("endless", "repeated the same words"),
        ("flood", "more than the 64 tokens"),
        ("stall", "timed out after 2 s"),
    ],
    indirect=["stream_server"],
)
def test_broken_streams_are_reported_within_the_timeout(stream_server, reason):
    model = openai_model(stream_server, timeout=2)
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        for _ in model.stream([Message("user", "hi")], max_tokens=64):
            pass
    assert time.monotonic() - start < 3.5
    message = str(err.value)
    assert reason in message and stream_server in message and "\n" not in message
    assert "sk-test" not in message


@pytest.mark.parametrize("stream_server", ["endless"], indirect=True)
def test_a_session_goes_on_after_a_broken_reply(stream_server, searcher):
    """Write mode with a looping endpoint: the evidence answers, the note names the fault."""
    from assistant.answer import Answerer

    answerer = Answerer(searcher, openai_model(stream_server, timeout=5), "write")
    for _ in range(2):  # and again: nothing is left stuck
        answer = answerer.ask("How does Teach-DETR work?")
        assert not answer.refused and "Teach-DETR" in answer.text
        assert answer.citations and "repeated the same words" in answer.note


def test_repetition_detector():
    assert repeats_itself("and so on " * 12)
    assert repeats_itself("Intro. " + "the model sees the image then the text " * 5)
    assert not repeats_itself("the cat sat on the mat " * 3)  # too short to call a loop
    varied = "We train a detector. It finds boxes. Then we prune tokens to save compute. " * 2
    assert not repeats_itself(varied)


def test_local_server_outlives_the_thread_that_started_it():
    """The page starts the server from a worker thread that then ends: the server must stay."""
    from assistant.llm import LocalServer, bundled_model

    server = LocalServer(bundled_model(), threads=1)
    try:
        starter = threading.Thread(target=server.ensure)
        starter.start()
        starter.join(timeout=120)
        pid = server._proc.pid
        time.sleep(3)
        assert server.alive() and server._proc.pid == pid
    finally:
        server.stop()


def test_local_server_dies_with_the_app_even_when_killed():
    import os
    import subprocess
    import sys

    code = (
        "from assistant.llm import LocalServer, bundled_model\n"
        "s = LocalServer(bundled_model(), threads=1); s.ensure(); print(s._proc.pid, flush=True)\n"
        "import time; time.sleep(120)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    server = int(app.stdout.readline())
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(server, 9)
    pytest.fail("the llama.cpp server outlived the app that started it")
