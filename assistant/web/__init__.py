"""The web page (Gradio): a cited chat beside its sources, filters, a paper browser, a map.

The rooms, one job each:

- :mod:`assistant.web.page`: the layout (:func:`build_app`) and its event handlers
  (:class:`Page`); what a message asks goes through :mod:`assistant.chat`, as in the terminal.
- :mod:`assistant.web.library`: what every visitor shares (:class:`Library`: an opened
  collection and its map; :class:`LocalModels`) and what one has (:class:`Session`).
- :mod:`assistant.web.render`: HTML of the chat and its sources, the map and chart data,
  downloads, CSS and JS.
- :mod:`assistant.web.serving`: the address and its credentials, launching, ``python ui.py``.

Research actions are registered in :mod:`assistant.chat` (``@action("Name")``); the page
offers every registered one.
"""

import os

# Before gradio is imported: it would otherwise report usage and look for updates.
for _key, _value in {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}.items():
    os.environ.setdefault(_key, _value)

from assistant.web.library import Library, LocalModels, Session  # noqa: E402
from assistant.web.page import ANSWER_CONCURRENCY, QUEUE_SIZE, Page, build_app  # noqa: E402
from assistant.web.serving import check_address, launch_options, main, parse_auth, serve  # noqa: E402

__all__ = [
    "ANSWER_CONCURRENCY",
    "QUEUE_SIZE",
    "Library",
    "LocalModels",
    "Page",
    "Session",
    "build_app",
    "check_address",
    "launch_options",
    "main",
    "parse_auth",
    "serve",
]
