"""Reading photos: which files are photos, safe opening, fast decode, colour modes, model input.

Everything here runs in worker threads (Pillow releases the GIL while decoding),
so it must not touch the database or any shared state.
"""

from __future__ import annotations

import io
import numbers
import os
import stat
import struct
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from photoclip.core import paths
from photoclip.core.errors import SkipFile
from photoclip.core.geometry import centre_crop, is_very_elongated
from photoclip.core.media.jpeg_frame import device_decodable
from photoclip.core.media.jpeg_junk import MAX_JUNK, junk_before_scan
from photoclip.core.media.jpeg_trailer import MAX_SCANS, START_OF_SCAN, jpeg_part, scan_markers
from photoclip.core.media.metadata import Metadata, read_metadata

# Never let a half-written or truncated file be "repaired" silently into grey pixels.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow's own bomb check fires at twice its MAX_IMAGE_PIXELS (about 179 MP) and
# only warns below that. We check the header ourselves, before any pixel is decoded,
# against one limit that still admits large panoramas.
MAX_PIXELS = 180_000_000

# Above any common camera's output (60 MP or so): panoramas, scans, and small files that
# unpack to huge images. Before, four decode workers each held such a PNG at full size
# (and a copy or two): four 500 KB files of 13000x13000 made `index` peak at 5.8 GB.
# Now one of them is decoded at a time and reduced at once to what the caller asked for.
HUGE_PIXELS = 50_000_000
_one_huge_at_a_time = threading.Lock()

# Pillow allocates pixels in 16 MB blocks. glibc serves blocks that size from per-thread
# heaps once a few have been freed (its mmap threshold rises to 32 MB) and keeps the freed
# memory there: each decode thread then held on to the largest image it ever decoded
# (measured: 2.8 GB instead of 1.4 GB for four huge PNGs on four threads). Blocks above
# 32 MB are always mapped and given back on free. Small images use only what they need.
# PILLOW_BLOCK_SIZE, when set, is the user's choice.
LARGE_BLOCK = 64 << 20
if "PILLOW_BLOCK_SIZE" not in os.environ:
    Image.core.set_block_size(LARGE_BLOCK)  # type: ignore[attr-defined]

# Larger than any camera JPEG's compressed data; a read returns no more than the file holds.
JPEG_READ_BLOCK = 16 << 20

STANDARD_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif"})
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2", ".pef", ".srw", ".x3f"})
JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})


def _heif_available() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _raw_available() -> bool:
    try:
        import rawpy  # noqa: F401 - optional extra
    except ImportError:
        return False
    return True


HEIF_SUPPORTED = _heif_available()
RAW_SUPPORTED = _raw_available()


def extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def is_candidate(path: str) -> bool:
    """Whether a file name looks like a photo we should catalogue (supported or not)."""
    ext = extension(path)
    return ext in STANDARD_EXTENSIONS or ext in HEIF_EXTENSIONS or ext in RAW_EXTENSIONS


def unsupported_reason(path: str) -> str | None:
    """Why a catalogued file cannot be read on this install (a missing extra), if so."""
    ext = extension(path)
    if ext in HEIF_EXTENSIONS and not HEIF_SUPPORTED:
        return "HEIC/HEIF support is not installed (pip install 'photoclip[heic]')"
    if ext in RAW_EXTENSIONS and not RAW_SUPPORTED:
        return "RAW support is not installed (pip install 'photoclip[raw]')"
    return None


@dataclass
class Decoded:
    """One photo read for indexing: its metadata and a reduced RGB image."""

    image: Image.Image
    meta: Metadata


# -- opening -----------------------------------------------------------------

Opened = tuple[Image.Image, tuple[int, int], Image.Exif | None, bytes | None]


def _not_regular(kind: str) -> str:
    return f"not a regular file ({kind})"


def open_regular_file(path: str) -> BinaryIO:
    """Open a photo for reading, refusing anything but a regular file (after following links).

    A photo replaced by a FIFO, a device or a link to /dev/zero after the scan must
    be skipped, not read forever: the type is checked before opening (opening a
    device can have effects), then paths.open_regular opens without blocking and checks
    the type again on the open file, since the path may be swapped in between.
    """
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise SkipFile(_not_regular(paths.file_kind(before.st_mode)))
        fd, _ = paths.open_regular(path)
    except paths.NotAPlainFile as exc:
        raise SkipFile(_not_regular(exc.kind or "not a regular file")) from exc
    except FileNotFoundError as exc:
        raise SkipFile("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise SkipFile("permission denied") from exc
    except OSError as exc:
        raise SkipFile(f"cannot open: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "rb")


# -- decoding ----------------------------------------------------------------


def open_image(path: str, min_side: int | None = None, fh: BinaryIO | None = None) -> Opened:
    """Open, bound-check, decode (JPEG reduced via DCT scaling) and orient a photo.

    Returns the RGB image, the original (oriented) size, its EXIF and raw XMP.
    Raises SkipFile with a reason for anything unreadable. `fh`, when given, is the
    photo already opened with `open_regular_file` (read from its start; not closed);
    otherwise the path is opened that way here.
    """
    reason = unsupported_reason(path)
    if reason:
        raise SkipFile(reason)
    if fh is None:
        with open_regular_file(path) as own:
            return open_image(path, min_side, own)
    if extension(path) in RAW_EXTENSIONS:
        return _open_raw(fh, min_side)
    if junk_before_scan(fh) > MAX_JUNK:
        raise SkipFile("corrupt image: junk where its header should be")
    fh.seek(0)
    try:
        img = Image.open(fh)
    except UnidentifiedImageError as exc:
        raise SkipFile("not an image, or an unknown format") from exc
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"too many pixels (decompression bomb guard): {exc}") from exc
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc}") from exc
    # The original's pixels live until close(): the lock covers that too.
    with _one_huge_at_a_time if img.width * img.height > HUGE_PIXELS else nullcontext():
        try:
            return _decode(img, min_side)
        finally:
            img.close()


def _header(img: Image.Image) -> tuple[Image.Exif | None, bytes | None, int, tuple[int, int]]:
    """What a photo's header says, read before any pixel: EXIF, raw XMP, the EXIF orientation
    (1-8) and the size once upright."""
    w, h = img.size
    try:
        exif = img.getexif()
    except Exception:
        exif = None
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    orientation = _orientation(exif.get(0x0112, 1) if exif else 1)
    return exif, xmp, orientation, (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _orientation(value: object) -> int:
    """EXIF orientation 1-8 from the tag's value, else 1. A number stored as a RATIONAL (6/1)
    counts, as Pillow's exif_transpose counted it; text, a list or 9 do not."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        return 1
    number = float(value)
    return int(number) if number.is_integer() and 1 <= number <= 8 else 1


# Pillow's transposes that turn a photo upright, by EXIF orientation.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _refuse_scan_bombs(img: Image.Image) -> None:
    """A progressive JPEG of more scans than any camera writes (jpeg_trailer.MAX_SCANS) is
    refused before its decode, which would take minutes. Only progressive files are counted
    (a sequential JPEG has one scan per component, and libjpeg refuses more): the count
    reads the file again, ~4 ms for a 12-MP photo. Pillow seeks to the image data to load."""
    fp = getattr(img, "fp", None)
    if img.format != "JPEG" or fp is None or not img.info.get("progressive"):
        return
    fp.seek(0)
    scans = scan_markers(fp)
    if scans > MAX_SCANS:
        raise SkipFile(f"{scans:,} scans, more than any camera writes: decoding it could take minutes")


def _decode(img: Image.Image, min_side: int | None) -> Opened:
    w, h = img.size
    if w <= 0 or h <= 0:
        raise SkipFile("image has no pixels")
    if w * h > MAX_PIXELS:
        raise SkipFile(f"too many pixels ({w}x{h}); refusing a possible decompression bomb")
    exif, xmp, orientation, oriented = _header(img)
    _refuse_scan_bombs(img)
    try:
        if min_side and img.format == "JPEG":
            # DCT scaling: decode at 1/2, 1/4 or 1/8 as long as both sides stay >= min_side.
            img.draft("RGB", (min_side, min_side))
        if img.format == "JPEG" and isinstance(img, ImageFile.ImageFile):
            # Pillow feeds the decoder 64 KiB at a time and takes the GIL back between
            # blocks: ~40 hand-overs for a camera JPEG, which with 16 decode threads left a
            # 16-core machine at half its decode rate. The whole file in one block.
            img.decodermaxblock = JPEG_READ_BLOCK
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
        if min_side and w * h > HUGE_PIXELS:
            # Reduced before anything copies it (turning it upright makes a copy); both sides
            # stay >= min_side, as with draft.
            full = to_rgb(img)
            factor = min(full.size) // min_side
            img = full.reduce(factor) if factor >= 2 else full
            del full
        # Upright by the orientation the header gave (the metadata's size and the device's
        # decoder use the same), not ImageOps.exif_transpose: that also writes the EXIF
        # back out, and a tag whose type and value disagree (struct.error) skipped a photo
        # that reads fine. A copy either way: the caller closes the original.
        method = _UPRIGHT.get(orientation)
        img = img.transpose(method) if method is not None else img.copy()
        rgb = to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"too many pixels (decompression bomb guard): {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise SkipFile(f"corrupt or truncated image: {exc}") from exc
    return rgb, oriented, exif, xmp


def _open_raw(fh: BinaryIO, min_side: int | None) -> Opened:
    import rawpy

    try:
        with rawpy.imread(fh) as raw:
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                return _decode(Image.open(io.BytesIO(bytes(thumb.data))), min_side)
            if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
                bitmap = Image.fromarray(np.asarray(thumb.data))
                return bitmap.convert("RGB"), bitmap.size, None, None
            developed = Image.fromarray(np.asarray(raw.postprocess(half_size=True, use_camera_wb=True)))
            return developed, developed.size, None, None
    except Exception as exc:
        raise SkipFile(f"cannot read RAW file: {exc}") from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, compositing transparency over white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow clips 16/32-bit greyscale to 255 on convert; scale to the real range instead.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        # Adobe-style inverted CMYK JPEGs are handled by Pillow's decoder; plain convert is right.
        return img.convert("RGB")
    return img.convert("RGB")


def prepare_for_model(img: Image.Image, size: int) -> np.ndarray:
    """Resize the shortest side to `size` (bicubic) and centre-crop: uint8 (size, size, 3).

    The same geometry as open_clip's own preprocess (resize mode "shortest"), done
    here so that it runs in decode workers and ships compact uint8 to the model.
    """
    w, h = img.size
    new_w, new_h, left, top = centre_crop(w, h, size)
    if is_very_elongated(w, h):
        # Resized whole, a 65500x1 JPEG of a few KB would become 14.7M x 224 pixels (13 GB):
        # only the part the crop keeps is resized (Pillow's box; the same geometry, and the
        # filter still reads the pixels around the box).
        sx, sy = w / new_w, h / new_h
        box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
        cropped = img.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=None)
    else:
        resized = img.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=None)
        cropped = resized.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.uint8)


@dataclass
class EncodedJpeg:
    """A JPEG read whole but not decoded: for decoding where the model runs (a GPU)."""

    data: bytes
    orientation: int  # EXIF 1-8, applied after decoding
    meta: Metadata


# A 12-MP camera JPEG is 3-8 MB; anything far larger goes the CPU's way (DCT-scaled, bounded).
MAX_ENCODED_BYTES = 64 << 20


def read_jpeg(path: str, fh: BinaryIO) -> EncodedJpeg | None:
    """A JPEG's bytes and metadata, no pixel decoded; None for anything the CPU should decode
    instead (then the caller does, and gives its usual skip reasons). Only plain RGB or grey
    baseline or progressive Huffman 8-bit JPEGs (jpeg_frame.py) of at most HUGE_PIXELS, not
    very elongated, that end with their end marker (or a Motion Photo's video follows it:
    jpeg_trailer.py): a truncated file must be refused as the CPU refuses it, not decoded
    with grey rows by a lenient device decoder.
    `fh` is the photo opened with `open_regular_file`; it is read from its start.
    """
    if extension(path) not in JPEG_EXTENSIONS:
        return None
    st = os.fstat(fh.fileno())
    if st.st_size > MAX_ENCODED_BYTES:
        return None
    fh.seek(0)
    read = fh.read(MAX_ENCODED_BYTES + 1)
    data = jpeg_part(read) if len(read) <= MAX_ENCODED_BYTES else None  # a Motion Photo's video stays behind
    if data is None or not device_decodable(data):  # arithmetic, lossless, 12-bit: the CPU's
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "JPEG" or img.mode not in ("RGB", "L") or not 0 < img.width * img.height <= HUGE_PIXELS:
                return None
            if is_very_elongated(img.width, img.height):
                return None  # the device would resize it whole (gigabytes): the CPU cuts it out first
            if img.info.get("progressive") and data.count(START_OF_SCAN) > MAX_SCANS:
                return None  # the CPU path says why it refuses a file of that many scans
            exif, xmp, orientation, oriented = _header(img)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError):
        return None
    return EncodedJpeg(data, orientation, read_metadata(oriented, exif, xmp, st.st_mtime, os.path.basename(path)))


def decode_photo(path: str, min_side: int, fh: BinaryIO | None = None) -> Decoded:
    """Read a photo for indexing: reduced RGB image (short side >= min_side where possible) and metadata."""
    if fh is None:
        with open_regular_file(path) as own:
            return decode_photo(path, min_side, own)
    mtime = os.fstat(fh.fileno()).st_mtime  # first: Pillow may close the file once it has loaded the pixels
    img, size, exif, xmp = open_image(path, min_side, fh)
    return Decoded(img, read_metadata(size, exif, xmp, mtime, os.path.basename(path)))
