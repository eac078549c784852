"""A file that starts like a JPEG and then holds megabytes of junk (zeros, fill bytes) is
refused before Pillow's reader steps over the junk a byte at a time (4 minutes for 3 GB,
with the indexer, a query or the app's quit waiting on it); a little junk still opens."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.errors import SkipFile
from photoclip.core.media import decode
from photoclip.core.media.decode import open_image
from photoclip.core.media.jpeg_junk import MAX_JUNK, junk_before_scan
from tests.conftest import PHOTOS


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def first_scan(data: bytes) -> int:
    return data.index(b"\xff\xda")


@pytest.mark.parametrize("filler", [b"\0", b"\xff", b"\xff\x00"])
def test_a_header_followed_by_megabytes_of_junk_is_refused_without_pillow_reading_it(tmp_path: Path, filler: bytes, monkeypatch) -> None:
    data = small_jpeg()
    path = tmp_path / "preallocated.jpg"
    # A download cut after its header, the rest preallocated; sparse, so it costs no disk.
    with path.open("wb") as fh:
        fh.write(data[: first_scan(data) - 40])
        fh.write(filler * (2 * MAX_JUNK // len(filler)))
        fh.truncate(1 << 30)

    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow was handed the junk: it steps over it a byte at a time")

    monkeypatch.setattr(decode.Image, "open", not_here)
    with pytest.raises(SkipFile, match="junk where its header should be"):
        open_image(str(path), 64)


def test_a_little_junk_between_segments_still_opens(tmp_path: Path) -> None:
    """Pillow steps over stray bytes between segments, and some cameras write a few: kept."""
    data = small_jpeg()
    scan = first_scan(data)
    path = tmp_path / "stray.jpg"
    path.write_bytes(data[:scan] + b"\0" * 1000 + b"\xff" * 100 + data[scan:])
    with path.open("rb") as fh:
        assert junk_before_scan(fh) == 1100
    _, size, _, _ = open_image(str(path), 64)
    assert size == (64, 48)


def test_the_test_photos_have_no_junk() -> None:
    for photo in sorted(PHOTOS.iterdir()):
        if photo.suffix.lower() in (".jpg", ".jpeg"):
            with photo.open("rb") as fh:
                assert junk_before_scan(fh) == 0, photo.name
