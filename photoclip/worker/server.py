"""The worker's socket: one request and one answer per connection, from this user only.

The socket lives in the private runtime folder with mode 0600, and each connection's
peer is checked with SO_PEERCRED where the platform has it: file modes alone do not
cover a socket opened before its mode was set. It is never a network port.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder, OpenClipEmbedder
from photoclip.core.model.query import QueryEmbedder
from photoclip.core.search import Searcher
from photoclip.worker import runtime
from photoclip.worker.connections import Connections
from photoclip.worker.models import ModelNotReady, ModelSource
from photoclip.worker.protocol import (
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    answer_to_json,
    run_query,
)

log = logging.getLogger(__name__)

# Runs a whole command line command for a client (the CLI registers it: the worker layer
# cannot import the CLI): (request params, library, searcher, this worker's model identity)
# -> the reply. It refuses, rather than answers, whatever it cannot answer exactly as
# the client would in-process.
CommandRunner = Callable[[dict[str, Any], Library, Searcher, dict[str, object]], dict[str, object]]


class QueryServer:
    """Answers queries for one library with the worker's model, on a thread of its own.

    The model comes from `holder`: the daemon's ModelHolder (loaded on demand, one model for
    good) or the open app's LentModel (the app's own, which can change or be absent)."""

    def __init__(self, db_path: Path, holder: ModelSource, run_command: CommandRunner | None = None) -> None:
        self.db_path = db_path
        self.run_command = run_command
        self.real_db = os.path.realpath(db_path)
        self.holder = holder
        self.path = runtime.socket_path(db_path)
        self._searcher: Searcher | None = None
        self._held: Embedder | None = None  # the model the searcher was built over
        holder.on_unload(self._forget_searcher)
        self._wake_r, self._wake_w = os.pipe()
        self._listener = self._bind()
        self._connections = Connections(self._listener, self._wake_r, self._admit, MAX_REQUEST_BYTES)
        self._thread = threading.Thread(target=self._serve, name="photoclip-queries", daemon=True)

    def _bind(self) -> socket.socket:
        try:
            runtime.make_private_dir(self.path.parent)
        except runtime.NotPrivate as exc:
            raise runtime.NotPrivate(f"The worker will not listen in a folder others can use: {exc}.") from None
        if len(os.fsencode(self.path)) > runtime.MAX_SOCKET_PATH:
            raise PhotoclipError(f"The worker's socket path {self.path} is too long; set XDG_RUNTIME_DIR to a shorter folder.")
        # We hold the worker lock for this library, so a socket file left here is a dead worker's.
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(os.fspath(self.path))
            os.chmod(self.path, 0o600)
            listener.listen(socket.SOMAXCONN)  # a burst of askers waits to be accepted, not refused
        except BaseException:
            listener.close()
            raise
        return listener

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=30)
        self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def _forget_searcher(self) -> None:
        self._searcher = None  # it holds the model and the vectors: let both go
        self._held = None

    @property
    def served(self) -> int:
        return self._connections.served

    def _serve(self) -> None:
        lib = Library(self.db_path)  # this thread's own connection: every answer is made here
        try:
            self._connections.run(lambda request: self._answer(request, lib))
        finally:
            self._searcher = None
            lib.close()

    def _admit(self, conn: socket.socket) -> bool:
        uid = runtime.peer_uid(conn)
        if uid is not None and uid != os.getuid():
            log.warning("Refused a query from another user (uid %s)", uid)
            return False
        return True

    def _answer(self, request: Any, lib: Library) -> dict[str, object]:
        version = request.get("version") if isinstance(request, dict) else None
        if isinstance(version, bool) or version != PROTOCOL_VERSION:  # true == 1 in Python, not on the wire
            return {"ok": False, "refused": "protocol version"}
        if request.get("db") != self.real_db:
            return {"ok": False, "refused": "another library"}
        model = self.holder.identity
        if request.get("op") == "command":
            return self._command(request.get("params"), lib, model)  # the runner checks the model the command asks for
        if model is None or request.get("model") != model:
            return {"ok": False, "refused": "another model"}
        op, params = request.get("op"), request.get("params")
        if op == "ping":
            return {"ok": True, "answer": {"pid": os.getpid()}}
        if not isinstance(op, str) or not isinstance(params, dict):
            return {"ok": False, "refused": "malformed request"}
        if not self.holder.warm():
            return {"ok": False, "refused": "the model is loading"}  # the asker answers in-process meanwhile
        try:
            with self.holder.use() as embedder:
                if self.holder.identity is not model:
                    return {"ok": False, "refused": "the model changed"}
                searcher = self._searcher_over(lib, embedder)
                answer = run_query(op, params, searcher)
                return {"ok": True, "answer": answer_to_json(op, answer), "indexed": len(searcher.index)}
        except (ProtocolError, ModelNotReady) as exc:
            return {"ok": False, "refused": str(exc)}
        except PhotoclipError as exc:
            # The asker would reach the same sentence in-process (a query mistake, no model).
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("A query failed in the worker")
            return {"ok": False, "refused": f"internal error: {type(exc).__name__}"}

    def _searcher_over(self, lib: Library, embedder: Embedder) -> Searcher:
        if self._searcher is None or self._held is not embedder:
            self._held = embedder
            queries = QueryEmbedder.over(embedder) if isinstance(embedder, OpenClipEmbedder) else embedder
            self._searcher = Searcher(lib, queries)
        else:
            self._searcher.refresh()  # the indexer may have added photos since the last query
        return self._searcher

    def _command(self, params: object, lib: Library, model: dict[str, object] | None) -> dict[str, object]:
        if self.run_command is None or not isinstance(params, dict):
            return {"ok": False, "refused": "commands are not served here"}
        if model is None:
            return {"ok": False, "refused": "no model here yet"}
        if not self.holder.warm():
            return {"ok": False, "refused": "the model is loading"}  # the asker runs the command itself meanwhile
        try:
            with self.holder.use() as embedder:
                if self.holder.identity is not model:
                    return {"ok": False, "refused": "the model changed"}
                return self.run_command(params, lib, self._searcher_over(lib, embedder), model)
        except ModelNotReady as exc:
            return {"ok": False, "refused": str(exc)}
        except PhotoclipError as exc:
            # No model here, say: the client runs the command itself and says so in its own words.
            return {"ok": False, "refused": str(exc)}
        except Exception as exc:
            log.exception("A command failed in the worker")
            return {"ok": False, "refused": f"internal error: {type(exc).__name__}"}
