"""Where a JPEG's own bytes end, in a file that carries more after them.

Phones save Motion Photos as a JPEG with the video appended: Google's with an MP4 right after
the JPEG's end marker, Samsung's with a "MotionPhoto_Data" label before it. Such a file does
not end with the end marker, so it looked truncated and its JPEG was never left whole for a
GPU to decode. Only those two known trailers are recognised: anything else after the end
marker could be the rest of a damaged image, and must be decoded (and judged) by the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

END_OF_IMAGE = b"\xff\xd9"
SAMSUNG_LABEL = b"MotionPhoto_Data"
MAX_HEADER_STEPS = 1024


def header_markers(data: bytes) -> Iterator[tuple[int, int]]:
    """(offset, marker) of each segment of the header, in order, up to and including the
    first start of scan, found by walking the segments' lengths (a search for a marker
    could stop in the EXIF thumbnail, a JPEG of its own). Stops early at anything else."""
    if not data.startswith(b"\xff\xd8"):
        return
    at = 2
    # A camera's header has a dozen segments; a file of 0xFF fill bytes would otherwise hold
    # a reader (and the GIL) for seconds, one byte a step.
    for _ in range(MAX_HEADER_STEPS):
        if at + 4 > len(data):
            return
        if data[at] != 0xFF:
            return
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before a marker
            at += 1
            continue
        yield at, marker
        if marker == 0xDA:
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length
            at += 2
        else:
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")


def _first_scan(data: bytes) -> int:
    """Where the image's first scan starts; -1 if none."""
    return next((at for at, marker in header_markers(data) if marker == 0xDA), -1)


def _is_motion_video(trailer: bytes) -> bool:
    if trailer.startswith(SAMSUNG_LABEL):
        trailer = trailer[len(SAMSUNG_LABEL) :]
    return trailer[4:8] == b"ftyp"  # an MP4 file starts with its "ftyp" box


def jpeg_part(data: bytes) -> bytes | None:
    """The JPEG in `data`: all of it where it ends with the end marker (zero padding aside);
    the part before a Motion Photo's video; None where the end marker is missing."""
    if data.rstrip(b"\0").endswith(END_OF_IMAGE):
        return data
    scans = _first_scan(data)
    if scans < 0:
        return None
    # After the first scan starts, compressed data never holds 0xFF 0xD9 (a 0xFF there is
    # followed by 0x00 or a restart marker), and the tables between progressive scans cannot
    # spell it: the first one is the image's end. Before it, an EXIF thumbnail has its own.
    end = data.find(END_OF_IMAGE, scans)
    if end < 0 or not _is_motion_video(data[end + 2 :]):
        return None
    return data[: end + 2]


START_OF_SCAN = b"\xff\xda"
# A progressive camera JPEG has about ten scans. libjpeg reads every scan over the whole
# image, so a file of thousands of near-empty scans takes minutes to decode (on the CPU and
# on a GPU alike); TurboJPEG's own API refuses more than 500 by default, and so do we.
MAX_SCANS = 500


def scan_markers(fh: BinaryIO, chunk: int = 1 << 20) -> int:
    """How many start-of-scan markers the file holds from its current position: an upper
    bound of its scans (an EXIF thumbnail's count too; entropy-coded data never holds the
    marker, its 0xFF bytes being stuffed). Reads to the end, a chunk at a time."""
    count = 0
    ended_with_ff = False
    while True:
        block = fh.read(chunk)
        if not block:
            return count
        count += block.count(START_OF_SCAN) + (ended_with_ff and block[0] == 0xDA)
        ended_with_ff = block[-1] == 0xFF
