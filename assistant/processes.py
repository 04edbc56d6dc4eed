"""Child processes we start (model and Chroma servers, the app): a free loopback port for
one, and stopping it politely first, then firmly."""

from __future__ import annotations

import socket
import subprocess
from typing import Any


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now (the OS picks it; a child binds it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM ``proc``, SIGKILL it if it still runs after ``grace`` seconds, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)
