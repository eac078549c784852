"""Tag runs as a use case: apply labels to the library with progress and cancel, and say
which sidecars the run made stale. No Qt: the app's tagger runs it on a worker, the
CLI could call it directly."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from photoclip.app import sync
from photoclip.app.words import how_tagged, plural
from photoclip.core import tagging
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder

log = logging.getLogger(__name__)

Prepare = Callable[[Library, Embedder], object]  # (the run's Library, the run's model)


@dataclass
class TagRun:
    """One request: with which model, which labels (None: all) and what to do first."""

    embedder: Embedder
    names: list[str] | None
    prepare: Prepare | None = None
    write_xmp: bool = False


@dataclass
class TagOutcome:
    names: list[str] | None
    counts: dict[str, int]
    cancelled: bool
    error: str | None = None  # the run stopped on this (what it wrote before stays)
    stale_sidecars: set[int] = field(default_factory=set)  # photos whose sidecars the run made stale
    # A one-label run: every photo the label tags after it, the user's yes and hand tags included
    # (`counts` has only the line's); "now tags 0 photos automatically" under "1 photo tagged"
    # read as if Apply had undone a yes (round 22's walk).
    tagged: dict[str, int] = field(default_factory=dict)

    def applied_text(self, name: str) -> str:
        """The confirmation of Apply (or Reset): what the label tags now, in one line."""
        automatic = self.counts.get(name, 0)
        tagged = max(self.tagged.get(name, automatic), automatic)
        return f"Done: “{name}” now tags {plural(tagged, 'photo')}{how_tagged(tagged, automatic) or ' automatically'}."

    def summary(self) -> str:
        tagged = sum(self.counts.values())
        what = f"“{self.names[0]}”" if self.names and len(self.names) == 1 else plural(len(self.counts), "label")
        return f"Tagging with {what} {'cancelled' if self.cancelled else 'done'}: {plural(tagged, 'automatic tag')}."


def _label_ids(lib: Library, names: list[str] | None) -> list[int]:
    labels = tagging.list_labels(lib) if names is None else [tagging.get_label(lib, n) for n in names]
    return [label.id for label in labels]


def run_tagging(lib: Library, run: TagRun, cancel: CancelToken) -> Generator[tuple[int, int], None, TagOutcome]:
    """Prepare, then apply, yielding (photos done, total); returns what the run did.

    A generator, like core's long jobs: the app's worker turns each item into progress,
    and `cancel` is checked by core between chunks (what was written stays).

    Never raises: an error is reported in the outcome, because chunks written before it
    (or before a cancel) still need their sidecars brought up to date. The sidecars are
    written on the library thread, where every other sidecar write of the app happens.
    """
    outcome = TagOutcome(run.names, {}, False)
    label_ids: list[int] = []
    before: set[tuple[int, int]] = set()
    try:
        if run.write_xmp:
            label_ids = _label_ids(lib, run.names)
            before = sync.tag_pairs(lib, label_ids)
        if run.prepare is not None:
            run.prepare(lib, run.embedder)
        for event in tagging.apply_labels(lib, run.embedder, run.names, cancel=cancel):
            yield event.done, event.total
            outcome.counts = dict(event.tagged)
            outcome.cancelled = event.phase == "cancelled"
    except PhotoclipError as exc:
        outcome.error = str(exc)
    except Exception as exc:
        log.exception("tagging failed")
        outcome.error = f"Tagging stopped by an internal error: {type(exc).__name__}: {exc}"
    if run.names is not None and len(run.names) == 1 and outcome.error is None:
        name = run.names[0]
        outcome.tagged = {name: len(tagging.photos_with_label(lib, name, include_children=False))}
    if run.write_xmp and label_ids:
        outcome.stale_sidecars = sync.photos_to_sync(lib, label_ids, before)
    return outcome
