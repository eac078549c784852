"""Photos with no date inside sort by their file's date, in its real place among the dated
ones (round 19's decision: a photographer finds an old scan where its file says, marked
"file date", not piled on top under today's year nor hidden at the end)."""

from __future__ import annotations

import os
from datetime import datetime

from photoclip.core.search.request import SearchRequest, browse
from tests.core.test_places_albums import index, photo_with


def test_a_photo_without_a_date_sits_at_its_file_date(tmp_path, library, fake_embedder):
    folder = tmp_path / "mixed"
    photo_with(folder / "new.jpg", taken="2023:06:10 09:00:00", seed=1)
    photo_with(folder / "old.jpg", taken="2012:03:01 09:00:00", seed=2)
    scan = photo_with(folder / "scan.jpg", seed=3)  # no date inside: a scan, a screenshot
    when = datetime(2017, 5, 4, 12, 0).timestamp()
    os.utime(scan, (when, when))
    library.add_folder(folder)
    index(library, fake_embedder)
    shown = browse(library, SearchRequest((), sort="date", limit=100))
    assert [os.path.basename(r.photo.path) for r in shown] == ["new.jpg", "scan.jpg", "old.jpg"]
    assert shown[1].photo.taken_source == "mtime" and shown[1].photo.taken_at.startswith("2017-05-04")
