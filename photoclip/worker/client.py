"""Asking a running worker: the answer, or None when the asker should work in-process.

None covers every way a worker can be absent or unfit: no socket, nobody listening, a
socket or folder that is not owner-only (refused with a warning), another user at the
other end, another library or model, a dead or wedged worker. A mistake in the query
itself comes back as the same PhotoclipError the in-process path raises.

Only light modules are imported here (the quick command line path, cli/quick.py, uses
`exchange` before anything heavy is loaded); the answer decoding is imported when needed.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoclip.core.errors import PhotoclipError
from photoclip.worker import runtime
from photoclip.worker.wire import MAX_ANSWER_BYTES, PROTOCOL_VERSION, ProtocolError, receive_message, send_message

if TYPE_CHECKING:
    from photoclip.core.model import ModelChoice

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 0.5
# A worker loading its model takes seconds; one whose whole answer takes longer is wedged.
ANSWER_TIMEOUT_S = 120.0


def model_identity(choice: ModelChoice) -> dict[str, object]:
    """What must match for a worker's answers to equal ours (a weights file by its absolute path)."""
    weights = os.path.abspath(os.path.expanduser(choice.weights)) if choice.weights_is_file else choice.weights
    return {"name": choice.name, "weights": weights, "device": choice.device, "precision": choice.precision}


def connect(path: str, timeout: float) -> socket.socket:
    """A socket connected to the worker's. A Unix socket whose queue of connections waiting to
    be accepted is full answers at once with EAGAIN instead of waiting: the worker is busy
    accepting (a burst of askers), not gone, so try again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            sock.connect(path)
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        except BaseException:
            sock.close()
            raise


class NoWorker(Exception):
    """No worker fit to answer: the asker works in-process. The message says why (for logs)."""


def ask(db_path: Path, choice: ModelChoice, op: str, params: dict[str, object]) -> tuple[object, int] | None:
    """(answer, number of photos the worker's index holds), or None: answer it yourself."""
    from photoclip.worker.protocol import answer_from_json

    try:
        reply = exchange(db_path, model_identity(choice), op, params)
    except NoWorker as exc:
        log.debug("No worker answer: %s", exc)
        return None
    if reply.get("ok") is True:
        try:
            return answer_from_json(op, reply.get("answer")), int(reply.get("indexed", 0))
        except ProtocolError as exc:
            log.warning("photoclip: the worker's answer was malformed (%s); answering here instead", exc)
            return None
    if isinstance(reply.get("error"), str):
        raise PhotoclipError(reply["error"])
    log.debug("The worker did not answer: %s", reply.get("refused"))
    return None


def exchange(db_path: Path, model: dict[str, object] | None, op: str, params: dict[str, object]) -> dict[str, Any]:
    """One request and its reply; NoWorker when no fit worker listens (a warning says why when it matters)."""
    path = runtime.socket_path(db_path)
    if not os.path.lexists(path):
        raise NoWorker("no socket")
    try:
        runtime.check_private_socket(path)
    except runtime.NotPrivate as exc:
        log.warning("photoclip: not asking the background worker: %s", exc)
        raise NoWorker(str(exc)) from None
    request = {
        "version": PROTOCOL_VERSION,
        "db": os.path.realpath(db_path),
        "model": model,
        "op": op,
        "params": params,
    }
    try:
        sock = connect(os.fspath(path), CONNECT_TIMEOUT_S)
    except OSError as exc:
        raise NoWorker(str(exc)) from None
    try:
        uid = runtime.peer_uid(sock)
        if uid is not None and uid != os.getuid():
            log.warning("photoclip: not asking the background worker: its socket is served by another user (uid %s)", uid)
            raise NoWorker("another user")
        sock.settimeout(ANSWER_TIMEOUT_S)
        send_message(sock, request)
        reply = receive_message(sock, MAX_ANSWER_BYTES, within=ANSWER_TIMEOUT_S)
    except (OSError, ProtocolError) as exc:
        raise NoWorker(str(exc)) from None
    finally:
        sock.close()
    if not isinstance(reply, dict):
        raise NoWorker("malformed reply")
    return reply


def ping(db_path: Path, choice: ModelChoice) -> int | None:
    """The worker's pid when one answers for this library and model."""
    try:
        reply = exchange(db_path, model_identity(choice), "ping", {})
    except NoWorker:
        return None
    answer = reply.get("answer")
    return int(answer["pid"]) if reply.get("ok") and isinstance(answer, dict) else None
