"""Hostile sidecars: pipes, devices, links, folders and huge files where a sidecar belongs.

Each is refused with a reason that says what the path is, nothing is read from it or
written over it, and nothing waits. A hang fails fast: in-process tests run under a
SIGALRM deadline (a blocking open() is interrupted by it), and anything that could read
/dev/zero runs in a child process with a memory cap and a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.xmp import sidecar

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev/zero are POSIX")

HUGE = 20 * 2**20  # above the 16 MiB cap, far above any real sidecar
SMALL_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@contextmanager
def deadline(seconds: float = 10.0) -> Iterator[None]:
    """Fail instead of hanging: a blocked open() or read() is interrupted after `seconds`."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def limit_memory() -> None:
    """In a child: reading /dev/zero into memory fails at 2 GiB instead of taking the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def huge_xmp(path: Path) -> None:
    """A valid XMP sidecar of 20 MiB (a long comment inside): parses, but is no real sidecar."""
    head, tail = SMALL_XMP.split("<rdf:RDF", 1)
    padding = HUGE - len(SMALL_XMP) - 7
    path.write_text(f"{head}<!--{'x' * padding}--><rdf:RDF{tail}", "utf-8")


def kind(path: Path) -> str:
    st = os.lstat(path)
    return "link" if stat.S_ISLNK(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- reading and writing one sidecar ----------------------------------------------------


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "photo.jpg.xmp"
    os.mkfifo(fifo)
    with deadline():
        with pytest.raises(sidecar.SidecarError, match="named pipe"):
            sidecar.read_keywords(fifo)
        with pytest.raises(sidecar.SidecarError, match="named pipe"):
            sidecar.write_keywords(fifo, add=["Dogs"])
    assert kind(fifo) == "fifo"


def test_a_pipe_swapped_in_after_the_type_check_cannot_block_the_open(tmp_path, monkeypatch):
    """The race: a regular file when stat() looks, a pipe when open() runs."""
    fifo = tmp_path / "photo.jpg.xmp"
    os.mkfifo(fifo)
    regular = tmp_path / "regular.xmp"
    regular.write_text(SMALL_XMP, "utf-8")
    real_stat = os.stat

    def stat_sees_a_file(path, *args, **kwargs):
        return real_stat(regular if os.fspath(path) == str(fifo) else path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_sees_a_file)
    with deadline(), pytest.raises(sidecar.SidecarError, match="named pipe"):
        sidecar.read_keywords(fifo)


CHILD = textwrap.dedent(
    """
    import json, sys
    from photoclip.core.xmp import sidecar
    op, path = sys.argv[1], sys.argv[2]
    try:
        result = sidecar.read_keywords(path) if op == "read" else sidecar.write_keywords(path, add=["Dogs"])
        print(json.dumps({"result": result}))
    except sidecar.SidecarError as exc:
        print(json.dumps({"refused": str(exc)}))
    """
)


def in_child(op: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, op, str(path)], capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_a_link_to_dev_zero_is_neither_read_nor_replaced(tmp_path):
    link = tmp_path / "photo.jpg.xmp"
    link.symlink_to("/dev/zero")
    assert "is a device" in in_child("read", link)["refused"]
    assert "symbolic link" in in_child("write", link)["refused"]
    assert kind(link) == "link" and os.readlink(link) == "/dev/zero"


def test_a_huge_sidecar_is_refused_and_left_as_it_was(tmp_path):
    big = tmp_path / "photo.jpg.xmp"
    huge_xmp(big)
    before = digest(big)
    with pytest.raises(sidecar.SidecarError, match="MiB"):
        sidecar.read_keywords(big)
    with pytest.raises(sidecar.SidecarError, match="MiB"):
        sidecar.write_keywords(big, add=["Dogs"])
    assert digest(big) == before


def test_a_folder_named_like_a_sidecar_is_reported_not_touched(tmp_path, library):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not read here")
    folder = tmp_path / "photo.jpg.xmp"
    folder.mkdir()
    (folder / "inside").write_text("kept", "utf-8")
    with pytest.raises(sidecar.SidecarError, match="is a folder"):
        sidecar.write_keywords(folder, add=["Dogs"])
    # The scan's import says why the photo's sidecar was skipped, instead of passing over it.
    folder_id = library.add_folder(tmp_path)
    pid = library.insert_photo(str(photo), folder_id, 13, photo.stat().st_mtime_ns, None)
    with pytest.raises(sidecar.SidecarError, match="is a folder"):
        sidecar.import_sidecar_tags(library, pid, photo)
    assert (folder / "inside").read_text("utf-8") == "kept"


def test_the_scan_import_reports_a_pipe_under_the_lightroom_name(tmp_path, library):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not read here")
    os.mkfifo(tmp_path / "photo.xmp")
    folder_id = library.add_folder(tmp_path)
    pid = library.insert_photo(str(photo), folder_id, 13, photo.stat().st_mtime_ns, None)
    with deadline(), pytest.raises(sidecar.SidecarError, match="named pipe"):
        sidecar.import_sidecar_tags(library, pid, photo)
    assert tagging.photo_tags(library, pid) == []


def test_a_link_to_a_regular_file_is_read_but_never_replaced(tmp_path):
    elsewhere = tmp_path / "elsewhere.xmp"
    elsewhere.write_text(SMALL_XMP, "utf-8")
    link = tmp_path / "photo.jpg.xmp"
    link.symlink_to(elsewhere)
    assert sidecar.read_keywords(link) == ["Holiday"]
    with pytest.raises(sidecar.SidecarError, match="symbolic link"):
        sidecar.write_keywords(link, add=["Dogs"])
    assert kind(link) == "link" and elsewhere.read_text("utf-8") == SMALL_XMP


# -- export, in process and through the command line -------------------------------------


@pytest.fixture
def hostile_library(library, photo_dir):
    """Four tagged photos whose sidecar names hold a pipe, a folder, a huge file and a
    link to /dev/zero, and one ordinary tagged photo."""
    folder_id = library.add_folder(photo_dir)
    names = ["skimage_chelsea.jpg", "skimage_coffee.jpg", "skimage_astronaut.png", "skimage_brick.png", "skimage_camera.png"]
    for name in names:
        path = photo_dir / name
        pid = library.insert_photo(str(path), folder_id, path.stat().st_size, path.stat().st_mtime_ns, None)
        tagging.add_tag(library, pid, "Animals/Cats")
    os.mkfifo(photo_dir / "skimage_chelsea.jpg.xmp")
    (photo_dir / "skimage_coffee.jpg.xmp").mkdir()
    huge_xmp(photo_dir / "skimage_astronaut.png.xmp")
    (photo_dir / "skimage_brick.png.xmp").symlink_to("/dev/zero")
    library.conn.commit()
    return photo_dir


def expected_problems(photo_dir: Path) -> dict[str, str]:
    return {
        str(photo_dir / "skimage_chelsea.jpg.xmp"): "named pipe",
        str(photo_dir / "skimage_coffee.jpg.xmp"): "is a folder",
        str(photo_dir / "skimage_astronaut.png.xmp"): "MiB",
        str(photo_dir / "skimage_brick.png.xmp"): "symbolic link",
    }


def test_export_reports_each_hostile_sidecar_and_writes_the_ordinary_one(library, hostile_library):
    photo_dir = hostile_library
    # In this process, a link to the photo itself instead of /dev/zero (the command-line
    # test below has that one): writing through it would change the photo.
    link = photo_dir / "skimage_brick.png.xmp"
    link.unlink()
    link.symlink_to(photo_dir / "skimage_brick.png")
    brick_before = digest(photo_dir / "skimage_brick.png")
    huge_before = digest(photo_dir / "skimage_astronaut.png.xmp")
    problems: list[tuple[str, str]] = []
    with deadline(30):
        touched = sidecar.export_xmp(library, problems=problems)
    assert touched == [str(photo_dir / "skimage_camera.png.xmp")]
    reasons = dict(problems)
    for path, reason in expected_problems(photo_dir).items():
        assert reason in reasons[path]
    assert len(problems) == 4
    assert kind(photo_dir / "skimage_chelsea.jpg.xmp") == "fifo"
    assert kind(photo_dir / "skimage_coffee.jpg.xmp") == "dir"
    assert digest(photo_dir / "skimage_astronaut.png.xmp") == huge_before
    assert kind(link) == "link" and digest(photo_dir / "skimage_brick.png") == brick_before
    # Nothing of these was claimed as photoclip's keyword.
    claimed = {p for (p,) in library.conn.execute("SELECT path FROM photos JOIN sidecar_keywords ON photo_id = id")}
    assert claimed == {str(photo_dir / "skimage_camera.png")}


@pytest.mark.slow
def test_xmp_export_command_finishes_and_lists_the_skipped_sidecars(library, hostile_library, isolated_home):
    photo_dir = hostile_library
    env = {**os.environ, "PHOTOCLIP_HOME": str(isolated_home), "PHOTOCLIP_DB": str(library.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "photoclip", "xmp", "export", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_memory,
    )
    assert proc.returncode == 1, proc.stderr  # 1: some sidecars were skipped; the rest was done
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["touched"] == [str(photo_dir / "skimage_camera.png.xmp")]
    reasons = {p["path"]: p["reason"] for p in doc["problems"]}
    assert set(reasons) == set(expected_problems(photo_dir))
    for path, reason in expected_problems(photo_dir).items():
        assert reason in reasons[path]
    assert kind(photo_dir / "skimage_chelsea.jpg.xmp") == "fifo"


INDEX_CHILD = textwrap.dedent(
    """
    import sys
    from photoclip import cli
    from photoclip.core import tagging
    from photoclip.core.model import FakeEmbedder

    class FirstPhotoEmbedder(FakeEmbedder):
        # Every label prompt is the first photo embedded, background prompts its opposite:
        # photos get tagged, so their sidecars are written.
        first = None

        def embed_images(self, batch):
            out = super().embed_images(batch)
            if self.first is None:
                self.first = out[0]
            return out

        def embed_texts(self, texts):
            out = super().embed_texts(texts)
            for i, text in enumerate(texts):
                out[i] = -self.first if text in tagging.BACKGROUND_PROMPTS else self.first
            return out

    embedder = FirstPhotoEmbedder()
    cli.Context.embedder = lambda self: embedder
    cli.Context.loading_embedder = lambda self: embedder
    sys.exit(cli.run(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_index_with_sidecar_writing_reports_pipes_instead_of_hanging(tmp_path, photo_dir, isolated_home):
    from photoclip.core.db import Library
    from photoclip.core.settings import Settings

    Settings(write_xmp=True).save()
    db = tmp_path / "index.db"
    with Library(db) as lib:
        tagging.create_label(lib, "Favourites")
    photos = sorted(p for p in photo_dir.iterdir() if p.suffix in {".jpg", ".png"})
    for photo in photos:
        os.mkfifo(f"{photo}.xmp")
    env = {**os.environ, "PHOTOCLIP_HOME": str(isolated_home)}
    proc = subprocess.run(
        [sys.executable, "-c", INDEX_CHILD, "--db", str(db), "add-folder", str(photo_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-c", INDEX_CHILD, "--db", str(db), "index", "--no-thumbnails", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["embedded"] == len(photos)
    # The scan could not import keywords from them, and said why ...
    scan_problems = {p["path"]: p["reason"] for p in doc["problems"]}
    assert all("named pipe" in scan_problems.get(f"{photo}.xmp", "") for photo in photos)
    # ... and writing the tagged photos' sidecars skipped every pipe, and said why.
    assert doc["sidecars"] == []
    assert doc["sidecar_problems"] and all("named pipe" in p["reason"] for p in doc["sidecar_problems"])
    assert all(kind(Path(f"{photo}.xmp")) == "fifo" for photo in photos)
