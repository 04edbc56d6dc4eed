"""Bringing your own papers: BibTeX, RIS and CSL-JSON files read, merged, indexed, exported back."""

from __future__ import annotations

import json

from conftest import SEEDS, run_assistant

from assistant.corpus import load_collection
from assistant.corpus.references import detect_reference, parse_bibtex, parse_csl_json, parse_ris
from assistant.evaluation import DEV_DATA, load_set
from assistant.export import EXPORT_FORMATS
from assistant.retrieval import Searcher

# Written the way Zotero and Better BibTeX export: LaTeX accents, protected capitals, a month
# macro, an entry without an abstract, and one broken entry between good ones.
ZOTERO_BIB = r"""
@string{cvpr = "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition"}

@inproceedings{muller_sparse_2023,
	title = {Sparse {DETR} Queries for {Fast} Detection},
	author = {M{\"u}ller, J{\"o}rg and Garc{\'\i}a, Ana and others},
	booktitle = cvpr,
	year = {2023},
	month = jun,
	doi = {10.1109/CVPR.2023.0001},
	url = {https://doi.org/10.1109/CVPR.2023.0001},
	keywords = {object detection, transformers},
	abstract = {We prune the object queries of a {DETR} detector to 30\% of their number and keep 99\% of its accuracy on {COCO}.},
}

@article{broken_2022,
	title = {An entry whose braces never close,
	author = {Nobody, Anne},

@misc{okafor_tokens_2024,
	title = {Token Merging Without Training},
	author = {Okafor, Maria},
	year = {2024},
	eprint = {2405.01234},
	archiveprefix = {arXiv},
}
"""

ZOTERO_RIS = """TY  - JOUR
TI  - Self-Training for Night-Time Segmentation
AU  - Lindqvist, Sara
AU  - Tanaka, Ken
PY  - 2021
DA  - 2021/03/04
T2  - International Journal of Computer Vision
AB  - We adapt a daytime segmentation network to night-time images by self-training on its own confident labels.
DO  - 10.1007/s11263-021-0042
KW  - domain adaptation
ER  -

TY  - JOUR
TI  - A record whose ER line is missing
AU  - Nobody, Anne
"""

ZOTERO_CSL = [
    {
        "id": "http://zotero.org/users/1/items/ABC",
        "type": "article-journal",
        "title": "Self-Training for Night-Time Segmentation",
        "author": [{"family": "Lindqvist", "given": "Sara"}, {"family": "Tanaka", "given": "Ken"}],
        "issued": {"date-parts": [[2021, 3]]},
        "DOI": "10.1007/S11263-021-0042",
        "URL": "https://example.org/night",
    },
    {"id": "no-title", "type": "article", "author": [{"literal": "Kimi Team"}]},
]


def test_a_zotero_bibtex_file_is_read_with_its_accents_and_a_bad_entry_reported():
    assert detect_reference(ZOTERO_BIB) == "bibtex"
    parsed = parse_bibtex("lib.bib", ZOTERO_BIB)
    sparse, tokens = parsed.entries
    assert sparse.title == "Sparse DETR Queries for Fast Detection"
    assert sparse.authors == ["Jörg Müller", "Ana García"] and sparse.more_authors
    assert (sparse.year, sparse.date) == (2023, "Jun 2023")
    assert sparse.venue.startswith("Proceedings of the IEEE/CVF")  # the @string macro applied
    assert sparse.doi == "10.1109/cvpr.2023.0001"
    assert sparse.keywords == ["object detection", "transformers"]
    assert "30% of their number" in sparse.abstract and "{" not in sparse.abstract
    assert (sparse.source.file, sparse.source.line) == ("lib.bib", 4)
    assert tokens.abstract == "" and tokens.arxiv_id == "2405.01234"
    (problem,) = parsed.problems
    assert (problem.file, problem.line) == ("lib.bib", 16)
    assert "malformed" in problem.reason


def test_ris_and_csl_json_records_are_read_and_bad_ones_named_by_line():
    assert detect_reference(ZOTERO_RIS) == "ris"
    ris = parse_ris("lib.ris", ZOTERO_RIS)
    (night,) = ris.entries
    assert night.authors == ["Sara Lindqvist", "Ken Tanaka"]
    assert (night.date, night.venue) == ("Mar 4, 2021", "International Journal of Computer Vision")
    assert [(p.line, p.reason) for p in ris.problems] == [(13, "RIS record has no ER line")]
    text = json.dumps(ZOTERO_CSL, indent=2)
    assert detect_reference(text) == "csl-json"
    csl = parse_csl_json("lib.json", text)
    (item,) = csl.entries
    assert (item.year, item.date, item.doi) == (2021, "Mar 2021", "10.1007/s11263-021-0042")
    (problem,) = csl.problems
    assert problem.reason == "the record has no title" and problem.line > 1


def test_the_same_paper_from_two_managers_is_one_paper_with_the_abstract_kept(tmp_path):
    (tmp_path / "a.ris").write_text(ZOTERO_RIS)
    (tmp_path / "b.json").write_text(json.dumps(ZOTERO_CSL))
    (tmp_path / "c.bib").write_text(ZOTERO_BIB)
    collection = load_collection(tmp_path)
    titles = [p.title for p in collection.papers]
    assert titles.count("Self-Training for Night-Time Segmentation") == 1  # merged by DOI
    night = next(p for p in collection.papers if p.title.startswith("Self-Training"))
    assert night.abstract.startswith("We adapt") and night.url == "https://example.org/night"
    assert {s.file for s in night.sources} == {"a.ris", "b.json"}
    assert {p.file for p in collection.problems} == {"a.ris", "b.json", "c.bib"}
    tokens = next(p for p in collection.papers if p.title.startswith("Token Merging"))
    assert not tokens.has_abstract


def test_a_file_of_unknown_format_is_refused_with_the_formats_read(tmp_path):
    (tmp_path / "notes.md").write_text("# my reading notes\n\nnothing to import here\n")
    (problem,) = load_collection(tmp_path).problems
    assert problem.file == "notes.md" and "format not recognised" in problem.reason
    assert all(f in problem.reason for f in ("BibTeX", "RIS", "CSL-JSON"))


def test_the_default_collection_survives_a_round_trip_through_every_format(
    tmp_path, make_index, searcher
):
    seed = load_collection(SEEDS)

    def facts(papers):
        return {p.id: (p.title, p.authors, p.more_authors, p.year, p.abstract) for p in papers}

    queries = [
        row["query"] for name in ("known_item", "topical") for row in load_set(DEV_DATA, name)
    ]
    want = {q: [h.paper.id for h in searcher.search(q, k=5)] for q in queries}
    for fmt, suffix in (("bibtex", "bib"), ("ris", "ris"), ("csl-json", "json")):
        index = make_index(real=())
        index.write(f"library.{suffix}", EXPORT_FORMATS[fmt](seed.papers))
        store = index.store()
        report = store.ingest()
        assert (report.papers, report.skipped) == (len(seed.papers), []), fmt
        assert facts(store.catalog().papers.values()) == facts(seed.papers), fmt
        imported = Searcher(store)
        got = {q: [h.paper.id for h in imported.search(q, k=5)] for q in queries}
        assert got == want, fmt


def test_assistant_add_imports_only_what_is_new_and_export_writes_it_back(tmp_path, make_index):
    index = make_index()
    before = len(load_collection(index.seeds).papers)
    library = tmp_path / "zotero.bib"
    library.write_text(ZOTERO_BIB)
    rc, out, err = run_assistant("add", str(library), storage=index.storage, seeds=index.seeds)
    assert rc == 0, err
    assert "added 2 papers" in out and "1 rejected" in out
    assert "rejected" in err and "zotero.bib:16" in err
    assert len(load_collection(index.seeds).papers) == before + 2
    rc, out, err = run_assistant(
        "export", "--format", "ris", "--year-from", "2023", storage=index.storage, seeds=index.seeds
    )
    assert rc == 0, err
    assert "TI  - Sparse DETR Queries for Fast Detection" in out
    assert "DO  - 10.1109/cvpr.2023.0001" in out
    rc, out, err = run_assistant(
        "export", "--venue", "ieee/cvf", storage=index.storage, seeds=index.seeds
    )  # the venue filter: only the proceedings paper, not the arXiv one or the seeds
    assert rc == 0, err
    assert out.count("@") == 1 and "Sparse DETR Queries for Fast Detection" in out
    notes = tmp_path / "notes.md"
    notes.write_text("just my notes\n")
    rc, _, err = run_assistant("add", str(notes), storage=index.storage, seeds=index.seeds)
    assert rc == 1 and "format not recognised" in err and "BibTeX" in err
    assert not (index.seeds / "notes.md").exists()


def test_a_named_collection_has_its_own_folder_and_index(tmp_path, make_index):
    import subprocess
    import sys

    from conftest import REPO, cli_env

    index = make_index()
    default_papers = len(load_collection(index.seeds).papers)
    library = tmp_path / "zotero.bib"
    library.write_text(ZOTERO_BIB)
    env = cli_env(index.storage, index.seeds, {"ASSISTANT_COLLECTIONS_DIR": str(tmp_path / "c")})

    def assistant(*args: str) -> tuple[int, str, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "assistant", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return proc.returncode, proc.stdout, proc.stderr

    rc, out, err = assistant("--collection", "reading", "add", str(library))
    assert rc == 0, err
    assert "added 2 papers" in out and "the collection has 2 papers" in out
    assert (tmp_path / "c" / "reading" / "zotero.bib").is_file()
    assert (index.storage / "collections" / "reading" / "manifest.json").is_file()
    rc, out, err = assistant("--collection", "reading", "search", "pruning DETR queries", "--json")
    assert rc == 0, err
    titles = [r["title"] for r in json.loads(out)["results"]]
    assert titles[0] == "Sparse DETR Queries for Fast Detection" and len(titles) <= 2
    # The default collection did not change, and both are listed.
    assert len(load_collection(index.seeds).papers) == default_papers
    rc, out, err = assistant("collections")
    assert rc == 0, err
    assert "* papers:" in out and "reading:" in out and "(1 files)" in out
    rc, _, err = assistant("--collection", "no/such", "search", "x")
    assert rc == 1 and "ASSISTANT_COLLECTION" in err
