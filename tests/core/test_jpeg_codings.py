"""JPEGs in codings a GPU's decoder does not take (arithmetic, lossless, 12-bit) are indexed
on the CPU: read_jpeg leaves only baseline and progressive Huffman 8-bit JPEGs whole."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoclip.core.ingest.pipeline import index_library
from photoclip.core.media.decode import open_regular_file, read_jpeg
from photoclip.core.media.jpeg_frame import device_decodable
from tests.core.helpers import drain

CODINGS = Path(__file__).parent.parent / "data" / "jpeg"
ARITHMETIC = ["arithmetic.jpg", "arithmetic-progressive.jpg"]


def plain_jpeg(**kw: object) -> bytes:
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)).resize((64, 48), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def with_frame(data: bytes, marker: int | None = None, precision: int | None = None) -> bytes:
    """`data` with its frame header's marker and/or sample precision replaced."""
    at = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    patched = bytearray(data)
    if marker is not None:
        patched[at + 1] = marker
    if precision is not None:
        patched[at + 4] = precision
    return bytes(patched)


def read(path: Path):
    with open_regular_file(str(path)) as fh:
        return read_jpeg(str(path), fh)


@pytest.mark.parametrize("name", ARITHMETIC)
def test_arithmetic_coded_jpegs_are_decoded_by_pillow_but_not_left_for_the_device(name: str) -> None:
    path = CODINGS / name
    with Image.open(path) as img:
        img.load()  # libjpeg-turbo decodes arithmetic coding: the CPU path indexes these
        assert img.size == (48, 32)
    assert not device_decodable(path.read_bytes())
    assert read(path) is None


@pytest.mark.parametrize(
    ("marker", "precision", "what"),
    [
        (0xC3, None, "lossless"),
        (0xC1, 12, "12-bit extended"),
        (0xC0, 12, "12-bit baseline (not valid, but written)"),
        (0xC9, None, "arithmetic"),
        (0xCB, None, "arithmetic lossless"),
        (0xC5, None, "hierarchical"),
    ],
)
def test_other_codings_are_left_to_the_cpu(tmp_path: Path, marker: int, precision: int | None, what: str) -> None:
    path = tmp_path / "odd.jpg"
    path.write_bytes(with_frame(plain_jpeg(), marker, precision))
    assert not device_decodable(path.read_bytes()), what
    assert read(path) is None, what


@pytest.mark.parametrize("kw", [{}, {"progressive": True}], ids=["baseline", "progressive"])
def test_baseline_and_progressive_jpegs_are_left_whole(tmp_path: Path, kw: dict[str, object]) -> None:
    path = tmp_path / "plain.jpg"
    path.write_bytes(plain_jpeg(**kw))
    assert device_decodable(path.read_bytes())
    encoded = read(path)
    assert encoded is not None and encoded.data == path.read_bytes()


def test_a_frame_header_is_found_past_an_exif_thumbnail_of_another_coding() -> None:
    # The header walk skips the APP1 segment whole: a thumbnail's own frame inside it is not read.
    thumb = (CODINGS / "arithmetic.jpg").read_bytes()
    app1 = b"\xff\xe1" + (2 + len(thumb)).to_bytes(2, "big") + thumb
    data = plain_jpeg()
    assert device_decodable(data[:2] + app1 + data[2:])
    arith = with_frame(data, 0xC9)
    assert not device_decodable(arith[:2] + b"\xff\xe1" + (2 + len(data)).to_bytes(2, "big") + data + arith[2:])


def test_indexing_sends_only_huffman_8_bit_jpegs_to_the_device(tmp_path: Path, tiny_embedder, monkeypatch) -> None:
    from photoclip.core.db import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ARITHMETIC:
        shutil.copy(CODINGS / name, photos / name)
    (photos / "plain.jpg").write_bytes(plain_jpeg())
    (photos / "lossless.jpg").write_bytes(with_frame(plain_jpeg(), 0xC3))  # Pillow cannot decode it: skipped

    given: list[bytes] = []
    real_embed_jpegs = tiny_embedder.embed_jpegs

    def recording(blobs, orientations, edges):
        given.extend(blobs)
        return real_embed_jpegs(blobs, orientations, edges)

    monkeypatch.setattr(tiny_embedder, "embed_jpegs", recording)
    monkeypatch.setattr(tiny_embedder, "decodes_jpeg_on_device", True)
    lib = Library(tmp_path / "lib.db")
    try:
        lib.add_folder(photos)
        final = drain(index_library(lib, tiny_embedder, batch_size=4, workers=2, thumbnails=tmp_path / "thumbs"))
        skipped = {Path(p).name for p, _ in lib.skipped()}
    finally:
        lib.close()
    assert given == [(photos / "plain.jpg").read_bytes()]
    assert final.embedded == 3 and skipped == {"lossless.jpg"}


def frame_segment(data: bytes) -> tuple[int, bytes]:
    at = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    return at, data[at : at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")]


def test_a_second_frame_header_leaves_the_jpeg_to_the_cpu(tmp_path: Path) -> None:
    # Pillow reports the last frame header's size and mode; a device decoder may read the
    # first, which can say 60000x60000 pixels (gigabytes of device memory) or 12 bits.
    data = plain_jpeg()
    at, frame = frame_segment(data)
    huge = bytearray(frame)
    huge[5:9] = (60000).to_bytes(2, "big") * 2
    arithmetic = bytearray(frame)
    arithmetic[1] = 0xC9
    for doubled in (data[:at] + bytes(huge) + data[at:], data[:at] + frame + bytes(arithmetic) + data[at + len(frame) :]):
        path = tmp_path / "two-frames.jpg"
        path.write_bytes(doubled)
        with Image.open(path) as img:
            assert img.size == (64, 48)  # what read_jpeg's own checks see
        assert not device_decodable(doubled)
        assert read(path) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d, at, f: d[: at + 3],  # cut inside the frame's length
        lambda d, at, f: d[:at] + b"\xff\xe1\x00\x00" + d[at:],  # a segment of length 0
        lambda d, at, f: d[:at] + b"\xff\xe1\x00\x01" + d[at:],  # of length 1
        lambda d, at, f: d[:at] + b"\xff\xe1\xff\xff" + b"x" * 100,  # 65535 bytes, past the end
        lambda d, at, f: d[: d.index(b"\xff\xda") + 2],  # cut at the scan's marker
        lambda d, at, f: d[:at] + d[at + len(f) : d.index(b"\xff\xda")] + d[d.index(b"\xff\xda") :][:40] + f,  # frame after the scan
    ],
    ids=["cut-length", "length-0", "length-1", "length-past-end", "scan-cut", "frame-after-scan"],
)
def test_damaged_headers_are_left_to_the_cpu(damage) -> None:
    data = plain_jpeg()
    at, frame = frame_segment(data)
    assert not device_decodable(damage(data, at, frame))
