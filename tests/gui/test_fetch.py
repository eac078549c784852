"""Dropped image URLs: one deadline for the whole download, and redirects only to http(s).

Every server here is a local http.server on 127.0.0.1, stopped (and its threads joined)
after each test. The slow servers wait on an Event between drips, so stopping them is
immediate rather than a sleep running out.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photoclip.app.fetch import FetchCancelled, FetchError, fetch_image, query_dir
from photoclip.core.cancel import CancelToken

Handler = Callable[[http.server.BaseHTTPRequestHandler, threading.Event], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """serve(handler) -> base URL of a local server answering every GET with handler(request, stop)."""
    stop = threading.Event()
    servers: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start(answer: Handler) -> str:
        class Request(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    answer(self, stop)
                except OSError:
                    pass  # the client gave up: that is what these tests want

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Request)
        # server_close joins the request threads, but only threads that are not daemons:
        # ThreadingHTTPServer makes daemons, whose handler could still be closing its
        # connection when the test's leftover-thread check ran (a CI failure).
        server.daemon_threads = False
        server.block_on_close = True
        thread = threading.Thread(target=server.serve_forever, name="test-http")
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    stop.set()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def drip_body(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Headers at once, then one byte of a 'JPEG' every 0.2 s: each read is quick, the whole is not."""
    request.send_response(200)
    request.send_header("Content-Type", "image/jpeg")
    request.send_header("Content-Length", "1000")
    request.end_headers()
    for _ in range(1000):
        request.wfile.write(b"x")
        request.wfile.flush()
        if stop.wait(0.2):
            return


def drip_headers(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """The status line, then one header byte every 0.2 s: the response never even starts."""
    request.wfile.write(b"HTTP/1.0 200 OK\r\n")
    for _ in range(1000):
        request.wfile.write(b"X")
        request.wfile.flush()
        if stop.wait(0.2):
            return


@pytest.mark.parametrize("answer", [drip_body, drip_headers], ids=["body", "headers"])
def test_a_slow_server_is_cut_off_at_the_deadline(serve, answer: Handler) -> None:
    url = serve(answer) + "/slow.jpg"
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than"):
        fetch_image(url, timeout=1.0)
    # Per-read timeouts alone would let it run for 1000 x 0.2 s.
    assert time.monotonic() - started < 3.0


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that counts as 'connected to' if anyone knocks: nothing must."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.setblocking(False)
    yield sock
    sock.close()


def redirect_to(target: str) -> Handler:
    def answer(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        request.send_response(302)
        request.send_header("Location", target)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return answer


def test_redirect_to_ftp_is_refused_before_connecting(serve, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    url = serve(redirect_to(f"ftp://127.0.0.1:{port}/cat.jpg")) + "/cat.jpg"
    with pytest.raises(FetchError, match="not http"):
        fetch_image(url, timeout=3.0)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected to the ftp address


def test_redirect_to_a_local_file_is_refused(serve, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 not for the web")
    url = serve(redirect_to(secret.as_uri())) + "/cat.jpg"
    with pytest.raises(FetchError, match="not http"):
        fetch_image(url, timeout=3.0)


def test_redirects_between_http_addresses_are_followed(serve, photo_dir: Path) -> None:
    data = (photo_dir / "skimage_chelsea.jpg").read_bytes()

    def image(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    final = serve(image)
    first = serve(redirect_to(final + "/chelsea.jpg"))
    path = fetch_image(first + "/cat.jpg", timeout=5.0)
    assert Path(path).read_bytes() == data


def test_endless_redirects_stop(serve) -> None:
    def loop(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        redirect_to(request.path + "x")(request, stop)

    with pytest.raises(FetchError, match="redirect"):
        fetch_image(serve(loop) + "/a", timeout=5.0)


def test_a_body_cut_short_is_not_taken_for_the_image(serve, photo_dir: Path) -> None:
    """Content-Length promises the whole JPEG, the server closes after its first 100 bytes."""
    data = (photo_dir / "skimage_chelsea.jpg").read_bytes()

    def cut(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data[:100])
        request.close_connection = True

    before = set(query_dir().iterdir())
    with pytest.raises(FetchError, match="cut off after 100 of"):
        fetch_image(serve(cut) + "/cat.jpg", timeout=5.0)
    assert set(query_dir().iterdir()) == before  # no half image kept as a query


def assert_a_cancel_lets_go(url: str, timeout: float) -> None:
    """Cancel a fetch of `url` 0.3 s in: it must give up within 3 s, not at its deadline."""
    cancel = CancelToken()
    canceller = threading.Timer(0.3, cancel.cancel)
    canceller.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchCancelled):
            fetch_image(url, timeout=timeout, cancel=cancel)
        assert time.monotonic() - started < 3.0
    finally:
        canceller.join()


def test_a_cancelled_download_lets_go_at_once(serve) -> None:
    assert_a_cancel_lets_go(serve(drip_body) + "/slow.jpg", timeout=30.0)  # not the 30 s deadline


def sends(kind: str, data: bytes) -> Handler:
    def answer(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        request.send_response(200)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return answer


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("image/jpeg", b"<!doctype html><html><body>Sign in to see this photo</body></html>"),
        ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>"),
        ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
    ],
    ids=["html-called-jpeg", "svg", "png-header-only"],
)
def test_what_is_not_a_readable_image_is_refused_before_it_is_kept(serve, kind: str, body: bytes) -> None:
    """Before: stored in the query folder and made the query; the search then failed naming
    a cache file the user never saw, and the useless chip stayed in the bar."""
    before = set(query_dir().iterdir())
    with pytest.raises(FetchError, match="sent no image photoclip can read"):
        fetch_image(serve(sends(kind, body)) + "/photo", timeout=5.0)
    assert set(query_dir().iterdir()) == before


def test_the_kept_file_is_named_by_what_the_image_is(serve, photo_dir: Path) -> None:
    data = (photo_dir / "skimage_camera.png").read_bytes()
    path = fetch_image(serve(sends("image/jpeg", data)) + "/camera", timeout=5.0)  # the server's type is wrong
    assert path.endswith(".png") and Path(path).read_bytes() == data


def test_a_cancel_also_stops_a_connect_that_hangs() -> None:
    """A host that drops the connection attempt (a firewall, a machine that is off): the SYN
    goes unanswered. Here a listener whose one-place backlog is taken. Before, cancel (the
    window closing) could not stop the connect: it waited out the deadline."""
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    first = socket.create_connection(full.getsockname(), timeout=2.0)  # takes the one place
    try:
        assert_a_cancel_lets_go(f"http://127.0.0.1:{full.getsockname()[1]}/cat.jpg", timeout=20.0)
    finally:
        first.close()
        full.close()


def test_a_cancel_also_stops_a_tls_handshake_that_hangs() -> None:
    """An https address whose server takes the connection and never answers the handshake."""
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(4)
    try:
        assert_a_cancel_lets_go(f"https://127.0.0.1:{mute.getsockname()[1]}/cat.jpg", timeout=20.0)
    finally:
        mute.close()


def test_https_is_fetched_through_the_socket_fetch_connects_itself(serve, tmp_path: Path, photo_dir: Path, monkeypatch) -> None:
    """fetch wraps its own socket in TLS (so that a cancel can stop the connect): with a
    certificate the client trusts, an https image arrives whole and the name is checked."""
    import shutil
    import ssl
    import subprocess

    from photoclip.app import fetch

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    name = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *name, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    data = (photo_dir / "skimage_chelsea.jpg").read_bytes()
    base = serve(sends("image/jpeg", data))
    server = socket.create_server(("127.0.0.1", 0))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    port = int(base.rsplit(":", 1)[1])

    def relay() -> None:
        """TLS outside, the plain test server inside."""
        client, _ = server.accept()
        with server_context.wrap_socket(client, server_side=True) as tls, socket.create_connection(("127.0.0.1", port)) as plain:
            request = tls.recv(65536)
            plain.sendall(request)
            while chunk := plain.recv(65536):
                tls.sendall(chunk)

    thread = threading.Thread(target=relay, name="test-tls-relay")
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(fetch.ssl, "create_default_context", lambda: client_context)
    try:
        path = fetch_image(f"https://localhost:{server.getsockname()[1]}/cat.jpg", timeout=10.0)
        assert Path(path).read_bytes() == data
    finally:
        thread.join(10)
        server.close()


def test_a_query_image_that_cannot_be_kept_leaves_no_temp_file(photo_dir: Path, monkeypatch) -> None:
    """The disk full (here: the rename refused): before, a .tmp- file stayed in the query
    folder for good and the error was an OSError, which the window reports as a crash."""
    from photoclip.app import fetch

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fetch.os, "replace", refuse)
    with pytest.raises(FetchError, match="Could not keep the image to search with: No space left"):
        fetch.store_image_bytes((photo_dir / "skimage_camera.png").read_bytes())
    monkeypatch.undo()
    assert list(query_dir().iterdir()) == []


def test_the_temp_of_a_killed_query_write_is_cleared(isolated_home: Path) -> None:
    import subprocess
    import sys

    from photoclip.core import paths

    folder = paths.cache_dir() / "queries"
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    left = folder / f".0123abcd.png{paths.TEMP_MARKER}{int(dead.stdout)}-0badcafe"
    left.write_bytes(b"\x89PNG half")
    assert query_dir() == folder
    assert not left.exists()


def test_an_endless_body_without_a_length_stops_at_the_cap(serve) -> None:
    """No Content-Length, the connection never ends: the cap, not the memory, decides."""

    def endless(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/jpeg")
        request.end_headers()
        block = b"\xff" * 65536
        while not stop.is_set():
            request.wfile.write(block)

    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetch_image(serve(endless) + "/big.jpg", max_bytes=1024 * 1024, timeout=10.0)


def test_data_addresses(photo_dir: Path) -> None:
    import base64

    from photoclip.app.fetch import image_from_data_url

    data = (photo_dir / "skimage_camera.png").read_bytes()
    text = "data:image/png;base64," + base64.b64encode(data).decode()
    assert Path(image_from_data_url(text)).read_bytes() == data
    with pytest.raises(FetchError, match="larger than"):
        image_from_data_url(text, max_bytes=1000)
    with pytest.raises(FetchError, match="no base64 image"):
        image_from_data_url("data:image/png,%89PNG")
    with pytest.raises(FetchError, match="damaged"):
        image_from_data_url("data:image/png;base64,@@@@")
    with pytest.raises(FetchError, match="sent no image photoclip can read"):
        image_from_data_url("data:image/png;base64," + base64.b64encode(b"<html>").decode())


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (404, "text/html", "server answered 404 Not Found"),
        (500, "image/jpeg", "server answered 500 Internal Server Error"),
        (200, "text/html", r"not an image \(it is text/html\)"),
    ],
)
def test_an_error_page_or_a_web_page_is_said_in_one_line(serve, status: int, kind: str, message: str) -> None:
    def page(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        body = b"<!doctype html><title>Oops</title>"
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    before = set(query_dir().iterdir())
    with pytest.raises(FetchError, match=message) as caught:
        fetch_image(serve(page) + "/photo.jpg", timeout=5.0)
    assert "\n" not in str(caught.value)
    assert set(query_dir().iterdir()) == before


def test_a_cancel_also_stops_a_name_lookup_that_hangs(monkeypatch) -> None:
    """The system resolver can take its time (a DNS server that does not answer): here it
    waits until the test lets it go. Before, a cancel had to wait for it, and so did closing."""
    from photoclip.app import fetch

    asked, answer = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def stuck(host: str, *args: object, **kwargs: object) -> object:
        if host != "photos.example.net":
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        asked.set()
        answer.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(fetch.socket, "getaddrinfo", stuck)
    cancel = CancelToken()
    result: list[BaseException] = []

    def download() -> None:
        try:
            fetch_image("http://photos.example.net/cat.jpg", timeout=20.0, cancel=cancel)
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=download, name="test-download")
    worker.start()
    try:
        assert asked.wait(10)
        started = time.monotonic()
        cancel.cancel()
        worker.join(3.0)
        assert not worker.is_alive() and time.monotonic() - started < 3.0
        assert len(result) == 1 and isinstance(result[0], FetchCancelled)
    finally:
        answer.set()  # the lookup thread ends too
        worker.join()
        for thread in threading.enumerate():
            if thread.name == "photoclip-fetch-lookup":
                thread.join()
