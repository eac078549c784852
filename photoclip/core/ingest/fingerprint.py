"""A photo's content fingerprint: how a moved or renamed file is recognised.

It is computed in the decode workers, from the file they have open anyway, so the
scan itself only lists and stats (a first scan of 100k photos used to read ~19 GiB
for fingerprints inside one write transaction, with no progress and no cancel).
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

SAMPLE = 64 * 1024


def fingerprint(fh: BinaryIO, size: int) -> str:
    """A content hash from the size and three 64 KiB samples (start, middle, end).

    Reading whole files would make the first index of a large library I/O bound for
    no gain: two different photos with the same size and the same sampled bytes do
    not occur in practice (EXIF timestamps and entropy-coded data differ). Leaves
    the file position wherever the last read ended.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(size.to_bytes(8, "little"))
    if size <= 3 * SAMPLE:
        fh.seek(0)
        h.update(fh.read(3 * SAMPLE))
    else:
        for offset in (0, size // 2 - SAMPLE // 2, size - SAMPLE):
            fh.seek(offset)
            h.update(fh.read(SAMPLE))
    return h.hexdigest()
