"""The ``assistant`` command: parse arguments, call the package, print, return an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.text import year_label

Command = Callable[[argparse.Namespace, Settings], int]


def _offline_environment() -> None:
    """Stop the libraries we load from reaching for the network (see OFFLINE-STACK notes)."""
    for key, value in {
        "ORT_DISABLE_TELEMETRY": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(key, value)


def _settings(args: argparse.Namespace) -> Settings:
    given = {
        "seeds_dir": args.seeds,
        "collection": args.collection,
        "storage_dir": args.storage,
        "chroma_host": args.chroma_host,
        "chroma_port": args.chroma_port,
        "llm_backend": args.backend,
    }
    return Settings(**{k: v for k, v in given.items() if v is not None})


def _progress(label: str) -> Callable[[int, int], None] | None:
    """A tqdm bar of texts embedded (chunks, then sentences) on stderr; None (silent) when
    stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: tqdm[Any] | None = None

    def show(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:  # a new bar per run: startup may ingest twice (update, then rebuild)
            bar = tqdm(total=total, desc=label, unit="text", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            bar = None

    return show


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.index import Store

    store = Store(settings)
    report = store.ingest(rebuild=args.rebuild, progress=_progress("embedding"))
    for p in report.skipped:
        print(f"skipped {p['file']}:{p['line']}: {p['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(vars(report)))
    else:
        what = (
            "index up to date" if report.reused else f"indexed {report.added} new or changed papers"
        )
        print(
            f"{what}: {report.entries} entries -> {report.papers} papers ({report.merged} merged), "
            f"{report.chunks} chunks, {len(report.skipped)} skipped, {report.seconds:.1f} s"
        )
    return 0


def _add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--author", help="author name contains this (case-insensitive)")
    p.add_argument("--year-from", type=int, help="earliest year")
    p.add_argument("--year-to", type=int, help="latest year")
    p.add_argument("--category", help="category code, e.g. CV")
    p.add_argument("--has-code", action="store_true", help="only papers with code")
    p.add_argument("--venue", help="journal or proceedings title contains this")


def _filters(args: argparse.Namespace) -> Any:
    """The filters of a command's --author, --year-from, --year-to, --category, --has-code,
    --venue."""
    from assistant.retrieval import Filters

    return Filters(
        author=args.author,
        year_from=args.year_from,
        year_to=args.year_to,
        category=args.category,
        has_code=True if args.has_code else None,
        venue=args.venue,
    )


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Copy reference files into the collection folder, then index what is new."""
    from assistant.imports import add_files

    report = add_files(settings, args.files, progress=_progress("embedding"))
    for problem in report.rejected:
        print(f"rejected {problem}", file=sys.stderr)
    for f in report.files:
        copied = f" (copied as {f.copied_as})" if f.copied_as != Path(f.name).name else ""
        print(f"{f.name}: {f.format}, {f.entries} entries{copied}")
    print(report.summary())
    return 0


def cmd_collections(args: argparse.Namespace, settings: Settings) -> int:
    """List the collections: the default one and every folder under collections_dir."""
    from assistant.corpus import collection_files, collection_names

    for name in collection_names(settings.collections_dir):
        folder = settings.model_copy(update={"collection": name}).collection_dir
        mark = "*" if name == settings.collection else " "
        print(f"{mark} {name}: {folder} ({len(collection_files(folder))} files)")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """The collection, or the part the filters keep, as BibTeX, RIS or CSL-JSON."""
    from assistant.corpus import load_collection
    from assistant.export import EXPORT_FORMATS

    filters = _filters(args)
    papers = [p for p in load_collection(settings.collection_dir).papers if filters.allows(p)]
    text = EXPORT_FORMATS[args.format](papers)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(papers)} papers to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def open_index(settings: Settings) -> Any:
    """Open the index for searching: built when missing, rebuilt with a message when damaged."""
    from assistant.index import Store
    from assistant.startup import open_searcher

    searcher, report = open_searcher(
        Store(settings), _progress("building the index"), lambda m: print(m, file=sys.stderr)
    )
    for p in report.skipped if report else []:
        print(f"skipped {p['file']}:{p['line']}: {p['reason']}", file=sys.stderr)
    return searcher


def _queries(first: str | None) -> Iterator[str]:
    if first is not None:
        yield first
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:

    searcher = open_index(settings)
    filters = _filters(args)
    for query in _queries(args.query):
        hits = searcher.search(query, k=args.k, filters=filters)
        if args.json:
            print(json.dumps({"query": query, "results": [h.to_json() for h in hits]}), flush=True)
            continue
        if not hits:
            print(f"no papers match: {query}")
        for n, h in enumerate(hits, 1):
            p = h.paper
            print(f"{n:>2}. {p.title}")
            print(f"    {p.author_line()} ({year_label(p)}) [{p.id}] {p.source}")
            print(f"    {h.snippet[:200]}{'...' if len(h.snippet) > 200 else ''}")
        print()
    return 0


def open_answerer(settings: Settings) -> Any:
    """The index plus the configured language model, ready to answer."""
    from assistant.answer import Answerer
    from assistant.llm import choose_model

    model, mode = choose_model(settings)
    return Answerer(open_index(settings), model, mode)


def _print_answer(answerer: Any, question: str, as_json: bool) -> None:
    from assistant.answer import Answer

    if as_json:
        print(json.dumps(answerer.ask(question).to_json()), flush=True)
        return
    final = None
    for piece in answerer.stream(question):
        if isinstance(piece, Answer):
            final = piece
        else:
            print(piece, end="", flush=True)
    print()
    if final and final.citations and final.citations[0].evidence and not final.refused:
        print()
        for c in final.citations:
            p = c.paper
            print(f"[{c.n}] {p.author_line()} ({year_label(p)}). {p.title}. {p.source}")
    if final and final.note:
        print(f"note: {final.note}", file=sys.stderr)
    print(f"(written by: {final.backend if final else '?'})", file=sys.stderr)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.errors import QuestionError

    answerer = open_answerer(settings)
    status = 0
    for question in _queries(args.question):
        try:
            _print_answer(answerer, question, args.json)
        except QuestionError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
    return status


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.answer import Answer
    from assistant.chat import ChatSession
    from assistant.errors import AssistantError

    session = ChatSession(open_answerer(settings))
    print("Ask about the papers, or ask for a summary, comparison, related work or review")
    print("outline; follow up a draft with 'shorter', 'more formal', 'drop [2]', 'add the 2024")
    print("papers', 'merge the first two themes', 'write it as LaTeX', 'show the outline' or")
    print("'another outline', or paste its outline back edited. Empty line quits.")
    while True:
        try:
            message = input("> ")
        except EOFError:
            break
        if not message.strip():
            break
        try:
            final, streamed = None, ""
            for piece in session.send(message):
                if isinstance(piece, str):
                    print(piece, end="", flush=True)
                    streamed += piece
                else:
                    final = piece
            if final is not None and final.text.strip() not in streamed:
                # A draft renumbered once written (its [n] in order of first citation).
                print(f"\n{final.text}", end="")
            print()
            if final is not None:
                _print_references(final.citations)
                if isinstance(final, Answer) and final.note:
                    print(f"note: {final.note}")
        except AssistantError as e:
            print(f"error: {e}")
        print()
    return 0


def _print_references(citations: list[Any]) -> None:
    for c in citations:
        p = c.paper
        who = f"{p.author_line()} " if p.authors else ""
        print(f"[{c.n}] {who}({year_label(p)}). {p.title}. {p.source}")


def _emit_draft(draft: Any, args: argparse.Namespace) -> None:
    from assistant.export import bibtex, to_latex, to_markdown

    if args.bibtex:
        Path(args.bibtex).write_text(bibtex(draft.papers), encoding="utf-8")
    if args.json:
        print(json.dumps(draft.to_json()), flush=True)
    elif args.format == "latex":
        print(to_latex(draft.text, draft.citations))
    else:
        print(to_markdown(draft.text, draft.citations))


def cmd_write(args: argparse.Namespace, settings: Settings) -> int:
    """summarize, compare, related-work, review: the chat's actions, one request each."""
    from assistant.chat import ChatSession

    filters = _filters(args) if args.command in ("related-work", "review") else None
    session = ChatSession(open_answerer(settings), filters)
    requests: Iterable[tuple[str, str]]
    if args.command == "summarize":
        requests = [(args.paper, "Summarize")]
    elif args.command == "compare":
        requests = [("; ".join(args.papers), "Compare")]  # ";": names may hold commas
    else:  # one topic per line of stdin, each written as it is read
        name = "Review outline" if args.command == "review" else "Related work"
        requests = ((topic, name) for topic in _queries(args.topic))
    for text, name in requests:
        *_, draft = session.send(text, name)
        _emit_draft(draft, args)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation import (
        DEV_DATA,
        run_answer_eval,
        run_request_eval,
        run_retrieval_eval,
        run_writing_eval,
    )

    folder = Path(args.data) if args.data else None
    sections = [s.strip() for s in args.sections.split(",")] if args.sections else None
    if sections is None:  # every section the folder has data for (held-out sets: retrieval)
        where = folder or DEV_DATA
        first = {
            "retrieval": "known_item",
            "writing": "topics",
            "answers": "questions",
            "requests": "writing",
        }
        sections = [s for s, name in first.items() if (where / f"{name}.jsonl").is_file()]
        if not sections:
            raise AssistantError(f"{where} holds no evaluation sets (*.jsonl)")
    report: dict[str, Any] = {}
    if "retrieval" in sections:
        report.update(run_retrieval_eval(open_index(settings), folder))
    if "writing" in sections:
        answerer = open_answerer(settings)
        drafts = Path(args.drafts) if args.drafts else None
        report["writing"] = run_writing_eval(answerer.searcher, folder, answerer, drafts)
    if "answers" in sections:
        report["answers"] = run_answer_eval(open_answerer(settings), folder)
    if "requests" in sections:
        report["requests"] = run_request_eval(open_answerer(settings), folder)
    print(json.dumps(report) if args.json else report_text(report))
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from assistant import models

    if args.requirements:
        print("\n".join(r for m in models.BUNDLED.values() for r in m.packages()))
        return 0
    for model in models.BUNDLED.values():
        if args.prepare:
            path = models.assemble(model, settings.model_cache_dir)
            print(f"{model.name}: {path} ({model.size:,} bytes, sha256 verified)")
        else:
            path = settings.model_cache_dir / model.filename
            print(f"{model.name}: {path if path.is_file() else 'not joined yet'}")
    return 0


def report_text(report: dict[str, Any]) -> str:
    """The evaluation report as an aligned table."""
    lines = []
    for set_name, by_mode in report.get("retrieval", {}).items():
        lines.append(f"{set_name} ({by_mode['queries']} queries)")
        for mode, m in by_mode["modes"].items():
            cells = "  ".join(f"{k} {v:.3f}" for k, v in m.items())
            lines.append(f"  {mode:<7} {cells}")
    if "writing" in report:
        lines.append(f"writing (related work on the topic set, {report['writing']['backend']})")
        lines += [f"  {k:<26} {v}" for k, v in report["writing"].items() if k != "backend"]
    for section in ("answers", "requests"):
        if section in report:
            lines.append(f"{section} ({report[section]['backend']} backend)")
            lines += [f"  {k:<26} {v}" for k, v in report[section].items() if k != "backend"]
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description=__doc__)
    parser.add_argument("--seeds", type=Path, help="seed listings folder (ASSISTANT_SEEDS_DIR)")
    parser.add_argument("--storage", type=Path, help="index folder (ASSISTANT_STORAGE_DIR)")
    parser.add_argument(
        "--collection",
        help="collection NAME: papers (default, the seeds) or one of your own, kept in "
        "collections/NAME (ASSISTANT_COLLECTION)",
    )
    parser.add_argument("--chroma-host", help="Chroma server host (ASSISTANT_CHROMA_HOST)")
    parser.add_argument(
        "--chroma-port", type=int, help="Chroma server port (ASSISTANT_CHROMA_PORT)"
    )
    parser.add_argument(
        "--backend", choices=["local", "openai"], help="LLM (ASSISTANT_LLM_BACKEND)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="build or update the index from the seed listings")
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("add", help="add BibTeX, RIS or CSL-JSON files to the collection")
    p.add_argument("files", nargs="+", type=Path, help="reference files (Zotero, Mendeley, ...)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("collections", help="the collections there are, with their folders")
    p.set_defaults(func=cmd_collections)

    p = sub.add_parser("export", help="the collection as BibTeX, RIS or CSL-JSON")
    p.add_argument("--format", choices=["bibtex", "ris", "csl-json"], default="bibtex")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    _add_filter_arguments(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("search", help="find papers (reads queries from stdin without QUERY)")
    p.add_argument("query", nargs="?", help="what to look for; omit to read one per line")
    p.add_argument("-k", type=_positive, default=10, help="number of papers (default 10)")
    _add_filter_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON line per query")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with citations (stdin: one per line)")
    p.add_argument("question", nargs="?", help="the question; omit to read one per line")
    p.add_argument("--json", action="store_true", help="one JSON line per question")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive chat in the terminal")
    p.set_defaults(func=cmd_chat)

    def writing_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=["markdown", "latex"], default="markdown")
        p.add_argument("--bibtex", metavar="FILE", help="write the cited papers' BibTeX here")
        p.add_argument("--json", action="store_true", help="one JSON line per draft")
        p.set_defaults(func=cmd_write)

    p = sub.add_parser("summarize", help="problem, method and result of one paper")
    p.add_argument("paper", help="title (fuzzy), method name or id")
    writing_options(p)
    p = sub.add_parser("compare", help="table and paragraph for 2 to 6 papers")
    p.add_argument("papers", nargs="+", help="titles, method names or ids")
    writing_options(p)
    p = sub.add_parser("related-work", help="related-work paragraphs (stdin: one topic per line)")
    p.add_argument("topic", nargs="?", help="the topic; omit to read one per line")
    writing_options(p)
    _add_filter_arguments(p)
    p = sub.add_parser("review", help="literature-review outline (stdin: one topic per line)")
    p.add_argument("topic", nargs="?", help="the topic; omit to read one per line")
    writing_options(p)
    _add_filter_arguments(p)

    p = sub.add_parser("eval", help="measure retrieval quality on the development queries")
    p.add_argument("--data", help="folder of *.jsonl query sets (default: bundled dev set)")
    p.add_argument(
        "--sections",
        default=None,
        help="comma-separated: retrieval, writing, answers, requests (default: those the folder "
        "has; requests: assistant/data/requests/dev)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--drafts", help="folder to write the related-work drafts to (Markdown)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("models", help="the bundled language models: where they are, join them")
    p.add_argument("--prepare", action="store_true", help="join and verify them now (once)")
    p.add_argument(
        "--requirements", action="store_true", help="print the pinned packages that carry them"
    )
    p.set_defaults(func=cmd_models)

    def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
        from assistant.web import serve

        return serve(settings, args.host, args.port)

    p = sub.add_parser("ui", help="serve the web page (default http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to listen on (ASSISTANT_UI_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (ASSISTANT_UI_PORT, default 7860)")
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant`` command; returns the exit code."""
    _offline_environment()
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValidationError as e:
        problems = "; ".join(
            f"{'ASSISTANT_' + str(err['loc'][0]).upper() if err['loc'] else 'setting'}: {err['msg']}"
            for err in e.errors()
        )
        print(f"error: invalid setting ({problems}); fix the variable or option", file=sys.stderr)
        return 1
    try:
        return int(args.func(args, settings))
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
