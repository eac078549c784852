"""The pipeline's writes: decoded photos into the library, in short transactions.

Decoded photos and vectors are held in memory and written in one transaction per
flush; the pipeline flushes before every progress event and before it pauses, so
the library is never held locked while the consumer of the events (or a paused
user) takes its time: the viewer's tag edit, the tagger and the CLI can always write.

Between the scan and a flush another connection may trash a photo, purge it or
remove its folder; a write for a row that is gone is dropped (the photo is gone
from the library, which is what the user asked for), never a foreign-key error
that kills the indexer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoclip.core.db import MISSING, Library, Photo
from photoclip.core.ingest.decoding import DecodedItem
from photoclip.core.ingest.scan import ScanResult
from photoclip.core.media.metadata import Metadata
from photoclip.core.paths import within


@dataclass
class _Pending:
    """One decoded photo waiting for the next flush."""

    item: DecodedItem
    target: int  # the row it is written to: its own, or a missing photo's it turned out to be
    vector: np.ndarray | None = None


class IndexWriter:
    """Writes what the decode workers found, recognising moved photos by their fingerprint."""

    def __init__(self, lib: Library, model_id: str | None, scan: ScanResult | None) -> None:
        self.lib = lib
        self.model_id = model_id
        self.scan = scan
        # Missing photos by (fingerprint, size): a new file with the same content is the
        # same photo, moved or renamed, and takes over its row, vectors and tags.
        self._missing = lib.missing_by_hash()
        # Outermost first, as the scan assigns a file to the outermost folder holding it.
        self._folders = sorted(lib.folder_paths(), key=lambda f: len(f[1]))
        self._pending: list[_Pending] = []
        self._scanned_new = set(scan.new_ids) if scan else set()
        self._scanned_missing = set(scan.missing_ids) if scan else set()

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def route(self, item: DecodedItem) -> tuple[int, bool] | None:
        """Which row a decoded photo belongs to, and whether it still needs a vector.

        None when its row was deleted since the work list was read. A photo the scan
        found as new (never catalogued, no fingerprint yet) whose fingerprint matches a
        missing photo is that photo, moved: it takes the missing row, and needs no new
        vector if that row has one for this model.
        """
        row = self.lib.photo(item.work.photo_id)
        if row is None:
            return None
        needs_vector = item.work.needs_vector
        if item.digest is None or row.hash is not None or row.width is not None:
            return row.id, needs_vector
        candidates = self._missing.get((item.digest, item.work.size))
        if not candidates:
            return row.id, needs_vector
        moved_from = candidates.pop()
        if self.model_id is not None:
            needs_vector = self.lib.vector(moved_from, self.model_id) is None
        return moved_from, needs_vector

    def add(self, item: DecodedItem, target: int, vector: np.ndarray | None = None) -> None:
        self._pending.append(_Pending(item, target, vector))

    def flush(self) -> list[int]:
        """Write everything pending in one transaction; returns the ids whose vectors were written."""
        if not self._pending:
            return []
        lib = self.lib
        embedded: list[int] = []
        vectors: list[np.ndarray] = []
        with lib.transaction():
            ids = {p.item.work.photo_id for p in self._pending} | {p.target for p in self._pending}
            alive = lib.photos(ids)
            for pending in self._pending:
                target = self._resolve(pending, alive)
                if target is None:
                    continue
                item = pending.item
                if item.skip is not None:
                    lib.mark_skipped(target, item.skip)
                elif item.meta is not None:
                    _write_metadata(lib, target, item.meta)
                    if pending.vector is not None:
                        embedded.append(target)
                        vectors.append(pending.vector)
            if embedded and self.model_id is not None:
                lib.put_vectors(self.model_id, embedded, np.stack(vectors))
        self._pending.clear()
        return embedded

    def _resolve(self, pending: _Pending, alive: dict[int, Photo]) -> int | None:
        """The row to write to now, after a move is applied; None when the photo is gone."""
        item, own_id = pending.item, pending.item.work.photo_id
        own = alive.get(own_id)
        if own is None:
            return None  # trashed, purged or its folder removed while it was being read
        if pending.target != own_id:
            old = alive.get(pending.target)
            folder_id = self._folder_of(item.work.path)
            if old is not None and old.status == MISSING and folder_id is not None:
                self._move(own_id, pending.target, folder_id, item)
                return pending.target
            # The missing photo was purged or came back meanwhile: this one stays a new photo
            # (without a vector if it was not embedded: the next run embeds it).
        if own.hash is None and item.digest is not None:
            # Records the fingerprint (mark_changed is the one public write of the hash; this
            # row has no vectors to lose: it is new, or its vectors went when it changed).
            self.lib.mark_changed(own_id, item.work.size, item.work.mtime_ns, item.digest)
        return own_id

    def _move(self, new_id: int, old_id: int, folder_id: int, item: DecodedItem) -> None:
        self.lib.forget_photo(new_id)
        work = item.work
        self.lib.move_photo(old_id, work.path, folder_id, work.size, work.mtime_ns)
        if self.scan is not None:
            # This run's scan counted the file as new and the old path as missing: it is one move.
            self.scan.moved += 1
            self.scan.moved_ids.append(old_id)
            if new_id in self._scanned_new:
                self.scan.new -= 1
            if old_id in self._scanned_missing:
                self.scan.missing -= 1

    def _folder_of(self, path: str) -> int | None:
        for folder_id, folder in self._folders:
            if within(path, folder):
                return folder_id
        return None


def _write_metadata(lib: Library, photo_id: int, meta: Metadata) -> None:
    lib.set_metadata(
        photo_id,
        width=meta.width,
        height=meta.height,
        taken_at=meta.taken_at,
        taken_source=meta.taken_source,
        camera=meta.camera,
        gps_lat=meta.gps_lat,
        gps_lon=meta.gps_lon,
    )
