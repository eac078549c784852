"""Special files where a photo should be: skipped with a reason, never waited on or read forever."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from photoclip.core.db import Library
from photoclip.core.errors import SkipFile
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.ingest.scan import scan_library
from photoclip.core.media.decode import open_image
from photoclip.core.model import FakeEmbedder
from tests.core.helpers import drain, write_jpeg

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX feature")

# Generous for a loaded machine, short enough that a hang fails the test, not the suite.
DEADLINE = 30


def index_in_own_connection(db: Path) -> None:
    with Library(db) as lib:
        drain(index_library(lib, FakeEmbedder(), scan=False))


def finishes(target, *args) -> list[BaseException]:
    """Run target in a daemon thread; fail if it is still running after DEADLINE seconds."""
    failures: list[BaseException] = []

    def body() -> None:
        try:
            target(*args)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"{target.__name__} hung on a special file"
    return failures


def release_fifo(path: Path) -> None:
    """Let a reader blocked on the FIFO go (only needed when the code under test hung)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader waiting
    os.close(fd)


def replace_keeping_times(photo: Path, make) -> None:
    """Swap a catalogued photo for something else with the same size and mtime, as the scan saw it."""
    st = photo.stat()
    photo.unlink()
    make(photo)
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def test_photo_replaced_by_a_fifo_after_the_scan_is_skipped(tmp_path):
    folder = tmp_path / "pics"
    write_jpeg(folder / "good.jpg")
    (folder / "empty.jpg").write_bytes(b"")  # size 0: a FIFO put in its place looks unchanged to a stat
    with Library(tmp_path / "library.db") as lib:
        lib.add_folder(folder)
        drain(scan_library(lib))
        fifo = folder / "empty.jpg"
        replace_keeping_times(fifo, os.mkfifo)
        try:
            failures = finishes(index_in_own_connection, tmp_path / "library.db")
        finally:
            release_fifo(fifo)
        assert failures == []
        reasons = dict(lib.skipped())
        assert "not a regular file (a named pipe)" in reasons[str(fifo)]
        assert lib.photo_by_path(folder / "good.jpg").status == "ok"


def test_open_image_refuses_fifos_devices_and_folders(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.jpg"
    os.symlink("/dev/zero", zero)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    try:
        for path, kind in ((fifo, "a named pipe"), (zero, "a device"), (folder, "a folder")):
            failures = finishes(open_image, str(path))
            assert len(failures) == 1 and isinstance(failures[0], SkipFile), (path, failures)
            assert failures[0].reason == f"not a regular file ({kind})"
    finally:
        release_fifo(fifo)
