"""The socket's framing, kept free of heavy imports: the quick command line path
(cli/quick.py) speaks it without importing numpy, SQLite helpers or the model.

One JSON document per line (ASCII-only, so a path's undecodable bytes, kept as lone
surrogates, survive), one request and one answer per connection.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

PROTOCOL_VERSION = 1
MAX_REQUEST_BYTES = 1 << 20
MAX_ANSWER_BYTES = 1 << 30  # duplicates of a million photos is a long list


class ProtocolError(Exception):
    """A message that is not a well-formed request or answer."""


def encode_message(message: object) -> bytes:
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def decode_message(line: bytes) -> Any:
    """The JSON document of one line (without its newline); ProtocolError when it is not one."""
    try:
        return json.loads(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from None


def send_message(sock: socket.socket, message: object) -> None:
    sock.sendall(encode_message(message))


def receive_message(sock: socket.socket, limit: int, within: float | None = None) -> Any:
    """One newline-terminated JSON document; ProtocolError when too long, cut short or not JSON.

    `within` bounds the whole message in seconds (TimeoutError past it): a socket's own timeout
    is per recv, so a peer sending a byte now and then would never reach it."""
    chunks: list[bytes] = []
    total = 0
    deadline = None if within is None else time.monotonic() + within
    while True:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the message took too long")
            sock.settimeout(remaining)
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ProtocolError("the connection closed before the message ended")
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise ProtocolError("the message is too long")
    return decode_message(b"".join(chunks))
