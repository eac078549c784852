"""Scanning and indexing with the fake embedder: incremental rescans, moves, bad files, cancel, resume."""

from __future__ import annotations

import os
import shutil

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import MISSING, OK, SKIPPED
from photoclip.core.ingest import decoding
from photoclip.core.ingest import scan as scan_module
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.ingest.scan import scan_library
from photoclip.core.model import FakeEmbedder
from tests.core.helpers import write_jpeg


def run(gen):
    """Drain an index/scan generator; return (events, final value)."""
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def index(lib, embedder, **kw):
    return run(index_library(lib, embedder, commit_every=0.0, **kw))


def make_library(tmp_path, n=6):
    folder = tmp_path / "pics"
    for i in range(n):
        write_jpeg(folder / f"img{i}.jpg", seed=i)
    return folder


def test_index_embeds_every_photo_and_reports_progress(library, tmp_path, photo_dir, fake_embedder):
    library.add_folder(photo_dir)
    events, final = index(library, fake_embedder)
    photos = len(list(photo_dir.iterdir()))
    assert final.phase == "done" and final.embedded == photos and final.skipped == 0
    assert library.counts(fake_embedder.model_id)["embedded"] == photos
    assert fake_embedder.images_embedded == photos
    dones = [e.done for e in events if e.phase != "scan"]
    assert dones == sorted(dones)
    assert all(p.status == OK and p.width and p.taken_at for p in library.all_photos())


def test_unchanged_rescan_costs_one_stat_and_embeds_nothing(library, tmp_path, fake_embedder, monkeypatch):
    library.add_folder(make_library(tmp_path))
    index(library, fake_embedder)
    calls = []
    monkeypatch.setattr(decoding, "fingerprint", lambda *a: calls.append(a) or "x")
    embedded_before = fake_embedder.images_embedded
    _, final = index(library, fake_embedder)
    assert calls == []
    assert fake_embedder.images_embedded == embedded_before
    assert final.scan.seen == 6 and final.scan.new == final.scan.changed == 0


def test_renamed_file_keeps_its_vector_and_tags_without_new_embedding(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path)
    library.add_folder(folder)
    index(library, fake_embedder)
    photo = library.photo_by_path(folder / "img0.jpg")
    vector = library.vector(photo.id, fake_embedder.model_id)
    library.conn.execute("INSERT INTO labels (name, created_at, updated_at) VALUES ('beach', 0, 0)")
    library.conn.execute("INSERT INTO tags (photo_id, label_id, source, created_at) VALUES (?, 1, 'manual', 0)", (photo.id,))
    (folder / "sub").mkdir()
    os.rename(folder / "img0.jpg", folder / "sub" / "renamed.jpg")
    embedded_before = fake_embedder.images_embedded
    _, final = index(library, fake_embedder)
    assert fake_embedder.images_embedded == embedded_before
    assert final.scan.moved == 1 and final.scan.new == 0 and final.scan.missing == 0
    moved = library.photo_by_path(folder / "sub" / "renamed.jpg")
    assert moved.id == photo.id and moved.status == OK
    np.testing.assert_array_equal(library.vector(moved.id, fake_embedder.model_id), vector)
    assert library.conn.execute("SELECT COUNT(*) FROM tags WHERE photo_id = ?", (photo.id,)).fetchone()[0] == 1


def test_changed_file_is_embedded_again(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path)
    library.add_folder(folder)
    index(library, fake_embedder)
    old = library.vector(library.photo_by_path(folder / "img1.jpg").id, fake_embedder.model_id)
    write_jpeg(folder / "img1.jpg", seed=99, size=(400, 300))
    embedded_before = fake_embedder.images_embedded
    _, final = index(library, fake_embedder)
    assert final.scan.changed == 1
    assert fake_embedder.images_embedded == embedded_before + 1
    new = library.vector(library.photo_by_path(folder / "img1.jpg").id, fake_embedder.model_id)
    assert not np.allclose(old, new)


def test_deleted_file_is_marked_missing_keeps_tags_and_purges_on_request(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path)
    library.add_folder(folder)
    index(library, fake_embedder)
    pid = library.photo_by_path(folder / "img2.jpg").id
    library.conn.execute("INSERT INTO labels (name, created_at, updated_at) VALUES ('x', 0, 0)")
    library.conn.execute("INSERT INTO tags (photo_id, label_id, source, created_at) VALUES (?, 1, 'manual', 0)", (pid,))
    os.unlink(folder / "img2.jpg")
    _, final = index(library, fake_embedder)
    assert final.scan.missing == 1
    assert library.photo(pid).status == MISSING
    assert library.conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 1
    assert library.counts(fake_embedder.model_id)["missing"] == 1
    # Back again, unchanged: present, nothing re-embedded.
    write_jpeg(folder / "img2.jpg", seed=2)
    library.purge_missing()  # purging now would drop it; restore first instead
    assert library.photo(pid) is None
    assert library.conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 0


def test_missing_file_that_returns_is_present_again_without_embedding(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path)
    library.add_folder(folder)
    index(library, fake_embedder)
    shutil.move(folder / "img3.jpg", tmp_path / "aside.jpg")
    index(library, fake_embedder)
    shutil.move(tmp_path / "aside.jpg", folder / "img3.jpg")
    before = fake_embedder.images_embedded
    _, _final = index(library, fake_embedder)
    assert library.photo_by_path(folder / "img3.jpg").status == OK
    assert fake_embedder.images_embedded == before


def test_unavailable_folder_does_not_mark_its_photos_missing(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path)
    library.add_folder(folder)
    index(library, fake_embedder)
    shutil.move(folder, tmp_path / "unplugged")
    _, final = index(library, fake_embedder)
    assert any("not available" in reason for _, reason in final.scan.problems)
    assert library.counts(fake_embedder.model_id)["missing"] == 0


def test_hostile_files_are_skipped_with_reasons_and_the_rest_is_indexed(library, tmp_path, fake_embedder):
    from PIL import Image

    folder = make_library(tmp_path, n=3)
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("hello, not a picture")
    good = (folder / "img0.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    Image.new("1", (20000, 10000)).save(folder / "bomb.png")
    odd_name = os.fsdecode(b"caf\xe9-odd.jpg")
    write_jpeg(folder / odd_name, seed=42)
    os.symlink(folder, folder / "loop")  # a symlink loop back to the folder itself
    library.add_folder(folder)
    _, final = index(library, fake_embedder)
    reasons = dict(library.skipped())
    assert set(map(os.path.basename, reasons)) == {"zero.jpg", "text.jpg", "truncated.jpg", "bomb.png"}
    assert "not an image" in reasons[str(folder / "zero.jpg")]
    assert "corrupt or truncated" in reasons[str(folder / "truncated.jpg")]
    assert "pixels" in reasons[str(folder / "bomb.png")]
    assert final.embedded == 4  # three good photos plus the oddly named one, each once despite the loop
    assert library.photo_by_path(folder / odd_name).status == OK


def test_file_vanishing_between_scan_and_read_is_skipped(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path, n=2)
    library.add_folder(folder)
    run(scan_library(library))
    os.unlink(folder / "img1.jpg")
    _, final = index(library, fake_embedder, scan=False)
    assert final.skipped == 1 and final.embedded == 1
    assert "vanished" in dict(library.skipped())[str(folder / "img1.jpg")]


def test_unreadable_folder_and_file_are_reported_and_scan_goes_on(library, tmp_path, fake_embedder, monkeypatch):
    # Tests run as root, which reads everything, so refusal is simulated where the OS would raise it.
    folder = make_library(tmp_path, n=2)
    locked = folder / "locked"
    write_jpeg(locked / "secret.jpg")
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(scan_module.os, "scandir", scandir)
    from photoclip.core.media import decode

    real_open = decode.os.open

    def os_open(path, *a, **kw):
        if str(path).endswith("img1.jpg"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)

    monkeypatch.setattr(decode.os, "open", os_open)
    library.add_folder(folder)
    _, final = index(library, fake_embedder)
    assert any(p == str(locked) and "Permission denied" in r for p, r in final.scan.problems)
    assert dict(library.skipped())[str(folder / "img1.jpg")] == "permission denied"
    assert final.embedded == 1


def test_raw_beside_jpeg_is_one_photo(library, tmp_path, fake_embedder):
    folder = make_library(tmp_path, n=1)
    (folder / "IMG0.CR2").write_bytes(b"raw bytes")
    (folder / "lonely.nef").write_bytes(b"raw bytes")
    library.add_folder(folder)
    index(library, fake_embedder)
    paths = {os.path.basename(p.path) for p in library.all_photos(statuses=(OK, SKIPPED))}
    assert "IMG0.CR2" not in paths and "img0.jpg" in paths
    companion = library.conn.execute("SELECT companion FROM photos WHERE path LIKE '%img0.jpg'").fetchone()[0]
    assert companion.endswith("IMG0.CR2")
    from photoclip.core.media.decode import RAW_SUPPORTED

    if not RAW_SUPPORTED:
        assert "RAW support is not installed" in dict(library.skipped())[str(folder / "lonely.nef")]


def test_catalogue_without_model_then_embed_later(library, tmp_path, fake_embedder):
    library.add_folder(make_library(tmp_path, n=4))
    _, final = index(library, None, thumbnails=tmp_path / "thumbs")
    assert final.catalogued == 4 and final.embedded == 0
    assert all(p.status == OK and p.width == 320 for p in library.all_photos())
    assert len(list((tmp_path / "thumbs").rglob("*.jpg"))) == 4
    assert library.counts(fake_embedder.model_id)["pending"] == 4
    _, final = index(library, fake_embedder)
    assert final.embedded == 4
    assert library.counts(fake_embedder.model_id)["pending"] == 0


def test_cancel_keeps_committed_work_and_rerun_finishes_without_redoing_it(library, tmp_path):
    library.add_folder(make_library(tmp_path, n=40))
    embedder = FakeEmbedder()
    token = CancelToken()
    gen = index_library(library, embedder, cancel=token, batch_size=4, commit_every=0.0)
    for event in gen:
        if event.phase == "index" and event.embedded >= 8:
            token.cancel()
    committed = library.vector_count(embedder.model_id)
    assert 8 <= committed < 40
    second = FakeEmbedder()
    _, _final = index(library, second, batch_size=4)
    assert second.images_embedded == 40 - committed
    assert library.vector_count(embedder.model_id) == 40


def test_after_commit_hook_receives_every_new_photo_once(library, tmp_path, fake_embedder):
    library.add_folder(make_library(tmp_path, n=10))
    seen = []
    index(library, fake_embedder, batch_size=3, after_commit=seen.extend)
    assert sorted(seen) == sorted(p.id for p in library.all_photos())


def test_pause_blocks_until_resumed():
    token = CancelToken()
    token.pause()
    assert token.paused
    token.cancel()  # cancelling a paused job must not leave it blocked
    token.wait_if_paused()
    assert token.cancelled


def test_keywords_in_existing_sidecars_become_manual_tags(library, tmp_path, fake_embedder):
    from photoclip.core import tagging

    folder = make_library(tmp_path, n=3)
    (folder / "img0.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
        "<dc:subject><rdf:Bag><rdf:li>Dogs</rdf:li><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>"
        "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Animals|Dogs</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    (folder / "img1.xmp").write_text("<not xml")
    library.add_folder(folder)
    _, final = index(library, fake_embedder)
    tagged = library.photo_by_path(folder / "img0.jpg").id
    tags = {(t.label, t.source) for t in tagging.photo_tags(library, tagged)}
    assert ("Animals/Dogs", "manual") in tags and ("holiday", "manual") in tags
    assert any("sidecar" in reason for _, reason in final.scan.problems)
    assert final.embedded == 3
