"""The assistant works with the network unreachable.

Each command runs in a subprocess whose ``sitecustomize`` installs an audit hook: every
``socket.connect`` / ``getaddrinfo`` / ``gethostbyname`` / ``sendto`` target is written to a log,
and any target that is not loopback (or a Unix socket) raises before a packet leaves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SMALL_SEED_PAPERS, cli_env

SITECUSTOMIZE = r"""
import ipaddress
import os
import socket
import sys

_LOG = os.environ["NET_AUDIT_LOG"]
_EVENTS = {
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
    "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg",
}


def _loopback(host):
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]")
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _write(line):
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _hook(event, args):
    if event not in _EVENTS:
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", object()):
            _write(f"{event}\tunix\t{address!r}\tok")
            return
        host = address[0] if isinstance(address, tuple) and address else address
    else:
        host = args[0]
    ok = _loopback(host)
    _write(f"{event}\t{host!r}\t{args!r}\t{'ok' if ok else 'BLOCKED'}")
    if not ok:
        raise OSError(f"network is off in this test: {event} {host!r}")


sys.addaudithook(_hook)
_write(f"hook installed in pid {os.getpid()}")
"""


@pytest.fixture
def offline(tmp_path: Path):
    """Returns run(args, storage, seeds, input) -> (rc, stdout, stderr, log lines)."""
    site = tmp_path / "offline-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net-audit.log"

    def run(args, storage: Path, seeds: Path, input: str | None = None):
        log.unlink(missing_ok=True)
        env = cli_env(storage, seeds)
        for key in list(env):  # no proxy of any spelling
            if key.lower().endswith("_proxy"):
                del env[key]
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH", "")])])
        env["NET_AUDIT_LOG"] = str(log)
        proc = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return proc.returncode, proc.stdout, proc.stderr, lines

    return run


def blocked(lines: list[str]) -> list[str]:
    return [line for line in lines if line.endswith("BLOCKED")]


def test_the_audit_hook_blocks_the_network(offline, tmp_path):
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('203.0.113.7', 80), timeout=1)\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 443)\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"
    )
    rc, out, err, lines = offline(["-c", code], tmp_path, tmp_path)
    assert rc == 0, err
    assert out.count("refused: network is off in this test") == 2
    assert lines[0].startswith("hook installed")
    assert len(blocked(lines)) == 2


def test_search_works_offline(offline, default_store):
    settings = default_store.settings
    rc, out, err, lines = offline(
        ["-m", "assistant", "search", "--json", "-k", "3"],
        Path(settings.storage_dir),
        Path(settings.seeds_dir),
        input="the Kimi paper on residual connections\nInternVL3\n",
    )
    assert rc == 0, err
    assert lines and lines[0].startswith("hook installed")
    assert blocked(lines) == [], lines
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["results"][0]["title"] for r in results][0] == "Attention Residuals"
    assert results[1]["results"][0]["title"].startswith("InternVL3")
    assert "network is off" not in err


def test_ingest_on_fresh_storage_works_offline(offline, make_index):
    idx = make_index()
    (idx.storage / "models").unlink()  # convert the model from scratch too: no shared cache
    rc, out, err, lines = offline(["-m", "assistant", "ingest", "--json"], idx.storage, idx.seeds)
    assert rc == 0, err
    assert lines and lines[0].startswith("hook installed")
    assert blocked(lines) == [], lines
    report = json.loads(out)
    assert report["papers"] == SMALL_SEED_PAPERS and report["reused"] is False
    assert "network is off" not in err
