"""Serving the page: the address and its credentials, the launch options, ``python ui.py``."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
from collections.abc import Sequence
from typing import Any

import gradio as gr
from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.web.render import CSS, JS


def launch_options(
    host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Arguments for ``demo.launch``: no share link, no server-side rendering, local assets."""
    # System fonts: the default theme would fetch Google Fonts, and the page must work offline.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return {
        "server_name": host,
        "server_port": port,
        "auth": auth,
        "share": False,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "theme": theme,
        "css": CSS,
        "js": JS,
    }


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` as a pair; None when unset; AssistantError when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise AssistantError("ASSISTANT_UI_AUTH must be user:password, both non-empty")
    return user, password


def check_address(host: str, port: int, auth: tuple[str, str] | None) -> None:
    """Refuse to expose the page beyond this machine without credentials."""
    if not 0 < port < 65536:
        raise AssistantError(f"port {port} is out of range (1-65535)")
    if auth is None and not is_loopback(host):
        raise AssistantError(
            f"refusing to serve on {host} without credentials: set ASSISTANT_UI_AUTH=user:password "
            "or serve on 127.0.0.1"
        )


def serve(
    settings: Settings | None = None, host: str | None = None, port: int | None = None
) -> int:
    """Serve the page until interrupted; the address from the arguments, else the settings
    (``ASSISTANT_UI_HOST``, ``ASSISTANT_UI_PORT``, ``ASSISTANT_UI_AUTH``)."""
    from assistant.web.page import build_app

    settings = settings or Settings.model_validate({})
    host, port = host or settings.ui_host, port or settings.ui_port
    auth = parse_auth(settings.ui_auth.get_secret_value() if settings.ui_auth else None)
    check_address(host, port, auth)
    demo = build_app(settings)
    # A plain `kill` exits through atexit too, which stops the local model's server process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        demo.launch(**launch_options(host, port, auth))
    except OSError as e:
        raise AssistantError(f"cannot serve on {host}:{port} ({e})") from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python ui.py [--host H] [--port P]``; returns the exit code."""
    parser = argparse.ArgumentParser(description="Serve the research assistant's web page.")
    parser.add_argument("--host", help="address (ASSISTANT_UI_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (ASSISTANT_UI_PORT, default 7860)")
    args = parser.parse_args(argv)
    try:
        return serve(Settings.model_validate({}), args.host, args.port)
    except ValidationError as e:
        problems = "; ".join(
            f"ASSISTANT_{str(err['loc'][0]).upper()}: {err['msg']}" for err in e.errors()
        )
        print(f"error: invalid setting ({problems}); fix the variable", file=sys.stderr)
        return 1
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
