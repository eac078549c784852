"""While the app holds the library, it answers the worker socket as `photoclip watch` would.

`photoclip search` (and similar, tags, duplicates) then get their answer from the open
window's model in milliseconds instead of loading one of their own. The server is the
daemon's own QueryServer, on a thread of its own, with its own read connection and
searcher; only the model is shared: the app lends the one it loaded (a LentModel), and
nothing is ever loaded for the socket. Until the app's model is ready (and while it loads
another), the server refuses and the command runs in-process, with the same answer.

Whole commands are run by the CLI's `serve_command`, which the app cannot import (the
front ends are independent layers): the entry point hands it over with
`serve_commands_with` before the window opens (photoclip/__main__.py).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from photoclip.core.model import Embedder
from photoclip.worker.client import model_identity
from photoclip.worker.models import Identity, LentModel
from photoclip.worker.server import CommandRunner, QueryServer

log = logging.getLogger(__name__)

_command_runner: CommandRunner | None = None


def serve_commands_with(runner: CommandRunner | None) -> None:
    """The runner of whole CLI commands (cli/served.serve_command) for every app opened from now on."""
    global _command_runner
    _command_runner = runner


def identity_of(embedder: Embedder | None) -> Identity | None:
    """What a client's model must match for the app's answers to equal its own; None: not servable."""
    choice = getattr(embedder, "choice", None)
    return model_identity(choice) if choice is not None else None


class AppQueries:
    """The query server of the open app: started once it owns the library, stopped before it lets go."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.model = LentModel()
        self.server: QueryServer | None = None
        self._lock = threading.Lock()  # start (a worker thread) against stop (the GUI thread at close)
        self._stopped = False

    def lend(self, embedder: Embedder | None) -> None:
        """The app's model now (None while it has none); cheap, safe from the GUI thread."""
        identity = identity_of(embedder)
        self.model.lend(embedder if identity is not None else None, identity)

    @property
    def serving(self) -> bool:
        """Whether a client's command can be answered here now (the socket is up and a model is lent)."""
        return self.server is not None and self.model.loaded

    def start(self) -> None:
        """Bind the socket and serve (call it off the GUI thread: it touches the file system)."""
        with self._lock:
            if self._stopped or self.server is not None:
                return
            server = QueryServer(self.db_path, self.model, _command_runner)
            server.start()
            self.server = server

    def stop(self) -> None:
        """Stop answering and remove the socket; waits for a query in progress to finish."""
        with self._lock:
            self._stopped = True
            server, self.server = self.server, None
        if server is not None:
            server.stop()
        self.model.lend(None, None)
