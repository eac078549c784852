"""The query server's connections, read and written as the sockets allow, never waiting on one.

One thread answers every query (the library connection, the searcher and the command's
working folder belong to it), so it must never block on a single client: one that sends
its request a byte at a time, never ends it, or asks for a long answer and never reads it
held the server, and every other asker, for as long as it liked. Here each connection is
non-blocking and has a deadline (its whole request within REQUEST_TIMEOUT_S, its whole
answer within SEND_TIMEOUT_S), and at most MAX_CONNECTIONS are open: a new one drops the
oldest. A real client sends its request at once and reads its answer at once, so it is
never the oldest for long.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from photoclip.worker.wire import ProtocolError, decode_message, encode_message

log = logging.getLogger(__name__)

# A client that connects and says nothing (or says it slowly) is dropped after this long.
REQUEST_TIMEOUT_S = 10.0
# The whole answer must be taken within this long (a million photos' duplicates take ~1 s).
SEND_TIMEOUT_S = 60.0
MAX_CONNECTIONS = 64
# Out of file descriptors with none of ours to give back: the pending connection keeps
# the listener readable, so without a pause the loop spun a core and logged each turn.
ACCEPT_BACKOFF_S = 0.2

_LISTENER, _WAKE = "listener", "wake"
T = TypeVar("T")


class _Connection:
    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.deadline = now + REQUEST_TIMEOUT_S
        self.inbox = bytearray()
        self.outbox: memoryview | None = None


class Connections:
    """Accepts, reads requests, hands each to `answer` (on the running thread), writes the replies.

    `admit(sock)` says whether a new connection may talk at all (the peer's user)."""

    answer: Callable[[Any], dict[str, object]]

    def __init__(
        self,
        listener: socket.socket,
        wake_fd: int,
        admit: Callable[[socket.socket], bool],
        request_limit: int,
    ) -> None:
        self.listener = listener
        self.admit = admit
        self.request_limit = request_limit
        self.served = 0
        listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, _LISTENER)
        self._selector.register(wake_fd, selectors.EVENT_READ, _WAKE)
        self._open: dict[socket.socket, _Connection] = {}  # insertion order: oldest first
        self._starved = False  # accept is failing for want of file descriptors (said once)

    def run(self, answer: Callable[[Any], dict[str, object]]) -> None:
        """Serve until the wake descriptor is readable; then close every connection."""
        self.answer = answer
        try:
            while True:
                for key, mask in self._selector.select(self._next_deadline()):
                    if key.data == _WAKE:
                        return
                    if key.data == _LISTENER:
                        self._accept()
                    elif isinstance(key.data, _Connection):
                        self._step(key.data, mask)
                self._expire()
        finally:
            for conn in list(self._open.values()):
                self._close(conn)
            self._selector.close()

    def _next_deadline(self) -> float | None:
        if not self._open:
            return None
        return max(0.0, min(c.deadline for c in self._open.values()) - time.monotonic())

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._open.values() if c.deadline <= now]:
            log.info("A query connection took too long; dropped")
            self._close(conn)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Out of descriptors: make room by dropping the oldest, or wait for the next round.
                out_of_files = exc.errno in (errno.EMFILE, errno.ENFILE)
                if out_of_files and self._open:
                    log.warning("The query server could not accept a connection: %s", exc)
                    self._close(next(iter(self._open.values())))
                    continue
                if out_of_files:
                    if not self._starved:
                        log.warning("The query server could not accept a connection: %s; retrying", exc)
                    self._starved = True
                    time.sleep(ACCEPT_BACKOFF_S)  # the process holds every descriptor: wait for one
                else:
                    log.warning("The query server could not accept a connection: %s", exc)
                return
            self._starved = False
            try:
                if not self.admit(sock):
                    sock.close()
                    continue
                sock.setblocking(False)
            except OSError:
                sock.close()
                continue
            if len(self._open) >= MAX_CONNECTIONS:
                log.info("Too many query connections; the oldest is dropped")
                self._close(next(iter(self._open.values())))
            conn = _Connection(sock, time.monotonic())
            self._open[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _step(self, conn: _Connection, mask: int) -> None:
        if conn.sock not in self._open:
            return  # dropped earlier in this round
        if conn.outbox is None and mask & selectors.EVENT_READ:
            self._read(conn)
        elif conn.outbox is not None and mask & selectors.EVENT_WRITE:
            self._write(conn)

    def _io(self, conn: _Connection, step: Callable[[socket.socket], T]) -> T | None:
        """One non-blocking recv or send; None when the socket is not ready, or when it
        failed (then the connection is closed)."""
        try:
            return step(conn.sock)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            log.info("A query connection failed: %s", exc)
            self._close(conn)
            return None

    def _read(self, conn: _Connection) -> None:
        chunk = self._io(conn, lambda sock: sock.recv(1 << 16))
        if chunk is None:
            return
        if not chunk:
            self._close(conn)  # closed before the request ended
            return
        end = chunk.find(b"\n")
        conn.inbox += chunk if end < 0 else chunk[:end]
        if len(conn.inbox) > self.request_limit:
            log.info("A query request was too long; dropped")
            self._close(conn)
        elif end >= 0:
            self._respond(conn)

    def _respond(self, conn: _Connection) -> None:
        try:
            request = decode_message(bytes(conn.inbox))
        except ProtocolError as exc:
            log.info("A query connection failed: %s", exc)
            self._close(conn)
            return
        conn.inbox = bytearray()
        try:
            reply = self.answer(request)
        except Exception:
            log.exception("A query could not be answered")
            reply = {"ok": False, "refused": "internal error"}
        conn.outbox = memoryview(encode_message(reply))
        conn.deadline = time.monotonic() + SEND_TIMEOUT_S
        self._selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
        self._write(conn)  # most answers fit the socket's buffer: done at once

    def _write(self, conn: _Connection) -> None:
        outbox = conn.outbox
        assert outbox is not None
        sent = self._io(conn, lambda sock: sock.send(outbox))
        if sent is None:
            return
        conn.outbox = outbox[sent:]
        if not conn.outbox:
            self.served += 1
            self._close(conn)

    def _close(self, conn: _Connection) -> None:
        if self._open.pop(conn.sock, None) is not None:
            self._selector.unregister(conn.sock)
        conn.sock.close()
