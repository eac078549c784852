"""What a photo says about itself: date taken (EXIF, else XMP, else its file name, else file
time), camera, GPS.

Pure functions over what the decoder already read (EXIF and raw XMP bytes): no file access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image

from photoclip.core.media.filename_dates import date_from_filename


@dataclass(frozen=True)
class Metadata:
    width: int
    height: int
    taken_at: str | None  # ISO 8601, local time as the camera wrote it
    taken_source: str  # "exif", "xmp", "filename" or "mtime"
    camera: str | None
    gps_lat: float | None
    gps_lon: float | None


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
        d, m, s = (float(v) for v in values)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    coord = d + m / 60.0 + s / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        coord = -coord
    return coord


def read_metadata(size: tuple[int, int], exif: Image.Exif | None, xmp: bytes | None, mtime: float, name: str = "") -> Metadata:
    """Date taken (EXIF, else XMP, else the file `name`, else file time: recorded which), camera and GPS."""
    taken: str | None = None
    source = "mtime"
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
    if not taken and name:
        taken = date_from_filename(name)
        if taken:
            source = "filename"
    if not taken:
        taken = datetime.fromtimestamp(mtime, tz=UTC).astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
        source = "mtime"
    return Metadata(size[0], size[1], taken, source, camera, lat, lon)
