"""The ``assistant`` command in real subprocesses: ingest, search (single and batch), eval, errors."""

from __future__ import annotations

import json

import pytest
from conftest import SMALL_SEED_PAPERS

INTERNVL3 = (
    "InternVL3: Exploring Advanced Training and Test-Time Recipes for Open-Source Multimodal Models"
)
RESULT_KEYS = {"id", "title", "authors", "year", "date", "source", "score", "snippet"}


def json_lines(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    assert all(line.strip() for line in lines), stdout
    return [json.loads(line) for line in lines]


def assert_one_line_error(rc: int, stderr: str, *fragments: str) -> str:
    assert rc == 1, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for f in fragments:
        assert f in lines[0], stderr
    return lines[0]


def test_ingest_json(run_cli, default_report):
    rc, out, err = run_cli("ingest", "--json")
    assert rc == 0, err
    (report,) = json_lines(out)
    assert {"entries", "papers", "merged", "chunks", "skipped", "seconds"} <= set(report)
    assert (report["entries"], report["papers"], report["merged"]) == (330, 310, 20)
    assert report["chunks"] == default_report.chunks
    assert report["skipped"] == []
    assert report["reused"] is True  # the session already built it
    assert isinstance(report["seconds"], float | int) and report["seconds"] >= 0


def test_search_json(run_cli):
    rc, out, err = run_cli("search", "InternVL3", "--json", "-k", "3")
    assert rc == 0, err
    (line,) = json_lines(out)
    assert set(line) == {"query", "results"}
    assert line["query"] == "InternVL3"
    assert len(line["results"]) == 3
    for r in line["results"]:
        assert set(r) == RESULT_KEYS
        assert isinstance(r["authors"], list) and isinstance(r["score"], float)
        assert r["snippet"] and r["source"].split(":")[0].endswith(".txt")
    assert line["results"][0]["title"] == INTERNVL3
    assert len({r["id"] for r in line["results"]}) == 3


def test_search_text_output(run_cli):
    rc, out, err = run_cli("search", "DETR training with teachers", "-k", "2")
    assert rc == 0, err
    assert out.splitlines()[0] == " 1. Teach-DETR: Better Training DETR with Teachers"
    assert " 2. " in out and " 3. " not in out


def test_batch_search_from_stdin(run_cli):
    queries = ["InternVL3", "the Kimi paper on residual connections", "DETR training with teachers"]
    rc, out, err = run_cli(
        "search", "--json", "-k", "2", input="\n".join([queries[0], "", *queries[1:]]) + "\n"
    )
    assert rc == 0, err
    lines = json_lines(out)
    assert [line["query"] for line in lines] == queries  # blank lines skipped, order kept
    assert [line["results"][0]["title"] for line in lines] == [
        INTERNVL3,
        "Attention Residuals",
        "Teach-DETR: Better Training DETR with Teachers",
    ]
    assert all(len(line["results"]) == 2 for line in lines)


def test_author_and_year_options(run_cli):
    queries = "object detection\nface recognition\n"
    rc, out, err = run_cli("search", "--json", "-k", "5", "--author", "guanglu SONG", input=queries)
    assert rc == 0, err
    for line in json_lines(out):
        assert len(line["results"]) == 5
        for r in line["results"]:
            assert any("guanglu song" in a.lower() for a in r["authors"]), r

    rc, out, err = run_cli(
        "search",
        "vision transformers",
        "--json",
        "-k",
        "5",
        "--year-from",
        "2022",
        "--year-to",
        "2023",
    )
    assert rc == 0, err
    (line,) = json_lines(out)
    assert len(line["results"]) == 5
    assert all(r["year"] is not None and 2022 <= r["year"] <= 2023 for r in line["results"])


def test_category_option_never_shows_other_categories(run_cli):
    rc, out, err = run_cli("search", "language models", "--json", "--category", "CL")
    assert rc == 0, err
    (line,) = json_lines(out)
    assert line["results"]
    assert [r["title"] for r in line["results"] if r["title"] not in CL_TITLES] == []


CL_TITLES = {
    "Kimi K2.5: Visual Agentic Intelligence",
    "Attention Residuals",
    "Enhancing the Reasoning Ability of Multimodal Large Language Models via Mixed "
    "Preference Optimization",
}


def test_missing_seeds_folder_is_a_one_line_error(run_cli, tmp_path):
    rc, out, err = run_cli(
        "search", "anything", "--json", seeds=tmp_path / "no-such-seeds", storage=tmp_path / "st"
    )
    assert_one_line_error(rc, err, "seeds folder", "not found")
    assert out == ""


def test_invalid_setting_value_is_a_one_line_error(run_cli):
    rc, out, err = run_cli("search", "anything", env={"ASSISTANT_CHROMA_PORT": "abc"})
    assert_one_line_error(rc, err, "ASSISTANT_CHROMA_PORT")


def test_negative_k_is_refused(run_cli):
    rc, out, err = run_cli("search", "vision transformers", "--json", "-k", "-1")
    assert rc != 0
    assert "Traceback" not in err


def test_unreachable_chroma_server_is_a_one_line_error(run_cli, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, out, err = run_cli(
        "--chroma-host",
        "127.0.0.1",
        "--chroma-port",
        str(port),
        "search",
        "x",
        "--json",
        storage=tmp_path / "st",
    )
    assert_one_line_error(rc, err, "unreachable", f"127.0.0.1:{port}")


def test_ingest_reports_skipped_files_and_rebuilds(run_cli, make_index):
    idx = make_index(files={"011_empty.txt": ""})
    rc, out, err = run_cli("ingest", "--json", storage=idx.storage, seeds=idx.seeds)
    assert rc == 0, err
    (first,) = json_lines(out)
    assert first["papers"] == SMALL_SEED_PAPERS and first["reused"] is False
    assert [(p["file"], p["line"]) for p in first["skipped"]] == [("011_empty.txt", 0)]
    assert "skipped 011_empty.txt:0: the file is empty" in err
    assert "Traceback" not in err

    rc, out, err = run_cli("ingest", "--rebuild", "--json", storage=idx.storage, seeds=idx.seeds)
    assert rc == 0, err
    (second,) = json_lines(out)
    assert second["reused"] is False
    assert second["added"] == SMALL_SEED_PAPERS
    assert second["collection"] != first["collection"]


def _retrieval_only() -> list[str]:
    """``--sections retrieval`` where ``eval`` has sections (answers need the LLM: minutes)."""
    from assistant.cli import build_parser

    try:
        build_parser().parse_args(["eval", "--sections", "retrieval"])
    except SystemExit:
        return []
    return ["--sections", "retrieval"]


SETS = ("known_item", "topical", "own_words", "own_words_topical")


@pytest.mark.slow
def test_eval_json(run_cli, tmp_path):
    # The first 8 queries of each bundled set keep this to seconds; `assistant eval` on the
    # full sets is what test_retrieval's own-words check measures in process.
    from assistant.evaluation import DEV_DATA

    data = tmp_path / "dev"
    data.mkdir()
    for name in SETS:
        rows = (DEV_DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:8]
        (data / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # No --sections: a folder with only retrieval sets (like data/holdout) runs only those.
    rc, out, err = run_cli("eval", "--json", "--data", str(data))
    assert rc == 0, err
    (report,) = json_lines(out)
    assert set(report) == {"retrieval"}
    sets = report["retrieval"]
    assert set(sets) == set(SETS)
    for by_mode in sets.values():
        assert by_mode["queries"] == 8
        assert set(by_mode["modes"]) == {"bm25", "dense", "hybrid"}
        for metrics in by_mode["modes"].values():
            assert {"R@5", "R@10", "MRR", "nDCG@10"} <= set(metrics)
            assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert "R@1" in sets["known_item"]["modes"]["hybrid"]
    # Sanity floor, far below what the index reaches: known items are found.
    assert sets["known_item"]["modes"]["hybrid"]["R@10"] >= 0.9


def test_eval_with_a_missing_set_is_a_one_line_error(run_cli, tmp_path):
    rc, out, err = run_cli("eval", "--json", "--data", str(tmp_path), *_retrieval_only())
    assert_one_line_error(rc, err, "known_item.jsonl", "not found")
    rc, out, err = run_cli("eval", "--json", "--data", str(tmp_path))
    assert_one_line_error(rc, err, str(tmp_path), "no evaluation sets")


def test_chat_drafts_related_work_outline_first_and_follows_up(run_cli):
    """The terminal chat: a related-work request streams its outline, the draft's markers all
    resolve to the references printed under it, and a follow-up merges two themes."""
    import re

    rc, out, err = run_cli(
        "chat",
        input="Draft a related-work paragraph on semi-supervised learning with pseudo-labels\n"
        "merge the first two themes\n\n",
        timeout=600,  # three model servers start, then a draft of a dozen papers is written
    )
    assert rc == 0, err
    first, second = out.split("> ")[1:3]
    assert "Outline for 'semi-supervised learning with pseudo-labels'" in first
    references = set(map(int, re.findall(r"^\[(\d+)\] ", first, re.M)))
    body = first.split("\n\n", 1)[1]
    assert references and set(map(int, re.findall(r"\[(\d+)\]", body))) <= references
    assert re.search(r"^\[1\] ", second, re.M)  # the merged draft is printed with its references
