"""The approximate index brought up to date at the end of an indexing pass.

A search keeps the index file beside the library current by itself (core/search/approximate.py),
but an index missing or stale is built in a background thread, which a one-shot command
ends before it is done: every `photoclip search` would then start the build again and
answer exactly meanwhile. So `photoclip index` and the watcher finish each pass by
bringing the index file up to the library: built if it is missing, stale or worn out by
many removals (and waited for), with new vectors taken in, removed ones taken out, and written. Below the setting
`approximate_search_from` this costs one COUNT and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from photoclip.core.db import Library
from photoclip.core.search.approximate import ApproximateSearch, approximate_wanted
from photoclip.core.search.store import VectorIndex
from photoclip.core.settings import Settings

WAIT_STEP_S = 0.5  # how often a wait for the build looks whether it should stop (Ctrl+C, the worker stopping)


class IndexKeeper:
    """Keeps one model's approximate index file current; holds the vectors between passes once above the setting.

    Between passes only the new vectors are read (VectorIndex.refresh) and taken into the index,
    which is why the watcher keeps one keeper: a big library is loaded once, not every pass."""

    def __init__(self, db_path: Path, approximate_from: int | None = None) -> None:
        self.db_path = db_path
        self.approximate_from = Settings.load().approximate_search_from if approximate_from is None else approximate_from
        self._model_id: str | None = None
        self._index: VectorIndex | None = None
        self._approximate: ApproximateSearch | None = None
        self._announced = False  # a build in the background is announced once, not at every pass

    def after_pass(
        self,
        lib: Library,
        model_id: str,
        stop: Callable[[], bool] = lambda: False,
        announce: Callable[[str], None] | None = None,
        wait: bool = True,
    ) -> bool:
        """Bring the approximate index of `model_id` up to the library; True when it is (False below the setting, or stopped).

        `announce` hears one sentence when a whole index has to be built (slow: see benchmarks/README.md).
        Without `wait` (a long-lived process) a build goes on in the background, writes the file itself
        when done, and is adopted and topped up at a later pass."""
        if not approximate_wanted(self.approximate_from, lib.vector_count(model_id)):
            self.release()  # below the setting (photos removed, say): give the memory back
            return False
        if self._model_id != model_id or self._index is None or self._approximate is None:
            self._model_id = model_id
            self._index = VectorIndex.load(lib, model_id, np.float16)  # above the setting: see core/search/store.py
            self._approximate = ApproximateSearch(self.db_path, model_id, self.approximate_from)
            self._announced = False
        else:
            self._index.refresh(lib)
        ann, index = self._approximate, self._index
        ann.sync(lib, index)
        if ann.rebuilding and announce is not None and not self._announced:
            self._announced = True
            what = "Building" if ann.compressed is None else "Rebuilding (many photos left it)"
            announce(f"{what} the search index of {len(index):,} photos for fast search…")
        # A worn index still answers while its replacement builds, but a one-shot command
        # ending now would kill that build, and every later pass would start it again.
        while ann.rebuilding:
            if stop() or not wait:
                break
            if ann.wait_built(WAIT_STEP_S):
                ann.sync(lib, index)  # adopts the built index (the build wrote its file), takes in what came meanwhile
                if ann.compressed is None:
                    return False  # the build failed (logged): searches stay exact
        if ann.compressed is None:
            return False
        if not ann.rebuilding:
            self._announced = False  # a later rebuild is announced again
        ann.save_now()
        return True

    def release(self) -> None:
        self._model_id = self._index = self._approximate = None
