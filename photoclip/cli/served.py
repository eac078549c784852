"""The worker's side of the quick path (cli/quick.py): a whole command run with the warm model.

The command line the client typed is parsed by the same parser and run by the same
handler as in-process, with a Context whose library and searcher are the worker's and
whose output is collected and sent back, so the client prints exactly what it would
have printed itself. Paths the user typed are relative to the client's working folder:
this (the query server's) thread takes a working folder of its own and moves there for
the command (Linux: unshare(CLONE_FS); elsewhere only a client in the worker's own
folder is served).

Anything that could make the answer differ from in-process is refused, and the client
then runs the command itself: another environment, model or library, a usage mistake
(the parser's message is the client's to print), or an unexpected failure. A
PhotoclipError (a query mistake, one line and exit 2) is answered, as main.run would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from photoclip.cli.context import Context
from photoclip.cli.parser import build_parser, split_negations
from photoclip.cli.quick import QUICK_COMMANDS, SHARED_ENV
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError, one_line
from photoclip.core.model import ModelChoice
from photoclip.core.search import Searcher
from photoclip.worker.client import model_identity
from photoclip.worker.protocol import run_query

CLONE_FS = 0x200  # linux/sched.h: the working folder, root and umask


class Refused(Exception):
    """This command is not answered here; the client runs it itself. The message says why."""


def serve_command(params: dict[str, Any], lib: Library, searcher: Searcher, worker_model: dict[str, object]) -> dict[str, object]:
    """The reply to a quick client's command: {"ok": True, "answer": {"code", "output"}} or a refusal."""
    try:
        argv, cwd, env = _request(params)
        for name in SHARED_ENV:
            if env.get(name) != os.environ.get(name):
                raise Refused(f"the worker runs with another {name}")
        with client_folder(cwd):
            args = _parse(argv)
            if args.db and os.path.realpath(args.db) != os.path.realpath(lib.path):
                # The client sends to the socket of the library its --db names, so this one is not
                # that library: answering from ours would be another library's answer.
                raise Refused("the command names another library")
            ctx = ServedContext(args, lib, searcher, env)
            if model_identity(ctx.model_choice()) != worker_model:
                raise Refused("another model")
            try:
                code: int = args.handler(args, ctx)
            except PhotoclipError as exc:
                ctx.err(f"photoclip: {exc}")
                code = 2
    except Refused as exc:
        return {"ok": False, "refused": str(exc)}
    return {"ok": True, "answer": {"code": code, "output": ctx.output}}


def _request(params: dict[str, Any]) -> tuple[list[str], str, dict[str, str | None]]:
    argv, cwd, env = params.get("argv"), params.get("cwd"), params.get("env")
    # A NUL cannot come from a real command line or environment, and the os functions raise
    # ValueError (not OSError) on one: refuse it here, with the other shapes a client never sends.
    if not (isinstance(argv, list) and all(isinstance(a, str) and "\0" not in a for a in argv)):
        raise Refused("malformed command line")
    if not (isinstance(cwd, str) and os.path.isabs(cwd) and "\0" not in cwd):
        raise Refused("malformed working folder")
    if not (isinstance(env, dict) and all(v is None or (isinstance(v, str) and "\0" not in v) for v in env.values())):
        raise Refused("malformed environment")
    return argv, cwd, env


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    _raise_instead_of_exit(parser)
    args = parser.parse_args(split_negations(argv))
    if args.command not in QUICK_COMMANDS or getattr(args, "verbose", False):
        raise Refused(f"{args.command} is not served")
    return args


def _raise_instead_of_exit(parser: argparse.ArgumentParser) -> None:
    """A usage mistake refuses (the client's parser prints it) instead of writing to the worker's stderr."""

    def error(message: str) -> NoReturn:
        raise Refused(f"usage: {message}")

    parser.error = error  # type: ignore[method-assign]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _raise_instead_of_exit(sub)


# -- the client's working folder -----------------------------------------------------------

_thread = threading.local()


def _own_working_folder() -> bool:
    """Whether this thread has a working folder of its own (given once; other threads keep theirs)."""
    if not hasattr(_thread, "own"):
        _thread.own = _unshare_fs()
    return bool(_thread.own)


def _unshare_fs() -> bool:
    unshare = getattr(os, "unshare", None)  # Python 3.12+
    if unshare is not None:
        try:
            unshare(CLONE_FS)
            return True
        except OSError:
            return False
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(CLONE_FS) == 0)
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def client_folder(cwd: str) -> Iterator[None]:
    """Run the block in the client's working folder, on this thread only; Refused where that cannot be."""
    if not _own_working_folder():
        try:
            same = os.path.samefile(cwd, os.getcwd())
        except OSError:
            same = False
        if not same:
            raise Refused("the worker cannot move to the client's working folder here")
        yield
        return
    try:
        back = os.open(".", os.O_RDONLY)
    except OSError:
        back = None
    try:
        os.chdir(cwd)
    except OSError as exc:
        if back is not None:
            os.close(back)
        raise Refused(f"cannot enter {cwd}: {exc.strerror}") from None
    try:
        yield
    finally:
        if back is not None:
            with contextlib.suppress(OSError):
                os.fchdir(back)
            os.close(back)


# -- the context ---------------------------------------------------------------------------


class ServedContext(Context):
    """The worker's library and searcher, the client's model choice, output collected for the client."""

    def __init__(self, args: argparse.Namespace, lib: Library, searcher: Searcher, env: dict[str, str | None]) -> None:
        super().__init__(args)
        self._library = lib
        self._searcher = searcher
        self._env = env
        self.output: list[list[str]] = []

    @property
    def db_path(self) -> Path:
        assert self._library is not None
        return self._library.path

    def model_choice(self) -> ModelChoice:
        # As Context.model_choice reads it in the client: options, then its environment, then settings.
        from photoclip.core.settings import Settings

        base = Settings.load()
        return ModelChoice(
            name=self.args.model or self._env.get("PHOTOCLIP_MODEL") or base.model,
            weights=self.args.weights or self._env.get("PHOTOCLIP_WEIGHTS") or base.weights,
            device=self.args.device or self._env.get("PHOTOCLIP_DEVICE") or base.device,
            precision=base.precision,
        )

    def ask_worker(self, op: str, params: dict[str, object]) -> tuple[object, int] | None:
        return run_query(op, params, self._searcher), len(self._searcher.index)

    def embedder(self) -> Any:
        raise Refused("the command wants the model outside a query")

    def query_embedder(self) -> Any:
        raise Refused("the command wants the model outside a query")

    def prepare_text_tower(self) -> None:
        pass

    def out(self, text: str = "") -> None:
        self.output.append(["out", f"{text}\n"])

    def err(self, text: str) -> None:
        self.output.append(["err", f"{one_line(text)}\n"])

    def json(self, document: object) -> None:
        self.output.append(["out", json.dumps(document, indent=2, ensure_ascii=False) + "\n"])

    def close(self) -> None:
        pass  # the library is the worker's
