"""Query images that do not come from disk: a URL dropped from a browser, a pasted image.

Both end as a file in the cache's `queries/` folder, because core's image search
takes a path. Fetching runs in a worker thread (blocking is fine there), http(s) only,
with a size cap and ONE deadline for the whole download: a socket timeout bounds each
read only, so a server dripping a byte at a time would hold it for ever. Redirects are
followed by hand, so an address that is not http(s) is refused before anything connects
to it (urllib would happily follow a redirect to ftp://). A cancel (a newer query, the
window closing) stops every step within a moment: the name lookup, the connect, the TLS
handshake and each read. What arrives is kept only once it decodes as an image.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import http.client
import io
import os
import select
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from PIL import Image, UnidentifiedImageError

from photoclip.core import paths
from photoclip.core.cancel import CancelToken
from photoclip.core.errors import PhotoclipError, SkipFile
from photoclip.core.media.decode import open_image

MAX_BYTES = 25 * 1024 * 1024
TIMEOUT = 15.0
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
SMALL_SIDE = 64  # the check decodes at about this size (JPEG's DCT scaling makes it cheap)
CANCEL_POLL_S = 0.1  # how soon a cancelled download (a newer drop, the window closing) lets go
# Pillow's name of the format that a download turned out to be -> the query file's suffix.
FORMAT_SUFFIXES = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "GIF": ".gif",
    "BMP": ".bmp",
    "TIFF": ".tif",
    "AVIF": ".avif",
    "HEIF": ".heic",
}


class FetchError(PhotoclipError):
    pass


_swept: set[Path] = set()  # query folders cleared of killed writes' leftovers, once per process


def query_dir() -> Path:
    target = paths.cache_dir() / "queries"
    target.mkdir(parents=True, exist_ok=True)
    if target not in _swept:
        _swept.add(target)
        paths.remove_stale_temps(target)
    return target


class FetchCancelled(FetchError):
    pass


def fetch_image(url: str, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT, cancel: CancelToken | None = None) -> str:
    """Download an image URL to the query folder within `timeout` seconds in all; returns its path.

    Worker thread only. Raises FetchError with a sentence for people on any failure, and
    FetchCancelled within CANCEL_POLL_S of `cancel` being cancelled.
    """
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        _kind, data, location = _get(url, deadline, timeout, max_bytes, cancel or CancelToken())
        if location is None:
            return _store(data, _readable_suffix(data))
        url = urljoin(url, location)  # checked by the next _get before it connects
    raise FetchError(f"The address redirected more than {MAX_REDIRECTS} times.")


def _get(url: str, deadline: float, timeout: float, max_bytes: int, cancel: CancelToken) -> tuple[str, bytes, str | None]:
    """One request: (content type, body, None), or ("", b"", where it redirects to)."""
    if cancel.cancelled:
        raise FetchCancelled("The download was cancelled.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        what = "The address" if not parts.scheme else f"The address ({parts.scheme}:)"
        raise FetchError(f"{what} is not http(s): only http and https images can be searched with.")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _too_slow(timeout)
    https = parts.scheme.lower() == "https"
    connection_type = http.client.HTTPSConnection if https else http.client.HTTPConnection
    try:
        if not parts.hostname:
            raise ValueError("no host name")
        conn = connection_type(parts.hostname, parts.port, timeout=remaining)
    except ValueError as exc:  # a malformed port or host
        raise FetchError(f"Could not download the image: the address is not valid ({exc}).") from exc
    raw = _connect(conn.host, conn.port, deadline, timeout, cancel)
    raw.settimeout(max(0.001, deadline - time.monotonic()))  # each read; the watchdog bounds them all
    # The socket timeout bounds each read; this watchdog bounds them all together by
    # shutting the socket at the deadline, or once the download is cancelled (the window
    # closing joins this thread: it must not wait out the deadline), which wakes up a read
    # blocked on it. It holds the socket itself: the connection forgets it once an
    # HTTP/1.0 response begins. The TLS handshake is inside its watch too.
    finished = threading.Event()
    watched = [raw]
    watchdog = threading.Thread(target=_watch, args=(watched, deadline, cancel, finished), name="photoclip-fetch-deadline")
    watchdog.start()
    try:
        if https:
            # HTTPSConnection wraps the socket it made itself; this one is made here, so that
            # a cancel can stop its connect, and wrapped here the same way.
            # The handshake waits for the server too: the watchdog must hold the TLS socket first.
            tls = ssl.create_default_context().wrap_socket(raw, server_hostname=conn.host, do_handshake_on_connect=False)
            watched[0] = tls
            _check_cancel(cancel)  # a cut that came while it was being wrapped found no socket
            tls.do_handshake()
        conn.sock = watched[0]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers={"User-Agent": "photoclip (image search)", "Accept": "image/*"})
        response = conn.getresponse()
        _check_cancel(cancel)
        if time.monotonic() >= deadline:
            raise _too_slow(timeout)  # the watchdog cut the headers short: they are not the server's
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise FetchError("The address redirected without saying where to.")
            return "", b"", location
        if response.status != 200:
            raise FetchError(f"Could not download the image: the server answered {response.status} {response.reason}.")
        kind = (response.headers.get_content_type() or "").lower()
        if not kind.startswith("image/"):
            raise FetchError(f"The address is not an image (it is {kind or 'unknown'}).")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise _too_large(max_bytes)
        data = bytearray()
        while len(data) <= max_bytes:
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            data += chunk
        _check_cancel(cancel)
        if time.monotonic() >= deadline:
            raise _too_slow(timeout)  # the watchdog cut it: what came is incomplete
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        if length and length.isdigit() and len(data) < int(length):
            # read1 reports a connection closed early as the end: half a JPEG is not the image.
            raise FetchError(f"The download was cut off after {len(data)} of {int(length)} bytes; try again.")
        return kind, bytes(data), None
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        _check_cancel(cancel)
        if time.monotonic() >= deadline:
            raise _too_slow(timeout) from exc
        raise FetchError(f"Could not download the image: {exc}") from exc
    finally:
        finished.set()
        watchdog.join()
        conn.close()
        raw.close()  # when the TLS handshake failed, the connection never held it


def _connect(host: str, port: int, deadline: float, timeout: float, cancel: CancelToken) -> socket.socket:
    """A connected socket, the connect waited for in short steps so that a cancel stops it.

    A host that never answers (off, or a firewall dropping the attempt) held a blocking
    connect to the deadline, and the window's close waited on it. The name lookup before
    it is waited for the same way (see _resolve)."""
    addresses = _resolve(host, port, deadline, timeout, cancel)
    error: OSError | None = None
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            while code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                _check_cancel(cancel)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _too_slow(timeout)
                _, ready, failed = select.select([], [sock], [sock], min(left, CANCEL_POLL_S))
                if ready or failed:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            sock.setblocking(True)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise FetchError(f"Could not download the image: {error or 'the host has no address'}")


def _resolve(host: str, port: int, deadline: float, timeout: float, cancel: CancelToken) -> list[Any]:
    """The host's addresses. The system resolver cannot be interrupted (a DNS server that
    does not answer holds it for its own timeouts): it runs in a thread of its own, left to
    end by itself when the download is cancelled or out of time."""
    found: list[Any] = []
    failed: list[OSError] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)
        finally:
            done.set()

    lookup = threading.Thread(target=look_up, name="photoclip-fetch-lookup", daemon=True)
    lookup.start()
    while not done.wait(min(CANCEL_POLL_S, max(0.0, deadline - time.monotonic()))):
        _check_cancel(cancel)
        if time.monotonic() >= deadline:
            raise _too_slow(timeout)
    lookup.join()  # it has answered: this only waits for the thread's last instructions
    if failed:
        raise FetchError(f"Could not download the image: {failed[0]}") from failed[0]
    return found


def _watch(watched: list[socket.socket], deadline: float, cancel: CancelToken, finished: threading.Event) -> None:
    """Shut the socket in `watched` at the deadline or on cancel, unless the request `finished` first."""
    while not cancel.cancelled:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if finished.wait(min(left, CANCEL_POLL_S)):
            return
    _cut(watched[0])


def _check_cancel(cancel: CancelToken) -> None:
    if cancel.cancelled:
        raise FetchCancelled("The download was cancelled.")


def _readable_suffix(data: bytes) -> str:
    """The suffix of the image `data` is, once it decodes as the search will decode it.

    A server's Content-Type is only its word: a sign-in page sent as image/jpeg, an SVG or
    a header without pixels was kept and made the query, and the search then failed naming
    a cache file the user never saw."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            suffix = FORMAT_SUFFIXES.get(img.format or "")
        if suffix is None:
            raise SkipFile(f"{img.format} images cannot be searched with")
        open_image(f"download{suffix}", SMALL_SIDE, io.BytesIO(data))
    except UnidentifiedImageError:
        raise FetchError("The address sent no image photoclip can read (not a picture format it knows).") from None
    except (SkipFile, OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = exc.reason if isinstance(exc, SkipFile) else str(exc)
        raise FetchError(f"The address sent no image photoclip can read ({reason}).") from None
    return suffix


def _cut(sock: socket.socket) -> None:
    try:
        # socket's own shutdown, also for a TLS socket: ssl's would drop its state under the
        # reading thread's feet; this only ends the connection, which wakes that read.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _too_slow(timeout: float) -> FetchError:
    return FetchError(f"The image took longer than {timeout:g} s to download; try again or save it and drop the file.")


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")


def image_from_data_url(text: str, max_bytes: int = MAX_BYTES) -> str:
    """A `data:` address (a browser drags an inline picture as one) kept as a query file.

    Worker thread only: the text may be megabytes. Only base64 data is taken (an image is
    never sent as percent-escaped text); the same size cap and image check as a download."""
    header, comma, payload = text.partition(",")
    if not comma or not header.lower().startswith("data:") or not header.lower().endswith(";base64"):
        raise FetchError("The dropped data: address holds no base64 image.")
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise _too_large(max_bytes)
    try:
        data = base64.b64decode(unquote(payload), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FetchError(f"The dropped data: address is damaged ({exc}).") from None
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return _store(data, _readable_suffix(data))


def store_image_bytes(data: bytes, suffix: str = ".png") -> str:
    """Keep pasted or dropped image data as a query file."""
    return _store(data, suffix)


def _store(data: bytes, suffix: str) -> str:
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    target = query_dir() / f"{digest}{suffix}"
    if not target.exists():
        try:
            # Its temp is named by this process: one a kill leaves is cleared by the next.
            paths.write_atomically(target, data)
        except OSError as exc:
            raise FetchError(f"Could not keep the image to search with: {exc.strerror or exc}.") from exc
    return str(target)
