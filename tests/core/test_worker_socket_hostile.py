"""The worker's socket against hostile clients: slow, silent, garbled, oversized, never reading,
many at once. Whatever one client does, the server stays up and answers the next one at once.

The server runs in-process with a lent FakeEmbedder (the open app's kind of model source), so
each test needs no model load. A "prompt" answer is one within PROMPT_S, far below the 10 s a
silent client may keep its connection: before the connections were multiplexed, every one of
these waited for the hostile client to give up (or forever, for one that never reads).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder
from photoclip.worker import client, connections, runtime
from photoclip.worker.models import LentModel
from photoclip.worker.server import QueryServer
from photoclip.worker.wire import PROTOCOL_VERSION, encode_message, receive_message

PROMPT_S = 3.0
IDENTITY = {"name": "fake", "weights": "fake", "device": "cpu", "precision": "fp32"}


@pytest.fixture
def server(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueryServer]:
    monkeypatch.setattr(client, "ANSWER_TIMEOUT_S", PROMPT_S)  # a wedged server fails the test, not hangs it
    db = tmp_path / "library.db"
    Library(db).close()
    model = LentModel()
    model.lend(FakeEmbedder(model_id="fake:fake"), IDENTITY)
    served = QueryServer(db, model)
    served.start()
    yield served
    served.stop()


def _ping(server: QueryServer) -> dict[str, object]:
    return client.exchange(server.db_path, IDENTITY, "ping", {})


def _connect(server: QueryServer) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(PROMPT_S)
    deadline = time.monotonic() + PROMPT_S
    while True:
        try:
            sock.connect(os.fspath(server.path))
            return sock
        except BlockingIOError:  # the listen backlog is full until the server accepts
            assert time.monotonic() < deadline, "the server stopped accepting"


def _request(server: QueryServer, op: str, params: object = None) -> dict[str, object]:
    return {"version": PROTOCOL_VERSION, "db": os.path.realpath(server.db_path), "model": IDENTITY, "op": op, "params": params or {}}


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed its end (awaited up to the socket's timeout, no fixed sleep)."""
    try:
        return sock.recv(1 << 16) == b""
    except TimeoutError:
        return False


def test_a_client_that_sends_half_a_request_does_not_hold_the_others(server):
    slow = _connect(server)
    slow.sendall(b'{"version": 1, "op": "pi')  # and nothing more, or a byte now and then
    assert _ping(server)["ok"] is True
    slow.sendall(b"n")
    assert _ping(server)["ok"] is True
    slow.close()


def test_a_client_that_never_reads_its_long_answer_does_not_hold_the_others(server):
    greedy = _connect(server)
    # The refusal repeats the unknown operation's name: an answer far beyond a socket's buffer.
    greedy.sendall(encode_message(_request(server, "x" * 900_000)))
    assert _ping(server)["ok"] is True
    assert _ping(server)["ok"] is True
    greedy.close()


def test_a_flood_of_silent_connections_drops_the_oldest_and_answers_a_new_client(server):
    flood = [_connect(server) for _ in range(connections.MAX_CONNECTIONS + 8)]
    assert _ping(server)["ok"] is True
    assert _closed_by_server(flood[0])  # the oldest silent ones made room
    for sock in flood:
        sock.close()
    assert _ping(server)["ok"] is True


def test_a_slow_request_is_dropped_at_its_deadline(server, monkeypatch):
    monkeypatch.setattr(connections, "REQUEST_TIMEOUT_S", 0.2)
    slow = _connect(server)
    slow.sendall(b'{"version"')
    assert _closed_by_server(slow)
    assert _ping(server)["ok"] is True


@pytest.mark.parametrize(
    "garbage",
    [
        b"\n",
        b"not json\n",
        b"\xff\xfe\x00binary\n",
        b'{"version": 1, "op": "ping"',  # cut short: the client closes before the newline
        b"[" * 200_000 + b"\n",  # nesting past the JSON parser's recursion limit
        b"7" * 5_000 + b"\n",  # a number too long for int()
        b"x" * (2 << 20),  # over the request limit, with no newline
        b'"a string"\n',
        b"null\n",
    ],
)
def test_garbage_closes_that_connection_and_the_server_answers_the_next(server, garbage):
    bad = _connect(server)
    try:
        bad.sendall(garbage)
        bad.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server may drop an oversized request before it is all sent
    try:
        reply = receive_message(bad, 1 << 20) if garbage.endswith(b"\n") else None
    except Exception:
        reply = None
    assert reply is None or reply.get("ok") is False
    bad.close()
    assert _ping(server)["ok"] is True


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"version": 2}, "protocol version"),
        ({"version": "1"}, "protocol version"),
        ({"version": True}, "protocol version"),
        ({"db": "/elsewhere.db"}, "another library"),
        ({"model": {"name": "other"}}, "another model"),
        ({"op": ["search"]}, "malformed request"),
        ({"op": "search", "params": []}, "malformed request"),
        ({"op": "search", "params": {"terms": [["text", "x", 1.0]], "limit": "5"}}, "limit must be a whole number"),
        ({"op": "command", "params": {"argv": ["search", "x"]}}, "commands are not served here"),
        # Before: NaN passed no photo (an empty answer, silently), 10**400 was an OverflowError.
        *[
            (
                {"op": "search", "params": {"terms": [["text", "x", 1.0]], "limit": 5, "filters": {"min_score": bad}}},
                "min_score must be a number from -1 to 1",
            )
            for bad in (float("nan"), float("-inf"), 10**400, 1.5)
        ],
        ({"op": "search", "params": {"terms": [["text", "x", float("nan")]], "limit": 5}}, "weight is a finite number"),
        ({"op": "search", "params": {"terms": [["text", "x", 10**400]], "limit": 5}}, "weight is a finite number"),
        ({"op": "duplicates", "params": {"threshold": 10**400}}, "threshold must be a finite number"),
        # Before: OverflowError out of SQLite, logged with its traceback as the worker's own failure.
        ({"op": "top_labels", "params": {"photo_id": 10**30, "k": 5}}, "photo_id must be a photo id"),
        ({"op": "similar", "params": {"target": -(2**63), "limit": 5}}, "similar needs a path or a photo id"),
    ],
)
def test_a_request_of_the_wrong_shape_is_refused_in_words(server, change, refused):
    sock = _connect(server)
    sock.sendall(encode_message({**_request(server, "ping"), **change}))
    reply = receive_message(sock, 1 << 20)
    sock.close()
    assert reply["ok"] is False and refused in reply["refused"]
    assert _ping(server)["ok"] is True


def test_a_worker_that_drips_its_answer_is_given_up_on_at_the_deadline(tmp_path, isolated_home, monkeypatch):
    """The asker's 120 s was per recv: a wedged worker sending a byte now and then kept
    `photoclip search` waiting for ever. Now the whole answer has a deadline, and the asker
    answers in-process (NoWorker)."""
    monkeypatch.setattr(client, "ANSWER_TIMEOUT_S", 0.5)
    db = tmp_path / "library.db"
    path = runtime.socket_path(db)
    runtime.make_private_dir(path.parent)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.fspath(path))
    os.chmod(path, 0o600)
    listener.listen(1)
    done = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b'{"ok": ')
            give_up = time.monotonic() + 2 * PROMPT_S  # so that a client without a deadline fails, not hangs
            while not done.wait(0.05) and time.monotonic() < give_up:  # a byte every 50 ms
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(client.NoWorker):
            client.exchange(db, IDENTITY, "ping", {})
        assert time.monotonic() - started < PROMPT_S
    finally:
        done.set()
        thread.join(PROMPT_S)
        listener.close()


def test_running_out_of_file_descriptors_does_not_spin_the_server(tmp_path):
    """accept() failing with EMFILE while no connection of ours can be dropped left the
    listener readable: the loop turned as fast as it could, logging each turn."""
    import errno as errno_module
    import os as os_module
    import socket as socket_module
    import threading as threading_module

    from photoclip.worker.connections import Connections

    path = str(tmp_path / "s")
    real = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
    real.bind(path)
    real.listen()
    calls = 0

    class Starved:
        def fileno(self) -> int:
            return real.fileno()

        def setblocking(self, flag: bool) -> None:
            real.setblocking(flag)

        def accept(self):
            nonlocal calls
            calls += 1
            raise OSError(errno_module.EMFILE, "Too many open files")

    wake_r, wake_w = os_module.pipe()
    server = Connections(Starved(), wake_r, lambda sock: True, 1 << 16)  # type: ignore[arg-type]
    waiting = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
    waiting.connect(path)  # a connection the server cannot take: the listener stays readable
    thread = threading_module.Thread(target=server.run, args=(lambda request: {"ok": True},), daemon=True)
    thread.start()
    done = threading_module.Event()
    done.wait(1.0)  # let it run a second: a spinning loop calls accept thousands of times
    os_module.write(wake_w, b"x")
    thread.join(10)
    assert not thread.is_alive()
    assert 1 <= calls <= 10, f"accept was tried {calls} times in a second"
    waiting.close()
    real.close()
    os_module.close(wake_r)
    os_module.close(wake_w)


def test_an_asker_waits_for_a_moment_when_the_workers_queue_of_connections_is_full(tmp_path):
    """A full queue of connections not yet accepted (a burst of askers, or CI under load)
    made a Unix socket answer EAGAIN at once, and the asker gave up on a live worker."""
    import socket
    import threading

    from photoclip.worker.client import connect

    path = str(tmp_path / "full.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    waiting = []
    while True:  # fill the queue until the kernel refuses
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(path)
        except BlockingIOError:
            sock.close()
            break
        waiting.append(sock)
    with pytest.raises(BlockingIOError):
        connect(path, 0.1)  # nobody accepts: given up at the deadline
    accepted = []
    later = threading.Timer(0.2, lambda: accepted.extend(listener.accept() for _ in range(len(waiting) + 1)))
    later.start()
    try:
        asker = connect(path, 5.0)
        asker.close()
    finally:
        later.join()
        for sock in waiting:
            sock.close()
        for conn, _ in accepted:
            conn.close()
        listener.close()
