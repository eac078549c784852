"""`albums export --as list`: one path a line, so a name with a line break cannot be listed."""

from __future__ import annotations

import pytest

from photoclip.app.albums import export_photos
from photoclip.core.errors import PhotoclipError


def test_a_list_is_one_path_a_line(tmp_path):
    report = export_photos(["/p/a.jpg", "/p/b c.jpg"], tmp_path / "out", "list", list_name="trip")
    assert report.written == [tmp_path / "out" / "trip.txt"]
    assert (tmp_path / "out" / "trip.txt").read_bytes() == b"/p/a.jpg\n/p/b c.jpg\n"


@pytest.mark.parametrize("name", ["two\nlines.jpg", "old\rmac.jpg"])
def test_a_name_with_a_line_break_is_refused_and_nothing_is_written(tmp_path, name):
    out = tmp_path / "out"
    with pytest.raises(PhotoclipError, match=r"line break in its name.*nothing was written.*links or copies"):
        export_photos(["/p/a.jpg", f"/p/{name}"], out, "list", list_name="trip")
    assert not (out / "trip.txt").exists()
