"""Decoding: colour modes, orientation, DCT scaling, metadata, hostile files, the thumbnail cache."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image

from photoclip.core.errors import SkipFile
from photoclip.core.media.decode import decode_photo, open_image, prepare_for_model, to_rgb
from photoclip.core.media.metadata import read_metadata
from photoclip.core.media.thumbnails import thumbnail_for
from tests.core.helpers import write_jpeg


def test_palette_with_transparency_composites_on_white():
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    img.info["transparency"] = 0
    assert to_rgb(img).getpixel((0, 0)) == (255, 255, 255)


def test_rgba_transparent_is_white_and_opaque_keeps_colour():
    img = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    img.putpixel((1, 0), (10, 200, 30, 255))
    rgb = to_rgb(img)
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 0)) == (10, 200, 30)


def test_sixteen_bit_grey_scales_instead_of_clipping():
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    img = Image.fromarray(arr)
    assert img.mode == "I;16"
    values = [to_rgb(img).getpixel((x, 0))[0] for x in range(3)]
    assert values[0] == 0 and 126 <= values[1] <= 129 and values[2] == 255


def test_cmyk_and_grey_become_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path)
    img, size, _, _ = open_image(str(path))
    assert img.mode == "RGB" and size == (16, 16)
    r, g, b = img.getpixel((8, 8))
    assert r > 200 and g < 60 and b < 60
    grey = to_rgb(Image.new("LA", (2, 2), (100, 255)))
    assert grey.getpixel((0, 0)) == (100, 100, 100)


def test_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img, _, _, _ = open_image(str(path))
    r, _g, b = img.getpixel((4, 4))
    assert r > 200 and b < 50


def test_jpeg_is_reduced_by_dct_scaling_but_never_below_the_asked_side(tmp_path):
    path = write_jpeg(tmp_path / "big.jpg", (4000, 3000))
    img, size, _, _ = open_image(str(path), 256)
    assert size == (4000, 3000)
    assert min(img.size) >= 256
    assert img.size[0] <= 1000  # decoded at 1/4 or 1/8, not full size


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    path = write_jpeg(tmp_path / "rot.jpg", (400, 200), exif=exif)
    img, size, _, _ = open_image(str(path), 64)
    assert size == (200, 400)
    assert img.size[0] < img.size[1]


def test_exif_date_camera_and_gps(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:30:05"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "W", (2.0, 17.0, 40.0)
    path = write_jpeg(tmp_path / "e.jpg", exif=exif)
    meta = decode_photo(str(path), 64).meta
    assert meta.taken_at == "2019-07-14T18:30:05" and meta.taken_source == "exif"
    assert meta.camera == "Canon EOS 5D"
    assert meta.gps_lat == pytest.approx(48.858, abs=1e-3)
    assert meta.gps_lon == pytest.approx(-2.2944, abs=1e-3)


def test_date_falls_back_to_xmp_then_file_time(tmp_path):
    xmp = b'<x:xmpmeta><rdf:Description xmp:CreateDate="2021-03-04T05:06:07"/></x:xmpmeta>'
    meta = read_metadata((10, 10), None, xmp, 0)
    assert (meta.taken_at, meta.taken_source) == ("2021-03-04T05:06:07", "xmp")
    path = write_jpeg(tmp_path / "plain.jpg")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    meta = decode_photo(str(path), 64).meta
    assert meta.taken_source == "mtime" and meta.taken_at.startswith("2020-09-1")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "not an image"),
        ("notes.jpg", b"this is a text file, not a photo\n" * 20, "not an image"),
    ],
)
def test_non_images_are_skipped_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SkipFile, match=reason):
        open_image(str(path))


def test_truncated_jpeg_is_skipped(tmp_path):
    good = write_jpeg(tmp_path / "good.jpg", (640, 480))
    data = good.read_bytes()
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(SkipFile, match="corrupt or truncated"):
        open_image(str(bad), 64)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 10000)).save(path)  # 200 MP in a few kilobytes
    assert path.stat().st_size < 1_000_000
    with pytest.raises(SkipFile, match="pixels"):
        open_image(str(path), 64)


def test_vanished_file_is_skipped(tmp_path):
    with pytest.raises(SkipFile, match="vanished"):
        open_image(str(tmp_path / "gone.jpg"))


def test_prepare_matches_model_geometry():
    img = Image.new("RGB", (300, 200), (1, 2, 3))
    arr = prepare_for_model(img, 64)
    assert arr.shape == (64, 64, 3) and arr.dtype == np.uint8
    assert tuple(arr[32, 32]) == (1, 2, 3)


def test_thumbnail_cache_is_keyed_by_path_size_and_mtime(tmp_path):
    cache = tmp_path / "cache"
    path = write_jpeg(tmp_path / "p.jpg", (800, 600))
    first = thumbnail_for(cache, str(path), 160)
    assert max(Image.open(first).size) == 160
    assert thumbnail_for(cache, str(path), 160) == first
    write_jpeg(path, (800, 600), seed=5)
    os.utime(path, ns=(1, 10**18))
    second = thumbnail_for(cache, str(path), 160)
    assert second != first
    leftovers = [p for p in cache.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


# -- huge images: one at a time, reduced at once --------------------------------------------


def test_a_huge_image_is_reduced_to_what_the_caller_needs(tmp_path, monkeypatch):
    # Before: a 13000x13000 PNG of 500 KB came back at full size (507 MB), and four decode
    # threads each held one with its copies: `index` peaked at 5.8 GB for 2 MB of files.
    from photoclip.core.media import decode

    monkeypatch.setattr(decode, "HUGE_PIXELS", 10_000)  # this test's 400x300 image counts as huge
    path = tmp_path / "wide.png"
    Image.new("RGB", (400, 300), (10, 20, 30)).save(path)
    img, size, _, _ = open_image(str(path), 64)
    assert size == (400, 300)  # the metadata keeps the true size
    assert min(img.size) >= 64 and img.size == (400 // 4, 300 // 4)
    assert img.getpixel((5, 5)) == (10, 20, 30)
    full, _, _, _ = open_image(str(path), None)  # no size asked for: the whole image
    assert full.size == (400, 300)


def test_huge_images_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    from photoclip.core.media import decode

    monkeypatch.setattr(decode, "HUGE_PIXELS", 10_000)
    inside, release = threading.Event(), threading.Event()
    real_to_rgb = decode.to_rgb

    def held_to_rgb(img):
        inside.set()
        release.wait(30)
        return real_to_rgb(img)

    monkeypatch.setattr(decode, "to_rgb", held_to_rgb)
    path = tmp_path / "wide.png"
    Image.new("RGB", (400, 300)).save(path)
    worker = threading.Thread(target=open_image, args=(str(path), 64))
    worker.start()
    try:
        assert inside.wait(30)
        assert decode._one_huge_at_a_time.locked()  # a second huge image waits for this one
    finally:
        release.set()
        worker.join(30)
    assert not decode._one_huge_at_a_time.locked()


def test_pixel_blocks_are_large_enough_to_go_back_to_the_system_when_freed():
    from photoclip.core.media import decode

    if "PILLOW_BLOCK_SIZE" in os.environ:
        pytest.skip("the user's PILLOW_BLOCK_SIZE wins")
    assert Image.core.get_block_size() == decode.LARGE_BLOCK > 32 << 20
