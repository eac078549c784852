"""What every command gets: the parsed arguments, the library and the model, opened lazily."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoclip.core import paths
from photoclip.core.db import Library, display_path
from photoclip.core.errors import PhotoclipError, one_line

if TYPE_CHECKING:
    from photoclip.core.model import Embedder, ModelChoice
    from photoclip.core.model.query import QueryEmbedder
    from photoclip.worker.server import CommandRunner


class Context:
    """What a command needs, opened lazily: commands that need no model never import torch."""

    def __init__(self, args: argparse.Namespace, command_runner: CommandRunner | None = None) -> None:
        self.args = args
        # What answers the whole commands quick clients hand a worker (cli/served.py). Given by
        # cli/main.py, which stands above both: served.py parses with the parser that
        # registers `watch`, so the watch command cannot import it without an import circle.
        self.command_runner = command_runner
        self._library: Library | None = None
        self._embedder: Embedder | None = None
        self._query_embedder: QueryEmbedder | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.args.db) if self.args.db else paths.default_db_path()

    def check_db(self) -> None:
        """check_db_path, after making the default library's folder on a first run.

        The platform's data folder is ours to create (a fresh account has none); a folder
        named by --db or PHOTOCLIP_DB is the user's, so a missing one is refused as a typo.
        """
        named = bool(self.args.db or os.environ.get("PHOTOCLIP_DB"))
        if not named:
            folder = self.db_path.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                shown = display_path(str(folder))
                raise PhotoclipError(f"Cannot create the folder {shown} for the library: {exc.strerror}") from exc
        check_db_path(self.db_path)
        if named and getattr(self.args, "command", None) in NEEDS_A_LIBRARY and not os.path.lexists(self.db_path):
            # A mistyped --db made an empty library file there, and the command then said
            # "no photos" or "not in the library" as if the user's library were empty.
            shown = display_path(str(self.db_path))
            raise PhotoclipError(
                f"There is no library at {shown}: check the path, or start one with `photoclip --db {shown} add-folder FOLDER`."
            )

    def thumbnail_dir(self, work: str) -> Path | None:
        """The thumbnail folder for a pass, or None (said once) when it cannot be used."""
        folder, why_not = paths.usable_thumbnail_dir()
        if why_not:
            self.err(f"photoclip: {why_not}; {work} goes on without them.")
        return folder

    def library(self) -> Library:
        if self._library is None:
            self.check_db()
            self._library = Library(self.db_path)
        return self._library

    def model_choice(self) -> ModelChoice:
        from photoclip.core.model import ModelChoice
        from photoclip.core.settings import Settings

        base = Settings.load().model_choice()
        return ModelChoice(
            name=self.args.model or base.name,
            weights=self.args.weights or base.weights,
            device=self.args.device or base.device,
            precision=base.precision,
        )

    def embedder(self) -> Any:
        """The loaded model; raises ModelUnavailable with advice when it cannot be had."""
        if self._embedder is None:
            self._embedder = self.load_embedder()
        return self._embedder

    def loading_embedder(self) -> Any:
        """The model, loading on a thread (see OpenClipEmbedder.start_loading): its first use
        waits for it and raises ModelUnavailable if it could not be had."""
        if self._embedder is None:
            from photoclip.core.model import OpenClipEmbedder

            self._embedder = OpenClipEmbedder(self.model_choice(), progress=download_bar(), texts_by_tower=True)
            self._embedder.start_loading()
        return self._embedder

    def forget_embedder(self) -> None:
        self._embedder = None

    def load_embedder(self) -> Any:
        """A freshly loaded model (the worker loads and unloads its own)."""
        from photoclip.core.model import OpenClipEmbedder

        return OpenClipEmbedder(self.model_choice(), progress=download_bar(), texts_by_tower=True).load()

    def ask_worker(self, op: str, params: dict[str, object]) -> tuple[object, int] | None:
        """A running worker's answer (and how many photos its index holds), or None: answer here.

        PHOTOCLIP_NO_WORKER=1 always answers in-process (comparisons, debugging).
        """
        if os.environ.get("PHOTOCLIP_NO_WORKER"):
            return None
        from photoclip.worker.client import ask

        self.check_db()
        return ask(self.db_path, self.model_choice(), op, params)

    def query_embedder(self) -> QueryEmbedder:
        """For search commands: a cached ONNX text tower answers text queries when one is ready
        (no torch import); anything else loads the full model as `embedder()` does."""
        if self._query_embedder is None:
            from photoclip.core.model.query import QueryEmbedder

            self._query_embedder = QueryEmbedder(self.model_choice(), progress=download_bar())
        return self._query_embedder

    def prepare_text_tower(self) -> None:
        """Once the full model has been loaded anyway, cache its text tower for later searches."""
        if self._query_embedder is None and self._embedder is None:
            return
        from photoclip.core.model import OpenClipEmbedder
        from photoclip.core.model.query import prepare_text_tower

        sys.stdout.flush()  # the answer reaches a pipe before the seconds an export may take
        # The command is done with its model: unloaded first, the export never holds two.
        if self._query_embedder is not None:
            self._query_embedder.prepare_text_tower(unload=True)
        if isinstance(self._embedder, OpenClipEmbedder):
            prepare_text_tower(self._embedder, unload=True)

    def out(self, text: str = "") -> None:
        print(text, file=sys.stdout)

    def err(self, text: str) -> None:
        """One line on stderr (a file name's control characters are shown as escapes)."""
        print(one_line(text), file=sys.stderr)

    def json(self, document: object) -> None:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")

    def close(self) -> None:
        if self._library is not None:
            self._library.close()


# Commands that only make sense on photos already added: on a named library that does not
# exist they say so, instead of creating an empty one. add-folder, labels, watch and
# import-vectors may start a library, index and remove-folder say it has no folders, and
# the default library is created on first use.
NEEDS_A_LIBRARY = frozenset(
    {"status", "problems", "purge-missing", "search", "similar", "duplicates", "albums", "info", "tag", "tags", "feedback", "xmp"}
)


def check_db_path(path: Path) -> None:
    """Refuse a --db that is a folder, a FIFO or a device before SQLite opens it.

    SQLite would block forever reading a FIFO, and say only "unable to open" for a folder.
    """
    shown = display_path(str(path))
    folder = path.parent
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not folder.is_dir():
            raise PhotoclipError(f"Cannot create the library {shown}: the folder {display_path(str(folder))} does not exist.") from None
        mode = None  # a new library
    except OSError as exc:
        raise PhotoclipError(f"Cannot use {shown} as the library: {exc.strerror}") from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise PhotoclipError(f"{shown} is a folder, not a library file: give a file name with --db.")
    if mode is not None and not stat.S_ISREG(mode):
        raise PhotoclipError(f"{shown} is not a regular file, so it cannot be a photoclip library.")
    # SQLite keeps its journal beside the file: both must be writable (os.access also
    # reports a read-only file system, even to root).
    for target in (folder,) if mode is None else (path, folder):
        if not os.access(target, os.W_OK):
            raise PhotoclipError(f"The library {shown} is read-only here ({display_path(str(target))} is not writable).")


def download_bar() -> Callable[[int, int | None, str], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: dict[str, tqdm[Any]] = {}

    def update(done: int, total: int | None, what: str) -> None:
        if what not in bar:
            bar[what] = tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {what}", file=sys.stderr)
        b = bar[what]
        b.update(done - b.n)
        if total and done >= total:
            b.close()

    return update


def progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar on stderr when it is a terminal; None otherwise (scripts, pipes)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="photo", file=sys.stderr, dynamic_ncols=True)
