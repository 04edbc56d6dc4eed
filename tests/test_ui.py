"""The web page, for real: served in-process on a free loopback port over the session's index.

A real Chromium (Debian's, at /usr/bin/chromium) drives the page through Playwright; several
``gradio_client`` sessions drive it at once. Answers come from the extractive answerer (fast,
deterministic) except in the browser test, which switches its session to the real local model
through the Settings tab.

``UI_SCREENSHOT=docs/screenshot.png pytest tests/test_ui.py -k browser`` also saves the page.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import REPO, SMALL_SEED_PAPERS, cli_env, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Eight questions about eight papers, each followed by a question that only makes sense with
# the first one in memory; the expected paper's title starts with the key.
SESSIONS = {
    "Teach-DETR": "What does Teach-DETR propose?",
    "InternVL3": "How does InternVL3 improve multimodal models?",
    "Kimi K2.5": "What is Kimi K2.5 Agent Swarm?",
    "TinyCLIP": "How does TinyCLIP distill CLIP?",
    "Grad-CAM": "What does Grad-CAM visualize?",
    "HorNet": "How does HorNet model spatial interactions?",
    "ZeroGUI": "What does ZeroGUI automate?",
    "kMaX-DeepLab": "What is kMaX-DeepLab?",
}
FOLLOW_UP = "What do the authors propose?"
NO_FILTERS = ("", "", "", "", False, "")  # author, years from and to, category, code, venue


@pytest.fixture(scope="module")
def app(searcher: Any) -> Iterator[Any]:
    """The page over the default index, served on a free loopback port."""
    from assistant.web import build_app, launch_options

    demo = build_app(searcher=searcher, backend="extractive")
    demo.launch(**launch_options("127.0.0.1", free_port()), prevent_thread_lock=True, quiet=True)
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def url(app: Any) -> str:
    return str(app.local_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def client(url: str) -> Any:
    """A fresh gradio_client session (one client keeps one chat)."""
    from gradio_client import Client

    return Client(url, verbose=False)


def ask(session: Any, text: str, action: str = "Answer", filters: tuple = NO_FILTERS) -> dict:
    """Send through the page's ``respond`` event; the final state of what it updates."""
    chat, sources, notice, _box, *downloads, _map = session.predict(
        text, action, *filters, api_name="/respond"
    )
    files = [f.get("value") if isinstance(f, dict) else f for f in downloads]  # update or path
    return {
        "chat": chat,
        "sources": sources,
        "notice": notice,
        **dict(zip(["md", "tex", "bib", "ris", "csl"], files, strict=True)),
    }


def texts(chat: list[dict]) -> list[str]:
    return ["".join(part.get("text", "") for part in m["content"]) for m in chat]


def first_source_title(sources_html: str) -> str:
    head = sources_html.split('id="src-1"', 1)[1]
    return head.split("</b> ", 1)[1].split(" <span", 1)[0]


# --- in the browser ------------------------------------------------------------------------
def test_browser_answer_sources_citation_filter_download(url: str, browser: Any) -> None:
    import bibtexparser
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("papers indexed", timeout=30_000)

    # This session's answers are written by the real local model.
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("Local model (bundled Qwen2.5-Coder, llama.cpp)").check()
    page.get_by_role("button", name="Use this backend").click()
    expect(page.get_by_text("written by: local model")).to_be_visible()

    page.locator("#question textarea").fill("What does Teach-DETR propose?")
    page.locator("#send").click()
    answer = page.locator("#chat .message-content").last
    expect(answer).to_contain_text("Teach-DETR", timeout=120_000)
    expect(page.locator("#notice")).to_contain_text("Written by: local", timeout=120_000)
    source = page.locator("#src-1")
    expect(source).to_contain_text("Teach-DETR: Better Training DETR with Teachers")
    expect(source).to_contain_text("Linjiang Huang")
    expect(source).to_contain_text("004_")  # the listing file it came from
    expect(source.locator(".badge")).to_contain_text("supported")
    expect(source.locator("mark").first).to_be_visible()

    # A click on [1] in the answer highlights its source and brings it into view.
    page.locator("#sources").evaluate("el => el.scrollTo(0, el.scrollHeight)")
    answer.locator("a.cite", has_text="[1]").first.click()
    expect(source).to_have_class("source cited")
    expect(source).to_be_in_viewport()
    if os.environ.get("UI_SCREENSHOT"):
        page.screenshot(path=os.environ["UI_SCREENSHOT"], full_page=False)

    # The cited papers as BibTeX, parsed.
    with page.expect_download() as download:
        page.locator("#download-bib").click()
    bib = bibtexparser.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [e["title"].strip("{}") for e in bib.entries] == [
        "Teach-DETR: Better Training DETR with Teachers"
    ]

    # A filter narrows the answer: only papers from 2024 on, with code.
    page.locator("#filter-year-from textarea").fill("2024")
    page.locator("#filter-code input").check()
    page.locator("#question textarea").fill("multimodal large language models")
    page.locator("#send").click()
    expect(page.locator("#chat .message-content")).to_have_count(4, timeout=120_000)
    expect(page.locator("#notice")).to_contain_text("Written by", timeout=120_000)
    metas = page.locator("#sources .source .meta").all_inner_texts()
    assert metas, page.locator("#sources").inner_text()
    for meta in metas:
        assert "code: yes" in meta and any(y in meta for y in ("2024", "2025")), meta

    # An empty question is a message in the page, and the page goes on working.
    page.locator("#question textarea").fill("   ")
    page.locator("#send").click()
    expect(page.locator("#notice")).to_contain_text("the question is empty")
    page.close()


def test_page_loads_with_network_closed(url: str, browser: Any) -> None:
    """Every request the page makes, assets, fonts, plots included, goes to the app itself."""
    from playwright.sync_api import expect

    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    expect(page.locator("#status")).to_contain_text("papers indexed", timeout=30_000)
    for tab in ("Map", "Papers per year", "Settings", "Papers"):
        page.get_by_role("tab", name=tab, exact=True).click()
        page.wait_for_timeout(500)
    # Selecting a paper in the browser makes it the question.
    page.locator("#papers").get_by_text("InternVL3: Exploring", exact=False).first.click()
    expect(page.locator("#question textarea")).to_have_value(
        re.compile(r'^What does the paper "InternVL3')
    )
    page.close()
    outside = [u for u in requests if urlsplit(u).scheme not in ("data", "blob")]
    outside = [u for u in outside if urlsplit(u).hostname != "127.0.0.1"]
    assert len(requests) > 10
    assert outside == []


def test_browser_upload_box_adds_papers_picks_collections_and_exports(
    make_index: Any, browser: Any, tmp_path: Path
) -> None:
    """A reading list added in the page: counts and the rejected entry's line, the new papers
    in the browser, a new collection picked and left, the listed papers exported as RIS."""
    import json

    import rispy
    from playwright.sync_api import expect
    from test_references import ZOTERO_BIB, ZOTERO_CSL

    from assistant.retrieval import Searcher
    from assistant.web import build_app, launch_options

    index = make_index(collections_dir=tmp_path / "collections")
    store = index.store()
    store.ingest()
    demo = build_app(index.settings(), searcher=Searcher(store), backend="extractive")
    demo.launch(**launch_options("127.0.0.1", free_port()), prevent_thread_lock=True, quiet=True)
    bib = tmp_path / "zotero.bib"
    bib.write_text(ZOTERO_BIB, encoding="utf-8")
    csl = tmp_path / "night.json"
    csl.write_text(json.dumps(ZOTERO_CSL), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(str(demo.local_url))
        status = page.locator("#status")
        expect(status).to_contain_text(f"{SMALL_SEED_PAPERS} papers indexed", timeout=30_000)

        page.get_by_role("tab", name="Add papers").click()
        page.locator("#upload input[type=file]").set_input_files(str(bib))
        expect(page.locator("#upload")).to_contain_text("zotero.bib", timeout=30_000)
        page.locator("#add-papers").click()
        added = page.locator("#added")
        expect(added).to_contain_text("added 2 papers", timeout=120_000)
        expect(added).to_contain_text("1 rejected")
        expect(added).to_contain_text("zotero.bib:16")
        expect(status).to_contain_text(f"{SMALL_SEED_PAPERS + 2} papers indexed")
        assert (index.seeds / "zotero.bib").is_file()

        page.get_by_role("tab", name="Papers", exact=True).click()
        table = page.locator("#papers")
        expect(table).to_contain_text("Sparse DETR Queries for Fast Detection", timeout=30_000)
        page.get_by_label("RIS").check()
        page.locator("#export").click()
        link = page.locator("#export-file a").first
        expect(link).to_be_visible(timeout=30_000)
        with page.expect_download() as download:
            link.click()
        records = rispy.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert len(records) == SMALL_SEED_PAPERS + 2
        assert "Sparse DETR Queries for Fast Detection" in {r["title"] for r in records}

        # Into a new collection: the picker moves to it and only its paper is listed.
        page.get_by_role("tab", name="Add papers").click()
        page.locator("#upload button[aria-label='Clear']").first.click()
        page.locator("#upload input[type=file]").set_input_files(str(csl))
        expect(page.locator("#upload")).to_contain_text("night.json", timeout=30_000)
        page.locator("#new-collection textarea").fill("reading")
        page.locator("#add-papers").click()
        expect(added).to_contain_text("reading: added 1 papers", timeout=120_000)
        assert (tmp_path / "collections" / "reading" / "night.json").is_file()
        expect(added).to_contain_text("night.json:")  # the record without a title
        expect(page.locator("#collection input")).to_have_value("reading")
        expect(status).to_contain_text("1 papers indexed", timeout=30_000)
        page.get_by_role("tab", name="Papers", exact=True).click()
        expect(table).to_contain_text("Self-Training for Night-Time Segmentation")
        expect(table).not_to_contain_text("Sparse DETR Queries")

        # Back to the first collection.
        page.locator("#collection input").click()
        page.get_by_role("option", name="papers").click()
        expect(status).to_contain_text(f"{SMALL_SEED_PAPERS + 2} papers indexed", timeout=30_000)
        expect(table).to_contain_text("Sparse DETR Queries", timeout=30_000)
    finally:
        page.close()
        demo.close()


# --- through gradio_client -----------------------------------------------------------------
def test_eight_sessions_at_once_keep_their_own_chats(url: str) -> None:
    results: dict[str, Any] = {}

    def converse(key: str, question: str) -> None:
        try:
            session = client(url)
            first = ask(session, question)
            results[key] = (first, ask(session, FOLLOW_UP))
        except Exception as e:  # reported below, with the session it happened in
            results[key] = e

    threads = [threading.Thread(target=converse, args=item) for item in SESSIONS.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for key, question in SESSIONS.items():
        result = results[key]
        assert not isinstance(result, Exception), f"{key}: {result!r}"
        first, second = result
        assert first_source_title(first["sources"]).startswith(key), first["sources"][:300]
        # The follow-up names no paper: only this session's memory can point it at `key`.
        assert first_source_title(second["sources"]).startswith(key), second["notice"]
        chat = texts(second["chat"])
        assert chat[0] == question and chat[2] == FOLLOW_UP and len(chat) == 4


def test_answer_streams_then_search_errors_and_a_dead_endpoint(url: str, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every thread: the key must not appear
    session = client(url)
    job = session.submit(
        "What does Teach-DETR propose?", "Answer", *NO_FILTERS, api_name="/respond"
    )
    final = job.result(timeout=300)
    updates = [texts(out[0])[-1] for out in job.outputs() if isinstance(out[0], list) and out[0]]
    assert len(updates) >= 3 and updates[0] == "…"  # placeholder, pieces, final
    assert "[1]" in final[0][-1]["content"][0]["text"]
    assert 'href="#src-1"' in final[0][-1]["content"][0]["text"]

    found = ask(session, "knowledge distillation for vision transformers", action="Search")
    assert "Search results: 8 papers" in found["notice"]
    assert found["sources"].count('class="source"') == 8
    assert found["bib"] and Path(found["bib"]).read_text().count("@misc{") == 8

    for bad, message in [
        ("", "the question is empty"),
        (" \t\x00\x07 ", "the question is empty"),
        ("why? " * 20_000, "characters long"),  # 100 kB
    ]:
        result = ask(session, bad)
        assert message in result["notice"], result["notice"]
    for odd in ["what\x1b[31m does Teach-DETR\x07 propose?", "Teach-DETR 提出了什么方法？"]:
        result = ask(session, odd)
        assert first_source_title(result["sources"]).startswith("Teach-DETR"), result["notice"]
    narrowed = ask(session, "detection", filters=("", "20x4", "", "", False, ""))
    assert "year from must be a year" in narrowed["notice"]

    # An endpoint that refuses: the answer still comes, from the evidence, with a visible note;
    # the key never comes back.
    key = "sk-test-do-not-echo-3141"
    note, key_box = session.predict(
        "openai", f"http://127.0.0.1:{free_port()}/v1", "some-model", key, api_name="/apply_backend"
    )
    assert "endpoint http://127.0.0.1" in note and key_box == "" and key not in note
    result = ask(session, "What does Teach-DETR propose?")
    assert first_source_title(result["sources"]).startswith("Teach-DETR")
    assert "refused the connection" in result["notice"], result["notice"]
    assert "Written by: **openai**" in result["notice"]
    assert key not in repr(result) and key not in caplog.text
    assert "HTTP Request" in caplog.text or "Request options" in caplog.text  # libraries logged
    for download in (result["md"], result["bib"]):
        assert key not in Path(download).read_text()


def test_first_start_builds_the_index_in_the_background(make_index: Any) -> None:
    from assistant.web import Library, Page

    small = make_index()
    library = Library(small.settings(), None, "extractive")
    page = Page(library)
    _chat, _sources, notice, *_ = next(
        page.respond("What is InternVL3?", "Answer", *NO_FILTERS, None)
    )
    assert "not ready yet" in notice
    seen = set()
    deadline = time.monotonic() + 300
    while not library.ready and library.phase != "failed" and time.monotonic() < deadline:
        seen.add(library.status())
        time.sleep(0.02)
    assert library.ready, library.status()
    assert any("<progress" in s for s in seen)
    assert library.done == library.total > 0
    assert f"{SMALL_SEED_PAPERS} papers indexed" in library.status()
    *_, final = page.respond("What is InternVL3?", "Answer", *NO_FILTERS, None)
    assert "InternVL3" in final[1]


# --- pieces --------------------------------------------------------------------------------
def test_map_themes_and_year_chart_follow_the_data(searcher: Any) -> None:
    from assistant.answer import Answer
    from assistant.citations import Citation
    from assistant.retrieval import Filters
    from assistant.web.render import IN_ANSWER, THEMES, marked_map, paper_map, papers_per_year

    base = paper_map(searcher)
    assert len(base) == len(searcher.papers) and base["id"].is_unique
    assert base["theme"].nunique() == THEMES and base["x"].std() > 0 and base["y"].std() > 0
    paper = next(p for p in searcher.papers.values() if p.title.startswith("Teach-DETR"))
    answer = Answer("q", "text [1].", [Citation(1, paper, [])], False, "extractive")
    marked = marked_map(base, answer).value["data"]
    assert [row[3] for row in marked if row[2] == IN_ANSWER] == [paper.title]

    years = papers_per_year(searcher, Filters(year_from=2022))
    expected = sum(1 for p in searcher.papers.values() if p.year and p.year >= 2022)
    assert years["papers"].sum() == expected and "n.d." not in set(years["year"])


def test_a_registered_action_appears_in_the_page(searcher: Any) -> None:
    from assistant.chat import ACTIONS
    from assistant.web import build_app

    def echo(req: Any) -> Iterator[Any]:
        yield req.text

    demo = build_app(searcher=searcher, backend="extractive", actions={**ACTIONS, "Echo": echo})
    radios = [c for c in demo.config["components"] if c.get("props", {}).get("label") == "Action"]
    assert [choice[0] for choice in radios[0]["props"]["choices"]] == [
        "Answer",
        "Search",
        "Summarize",
        "Compare",
        "Related work",
        "Related-work outline",
        "Review outline",
        "Echo",
    ]
    assert "Echo" not in ACTIONS  # the registry every other page uses is left as it was


@pytest.mark.parametrize("command", [["ui.py"], ["-m", "assistant", "ui"]])
def test_public_address_without_credentials_refuses_to_start(
    command: list[str], tmp_path: Path
) -> None:
    env = cli_env(tmp_path, tmp_path)
    env.pop("ASSISTANT_UI_AUTH", None)
    proc = subprocess.run(
        [sys.executable, *command, "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: refusing to serve on 0.0.0.0 without credentials: set "
        "ASSISTANT_UI_AUTH=user:password or serve on 127.0.0.1"
    ]


def test_address_rules() -> None:
    from assistant.errors import AssistantError
    from assistant.web import check_address, parse_auth

    check_address("127.0.0.1", 7860, None)
    check_address("localhost", 7860, None)
    check_address("0.0.0.0", 7860, ("user", "secret"))
    assert parse_auth("user:pa:ss") == ("user", "pa:ss")
    for bad in ("user", ":secret", "user:"):
        with pytest.raises(AssistantError, match="user:password"):
            parse_auth(bad)
    with pytest.raises(AssistantError, match="without credentials"):
        check_address("192.168.1.5", 7860, None)


def test_writing_actions_from_the_page(url: str) -> None:
    import bibtexparser

    session = client(url)
    summary = ask(session, "Teach-DETR", action="Summarize")
    assert "**Method.**" in texts(summary["chat"])[-1]
    assert first_source_title(summary["sources"]).startswith("Teach-DETR")
    compared = ask(session, "Co-DETR and Teach-DETR", action="Compare")
    assert compared["sources"].count('class="source"') == 2
    drafted = ask(session, "knowledge distillation", action="Related work")
    text = texts(drafted["chat"])[-1]
    assert "[1]" in text and drafted["bib"]
    entries = bibtexparser.loads(Path(drafted["bib"]).read_text()).entries
    assert len(entries) == drafted["sources"].count('class="source"')
    assert "\\cite{" in Path(drafted["tex"]).read_text()
    # A follow-up on the draft, through the Answer action as in the terminal's chat.
    dropped = ask(session, "drop [1]")
    assert "dropped [1]" in dropped["notice"]
    assert dropped["sources"].count('class="source"') == len(entries) - 1
    assert first_source_title(dropped["sources"]) != first_source_title(drafted["sources"])
    outline = ask(session, "neural architecture search", action="Review outline")
    assert "Scope:" in texts(outline["chat"])[-1]
    missing = ask(session, "A Paper That Does Not Exist Anywhere", action="Summarize")
    assert "did you mean" in missing["notice"]
