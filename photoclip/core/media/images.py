"""Reading photos: safe, fast decode, colour-mode normalisation, EXIF, thumbnails.

Everything here runs in worker threads (Pillow releases the GIL while decoding),
so it must not touch the database or any shared state but the thumbnail files.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from photoclip.core.errors import SkipFile

# Never let a half-written or truncated file be "repaired" silently into grey pixels.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow's own bomb check fires at twice its MAX_IMAGE_PIXELS (about 179 MP) and
# only warns below that. We check the header ourselves, before any pixel is decoded,
# against one limit that still admits large panoramas.
MAX_PIXELS = 180_000_000

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


@dataclass(frozen=True)
class Metadata:
    width: int
    height: int
    taken_at: str | None  # ISO 8601, local time as the camera wrote it
    taken_source: str  # "exif", "xmp" or "mtime"
    camera: str | None
    gps_lat: float | None
    gps_lon: float | None


@dataclass
class Decoded:
    """One photo read for indexing: its metadata and a reduced RGB image."""

    image: Image.Image
    meta: Metadata


# -- decoding ----------------------------------------------------------------


def open_image(path: str, min_side: int | None = None) -> tuple[Image.Image, tuple[int, int], Image.Exif | None, bytes | None]:
    """Open, bound-check, decode (JPEG reduced via DCT scaling) and orient a photo.

    Returns the RGB image, the original (oriented) size, its EXIF and raw XMP.
    Raises SkipFile with a reason for anything unreadable.
    """
    ext = extension(path)
    reason = unsupported_reason(path)
    if reason:
        raise SkipFile(reason)
    if ext in RAW_EXTENSIONS:
        return _open_raw(path, min_side)
    try:
        img = Image.open(path)
    except FileNotFoundError as exc:
        raise SkipFile("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise SkipFile("permission denied") from exc
    except UnidentifiedImageError as exc:
        raise SkipFile("not an image, or an unknown format") from exc
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"too many pixels (decompression bomb guard): {exc}") from exc
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc}") from exc
    try:
        return _decode(img, min_side)
    finally:
        img.close()


def _decode(img: Image.Image, min_side: int | None) -> tuple[Image.Image, tuple[int, int], Image.Exif | None, bytes | None]:
    w, h = img.size
    if w <= 0 or h <= 0:
        raise SkipFile("image has no pixels")
    if w * h > MAX_PIXELS:
        raise SkipFile(f"too many pixels ({w}x{h}); refusing a possible decompression bomb")
    try:
        exif = img.getexif()
    except Exception:
        exif = None
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    orientation = exif.get(0x0112, 1) if exif else 1
    oriented = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    try:
        if min_side and img.format == "JPEG":
            # DCT scaling: decode at 1/2, 1/4 or 1/8 as long as both sides stay >= min_side.
            img.draft("RGB", (min_side, min_side))
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
        # exif_transpose must come after draft/load: it needs the pixels anyway.
        img = ImageOps.exif_transpose(img)
        rgb = to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise SkipFile(f"too many pixels (decompression bomb guard): {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise SkipFile(f"corrupt or truncated image: {exc}") from exc
    return rgb, oriented, exif, xmp


def _open_raw(path: str, min_side: int | None) -> tuple[Image.Image, tuple[int, int], Image.Exif | None, bytes | None]:
    import io

    import rawpy

    try:
        with rawpy.imread(path) as raw:
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                img = Image.open(io.BytesIO(thumb.data))
                return _decode(img, min_side)
            if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
                img = Image.fromarray(thumb.data)
                return img.convert("RGB"), img.size, None, None
            rgb = raw.postprocess(half_size=True, use_camera_wb=True)
            img = Image.fromarray(rgb)
            return img, img.size, None, None
    except FileNotFoundError as exc:
        raise SkipFile("file vanished before it could be read") from exc
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
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    resized = img.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=None)
    left = round((new_w - size) / 2.0)
    top = round((new_h - size) / 2.0)
    cropped = resized.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.uint8)


# -- metadata ----------------------------------------------------------------

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_XMP_DATE = re.compile(
    rb"(?:exif:DateTimeOriginal|xmp:CreateDate|photoshop:DateCreated)\s*(?:=\s*[\"']|>)\s*([0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]+)?)"
)


def _exif_datetime(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().strip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y:%m:%d"):
        try:
            return datetime.strptime(value, fmt).isoformat()
        except ValueError:
            continue
    return None


def _gps_coordinate(values: object, ref: object) -> float | None:
    try:
        d, m, s = (float(v) for v in values)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    coord = d + m / 60.0 + s / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        coord = -coord
    return coord


def read_metadata(size: tuple[int, int], exif: Image.Exif | None, xmp: bytes | None, mtime: float) -> Metadata:
    """Date taken (EXIF, else XMP, else file time: recorded which), camera and GPS."""
    taken, source = None, None
    camera = None
    lat = lon = None
    if exif:
        try:
            sub = exif.get_ifd(_EXIF_IFD)
        except Exception:
            sub = {}
        taken = _exif_datetime(sub.get(0x9003)) or _exif_datetime(sub.get(0x9004)) or _exif_datetime(exif.get(0x0132))
        if taken:
            source = "exif"
        make = str(exif.get(0x010F, "") or "").strip().strip("\x00")
        model = str(exif.get(0x0110, "") or "").strip().strip("\x00")
        if model and make and model.lower().startswith(make.lower().split()[0]):
            camera = model
        else:
            camera = " ".join(p for p in (make, model) if p) or None
        try:
            gps = exif.get_ifd(_GPS_IFD)
        except Exception:
            gps = {}
        if gps:
            lat = _gps_coordinate(gps.get(2), gps.get(1))
            lon = _gps_coordinate(gps.get(4), gps.get(3))
            if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
                lat = lon = None
    if not taken and xmp:
        match = _XMP_DATE.search(xmp)
        if match:
            raw = match.group(1).decode("ascii")
            try:
                taken = datetime.fromisoformat(raw).replace(tzinfo=None).isoformat()
                source = "xmp"
            except ValueError:
                taken = None
    if not taken:
        taken = datetime.fromtimestamp(mtime, tz=UTC).astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
        source = "mtime"
    return Metadata(size[0], size[1], taken, source, camera, lat, lon)


def decode_photo(path: str, min_side: int) -> Decoded:
    """Read a photo for indexing: reduced RGB image (short side >= min_side where possible) and metadata."""
    img, size, exif, xmp = open_image(path, min_side)
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise SkipFile("file vanished while it was being read") from exc
    return Decoded(img, read_metadata(size, exif, xmp, mtime))


# -- thumbnails --------------------------------------------------------------

THUMBNAIL_SIZE = 320


def thumbnail_path(cache: Path, path: str, size: int, mtime_ns: int) -> Path:
    """Cache file for a photo: keyed by path, file size and mtime, so edits are noticed."""
    key = hashlib.blake2b(os.fsencode(path) + f"|{size}|{mtime_ns}".encode(), digest_size=16).hexdigest()
    return cache / key[:2] / f"{key}.jpg"


def save_thumbnail(img: Image.Image, target: Path, edge: int = THUMBNAIL_SIZE) -> Path:
    """Write a thumbnail atomically: a temp file in the same folder, then rename."""
    thumb = img.copy()
    thumb.thumbnail((edge, edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, "JPEG", quality=85)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def thumbnail_for(cache: Path, path: str, edge: int = THUMBNAIL_SIZE) -> Path:
    """The cached thumbnail of a photo, made now if missing. Raises SkipFile if unreadable."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SkipFile("file is missing") from exc
    target = thumbnail_path(cache, path, st.st_size, st.st_mtime_ns)
    if target.exists():
        return target
    img, _, _, _ = open_image(path, edge)
    return save_thumbnail(img, target, edge)
