"""Temp files of sidecar writes: recognisable, and those of a killed write removed by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from photoclip.core import tagging
from photoclip.core.paths import TEMP_MARKER, remove_stale_temps, temp_path_for
from photoclip.core.xmp import sidecar

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process ids are checked with POSIX signals")

# A write killed after its temp file was complete and before the rename put it in place.
KILLED_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from photoclip.core.xmp import sidecar
    os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
    sidecar.write_keywords(sys.argv[1], add=["Animals/Cats"])
    """
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_names_say_whose_and_which_process(tmp_path):
    name = os.path.basename(temp_path_for(tmp_path / "photo.jpg.xmp"))
    assert name.startswith(".photo.jpg.xmp" + TEMP_MARKER + f"{os.getpid()}-")
    assert os.path.dirname(temp_path_for(tmp_path / "photo.jpg.xmp")) == str(tmp_path)


def test_the_temp_file_of_a_killed_write_is_removed_by_the_next_export(library, photo_dir):
    folder_id = library.add_folder(photo_dir)
    photo = photo_dir / "skimage_chelsea.jpg"
    pid = library.insert_photo(str(photo), folder_id, photo.stat().st_size, photo.stat().st_mtime_ns, None)
    tagging.add_tag(library, pid, "Animals/Cats")
    target = photo_dir / "skimage_chelsea.jpg.xmp"
    before = set(os.listdir(photo_dir))

    proc = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], timeout=60, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    leftovers = set(os.listdir(photo_dir)) - before
    assert len(leftovers) == 1 and leftovers.pop().startswith(".skimage_chelsea.jpg.xmp.")
    assert not target.exists()

    assert sidecar.export_xmp(library) == [str(target)]
    assert set(os.listdir(photo_dir)) == before | {target.name}
    assert sidecar.read_keywords(target) == ["Animals/Cats"]


def test_only_our_leftovers_of_dead_processes_go(tmp_path):
    dead = dead_pid()
    stale = tmp_path / f".a.jpg.xmp{TEMP_MARKER}{dead}-0123abcd"
    keep = {
        "live": tmp_path / f".b.jpg.xmp{TEMP_MARKER}{os.getppid()}-0123abcd",  # its writer is still running
        "mine": tmp_path / f".c.jpg.xmp{TEMP_MARKER}{os.getpid()}-0123abcd",
        "other app": tmp_path / ".a.jpg.xmp.darktable-tmp-123",
        "not hidden": tmp_path / f"a.jpg.xmp{TEMP_MARKER}{dead}-0123abcd",
        "other suffix": tmp_path / f".a.jpg.xmp{TEMP_MARKER}{dead}-0123abcd.bak",
    }
    for path in [stale, *keep.values()]:
        path.write_text("x", "utf-8")
    link = tmp_path / f".d.jpg.xmp{TEMP_MARKER}{dead}-0123abcd"
    link.symlink_to(keep["other app"])
    folder = tmp_path / f".e.jpg.xmp{TEMP_MARKER}{dead}-0123abcd"
    folder.mkdir()

    assert remove_stale_temps(tmp_path) == [str(stale)]
    assert not stale.exists()
    assert all(path.read_text("utf-8") == "x" for path in keep.values())
    assert link.is_symlink() and folder.is_dir()
    assert remove_stale_temps(tmp_path / "no such folder") == []
