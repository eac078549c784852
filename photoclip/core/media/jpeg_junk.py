"""Junk in a JPEG's header, counted before Pillow is let at it.

Pillow's JPEG reader steps over bytes that are not a marker one `read(1)` at a time, in
Python: a file that starts like a JPEG and then holds nothing but zeros (a download a
torrent client preallocated, a damaged copy) took 12 s for 30 MB and 4 minutes for 3 GB
before it was refused, with the indexer, a query or the app's quit waiting on it. The
same walk is made here over blocks, fast, and the file is refused once the junk passes
MAX_JUNK; a camera's header holds none.
"""

from __future__ import annotations

from typing import BinaryIO

from PIL.JpegImagePlugin import MARKER

# Far more junk than any real file carries, and under a second of Pillow's stepping.
MAX_JUNK = 1 << 20
_BLOCK = 1 << 12  # a header's segment is looked at with one small read
_START_OF_SCAN = 0xDA


def junk_before_scan(fh: BinaryIO) -> int:
    """How many bytes Pillow would step over one at a time before the first scan of the
    JPEG in `fh` (read from its start; left anywhere), counted up to just past MAX_JUNK.
    Stops, with the count so far, wherever Pillow would stop on its own (the end of the
    file, the first scan, a byte pair that is no marker)."""
    fh.seek(0)
    if fh.read(2) != b"\xff\xd8":
        return 0
    junk = 0
    while junk <= MAX_JUNK:
        at = fh.tell()
        block = fh.read(_BLOCK)
        if len(block) < 2:
            return junk
        if block[0] != 0xFF or block[1] in (0x00, 0xFF):
            # Not a marker: Pillow moves on a byte (an 0xFF 0x00 pair: two) at a time until a
            # 0xFF that starts one. Runs of zeros or fill are skipped here by the block.
            skip = _next_marker(block)
            junk += skip
            fh.seek(at + skip)
            continue
        code = 0xFF00 | block[1]
        if code not in MARKER or block[1] == _START_OF_SCAN:
            return junk  # Pillow refuses an unknown marker at once; a scan ends its header
        if MARKER[code][2] is None:  # a marker without a length
            fh.seek(at + 2)
            continue
        if len(block) < 4:
            return junk
        fh.seek(at + 2 + int.from_bytes(block[2:4], "big"))
    return junk


def _next_marker(block: bytes) -> int:
    """Where in `block` (which does not start with a marker) the next 0xFF that may start
    one is: past junk, fill bytes and stuffed 0xFF 0x00 pairs; the block's length (less
    one, so an 0xFF at its end is looked at again) when there is none."""
    at = 0
    while at < len(block) - 1:
        if block[at] != 0xFF:
            found = block.find(b"\xff", at)
            if found < 0:
                return len(block) - 1 if block[-1] == 0xFF else len(block)
            at = found
            continue
        following = block[at + 1]
        if following == 0x00:
            at += 2
        elif following == 0xFF:
            at += 1  # a fill byte: the 0xFF after it may start the marker
        else:
            return max(at, 1)
    return max(len(block) - 1, 1)
