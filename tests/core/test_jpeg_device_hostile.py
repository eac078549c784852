"""Hostile photos on both decode paths (the CPU's, and JPEGs decoded where the model runs):
strips that would unpack to gigabytes when resized, and a device that fails on one photo."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photoclip.core.db import Library
from photoclip.core.errors import SkipFile
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.media.decode import decode_photo, open_regular_file, prepare_for_model, read_jpeg
from photoclip.core.media.jpeg_trailer import MAX_HEADER_STEPS, jpeg_part
from photoclip.core.model import jpeg_device
from photoclip.core.model.jpeg_device import decode_batch
from tests.core.helpers import drain, write_jpeg

SIZE = 64


def test_a_one_pixel_high_strip_is_prepared_without_resizing_it_whole() -> None:
    """A 65500x1 JPEG is a few KB; its short side to 224 then a crop resized the whole strip
    first: 14.7M x 224 pixels, 13 GB (a MemoryError, or the OOM killer, per decode worker).
    Under a 1 GiB address-space limit the model's input must still come out."""
    script = textwrap.dedent(
        """
        import resource
        import numpy as np
        from PIL import Image
        from photoclip.core.media.decode import prepare_for_model
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        for w, h in ((65500, 1), (1, 65500), (65500, 7)):
            strip = np.zeros((h, w, 3), np.uint8)
            strip[:, w // 2 :] = 200
            out = prepare_for_model(Image.fromarray(strip), 224)
            assert out.shape == (224, 224, 3), out.shape
        print("prepared")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "prepared" in done.stdout, done.stderr[-2000:]


def test_an_elongated_photo_gets_the_same_crop_as_before() -> None:
    """The cut-out-first route keeps the geometry of resize-then-crop (within rounding)."""
    rng = np.random.default_rng(1)
    strip = Image.fromarray(rng.integers(0, 256, size=(30, 900, 3), dtype=np.uint8)).resize((1800, 60), Image.Resampling.BICUBIC)
    whole = strip.resize((SIZE * 30, SIZE), Image.Resampling.BICUBIC, reducing_gap=None)
    left = round((SIZE * 30 - SIZE) / 2.0)
    expected = np.asarray(whole.crop((left, 0, left + SIZE, SIZE)), dtype=np.int16)
    got = prepare_for_model(strip, SIZE).astype(np.int16)
    assert np.abs(got - expected).max() <= 1


def jpeg_bytes(w: int, h: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_a_very_elongated_jpeg_is_left_to_the_cpu(tmp_path: Path) -> None:
    """On the device the short side was resized to the model's input before the crop: for a
    65500x1 JPEG at 224 a 14.7M x 224 float image (39 GB). Such strips go to the CPU,
    which cuts the crop out first, and never reach the device."""
    strip = jpeg_bytes(2000, 10)
    batch = decode_batch([jpeg_bytes(120, 90), strip, jpeg_bytes(10, 2000, 1)], [1, 1, 1], SIZE, "cpu", [None, 60, None])
    assert batch.decoded == [0] and batch.failed == [1, 2]
    assert batch.rows.shape == (1, 3, SIZE, SIZE)
    path = tmp_path / "strip.jpg"
    path.write_bytes(strip)
    with open_regular_file(str(path)) as fh:
        assert read_jpeg(str(path), fh) is None


def test_one_photo_the_device_cannot_reduce_goes_to_the_cpu_not_the_batch(monkeypatch) -> None:
    """Out of device memory while one large photo is reduced (torch raises OutOfMemoryError, a
    RuntimeError): before, the exception left decode_batch and ended the indexing pass."""
    real = jpeg_device.orient

    def short_of_memory(torch_module, image, orientation):
        if tuple(image.shape[1:]) == (300, 400):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(torch_module, image, orientation)

    monkeypatch.setattr(jpeg_device, "orient", short_of_memory)
    batch = decode_batch([jpeg_bytes(120, 90), jpeg_bytes(400, 300), jpeg_bytes(90, 120)], [1, 1, 1], SIZE, "cpu", [60, 60, None])
    assert batch.decoded == [0, 2] and batch.failed == [1]
    assert batch.rows.shape == (2, 3, SIZE, SIZE)
    assert batch.thumbnails[0] is not None and batch.thumbnails[0].shape == (45, 60, 3) and batch.thumbnails[1] is None


def test_a_batch_the_device_fails_whole_is_decoded_one_photo_at_a_time(monkeypatch) -> None:
    """A batch too large for the device's memory (32 photos of 50 MP) fails as a whole: then
    each photo is decoded alone, and none is held at full size while the next is decoded."""
    import torchvision.io

    real = torchvision.io.decode_jpeg
    decoded_alone: list[weakref.ref] = []
    held_then: list[int] = []

    def tracked(data, mode, device):
        if isinstance(data, list):
            raise torch.OutOfMemoryError("CUDA out of memory")
        held_then.append(sum(1 for ref in decoded_alone if ref() is not None))
        image = real(data, mode=mode, device=device)
        decoded_alone.append(weakref.ref(image))
        return image

    monkeypatch.setattr(torchvision.io, "decode_jpeg", tracked)
    blobs = [jpeg_bytes(400, 300, i) for i in range(4)]
    batch = decode_batch(blobs, [1] * 4, SIZE, "cpu", [None] * 4)
    assert batch.decoded == [0, 1, 2, 3] and batch.failed == []
    assert held_then == [0, 0, 0, 0]  # no earlier photo still held at full size when the next is decoded


def test_an_empty_batch_and_one_where_every_photo_fails_are_answered() -> None:
    batch = decode_batch([], [], SIZE, "cpu", [])
    assert batch.decoded == [] and batch.failed == [] and batch.rows.shape == (0, 3, SIZE, SIZE)
    junk = b"\xff\xd8\xff" + b"\x00" * 64 + b"\xff\xd9"
    batch = decode_batch([junk, b"", junk], [1, 1, 1], SIZE, "cpu", [60, None, 60])
    assert batch.decoded == [] and batch.failed == [0, 1, 2] and batch.rows.shape == (0, 3, SIZE, SIZE)


def test_a_batch_the_device_cannot_embed_is_decoded_on_the_cpu_and_the_pass_goes_on(tmp_path: Path, tiny_embedder, monkeypatch) -> None:
    """Out of device memory where a batch's inputs are stacked or embedded ended the whole
    indexing pass with a traceback; now those photos are decoded on the CPU and embedded."""
    from photoclip.core.db import Library

    photos = tmp_path / "photos"
    for i in range(3):
        write_jpeg(photos / f"p{i}.jpg", size=(200, 150), seed=i)
    tried: list[int] = []

    def out_of_memory(blobs, orientations, edges):
        tried.append(len(blobs))
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(tiny_embedder, "embed_jpegs", out_of_memory)
    monkeypatch.setattr(tiny_embedder, "decodes_jpeg_on_device", True)
    lib = Library(tmp_path / "lib.db")
    try:
        lib.add_folder(photos)
        final = drain(index_library(lib, tiny_embedder, batch_size=4, workers=2, thumbnails=tmp_path / "thumbs"))
        assert sum(tried) == 3  # they were left whole for the device
        assert final.embedded == 3 and final.skipped == 0
        found, _, _ = lib.load_vectors(tiny_embedder.model_id)
        assert len(found) == 3
        assert len(list((tmp_path / "thumbs").rglob("*.*"))) == 3
    finally:
        lib.close()


def raw_exif(*entries: tuple[int, int, int, bytes]) -> bytes:
    """A big-endian EXIF block of (tag, type, count, 4-byte value) entries, values inline."""
    ifd = struct.pack(">H", len(entries)) + b"".join(struct.pack(">HHI", tag, kind, count) + value for tag, kind, count, value in entries)
    return b"Exif\0\0MM\0*" + struct.pack(">I", 8) + ifd + struct.pack(">I", 0)


def photo_with_exif(path: Path, exif: bytes) -> Path:
    rng = np.random.default_rng(5)
    img = Image.fromarray(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)).resize((320, 240), Image.Resampling.BICUBIC)
    img.save(path, "JPEG", quality=90, exif=exif)
    return path


def test_a_tag_whose_type_and_value_disagree_does_not_skip_a_readable_photo(tmp_path: Path) -> None:
    """Tag 0x0108 is a SHORT, here written as text ("Cam"): Pillow's exif_transpose wrote the
    EXIF back out after turning the photo and failed (struct.error), so the CPU path skipped
    it as 'corrupt or truncated' while the device path embedded it."""
    path = photo_with_exif(tmp_path / "odd.jpg", raw_exif((0x0108, 2, 4, b"Cam\0"), (0x0112, 3, 1, b"\0\x06\0\0")))
    decoded = decode_photo(str(path), 240)  # no DCT scaling: full size
    assert decoded.image.size == (240, 320)  # upright: a quarter turn
    assert (decoded.meta.width, decoded.meta.height) == (240, 320)
    with open_regular_file(str(path)) as fh:
        whole = read_jpeg(str(path), fh)
    assert whole is not None and whole.orientation == 6
    expected = Image.open(path).convert("RGB").transpose(Image.Transpose.ROTATE_270)
    assert np.abs(prepare_for_model(decoded.image, SIZE).astype(int) - prepare_for_model(expected, SIZE).astype(int)).mean() < 2


def test_an_orientation_stored_as_a_fraction_turns_the_photo_the_same_on_both_paths(tmp_path: Path) -> None:
    """Orientation 6/1 (a RATIONAL): exif_transpose turned the photo on the CPU, while the
    header (the metadata's size, the device's decoder) read it as 1: the device embedded the
    photo on its side and the library showed it landscape."""
    # A RATIONAL's 8 bytes do not fit inline: it lives after the IFD (offset 8 + 2 + 12 + 4 = 26).
    block = raw_exif((0x0112, 5, 1, struct.pack(">I", 26))) + struct.pack(">II", 6, 1)
    path = photo_with_exif(tmp_path / "rational.jpg", block)
    decoded = decode_photo(str(path), 240)  # no DCT scaling: full size
    with open_regular_file(str(path)) as fh:
        whole = read_jpeg(str(path), fh)
    assert whole is not None and whole.orientation == 6
    assert decoded.image.size == (240, 320)
    assert (decoded.meta.width, decoded.meta.height) == (240, 320) == (whole.meta.width, whole.meta.height)


def motion_photo(samsung: bool = False) -> tuple[bytes, bytes]:
    """(the file, its JPEG): a photo with an EXIF thumbnail (a JPEG inside the JPEG, with its
    own end marker) and a video appended after the end marker, as phones save Motion Photos."""
    rng = np.random.default_rng(9)
    img = Image.fromarray(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)).resize((400, 300), Image.Resampling.BICUBIC)
    exif = img.getexif()
    exif[0x0112] = 6
    thumb = io.BytesIO()
    img.resize((80, 60)).save(thumb, "JPEG")
    # An EXIF thumbnail: IFD1 with JPEGInterchangeFormat (offset) and its length.
    exif_block = raw_exif((0x0112, 3, 1, b"\0\x06\0\0"))[:-4]  # IFD0 without its "next IFD" link
    ifd1_at = len(exif_block) - 6 + 4
    ifd1 = struct.pack(">H", 2) + struct.pack(">HHI", 0x0201, 4, 1) + struct.pack(">I", ifd1_at + 2 + 24 + 4)
    ifd1 += struct.pack(">HHI", 0x0202, 4, 1) + struct.pack(">I", len(thumb.getvalue())) + struct.pack(">I", 0)
    block = exif_block + struct.pack(">I", ifd1_at) + ifd1 + thumb.getvalue()
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=block)
    jpeg = out.getvalue()
    video = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 12 + b"\xff\xd9" + bytes(range(256)) * 8
    return jpeg + (b"MotionPhoto_Data" if samsung else b"") + video, jpeg


def test_a_motion_photos_jpeg_is_left_whole_without_its_video(tmp_path: Path) -> None:
    """Before: a Motion Photo does not end with the JPEG's end marker (its video follows),
    so it went the CPU's way like a truncated file: on a GPU, every such phone photo."""
    for samsung in (False, True):
        data, jpeg = motion_photo(samsung)
        assert jpeg.count(b"\xff\xd8") == 2 and jpeg.index(b"\xff\xd9") < len(jpeg) - 2  # a thumbnail inside
        path = tmp_path / f"motion-{samsung}.jpg"
        path.write_bytes(data)
        with open_regular_file(str(path)) as fh:
            whole = read_jpeg(str(path), fh)
        assert whole is not None and whole.data == jpeg and whole.orientation == 6
        assert (whole.meta.width, whole.meta.height) == (300, 400)
        batch = decode_batch([whole.data], [whole.orientation], SIZE, "cpu", [None])
        upright = decode_photo(str(path), 400).image
        assert np.abs(batch.rows[0].permute(1, 2, 0).numpy().astype(int) - prepare_for_model(upright, SIZE).astype(int)).mean() < 2


def test_what_follows_the_end_marker_must_be_a_known_video(tmp_path: Path) -> None:
    """Anything else after the end marker (a damaged file, a cut one with bytes glued on)
    is for the CPU to judge; so is a file cut inside its video-less scan data."""
    data, jpeg = motion_photo()
    cases = {
        "junk": jpeg + b"\x00\x01junk" * 10,
        "cut-then-video": jpeg[: len(jpeg) // 2] + data[len(jpeg) :],
        "thumbnail-only": jpeg[: jpeg.index(b"\xff\xd9") + 2] + data[len(jpeg) :],
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(content)
        with open_regular_file(str(path)) as fh:
            assert read_jpeg(str(path), fh) is None, name


def test_motion_photos_index_alike_on_both_paths_and_stay_untouched(tmp_path: Path, tiny_embedder, monkeypatch) -> None:
    from photoclip.core.db import Library

    photos = tmp_path / "photos"
    photos.mkdir()
    for samsung in (False, True):
        (photos / f"MVIMG_{samsung}.jpg").write_bytes(motion_photo(samsung)[0])
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    sent: list[int] = []
    real = tiny_embedder.embed_jpegs

    def counting(blobs, orientations, edges):
        sent.append(len(blobs))
        return real(blobs, orientations, edges)

    monkeypatch.setattr(tiny_embedder, "embed_jpegs", counting)
    vectors = []
    for on_device in (False, True):
        monkeypatch.setattr(tiny_embedder, "decodes_jpeg_on_device", on_device)
        lib = Library(tmp_path / f"{on_device}.db")
        try:
            lib.add_folder(photos)
            final = drain(index_library(lib, tiny_embedder, batch_size=4, workers=2, thumbnails=tmp_path / f"thumbs-{on_device}"))
            assert final.embedded == 2
            rows = {row["id"]: row["path"] for row in lib.db.query("select id, path from photos")}
            found, matrix, _ = lib.load_vectors(tiny_embedder.model_id)
            vectors.append({rows[i]: v for i, v in zip(found.tolist(), matrix)})
        finally:
            lib.close()
    assert sent == [2]  # the device's run sent both, the CPU's none
    for path, vector in vectors[0].items():
        assert float(np.dot(vector, vectors[1][path])) >= 0.99
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before


def test_a_header_longer_than_any_cameras_is_not_walked_to_its_end() -> None:
    """The walk to the first scan took a step per 0xFF fill byte: a 64 MB file of them held a
    reader thread (and the GIL) for seconds. Past MAX_HEADER_STEPS it gives up: the CPU decodes it."""
    data, jpeg = motion_photo()
    video = data[len(jpeg) :]
    assert jpeg_part(jpeg[:2] + b"\xff" * 100 + jpeg[2:] + video) is not None  # a few fill bytes are fine
    assert jpeg_part(jpeg[:2] + b"\xff" * (MAX_HEADER_STEPS + 10) + jpeg[2:] + video) is None


def progressive_with_repeated_scans(path, repeats: int, size=(400, 300)) -> None:
    """A progressive JPEG whose last scan is repeated: each repeat is read over the whole
    image by libjpeg, so thousands of them take minutes on a camera-sized photo."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize(size).save(buf, "JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    last, end = data.rfind(b"\xff\xda"), data.rfind(b"\xff\xd9")
    path.write_bytes(data[:end] + data[last:end] * repeats + data[end:])


def test_a_jpeg_of_more_scans_than_any_camera_writes_is_skipped_on_both_paths(tmp_path, tiny_embedder, monkeypatch) -> None:
    from photoclip.core.media.decode import open_image

    folder = tmp_path / "photos"
    folder.mkdir()
    progressive_with_repeated_scans(folder / "bomb.jpg", 600)
    progressive_with_repeated_scans(folder / "fine.jpg", 3)
    with pytest.raises(SkipFile, match="scans, more than any camera writes"):
        open_image(str(folder / "bomb.jpg"), 64)
    assert open_image(str(folder / "fine.jpg"), 64)[1] == (400, 300)
    for on_device in (False, True):
        monkeypatch.setattr(tiny_embedder, "decodes_jpeg_on_device", on_device)
        lib = Library(tmp_path / f"lib-{on_device}.db")
        try:
            lib.add_folder(folder)
            final = drain(index_library(lib, tiny_embedder, batch_size=4, workers=1))
            assert (final.embedded, final.skipped) == (1, 1), on_device
            reasons = dict(lib.skipped())
            assert "more than any camera writes" in reasons[str(folder / "bomb.jpg")]
        finally:
            lib.close()
