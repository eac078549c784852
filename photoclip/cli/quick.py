"""The quick path: `search`, `similar`, `tags` and `duplicates` handed whole to a running worker.

Importing photoclip's engine (NumPy, the SQLite helpers, the search code) costs most of a
second before a command could even ask a worker. So the entry point first tries this
module, which imports only the standard library, the path helpers and the socket framing:
it finds the library and its worker socket, sends the command line as typed (with the
working folder and the environment the answer depends on), and prints what the worker
printed, byte for byte (cli/served.py runs the very same command handlers there).

Whenever anything is unusual (no worker, another library or model, an option this module
does not read, `--help`, a refusal) it returns None and the full command line runs
in-process, which gives the same answer, or the error, in its own words.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

QUICK_COMMANDS = frozenset({"search", "similar", "tags", "duplicates"})
# Global options with a value (parser.build_parser); only --db matters here.
_VALUE_OPTIONS = frozenset({"--db", "--model", "--weights", "--device"})
# The environment an answer depends on: a worker whose own differs refuses (cli/served.py).
SHARED_ENV = ("HOME", "TZ", "PHOTOCLIP_HOME", "PHOTOCLIP_CACHE")
# The model's choice, read by the worker as the command would read it here.
MODEL_ENV = ("PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS", "PHOTOCLIP_DEVICE")


def quick_command(argv: Sequence[str]) -> tuple[str | None, str] | None:
    """(the --db value or None, the command) for a command line this path may forward, else None."""
    db: str | None = None
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, value = token.partition("=")
        if name in _VALUE_OPTIONS:
            if not eq:
                if i + 1 >= len(argv):
                    return None
                value = argv[i + 1]
                i += 1
            if name == "--db":
                db = value
            i += 1
        elif token.startswith("-"):
            return None  # --verbose, --version, --help, an abbreviation: the full parser decides
        else:
            break
    if i >= len(argv) or argv[i] not in QUICK_COMMANDS:
        return None
    if any(token in ("-h", "--help") or token.startswith("--he") for token in argv[i + 1 :]):
        return None  # help is printed by the parser here, never by a worker
    return db, argv[i]


def answer_by_worker(argv: Sequence[str]) -> int | None:
    """The exit code after printing a running worker's answer, or None: run the command here."""
    if os.environ.get("PHOTOCLIP_NO_WORKER"):
        return None
    found = quick_command(argv)
    if found is None:
        return None
    from photoclip.core import paths
    from photoclip.worker import client

    db_path = Path(found[0]) if found[0] else paths.default_db_path()
    try:
        cwd = os.getcwd()
        if not os.path.isfile(db_path):
            return None  # a folder, a FIFO or a new library: the full path says what is wrong
    except OSError:
        return None
    params: dict[str, object] = {
        "argv": list(argv),
        "cwd": cwd,
        "env": {name: os.environ.get(name) for name in (*SHARED_ENV, *MODEL_ENV)},
    }
    try:
        reply = client.exchange(db_path, None, "command", params)
    except client.NoWorker:
        return None
    return replay(reply)


def replay(reply: dict[str, object]) -> int | None:
    """Print a served command's output, in the order it was written; None when the reply is not one."""
    answer = reply.get("answer")
    if reply.get("ok") is not True or not isinstance(answer, dict):
        return None
    code, output = answer.get("code"), answer.get("output")
    if not isinstance(code, int) or isinstance(code, bool) or not isinstance(output, list):
        return None
    if not all(isinstance(item, list) and len(item) == 2 and item[0] in ("out", "err") and isinstance(item[1], str) for item in output):
        return None
    quiet_stdout_errors()
    try:
        for stream, text in output:
            (sys.stdout if stream == "out" else sys.stderr).write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): as in-process, that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def quiet_stdout_errors() -> None:
    # File names that are not valid UTF-8 print as their original bytes, like ls does.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except ValueError:
                pass
