"""The first scan of a large folder: it only stats, reports progress, stops on cancel and keeps what it saw."""

from __future__ import annotations

import builtins
import os

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.ingest import scan as scan_module
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.ingest.scan import scan_library
from photoclip.core.model import FakeEmbedder
from tests.core.helpers import write_jpeg

MANY = 3000


def many_files(folder, n=MANY):
    # Contents do not matter to a scan; one real photo gives the pipeline something to read.
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"f{i:05d}.jpg").write_bytes(b"x" * 10)
    return folder


def test_first_scan_opens_no_photo_and_reports_progress(tmp_path, monkeypatch):
    folder = many_files(tmp_path / "pics")
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, *a, **kw):
        opened.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else "")
        return real_open(file, *a, **kw)

    def spy_os_open(path, *a, **kw):
        opened.append(os.fspath(path))
        return real_os_open(path, *a, **kw)

    with Library(tmp_path / "library.db") as lib:
        lib.add_folder(folder)
        monkeypatch.setattr(builtins, "open", spy_open)
        monkeypatch.setattr(os, "open", spy_os_open)
        events = []
        gen = scan_library(lib)
        while True:
            try:
                events.append(next(gen))
            except StopIteration as stop:
                result = stop.value
                break
        monkeypatch.undo()
        assert result.new == MANY
        assert not [p for p in opened if str(folder) in p], "the scan read photo files"
        assert len(events) >= MANY // scan_module.EVENT_FILES
        # Fingerprints come later, from the decode workers.
        assert lib.conn.execute("SELECT COUNT(*) FROM photos WHERE hash IS NULL").fetchone()[0] == MANY


def test_cancel_during_a_first_scan_stops_it_and_keeps_what_it_saw(tmp_path):
    folder = many_files(tmp_path / "pics")
    token = CancelToken()
    with Library(tmp_path / "library.db") as lib:
        lib.add_folder(folder)
        scan_events = 0
        final = None
        for event in index_library(lib, FakeEmbedder(), cancel=token):
            final = event
            if event.phase == "scan":
                scan_events += 1
                token.cancel()
        assert final is not None and final.cancelled and final.phase == "done"
        assert scan_events == 1  # stopped at the first event, not after the walk
        kept = lib.counts(None)["photos"]
        assert 0 < kept < MANY  # what it saw before the cancel is catalogued, not rolled back
        # A rerun finishes the job without duplicating anything.
        for _ in index_library(lib, None):
            pass
        assert lib.counts(None)["photos"] + lib.counts(None)["skipped"] == MANY


def test_decode_workers_record_the_fingerprint_and_recognise_a_move_later(tmp_path):
    folder = tmp_path / "pics"
    for i in range(3):
        write_jpeg(folder / f"img{i}.jpg", seed=i)
    embedder = FakeEmbedder()
    with Library(tmp_path / "library.db") as lib:
        lib.add_folder(folder)
        for _ in index_library(lib, embedder):
            pass
        assert all(p.hash for p in lib.all_photos())
        before = lib.photo_by_path(folder / "img1.jpg")
        (folder / "deeper").mkdir()
        os.rename(folder / "img1.jpg", folder / "deeper" / "img1-renamed.jpg")
        os.rename(folder / "img2.jpg", tmp_path / "away.jpg")  # a plain missing photo beside the move
        embedded = embedder.images_embedded
        for event in index_library(lib, embedder):
            final = event
        after = lib.photo_by_path(folder / "deeper" / "img1-renamed.jpg")
        assert after.id == before.id and after.hash == before.hash and after.status == "ok"
        assert embedder.images_embedded == embedded
        assert (final.scan.new, final.scan.moved, final.scan.missing) == (0, 1, 1)
