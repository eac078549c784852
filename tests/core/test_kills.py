"""SIGKILL at chosen points of CLI commands (tests/core/killpoint.py stops the process there):
afterwards the library opens, a rerun finishes, nothing that is not ours changed, and no
temp file is left where the user sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.paths import TEMP_MARKER
from photoclip.core.xmp import sidecar
from tests.core.helpers import write_jpeg

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="SIGKILL")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path, isolated_home):
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "library.db"),
        "PHOTOCLIP_NO_WORKER": "1",
    }


def photoclip(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "photoclip", *args], env=env, capture_output=True, text=True, timeout=300)


def kill_at(env: dict[str, str], target: str, when: str, nth: int, *args: str) -> None:
    """Run `photoclip ARGS` until the `nth` call of `target` (before or after it), then SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.killpoint", target, when, str(nth), "--", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.strip() == "KILLPOINT":
                break
            seen.append(line)
        else:
            raise AssertionError(f"exit {proc.wait()} before the kill point {target}:\n{''.join(seen)}")
    finally:
        proc.kill()
        proc.wait(60)


def user_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_library_opens(env: dict[str, str]) -> None:
    proc = photoclip(env, "status")
    assert proc.returncode == 0, proc.stderr


FOREIGN = b'<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><!-- another app --></x:xmpmeta>\n'


def test_xmp_export_killed_between_the_sidecar_and_the_library_still_owns_its_keyword(env, tmp_path):
    pics = tmp_path / "pics"
    photos = [write_jpeg(pics / f"{name}.jpg", seed=i) for i, name in enumerate("abc")]
    # Another app's sidecars: Lightroom's photo.xmp beside a tagged photo, darktable's of an untagged one.
    (pics / "a.xmp").write_bytes(FOREIGN)
    (pics / "c.jpg.xmp").write_bytes(FOREIGN)
    with Library(Path(env["PHOTOCLIP_DB"])) as lib:
        folder = lib.add_folder(str(pics))
        ids = [lib.insert_photo(str(p), folder, p.stat().st_size, p.stat().st_mtime_ns, None) for p in photos]
        for pid in ids[:2]:
            tagging.add_tag(lib, pid, "Dogs")
    foreign = {name: (pics / name).read_bytes() for name in ("a.xmp", "c.jpg.xmp")}

    # Killed right after the first sidecar was replaced, before the library wrote down that
    # the keyword in it is photoclip's.
    kill_at(env, "photoclip.core.xmp.keywords:replace_sidecar", "after", 1, "xmp", "export")
    assert_library_opens(env)
    rerun = photoclip(env, "xmp", "export")
    assert rerun.returncode == 0, rerun.stderr
    assert not [n for n in os.listdir(pics) if TEMP_MARKER in n]
    assert {name: (pics / name).read_bytes() for name in foreign} == foreign

    # A renamed label's old keyword goes from every sidecar photoclip wrote it into: before,
    # the one written just before the kill kept "Dogs" for ever (taken for another app's).
    with Library(Path(env["PHOTOCLIP_DB"])) as lib:
        tagging.rename_label(lib, "Dogs", "Pets")
    assert photoclip(env, "xmp", "export").returncode == 0
    for photo in photos[:2]:
        assert sidecar.read_keywords(f"{photo}.xmp") == ["Pets"]
    assert {name: (pics / name).read_bytes() for name in foreign} == foreign


def tagged_library(env: dict[str, str], pics: Path, count: int) -> list[Path]:
    photos = [write_jpeg(pics / f"p{i}.jpg", seed=i) for i in range(count)]
    with Library(Path(env["PHOTOCLIP_DB"])) as lib:
        folder = lib.add_folder(str(pics))
        for p in photos:
            tagging.add_tag(lib, lib.insert_photo(str(p), folder, p.stat().st_size, p.stat().st_mtime_ns, None), "Dogs")
    return photos


@pytest.mark.parametrize("kind", ["copies", "links"])
def test_an_album_export_killed_midway_finishes_when_run_again_and_leaves_no_temp_file(env, tmp_path, kind):
    photos = tagged_library(env, tmp_path / "pics", 4)
    before = user_files(tmp_path / "pics")
    assert photoclip(env, "albums", "save", "dogs", "tag:Dogs").returncode == 0
    out = tmp_path / "out"
    # copies: killed after the second photo's copy is complete under its temp name, before
    # it is linked into place; links: after the second link.
    target = "shutil:copy2" if kind == "copies" else "os:symlink"
    kill_at(env, target, "after", 2, "albums", "export", "dogs", "--to", str(out), "--as", kind)
    assert_library_opens(env)
    assert len(os.listdir(out)) == 2

    # Before: "…/out/p3.jpg already exists: nothing was written", and the hidden temp copy stayed.
    rerun = photoclip(env, "albums", "export", "dogs", "--to", str(out), "--as", kind)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(os.listdir(out)) == sorted(p.name for p in photos)
    for p in photos:
        assert (out / p.name).read_bytes() == p.read_bytes()
        assert (out / p.name).is_symlink() == (kind == "links")
    assert user_files(tmp_path / "pics") == before

    # A file of the same name that is another photo is still refused, nothing overwritten.
    (out / photos[0].name).unlink()
    (out / photos[0].name).write_bytes(b"someone else's")
    again = photoclip(env, "albums", "export", "dogs", "--to", str(out), "--as", kind)
    assert again.returncode == 2 and "already exists: nothing was written" in again.stderr
    assert (out / photos[0].name).read_bytes() == b"someone else's"


def test_an_index_killed_while_writing_thumbnails_leaves_no_temp_file_after_the_next_run(env, tmp_path, isolated_home):
    pics = tmp_path / "pics"
    for i in range(6):
        write_jpeg(pics / f"p{i}.jpg", seed=i)
    before = user_files(pics)
    assert photoclip(env, "add-folder", str(pics)).returncode == 0
    # Killed inside the third thumbnail's write: its temp file is open, not yet renamed.
    kill_at(env, "PIL.Image:Image.save", "before", 3, "index", "--catalogue-only")
    assert_library_opens(env)
    rerun = photoclip(env, "index", "--catalogue-only")
    assert rerun.returncode == 0, rerun.stderr

    thumbs = [p for p in (isolated_home / "cache" / "thumbnails").rglob("*") if p.is_file()]
    # Before: the killed writer's `.tmp-*.jpg` stayed in the cache for good.
    assert sorted(p.name for p in thumbs if p.name.startswith(".")) == []
    assert len(thumbs) == 6
    assert user_files(pics) == before


def test_a_labels_import_killed_midway_is_finished_by_running_it_again(env, tmp_path):
    import json

    labels = [{"name": f"Label {i}", "descriptions": [f"a photo of thing {i}", f"thing {i} outdoors"]} for i in range(5)]
    file = tmp_path / "labels.json"
    file.write_text(json.dumps({"format": "photoclip-labels", "version": 1, "labels": labels}))
    before = file.read_bytes()
    assert photoclip(env, "labels", "list").returncode == 0  # the library exists (status refuses a missing one)
    # Killed after the second label was created (each is its own committed write).
    kill_at(env, "photoclip.core.tagging.labelfiles:create_label", "after", 2, "labels", "import", str(file))
    assert_library_opens(env)
    rerun = photoclip(env, "labels", "import", str(file))
    assert rerun.returncode == 0, rerun.stderr
    with Library(Path(env["PHOTOCLIP_DB"])) as lib:
        found = {label.name: list(label.descriptions) for label in tagging.list_labels(lib)}
    assert found == {entry["name"]: entry["descriptions"] for entry in labels}  # each once, nothing doubled
    assert file.read_bytes() == before


def test_an_albums_save_killed_before_its_write_leaves_no_album_and_is_saved_by_running_it_again(env, tmp_path):
    tagged_library(env, tmp_path / "pics", 2)
    kill_at(env, "photoclip.cli.albums:save_album", "before", 1, "albums", "save", "dogs", "tag:Dogs")
    assert_library_opens(env)
    assert "No albums yet" in photoclip(env, "albums", "list").stderr
    assert photoclip(env, "albums", "save", "dogs", "tag:Dogs").returncode == 0
    assert photoclip(env, "albums", "list").stdout.split("\t")[0] == "dogs"
