"""JPEGs decoded where the model runs (a GPU in use; here torchvision's CPU decoder stands in,
through the same code): upright as Pillow turns them, the same model input as the CPU path,
refusals handed back to the CPU, and the indexer's answers unchanged photo for photo."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from photoclip.core.ingest.pipeline import index_library
from photoclip.core.media.decode import open_regular_file, prepare_for_model, read_jpeg
from photoclip.core.media.thumbnails import thumbnail_path
from photoclip.core.model.jpeg_device import JpegBatch, decode_batch, orient
from tests.core.helpers import drain, write_jpeg

SIZE = 64
# Where decode_batch runs: torchvision's CPU decoder here and in CI; on a machine with a GPU,
# PHOTOCLIP_TEST_JPEG_DEVICE=cuda runs the same checks through nvJPEG.
DEVICE = os.environ.get("PHOTOCLIP_TEST_JPEG_DEVICE", "cpu")


def smooth_photo(w: int, h: int, seed: int = 0) -> Image.Image:
    """Gradients and soft shapes: what JPEG keeps well, so that two decoders agree closely."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC)


def jpeg_of(img: Image.Image, orientation: int = 1, **kw: object) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_turns_a_photo_as_pillow_does(orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    img.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(img))
    turned = orient(torch, torch.from_numpy(pixels).permute(2, 0, 1), orientation).permute(1, 2, 0).numpy()
    assert turned.shape == expected.shape
    assert np.array_equal(turned, expected)


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_model_input_matches_the_cpu_path(orientation: int) -> None:
    """The photo decoded and reduced by torchvision is the one Pillow gives, within JPEG
    decoders' rounding: both turn it upright, resize its short side and centre-crop."""
    data = jpeg_of(smooth_photo(300, 200), orientation)
    batch = decode_batch([data], [orientation], SIZE, DEVICE, [None])
    assert batch.decoded == [0] and batch.failed == []
    on_device = batch.rows[0].permute(1, 2, 0).cpu().numpy().astype(np.int16)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    on_cpu = prepare_for_model(upright, SIZE).astype(np.int16)
    assert on_device.shape == on_cpu.shape == (SIZE, SIZE, 3)
    assert np.abs(on_device - on_cpu).mean() < 2.0
    assert np.abs(on_device - on_cpu).max() <= 12


def test_refused_photos_come_back_by_position_and_the_rest_are_decoded() -> None:
    good = jpeg_of(smooth_photo(120, 90))
    cmyk = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 100, 200, 0)).save(cmyk, "JPEG")
    junk = b"\xff\xd8\xff" + b"\x00" * 64 + b"\xff\xd9"
    batch = decode_batch([good, junk, good], [1, 1, 3], SIZE, DEVICE, [60, None, None])
    assert batch.failed == [1]
    assert batch.decoded == [0, 2]
    assert batch.rows.shape == (2, 3, SIZE, SIZE)
    first = batch.thumbnails[0]
    assert first is not None and first.shape == (45, 60, 3)  # the long side to the edge asked for
    assert batch.thumbnails[1] is None
    small = decode_batch([good], [1], SIZE, DEVICE, [400]).thumbnails[0]
    assert small is not None and small.shape == (90, 120, 3)  # never enlarged


def read(path: Path):
    with open_regular_file(str(path)) as fh:
        return read_jpeg(str(path), fh)


def test_only_complete_plain_jpegs_are_left_whole(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_of(smooth_photo(120, 80), 6))
    whole = read(good)
    assert whole is not None and whole.data == good.read_bytes()
    assert whole.orientation == 6
    assert (whole.meta.width, whole.meta.height) == (80, 120)  # upright
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[:-200])
    png = tmp_path / "png-named.jpg"
    smooth_photo(40, 30).save(png, "PNG")
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30)).save(cmyk, "JPEG")
    other = tmp_path / "photo.png"
    smooth_photo(40, 30).save(other, "PNG")
    # The CPU decodes these, with its own skip reasons for the damaged one.
    assert [read(p) for p in (truncated, png, cmyk, other)] == [None, None, None, None]


def test_indexing_with_jpegs_decoded_on_the_device_gives_the_cpu_paths_vectors(tmp_path: Path, tiny_embedder, monkeypatch) -> None:
    from photoclip.core.db import Library

    photos = tmp_path / "photos"
    for i in range(6):
        exif = Image.Exif()
        exif[0x0112] = (1, 6, 3, 8, 1, 1)[i]
        write_jpeg(photos / f"p{i}.jpg", size=(480, 360), seed=i, exif=exif)
    Image.new("CMYK", (200, 150), (10, 200, 30, 0)).save(photos / "cmyk.jpg", "JPEG")  # never sent to the device
    (photos / "cut.jpg").write_bytes((photos / "p0.jpg").read_bytes()[:-400])  # truncated: skipped, as on the CPU

    left_whole: list[int] = []
    real_embed_jpegs = tiny_embedder.embed_jpegs

    def refusing_p2(blobs, orientations, edges):
        """As a GPU's decoder refuses some JPEGs (arithmetic coding, say): p2 goes back to the CPU."""
        left_whole.append(len(blobs))
        batch = real_embed_jpegs(blobs, orientations, edges)
        refused = [i for i, blob in enumerate(blobs) if blob == (photos / "p2.jpg").read_bytes()]
        kept = [k for k, at in enumerate(batch.decoded) if at not in refused]
        return JpegBatch(batch.rows[kept], [batch.decoded[k] for k in kept], [batch.thumbnails[k] for k in kept], refused)

    monkeypatch.setattr(tiny_embedder, "embed_jpegs", refusing_p2)

    def index(name: str, on_device: bool) -> dict[str, np.ndarray]:
        monkeypatch.setattr(tiny_embedder, "decodes_jpeg_on_device", on_device)
        thumbs = tmp_path / f"thumbs-{name}"
        lib = Library(tmp_path / f"{name}.db")
        try:
            lib.add_folder(photos)
            final = drain(index_library(lib, tiny_embedder, batch_size=4, workers=2, thumbnails=thumbs))
            assert final.embedded == 7 and final.skipped == 1
            ids = {row["path"]: row["id"] for row in lib.db.query("select id, path from photos")}
            for path in ids:
                st = Path(path).stat()
                if not path.endswith("cut.jpg"):
                    assert thumbnail_path(thumbs, path, st.st_size, st.st_mtime_ns).exists(), path
            found, matrix, _ = lib.load_vectors(tiny_embedder.model_id)
            by_id = dict(zip(found.tolist(), matrix))
            return {path: by_id[photo_id] for path, photo_id in ids.items() if photo_id in by_id}
        finally:
            lib.close()

    on_cpu = index("cpu", False)
    assert left_whole == []
    on_device = index("device", True)
    assert sum(left_whole) == 6  # not the CMYK one (the CPU decodes it) nor the cut one (skipped, as on the CPU)
    assert on_cpu.keys() == on_device.keys() and len(on_cpu) == 7
    for path in on_cpu:
        cosine = float(np.dot(on_cpu[path], on_device[path]) / np.linalg.norm(on_cpu[path]) / np.linalg.norm(on_device[path]))
        assert cosine >= 0.99, (path, cosine)


def test_a_grey_jpeg_becomes_the_rgb_photo_pillow_gives() -> None:
    grey = smooth_photo(200, 150).convert("L")
    data = jpeg_of(grey)
    batch = decode_batch([data], [1], SIZE, DEVICE, [None])
    assert batch.decoded == [0]
    on_device = batch.rows[0].permute(1, 2, 0).cpu().numpy().astype(np.int16)
    on_cpu = prepare_for_model(Image.open(io.BytesIO(data)).convert("RGB"), SIZE).astype(np.int16)
    assert np.abs(on_device - on_cpu).mean() < 2.0


def test_a_large_photo_is_reduced_in_blocks_first_and_still_matches_the_cpu_path() -> None:
    """A photo many times the model's input is averaged in blocks before it is resized (as
    Pillow's reducing_gap does): the answer stays the CPU path's within rounding."""
    photo = smooth_photo(1600, 1200, seed=3)
    data = jpeg_of(photo, 6)
    batch = decode_batch([data], [6], SIZE, DEVICE, [100])
    on_device = batch.rows[0].permute(1, 2, 0).cpu().numpy().astype(np.int16)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    on_cpu = prepare_for_model(upright, SIZE).astype(np.int16)
    assert np.abs(on_device - on_cpu).mean() < 2.0
    thumb = batch.thumbnails[0]
    assert thumb is not None and thumb.shape == (100, 75, 3)  # upright: portrait
    expected = np.asarray(upright.resize((75, 100), Image.Resampling.BICUBIC), dtype=np.int16)
    assert np.abs(thumb.astype(np.int16) - expected).mean() < 2.0
