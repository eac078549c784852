"""The worker's model: loaded when work or a query needs it, given back after an idle time.

Loading costs seconds and holds a gigabyte or more; keeping it between queries is what
makes them fast, keeping it forever is what makes a background worker a bad citizen
(Immich's machine-learning service unloads after a TTL the same way).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from photoclip.core.model import Embedder

log = logging.getLogger(__name__)

# What must match for two processes' answers to agree (worker/client.model_identity).
Identity = dict[str, object]


class ModelNotReady(Exception):
    """No model to answer with now (the app's is still loading): the asker works in-process.

    Not a PhotoclipError on purpose: the asker would not meet this sentence in-process."""


class ModelSource(Protocol):
    """Where the query server gets its model: the daemon's ModelHolder, or the open app's LentModel."""

    @property
    def identity(self) -> Identity | None: ...

    @property
    def loaded(self) -> bool: ...

    def use(self) -> AbstractContextManager[Embedder]: ...

    def warm(self) -> bool: ...

    def on_unload(self, listener: Callable[[], None]) -> None: ...


class _ModelSlot:
    """What both model sources share: the model (or None), its identity, and who to tell when it goes."""

    def __init__(self, identity: Identity | None = None) -> None:
        self._embedder: Embedder | None = None
        self._identity = identity
        self._unload_listeners: list[Callable[[], None]] = []
        self._device: str | None = None

    @property
    def device(self) -> str | None:
        """Where the model runs, or ran when last loaded ("cuda", "cpu"); None before any load.
        Kept after an unload: `photoclip status` says where this worker's model runs, not
        the "auto" it was configured with."""
        return self._device

    def _note_device(self, embedder: Embedder) -> None:
        device = getattr(embedder, "device", None)  # the fake embedder has none
        if isinstance(device, str) and device:
            self._device = device

    @property
    def identity(self) -> Identity | None:
        return self._identity

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def on_unload(self, listener: Callable[[], None]) -> None:
        """Called (under the source's lock) when the model goes: drop anything that references it."""
        self._unload_listeners.append(listener)

    def _tell_unloaded(self) -> None:
        for listener in self._unload_listeners:
            listener()


class ModelHolder(_ModelSlot):
    """One embedder shared by the indexing passes and the query server."""

    def __init__(
        self,
        load: Callable[[], Embedder],
        idle_seconds: float,
        on_change: Callable[[], None] | None = None,
        identity: Identity | None = None,
    ) -> None:
        super().__init__(identity)  # of the model `load` gives, always the same one
        self._load = load
        self.idle_seconds = idle_seconds
        self._on_change = on_change
        self._users = 0
        self._last_used = time.monotonic()
        self._cond = threading.Condition()
        self._closed = False
        self._warming = False
        self.unloaded = threading.Event()  # set each time the model is given back (tests await it)
        self._reaper = threading.Thread(target=self._reap, name="photoclip-model-idle", daemon=True)
        self._reaper.start()

    @contextmanager
    def use(self) -> Iterator[Embedder]:
        """The loaded model, kept while the block runs; loading errors (ModelUnavailable) pass through."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the model holder is closed")
            if self._embedder is None:
                # Loading under the lock: a query arriving meanwhile waits for this load, not a second one.
                self._embedder = self._load()
                self._note_device(self._embedder)
                self.unloaded.clear()
                changed = True
            else:
                changed = False
            self._users += 1
            embedder = self._embedder
        if changed:
            self._notify()
        try:
            yield embedder
        finally:
            with self._cond:
                self._users -= 1
                self._last_used = time.monotonic()
                self._cond.notify_all()

    def warm(self) -> bool:
        """True when the model is loaded now; else start loading it on a thread and say False.

        A query that finds the model given back (the idle time passed) is not kept waiting
        for a load of many seconds: the asker answers in-process meanwhile (the cached text
        tower answers a text search in about a second), and the next query finds it loaded.
        """
        with self._cond:
            if self._embedder is not None:
                return True
            if self._closed or self._warming:
                return False
            self._warming = True
        threading.Thread(target=self._warm_up, name="photoclip-model-warm", daemon=True).start()
        return False

    def _warm_up(self) -> None:
        try:
            with self.use():
                pass
        except Exception as exc:  # the model cannot be had: each query says so in-process
            log.warning("The model could not be loaded for queries: %s", exc)
        finally:
            with self._cond:
                self._warming = False

    def unload(self) -> bool:
        """Give the model back now unless it is in use; True when it was unloaded."""
        with self._cond:
            if self._embedder is None or self._users:
                return False
            self._drop()
        self._notify()
        self.unloaded.set()
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self._embedder is not None:
                self._drop()
                self.unloaded.set()
            self._cond.notify_all()
        self._reaper.join(timeout=5)

    def _drop(self) -> None:
        self._tell_unloaded()
        self._embedder = None
        gc.collect()  # the model's tensors are in reference cycles; free them now, not at some later collection

    def _reap(self) -> None:
        with self._cond:
            while not self._closed:
                if self._embedder is None or self._users:
                    self._cond.wait()
                    continue
                remaining = self._last_used + self.idle_seconds - time.monotonic()
                if remaining > 0:
                    # Bounded: past threading.TIMEOUT_MAX the wait raises OverflowError and
                    # this thread would die (a huge idle time then never gave the model back).
                    self._cond.wait(min(remaining, threading.TIMEOUT_MAX))
                    continue
                self._drop()
                self._cond.release()
                try:
                    self._notify()  # the published status says so before anyone is told
                    if self._embedder is None:  # (unless a query loaded it again meanwhile)
                        self.unloaded.set()
                finally:
                    self._cond.acquire()

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change()


class LentModel(_ModelSlot):
    """A model another part of the process loaded and owns (the open app's), lent to the query server.

    Nothing is loaded here, so nothing is loaded twice: while no model is lent, `use` raises
    ModelNotReady. `lend` swaps the model and its identity together under one lock, so a
    query sees a pair that belongs together (server.py compares the identity again once it
    holds the model)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def lend(self, embedder: Embedder | None, identity: Identity | None) -> None:
        """Lend `embedder` (None: withdraw it); anything built over the previous one is dropped."""
        with self._lock:
            if embedder is self._embedder and identity == self._identity:
                return
            previous = self._embedder
            self._embedder, self._identity = (embedder, identity) if embedder is not None else (None, None)
            if embedder is not None:
                self._note_device(embedder)
            if previous is not None:
                self._tell_unloaded()

    @contextmanager
    def use(self) -> Iterator[Embedder]:
        with self._lock:
            embedder = self._embedder
        if embedder is None:
            raise ModelNotReady("the app's model is not loaded yet")
        yield embedder

    def warm(self) -> bool:
        """The app loads its own model: nothing to start here."""
        return self.loaded
