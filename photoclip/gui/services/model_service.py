"""The CLIP model's life in the app: checked, downloaded or loaded in the background.

torch and open_clip are imported only inside the jobs this module sends to a
worker thread, so the window shows first. Its state is what the status bar and the
first-run banner show:

- "checking": looking for the weights on disk (this is where torch gets imported)
- "missing":  weights not on this computer; the user can download them or pick a file
- "loading":  downloading or loading
- "ready":    `embedder` is usable
- "unavailable": it failed; `message` says why in words a person can act on

Text searches do not wait for all that when a verified text tower of the chosen weights is
cached (core/model/texttower.py, exported the first time the full model loads): the service
opens it in parallel with the model load and offers it as `text_embedder` (`text_ready`),
a `QueryEmbedder` that answers words in milliseconds without torch. Once the full model is
loaded, `text_embedder` wraps it (texts still through the tower, images through the model),
so a text scores the same before and after.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model import Embedder, ModelChoice, OfflineRoute
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import TaskRunner

log = logging.getLogger(__name__)

CHECKING, MISSING, LOADING, READY, UNAVAILABLE = "checking", "missing", "loading", "ready", "unavailable"


@dataclass(frozen=True)
class _Missing:
    """The weights are not on this computer; `route` names the file to fetch (None when unknown)."""

    route: OfflineRoute | None


class ModelService(QObject):
    state_changed = Signal(str, str)  # state, message
    download_progress = Signal(int, int)  # bytes done, bytes total (0: unknown)
    ready = Signal(object)  # the loaded embedder
    text_ready = Signal(object)  # an embedder for text queries (the cached tower), maybe before `ready`
    _tower_opened = Signal(int, object)  # from the loading thread: generation, the tower's QueryEmbedder

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.state = CHECKING
        self.message = ""
        self.embedder: Embedder | None = None
        self.query_embedder: Embedder | None = None  # QueryEmbedder: the tower, over the full model once loaded
        self._query_over: Embedder | None = None  # the full model `query_embedder` wraps (None: the tower alone)
        self.choice: ModelChoice | None = None
        self._generation = 0
        self._tower_opened.connect(self._tower_found)

    def start(self, choice: ModelChoice, *, download: bool = False) -> None:
        """Load `choice`; without `download`, stop at MISSING rather than fetch ~600 MB unasked."""
        self._generation += 1
        generation = self._generation
        self.choice = choice
        self.embedder = None
        self.query_embedder = self._query_over = None
        self._set(LOADING if download else CHECKING, _describe(choice))

        def job() -> Embedder | _Missing:
            # The tower first, alone on the CPU (well under a second; importing torch beside it
            # would slow it several times): words typed now are answered while the model loads.
            tower = _open_tower(choice)
            if tower is not None:
                emit(self._tower_opened, generation, tower)  # queued to the GUI thread
            if not download and not weights_on_disk(choice):
                from photoclip.core.model import offline_route

                return _Missing(offline_route(choice))  # the exact file to side-load, found here (imports open_clip)
            from photoclip.core.model import OpenClipEmbedder

            return OpenClipEmbedder(choice, progress=self._on_download_progress, texts_by_tower=True).load()

        self._runner.run(
            job,
            lambda embedder: self._loaded(generation, embedder),
            lambda exc: self._failed(generation, exc),
        )

    def _on_download_progress(self, done: int, total: int | None, _what: str) -> None:
        # Called in the worker thread: a signal is the safe way back to the GUI.
        emit(self.download_progress, int(done), int(total or 0))

    def _loaded(self, generation: int, embedder: Embedder | _Missing) -> None:
        if generation != self._generation:
            return  # the user chose another model meanwhile
        if isinstance(embedder, _Missing):
            self._set(MISSING, missing_text(self.choice, embedder.route))
            return
        self.embedder = embedder
        self.query_embedder, self._query_over = _over(embedder), embedder
        self._set(READY, _describe(self.choice))
        emit(self.ready, embedder)
        emit(self.text_ready, self.query_embedder)
        self._runner.run(lambda: _prepare_tower(embedder))

    def _tower_found(self, generation: int, found: Embedder | None) -> None:
        if generation == self._generation and found is not None and self.query_embedder is None:
            self.query_embedder = found
            emit(self.text_ready, found)

    @property
    def text_embedder(self) -> Embedder | None:
        """What answers text searches now: the tower (over the full model once loaded), else the model."""
        if self.query_embedder is not None and self._query_over is self.embedder:
            return self.query_embedder
        return self.embedder

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, ModelUnavailable):
            self._set(UNAVAILABLE, window_text(exc, self.choice))
        else:
            log.error("model load failed", exc_info=exc)
            self._set(UNAVAILABLE, f"The model could not be loaded ({type(exc).__name__}: {exc}).")

    def _set(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        emit(self.state_changed, state, message)


def _open_tower(choice: ModelChoice) -> Embedder | None:
    """A QueryEmbedder over the cached, verified text tower of `choice`, or None (no torch)."""
    try:
        from photoclip.core.model.query import QueryEmbedder

        queries = QueryEmbedder(choice)
        return queries if queries.uses_tower else None
    except Exception:
        log.info("no usable text tower", exc_info=True)
        return None


def _over(embedder: Embedder) -> Embedder:
    """Text queries through the tower even once the full model is here (the numbers a fresh
    process would give); any other embedder (the tests' fake) answers for itself."""
    from photoclip.core.model import OpenClipEmbedder
    from photoclip.core.model.query import QueryEmbedder

    if not isinstance(embedder, OpenClipEmbedder):
        return embedder
    return QueryEmbedder.over(embedder)


def _prepare_tower(embedder: Embedder) -> None:
    """Export the text tower once per weights file, so that the next start searches at once."""
    from photoclip.core.model import OpenClipEmbedder
    from photoclip.core.model.query import prepare_text_tower

    if isinstance(embedder, OpenClipEmbedder):
        try:
            prepare_text_tower(embedder)
        except Exception:
            log.warning("the text tower could not be exported; searches load the full model", exc_info=True)


CHOOSE_IN_WINDOW = "press “Choose checkpoint file…” here (or File → Settings… → Search model → Checkpoint file)"


def _describe(choice: ModelChoice | None) -> str:
    """Exactly what is in use: the architecture and its pretrained tag, or the file it loads."""
    if choice is None:
        return ""
    if choice.weights_is_file:
        return f"{choice.name} (file {os.path.basename(choice.weights)})"
    return f"{choice.name} ({choice.weights})"


def describe_in_full(choice: ModelChoice | None) -> str:
    """As `_describe`, with a file's whole path (Settings, tooltips)."""
    if choice is None:
        return ""
    if choice.weights_is_file:
        return f"{choice.name} · file {os.path.abspath(choice.weights)}"
    return f"{choice.name} · {choice.weights}"


def offline_words(choice: ModelChoice | None) -> str:
    what = _describe(choice) if choice is not None and not choice.weights_is_file else "the model"
    name = choice.name if choice is not None else "the model"
    return (
        f"No internet on this computer? Fetch the checkpoint file of {what} on another computer, "
        f"copy it here and {CHOOSE_IN_WINDOW}. It must be the file made for {name}: "
        "a file for another architecture is refused."
    )


def window_text(exc: BaseException, choice: ModelChoice | None) -> str:
    """core's message, for someone at a window: no command-line flags, the offline route in window words."""
    route = getattr(exc, "route", None)  # where core names the exact file to fetch by hand
    text = str(exc)
    if choice is not None and choice.weights_is_file:
        return text  # a local file: what is wrong with it is the whole story (nothing to download)
    if route is not None and hasattr(route, "instructions"):
        head = text.split(". ", 1)[0].rstrip(".")
        return f"{head}. {route.instructions(CHOOSE_IN_WINDOW)}"
    if "--weights" in text:
        # The terminal's advice ("give it with --weights /path/to/file"): replaced, not shown.
        text = text.split(" If this computer is offline", 1)[0].rstrip(". ")
        return f"{text}. {offline_words(choice)}"
    return text


MISSING_HEAD_END = "your photos stay browsable meanwhile."


def missing_parts(message: str) -> tuple[str, str]:
    """The first start's banner split into what to do now and the offline how-to (folded)."""
    head, found, rest = message.partition(MISSING_HEAD_END)
    return (head + found, rest.strip()) if found else (message, "")


def missing_text(choice: ModelChoice | None, route: OfflineRoute | None = None) -> str:
    """The first start's banner: what is missing, where photoclip looked, and how to side-load it.

    With the route (the exact file, from core) the offline part is the same sentence the
    command line prints, in the window's words for choosing the file.
    """
    offline = route.instructions(CHOOSE_IN_WINDOW) if route is not None else offline_words(choice)
    return (
        f"The search model {_describe(choice)} is not on this computer yet. Download it (about 600 MB for the "
        "default model, once) or choose a checkpoint file you already have; " + MISSING_HEAD_END + " " + offline
    )


def weights_on_disk(choice: ModelChoice) -> bool:
    """Whether loading `choice` would need no download. Runs in a worker (imports open_clip)."""
    from photoclip.core.model import weights_available

    return weights_available(choice)
