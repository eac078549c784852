"""Suggest labels use cases: what the Suggest dialog shows, and the one click that makes a label.

Finding suggestions reads only (the vocabulary's text vectors go into the prompt cache,
which is a cache, not the user's data); a label is made only by `make_label`, when the
user clicks a suggestion. Suggestions never create labels by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from photoclip.app.changes import Changes
from photoclip.core import tagging
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.model import Embedder
from photoclip.core.tagging import Suggestion

SUGGESTIONS_SHOWN = 12


@dataclass
class SuggestionList:
    """Suggestions, biggest groups first, with the paths their sample thumbnails are made from."""

    suggestions: list[Suggestion]
    sample_paths: dict[int, str] = field(default_factory=dict)  # photo id -> path
    photos: int = 0  # photos analysed with the model (0: nothing to group yet)


def find_suggestions(
    db_path: Path, embedder: Embedder, *, count: int = SUGGESTIONS_SHOWN, cancel: CancelToken | None = None
) -> SuggestionList:
    """Group the library and name the groups, on the calling thread with its own connection
    (grouping a big library takes seconds: the app's library thread stays free meanwhile).
    Raises tagging.Cancelled when `cancel` is seen while the vocabulary is read."""
    with Library(db_path) as lib:
        analysed = lib.counts(embedder.model_id)["embedded"]
        found = tagging.suggest_labels(lib, embedder, count=count, cancel=cancel)
        ids = sorted({pid for s in found for pid in s.sample_ids})
        photos = lib.photos(ids)
        return SuggestionList(found, {pid: photos[pid].path for pid in ids if pid in photos}, analysed)


def make_label(lib: Library, suggestion: Suggestion) -> Changes:
    """The user's click on a suggestion: a label named after it, its other phrases as descriptions
    (the name is in the label's prompts already), as the CLI's `labels add` command has it.

    The label tags nothing yet: its line is shown in the Labels dialog first, and tagging
    follows from there (Apply) or from the next tagging run.
    """
    label = tagging.create_label(lib, suggestion.name, suggestion.phrases[1:])
    return Changes(message=f"Made the label “{label.name}”.", labels_changed=True)
