"""Every supported format reaches the model as RGB; optional HEIC and RAW extras."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from photoclip.core.errors import SkipFile
from photoclip.core.media import decode
from photoclip.core.media.decode import open_image


@pytest.mark.parametrize(
    ("ext", "fmt", "kwargs"),
    [
        (".png", "PNG", {}),
        (".webp", "WEBP", {"quality": 90}),
        (".gif", "GIF", {}),
        (".tif", "TIFF", {}),
        (".bmp", "BMP", {}),
        (".avif", "AVIF", {"quality": 90}),
        (".jpg", "JPEG", {"quality": 95}),
    ],
)
def test_standard_formats_decode_to_rgb(tmp_path, ext, fmt, kwargs):
    path = tmp_path / f"red{ext}"
    Image.new("RGB", (64, 48), (220, 20, 20)).save(path, fmt, **kwargs)
    img, size, _, _ = open_image(str(path), 32)
    assert img.mode == "RGB" and size == (64, 48)
    r, g, b = img.getpixel((img.width // 2, img.height // 2))
    assert r > 180 and g < 70 and b < 70


@pytest.mark.skipif(not decode.HEIF_SUPPORTED, reason="the [heic] extra (pillow-heif) is not installed")
def test_heic_decodes_when_the_extra_is_installed(tmp_path):
    path = tmp_path / "phone.heic"
    Image.new("RGB", (64, 48), (20, 200, 20)).save(path)
    img, size, _, _ = open_image(str(path), 32)
    assert size == (64, 48) and img.getpixel((32, 24))[1] > 150


def test_heic_without_the_extra_is_skipped_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "HEIF_SUPPORTED", False)
    path = tmp_path / "phone.heic"
    path.write_bytes(b"....")
    with pytest.raises(SkipFile, match=r"photoclip\[heic\]"):
        open_image(str(path))


def test_raw_uses_the_embedded_jpeg_preview(tmp_path, monkeypatch):
    """rawpy is driven through a stand-in: no RAW sample can be shipped, the call sequence is ours."""
    buf = io.BytesIO()
    Image.new("RGB", (600, 400), (10, 10, 230)).save(buf, "JPEG")

    class FakeRaw:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def extract_thumb(self):
            return SimpleNamespace(format="jpeg", data=buf.getvalue())

        def postprocess(self, **kw):
            raise AssertionError("the full RAW must not be developed when a preview exists")

    fake = SimpleNamespace(
        imread=lambda path: FakeRaw(),
        ThumbFormat=SimpleNamespace(JPEG="jpeg", BITMAP="bitmap"),
        LibRawNoThumbnailError=type("NoThumb", (Exception,), {}),
        LibRawUnsupportedThumbnailError=type("Unsupported", (Exception,), {}),
    )
    monkeypatch.setitem(__import__("sys").modules, "rawpy", fake)
    monkeypatch.setattr(decode, "RAW_SUPPORTED", True)
    path = tmp_path / "shot.nef"
    path.write_bytes(b"raw")
    img, size, _, _ = open_image(str(path), 64)
    assert size == (600, 400) and img.getpixel((10, 10))[2] > 200


def test_raw_without_the_extra_is_skipped_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "RAW_SUPPORTED", False)
    path = tmp_path / "shot.cr2"
    path.write_bytes(b"raw")
    with pytest.raises(SkipFile, match=r"photoclip\[raw\]"):
        open_image(str(path))
