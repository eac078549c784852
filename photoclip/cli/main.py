"""Running one command: parse, dispatch, and turn every failure into one line and an exit code.

Exit codes: 0 done; 2 a problem the user can fix (a usage mistake, a bad file, a
full or read-only disk, a refused database); 3 `index` could only catalogue;
1 a bug (logged with its traceback); 130 interrupted.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoclip.cli.context import Context
from photoclip.cli.parser import build_parser, split_negations
from photoclip.cli.quick import quiet_stdout_errors
from photoclip.core import paths
from photoclip.core.db import display_path
from photoclip.core.errors import ENVIRONMENT_ERRORS, PATH_ERRORS, PhotoclipError, one_line

if TYPE_CHECKING:
    from photoclip.core.db import Library
    from photoclip.core.search import Searcher

# SQLite says these in its own words; each gets a sentence a person can act on.
_SQLITE = (
    ("disk is full", "The disk is full: the library could not be saved. Free some space and try again."),
    ("readonly database", "The library database is read-only here: photoclip cannot save to {db}."),
    ("unable to open database", "Cannot open the library database {db}: check that its folder exists and is writable."),
    ("database is locked", "The library is busy: another photoclip is writing to {db}. Try again when it is done."),
    ("not a database", "{db} is not a photoclip library."),
    ("disk i/o error", "The disk reported an error while reading or writing {db}."),
)


def environment_problem(exc: BaseException, db: Path | None = None) -> str | None:
    """A plain sentence for a failure caused by the machine (disk, permissions), or None for a bug."""
    if isinstance(exc, OSError):
        what = ENVIRONMENT_ERRORS.get(exc.errno or 0)
        if what is None and exc.filename is not None:
            what = PATH_ERRORS.get(exc.errno or 0)
        if what is None:
            return None
        where = f" ({display_path(str(exc.filename))})" if exc.filename is not None else ""
        return f"Could not finish: {what}{where}."
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc).lower()
        for needle, sentence in _SQLITE:
            if needle in text:
                return sentence.format(db=display_path(str(db)) if db else "the library")
    return None


def _serve_command(params: dict[str, Any], lib: Library, searcher: Searcher, worker_model: dict[str, object]) -> dict[str, object]:
    """cli/served.py's serve_command, imported when a worker first gets a whole command: the
    other commands start without what it imports."""
    from photoclip.cli.served import serve_command

    return serve_command(params, lib, searcher, worker_model)


def run(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(split_negations(argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.command is None:
        return -1  # the caller opens the app
    quiet_stdout_errors()
    ctx = Context(args, command_runner=_serve_command)
    try:
        code: int = args.handler(args, ctx)
        if code in (0, 3):
            ctx.prepare_text_tower()  # after the answer is out: the next search starts fast
        return code
    except PhotoclipError as exc:
        print(f"photoclip: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photoclip: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        sentence = environment_problem(exc, _db_path(ctx))
        if sentence is not None:
            print(f"photoclip: {one_line(sentence)}", file=sys.stderr)
            return 2
        log_file = _write_crash_log()
        print(one_line(f"photoclip: internal error: {type(exc).__name__}: {exc} (details in {log_file})"), file=sys.stderr)
        return 1
    finally:
        try:
            ctx.close()
        except Exception:
            pass  # closing after a disk error can fail the same way; the message is already out


def _db_path(ctx: Context) -> Path | None:
    try:
        return ctx.db_path
    except Exception:
        return None


def _write_crash_log() -> Path:
    target = paths.log_dir() / "photoclip-cli.log"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
    except OSError:
        pass
    return target
