"""The headless command line: the same core and database as the app.

Results go to stdout (plain, or one JSON document with --json); progress and
messages go to stderr, with a progress bar only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from photoclip import __version__
from photoclip.core import paths
from photoclip.core.db import Library, display_path
from photoclip.core.errors import ModelUnavailable, PhotoclipError

log = logging.getLogger("photoclip")


class Context:
    """What a command needs, opened lazily: commands that need no model never import torch."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._library: Library | None = None
        self._embedder = None

    @property
    def db_path(self) -> Path:
        return Path(self.args.db) if self.args.db else paths.default_db_path()

    def library(self) -> Library:
        if self._library is None:
            self._library = Library(self.db_path)
        return self._library

    def model_choice(self):
        from photoclip.core.model import ModelChoice
        from photoclip.core.settings import Settings

        base = Settings.load().model_choice()
        return ModelChoice(
            name=self.args.model or base.name,
            weights=self.args.weights or base.weights,
            device=self.args.device or base.device,
            precision=base.precision,
        )

    def embedder(self):
        """The loaded model; raises ModelUnavailable with advice when it cannot be had."""
        if self._embedder is None:
            from photoclip.core.model import OpenClipEmbedder

            self._embedder = OpenClipEmbedder(self.model_choice(), progress=_download_bar()).load()
        return self._embedder

    def out(self, text: str = "") -> None:
        print(text, file=sys.stdout)

    def err(self, text: str) -> None:
        print(text, file=sys.stderr)

    def json(self, document: object) -> None:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")

    def close(self) -> None:
        if self._library is not None:
            self._library.close()


def _download_bar() -> Callable[[int, int | None, str], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def update(done: int, total: int | None, what: str) -> None:
        if what not in bar:
            bar[what] = tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {what}", file=sys.stderr)
        b = bar[what]
        b.update(done - b.n)
        if total and done >= total:
            b.close()

    return update


def _progress_bar(total: int, desc: str):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="photo", file=sys.stderr, dynamic_ncols=True)


# -- commands -----------------------------------------------------------------


def cmd_add_folder(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library()
    for folder in args.folders:
        lib.add_folder(folder)
        ctx.err(f"Added {display_path(os.path.abspath(folder))}. Run `photoclip index` to scan it.")
    return 0


def cmd_remove_folder(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.library().remove_folder(args.folder)
    ctx.err(f"Removed the folder from the library ({removed} photos forgotten; no files were touched).")
    return 0


def cmd_index(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.ingest.pipeline import index_library

    lib = ctx.library()
    if not lib.folder_paths():
        raise PhotoclipError("The library has no folders yet: add one with `photoclip add-folder DIR`.")
    embedder, model_problem = None, None
    if not args.catalogue_only:
        try:
            embedder = ctx.embedder()
        except ModelUnavailable as exc:
            model_problem = str(exc)
            ctx.err(f"photoclip: {exc}\nCataloguing files and metadata only; embedding waits for a model.")
    from photoclip.app.sync import new_pass_finisher, new_photo_tagger
    from photoclip.cli.tags import report_sidecars, sidecar_report, write_xmp_enabled

    write_xmp = write_xmp_enabled()
    sidecars: list[str] = []
    sidecar_problems: list[tuple[str, str]] = []
    after_commit = new_photo_tagger(lib, embedder, write_xmp=write_xmp, sidecars=sidecars, problems=sidecar_problems)
    after_pass = new_pass_finisher(lib, embedder, write_xmp=write_xmp, sidecars=sidecars, problems=sidecar_problems)
    thumbs = None if args.no_thumbnails else paths.thumbnail_dir()
    events = index_library(
        lib,
        embedder,
        batch_size=args.batch_size,
        workers=args.workers,
        thumbnails=thumbs,
        after_commit=after_commit,
        after_pass=after_pass,
        commit_every=args.commit_every,
    )
    bar = None
    final = None
    for event in events:
        final = event
        if event.phase == "index" and bar is None:
            bar = _progress_bar(event.total, "Indexing")
        if bar is not None:
            bar.n = event.done
            bar.set_postfix(embedded=event.embedded, skipped=event.skipped, refresh=False)
            bar.refresh()
    if bar is not None:
        bar.close()
    assert final is not None
    summary = {
        "seen": final.seen,
        "new": final.scan.new if final.scan else 0,
        "moved": final.scan.moved if final.scan else 0,
        "changed": final.scan.changed if final.scan else 0,
        "missing": final.scan.missing if final.scan else 0,
        "embedded": final.embedded,
        "catalogued": final.catalogued,
        "skipped": final.skipped,
        "problems": [{"path": display_path(p), "reason": r} for p, r in (final.scan.problems if final.scan else [])],
        "model": embedder.model_id if embedder else None,
        **sidecar_report(sidecars, sidecar_problems),
    }
    if args.json:
        ctx.json(summary)
    else:
        ctx.out(
            f"Seen {summary['seen']} files: {summary['new']} new, {summary['moved']} moved, "
            f"{summary['changed']} changed, {summary['missing']} missing. "
            f"Embedded {summary['embedded']}, catalogued {summary['catalogued']}, skipped {summary['skipped']}."
        )
        for problem in summary["problems"]:
            ctx.err(f"  problem: {problem['path']}: {problem['reason']}")
        if write_xmp:
            report_sidecars(sidecars, sidecar_problems)
    return 3 if model_problem else 0


def _filters(args: argparse.Namespace):
    from photoclip.core.search import Filters

    return Filters(
        folder=getattr(args, "folder", None),
        date_from=getattr(args, "date_from", None),
        date_to=getattr(args, "date_to", None),
        min_score=getattr(args, "min_score", None),
        label=getattr(args, "label", None),
    )


def _print_results(ctx: Context, results, as_json: bool) -> None:
    if as_json:
        ctx.json({"results": [r.to_json() for r in results]})
        return
    for r in results:
        ctx.out(f"{r.score:.3f}\t{r.photo.path}")


def _searcher(ctx: Context):
    from photoclip.core.search import Searcher

    lib = ctx.library()
    searcher = Searcher(lib, ctx.embedder())
    if len(searcher.index) == 0:
        ctx.err("No photo has been embedded with this model yet: run `photoclip index` first.")
    return searcher


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.search import parse_query

    terms = parse_query(args.terms)
    results = _searcher(ctx).search(terms, args.limit, _filters(args))
    _print_results(ctx, results, args.json)
    return 0


def cmd_similar(args: argparse.Namespace, ctx: Context) -> int:
    results = _searcher(ctx).similar(args.path, args.limit, _filters(args))
    _print_results(ctx, results, args.json)
    return 0


def cmd_duplicates(args: argparse.Namespace, ctx: Context) -> int:
    groups = _searcher(ctx).duplicates(args.threshold)
    if args.json:
        ctx.json({"groups": [[r.to_json() for r in group] for group in groups]})
    else:
        for n, group in enumerate(groups, 1):
            ctx.out(f"group {n}:")
            for r in group:
                ctx.out(f"  {r.score:.3f}\t{r.photo.path}")
    return 0


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library()
    choice = ctx.model_choice()
    from photoclip.core.model import model_id_for

    try:
        model_id = model_id_for(choice)
    except ModelUnavailable:
        model_id = None
    counts = lib.counts(model_id)
    status = {
        **counts,
        "skip_reasons": lib.skip_reasons(),
        "database": str(lib.path),
        "model": {"name": choice.name, "weights": choice.weights, "id": model_id, "device": choice.device},
        "models_in_library": [{"id": m, "dim": d, "vectors": n} for m, d, n in lib.models()],
        "folders": [
            {"path": display_path(f.path), "photos": f.photos, "embedded": f.embedded, "missing": f.missing, "skipped": f.skipped}
            for f in lib.folders(model_id)
        ],
    }
    if args.json:
        ctx.json(status)
        return 0
    ctx.out(f"Library: {status['database']}")
    ctx.out(f"Model: {choice.name} ({choice.weights}), device {choice.device}")
    ctx.out(
        f"Photos: {counts['photos']}  embedded: {counts['embedded']}  pending: {counts['pending']}  "
        f"missing: {counts['missing']}  skipped: {counts['skipped']}"
    )
    for reason, n in status["skip_reasons"].items():
        ctx.out(f"  skipped {n}: {reason}")
    for f in status["folders"]:
        ctx.out(f"  {f['path']}: {f['photos']} photos, {f['embedded']} embedded")
    return 0


def cmd_problems(args: argparse.Namespace, ctx: Context) -> int:
    rows = ctx.library().skipped()
    if args.json:
        ctx.json({"skipped": [{"path": display_path(p), "reason": r} for p, r in rows]})
    else:
        for path, reason in rows:
            ctx.out(f"{display_path(path)}\t{reason}")
    return 0


def cmd_purge(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.library().purge_missing()
    ctx.err(f"Forgot {removed} missing photos (their files were already gone).")
    return 0


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.model import describe_models

    for name, tag in describe_models():
        ctx.out(f"{name}\t{tag}")
    return 0


# -- parser ------------------------------------------------------------------


def _add_output(p: argparse.ArgumentParser, limit: bool = True) -> None:
    if limit:
        p.add_argument("-n", "--limit", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", help="only photos under this folder")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="taken on or after")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="taken on or before")
    p.add_argument("--min-score", type=float, help="drop results scoring below this")
    p.add_argument("--tag", dest="label", help="only photos with this tag")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photoclip",
        description="Find your photos by describing them. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"photoclip {__version__}")
    parser.add_argument("--db", help="library database (default: PHOTOCLIP_DB or the user data folder)")
    parser.add_argument("--model", help="open_clip model name (or PHOTOCLIP_MODEL)")
    parser.add_argument("--weights", help="pretrained tag or checkpoint file (or PHOTOCLIP_WEIGHTS)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="where the model runs")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--install-desktop-entry", action="store_true", help="add photoclip to the desktop menu")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("add-folder", help="add photo folders to the library")
    p.add_argument("folders", nargs="+", metavar="DIR")
    p.set_defaults(handler=cmd_add_folder)

    p = sub.add_parser("remove-folder", help="stop tracking a folder (files are untouched)")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(handler=cmd_remove_folder)

    p = sub.add_parser("index", help="scan the folders and embed new photos")
    p.add_argument("--catalogue-only", action="store_true", help="read files and metadata, do not embed")
    p.add_argument("--no-thumbnails", action="store_true", help="do not make thumbnails")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=None, help="decode threads (default: cores, at most 4)")
    p.add_argument(
        "--commit-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often work is saved (default 2 s); a crash loses at most this much",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser(
        "search",
        help="search by words and/or images",
        description="Terms are words or image paths; `+` adds a term, `-` (or a -prefix) subtracts one, "
        "`2*term` weights it. Example: photoclip search beach + ./sunset.jpg - people",
    )
    p.add_argument("terms", nargs="+", metavar="TERM")
    _add_output(p)
    _add_filters(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("similar", help="photos similar to an image file")
    p.add_argument("path", metavar="PATH")
    _add_output(p)
    _add_filters(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-duplicate photos")
    p.add_argument("--threshold", type=float, default=0.95, help="cosine similarity, default 0.95")
    _add_output(p, limit=False)
    p.set_defaults(handler=cmd_duplicates)

    p = sub.add_parser("status", help="counts, skipped files, model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("problems", help="files that were skipped, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_problems)

    p = sub.add_parser("purge-missing", help="forget photos whose files are gone")
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser("models", help="models open_clip can download")
    p.set_defaults(handler=cmd_models)

    try:
        from photoclip.cli import tags as cli_tags
    except ImportError:
        cli_tags = None
    if cli_tags is not None:
        cli_tags.register(sub)
    return parser


_NEGATED = re.compile(r"^-[^-\d]")


def split_negations(argv: Sequence[str]) -> list[str]:
    """`search beach -people` -> `search beach - people`, so argparse does not see an option.

    Only after `search`, and never for the search command's own options.
    """
    argv = list(argv)
    if "search" not in argv:
        return argv
    start = argv.index("search") + 1
    options = {"-n", "-h"}
    out = argv[:start]
    for token in argv[start:]:
        if _NEGATED.match(token) and token not in options:
            out += ["-", token[1:]]
        else:
            out.append(token)
    return out


def run(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(split_negations(argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.command is None:
        return -1  # the caller opens the app
    _quiet_stdout_errors()
    ctx = Context(args)
    try:
        return args.handler(args, ctx)
    except PhotoclipError as exc:
        print(f"photoclip: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photoclip: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        log_file = _write_crash_log()
        print(f"photoclip: internal error: {type(exc).__name__}: {exc} (details in {log_file})", file=sys.stderr)
        return 1
    finally:
        ctx.close()


def _quiet_stdout_errors() -> None:
    # File names that are not valid UTF-8 print as their original bytes, like ls does.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="surrogateescape")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


def _write_crash_log() -> Path:
    target = paths.log_dir() / "photoclip-cli.log"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
    except OSError:
        pass
    return target
