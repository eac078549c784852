"""Tag use cases: what the tag views read, and the edits (add, remove, feedback) that return Changes.

Each function takes the library thread's `Library` (and the model, where scores
are involved) and returns plain data, so the widgets never touch SQLite or the
model themselves. Writes honour the user's "write XMP sidecars" setting here, in
one place, so every way of changing a tag in the app keeps the sidecars in step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from photoclip.app import sync
from photoclip.app.changes import Changes
from photoclip.app.sidecars import write_sidecars
from photoclip.app.words import how_tagged, plural
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import Embedder
from photoclip.core.tagging import LabelMatch, Tag

log = logging.getLogger(__name__)
TOP_LABELS = 5
MENU_SUGGESTIONS = 3  # labels worth a ✓ in the grid's menu: a few, or the menu becomes a list to read
MENU_TAGGED = 10  # labels offered a ✗ there, the ones on most of the selection first
MENU_PHOTOS = 2000  # a bigger selection offers the labels on its first photos (the answers still go to all)


def tag_names(lib: Library) -> list[tuple[str, int]]:
    """(tag name, photo count) for the filter list, most used first."""
    return sorted(tagging.tag_counts(lib), key=lambda item: (-item[1], item[0].casefold()))


def photos_with_tag(lib: Library, name: str) -> set[int]:
    """Photo ids carrying a tag or any tag under it; an unknown tag matches nothing."""
    return set(tagging.photos_with_label(lib, name))


@dataclass
class PhotoLabels:
    """One photo's tags and its best-scoring labels, for the viewer's labels panel."""

    photo_id: int
    tags: list[Tag]
    matches: list[LabelMatch]  # empty without a model or without labels
    label_names: list[str] = field(default_factory=list)  # for the "add a tag" completer
    rejected: set[str] = field(default_factory=set)  # labels the user said this photo is not

    def tag(self, name: str) -> Tag | None:
        return next((t for t in self.tags if t.label == name), None)


def photo_labels(lib: Library, embedder: Embedder | None, photo_id: int, k: int = TOP_LABELS) -> PhotoLabels:
    """The best `k` labels, plus every label the photo has or the user rejected (best first)."""
    names = [label.name for label in tagging.list_labels(lib)]
    tags = tagging.photo_tags(lib, photo_id)
    rejected = tagging.rejected_labels(lib, photo_id)
    ranked = tagging.top_labels(lib, embedder, photo_id, len(names)) if embedder is not None else []
    # A label the user just confirmed or rejected stays in view even when it falls out of the top k.
    keep = {t.label for t in tags} | rejected
    matches = [m for i, m in enumerate(ranked) if i < k or m.label in keep]
    return PhotoLabels(photo_id, tags, matches, names, rejected)


@dataclass
class MenuLabels:
    """What the grid's right-click menu offers to teach for a selection of photos."""

    tagged: list[str]  # labels on at least one of the photos (✗ "not this"), most photos first
    worth_confirming: list[str]  # the clicked photo's best labels not yet on every photo (✓)
    has_labels: bool = True  # False: the library has no labels at all
    scored: bool = True  # False: no model (yet) to say which labels fit


def menu_labels(lib: Library, embedder: Embedder | None, photo_ids: Sequence[int], clicked: int) -> MenuLabels:
    """The labels to offer ✓ and ✗ for on these photos, wherever the grid shows them."""
    names = {label.name for label in tagging.list_labels(lib)}
    counts: dict[str, int] = {}
    for pid in list(photo_ids)[:MENU_PHOTOS]:
        for tag in tagging.photo_tags(lib, pid):
            if tag.label in names:
                counts[tag.label] = counts.get(tag.label, 0) + 1
    tagged = sorted(counts, key=lambda n: (-counts[n], n.casefold()))[:MENU_TAGGED]
    on_all = {n for n, c in counts.items() if c >= min(len(photo_ids), MENU_PHOTOS)}
    ranked = tagging.top_labels(lib, embedder, clicked, len(names)) if embedder is not None and names else []
    worth = [m.label for m in ranked if m.label not in on_all][:MENU_SUGGESTIONS]
    return MenuLabels(tagged, worth, bool(names), embedder is not None)


def _with_sidecars(lib: Library, message: str, photo_ids: Sequence[int], write_xmp: bool, *, labels: bool = False) -> Changes:
    change = write_sidecars(lib, photo_ids, write_xmp)
    change.message = message
    change.photos_changed = set(photo_ids)
    change.tags_changed = True
    change.labels_changed = labels
    return change


def give_feedback(
    lib: Library, embedder: Embedder, photo_ids: Sequence[int], name: str, *, confirm: bool, write_xmp: bool = False
) -> Changes:
    """Confirm or reject a label on photos: the label learns and is re-applied to the library once."""
    # Feedback re-applies the whole label: photos that gain or lose it changed too (their
    # sidecars need redoing, a viewer showing one of them needs its labels again).
    label_ids = [tagging.get_label(lib, name).id]
    before = sync.tag_pairs(lib, label_ids)
    tagged = tagging.feedback_many(lib, embedder, photo_ids, name, confirm=confirm)
    after = sync.tag_pairs(lib, label_ids)
    message = feedback_message(name, photo_ids, confirm, {p for p, _ in before}, {p for p, _ in after}, tagged)
    moved = {pid for pid, _ in before ^ after}
    return _with_sidecars(lib, message, sorted(set(photo_ids) | moved), write_xmp, labels=True)


def feedback_message(name: str, answered: Sequence[int], confirm: bool, before: set[int], after: set[int], automatic: int) -> str:
    """What one ✓ or ✗ did, in words: the answer, the OTHER photos it moved, the label's count.

    An answer re-applies the whole label, so photos the user never touched can join or
    leave it. Saying only the new count ("now tags 4 photos") left a user who had 7 and
    answered one ✗ to find out alone that two more had gone; "no other photo changed"
    is worth saying too, since that is what the user most wants to know.
    """
    answer = "Yes," if confirm else "No, not"  # the words of the ✓ and ✗ menu entries
    what = "" if len(answered) == 1 else f" for {plural(len(answered), 'photo')}"
    others_left = len(before - after - set(answered))
    others_joined = len(after - before - set(answered))
    # Short: the window's status bar shows it beside the counts and the model, about 85
    # characters in a 1024-pixel window; the label's name is said once.
    if others_left or others_joined:
        moves = []
        if others_left:
            moves.append(f"{plural(others_left, 'other photo')} lost it")
        if others_joined:
            moves.append(f"{plural(others_joined, 'other photo')} gained it")
        effect = " and ".join(moves)
    else:
        effect = "no other photo changed"
    return f"{answer} “{name}”{what}: {effect}; now tags {plural(len(after), 'photo')}{how_tagged(len(after), automatic)}."


def add_tags(lib: Library, photo_ids: Sequence[int], name: str, *, write_xmp: bool = False) -> Changes:
    """Tag photos by hand (the label is created if new)."""
    for pid in photo_ids:
        tagging.add_tag(lib, pid, name)
    label = tagging.normalize_name(name)
    what = plural(len(photo_ids), "photo")
    # A new name makes a new label (the Labels dialog and the tag filter list it).
    return _with_sidecars(lib, f"Tagged {what} “{label}”.", photo_ids, write_xmp, labels=True)


def remove_tags(lib: Library, photo_ids: Sequence[int], name: str, *, write_xmp: bool = False) -> Changes:
    """Take a tag off photos by hand; auto-tagging will not put it back."""
    removed = sum(bool(tagging.remove_tag(lib, pid, name)) for pid in photo_ids)
    what = plural(removed, "photo")
    return _with_sidecars(lib, f"Removed “{name}” from {what}.", photo_ids, write_xmp)


def shared_tags(lib: Library, photo_ids: Sequence[int]) -> list[str]:
    """Tags that at least one of these photos has (for a "Remove tag" menu), by name."""
    names: set[str] = set()
    for pid in photo_ids:
        names.update(t.label for t in tagging.photo_tags(lib, pid))
    return sorted(names, key=str.casefold)
