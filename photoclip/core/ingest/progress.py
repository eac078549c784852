"""What an indexing pass reports as it goes: the events, the rate and the ETA."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from photoclip.core.ingest.scan import ScanResult


@dataclass
class IndexProgress:
    phase: str  # "scan", "index" or "done"
    done: int = 0  # photos processed in this run (embedded, catalogued or skipped)
    total: int = 0  # photos this run had to process
    embedded: int = 0
    catalogued: int = 0  # metadata read without a model (or a moved photo's new metadata)
    skipped: int = 0
    seen: int = 0  # files seen by the scan
    rate: float = 0.0  # photos per second, recent
    eta: float | None = None  # seconds
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # since the previous event
    committed_ids: list[int] = field(default_factory=list)  # photos whose vectors were committed
    message: str = ""
    scan: ScanResult | None = None
    cancelled: bool = False


class RateMeter:
    """Photos per second over the last ~20 seconds, for a stable ETA."""

    def __init__(self) -> None:
        self._marks: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> float:
        now = time.monotonic()
        self._marks.append((now, done))
        while len(self._marks) > 2 and now - self._marks[0][0] > 20:
            self._marks.popleft()
        t0, d0 = self._marks[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0


def fresh_event(previous: IndexProgress) -> IndexProgress:
    """The next event carries the running totals but only the new per-event lists."""
    return IndexProgress(
        phase=previous.phase,
        done=previous.done,
        total=previous.total,
        embedded=previous.embedded,
        catalogued=previous.catalogued,
        skipped=previous.skipped,
        seen=previous.seen,
        rate=previous.rate,
        eta=previous.eta,
        scan=previous.scan,
    )
