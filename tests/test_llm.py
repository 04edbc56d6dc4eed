"""LLM backends against real loopback servers: llama.cpp with the bundled model, and broken ones."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from assistant.config import Settings
from assistant.errors import LLMError
from assistant.llm import ChatModel, Message, make_chat_model


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
    handler = type("H", (_Handler,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


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
