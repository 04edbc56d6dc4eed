"""Hostile input through the command line: odd questions, and an API key that must not leak."""

from __future__ import annotations

import http.server
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, cli_env, loopback_endpoint

from assistant.citations import markers

# Each is a question a user (or a paste accident) can send; each must get an answer or a
# refusal as one JSON line, or a one-line error, and never a traceback.
ODD_QUESTIONS = [
    "what\x1b[31m is\x07 Teach-DETR\x0b propose?",  # terminal escapes and control characters
    "Teach-DETR 是做什么的？它提出了什么方法？",  # Chinese
    "Что предлагает Teach-DETR для обнаружения объектов?",  # Russian
    "ما هي طريقة التقطير المعرفي؟",  # Arabic, right to left
    "🤔🤔🤔 ✨",  # emoji only
    "<script>alert(1)</script> '; DROP TABLE papers; -- ../../etc/passwd",
    "DETR " * 300,  # long but allowed
]
HUGE = "why is the sky blue " * 5_000  # 100 kB


def test_odd_questions_get_answers_or_one_line_errors(run_cli):
    batch = "\n".join([*ODD_QUESTIONS[:3], HUGE, *ODD_QUESTIONS[3:]]) + "\n"
    code, out, err = run_cli("ask", "--json", input=batch, timeout=600)
    assert "Traceback" not in err, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == len(ODD_QUESTIONS)  # the huge one is refused, the batch goes on
    for a in answers:
        assert set(markers(a["answer"])) <= {c["n"] for c in a["citations"]}
        assert a["refused"] or a["citations"]
    assert "\x1b" not in answers[0]["question"] and "Teach-DETR" in answers[0]["answer"]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "99,999 characters long" in errors[0]
    assert code == 1  # one question was refused as input: the exit status says so

    for empty in ("", "   \t  "):
        code, out, err = run_cli("ask", empty)
        assert code == 1 and out == "" and "Traceback" not in err
        assert err.strip().splitlines() == [
            "error: the question is empty; type what you want to know about the papers"
        ]


class _Recorder(http.server.BaseHTTPRequestHandler):
    """An endpoint that records the Authorization header it is sent, then fails."""

    seen: list[str] = []

    def do_POST(self):  # noqa: N802
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "no model here"}}')

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_endpoint() -> Iterator[tuple[str, list[str]]]:
    handler = type("R", (_Recorder,), {"seen": []})
    with loopback_endpoint(handler) as url:
        yield url, handler.seen


# The CLI with every logger at DEBUG (ours, openai, httpx, llama-index, chromadb) on stderr.
DEBUG_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "from assistant.cli import main; sys.exit(main(sys.argv[1:]))"
)


def files_containing(root: Path, secret: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_api_key_is_never_logged_echoed_or_stored(make_index, recording_endpoint, tmp_path):
    import subprocess

    url, seen = recording_endpoint
    key = "sk-canary-7f3a9c1e5b"
    idx = make_index()
    env = cli_env(idx.storage, idx.seeds, {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": key})
    env["HOME"] = str(tmp_path)  # anything a library writes under ~ is looked at too
    proc = subprocess.run(
        [sys.executable, "-c", DEBUG_CLI, "--backend", "openai", "ask", "--json",
         "What does VLATTACK attack?"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert seen and all(h == f"Bearer {key}" for h in seen)  # the key really was used
    assert "DEBUG" in proc.stderr  # the libraries did log
    answer = json.loads(proc.stdout)
    assert "VLATTACK" in answer["answer"] and "HTTP 500" in answer["note"]
    assert key not in proc.stdout and key not in proc.stderr
    assert files_containing(idx.storage, key.encode()) == []
    assert files_containing(tmp_path, key.encode()) == []
