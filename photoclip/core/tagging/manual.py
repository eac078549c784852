"""Tags a person puts on or takes off a photo, and reading a photo's tags.

Manual tags are never changed by auto-tagging. A tag taken off by hand is kept as a
'reject' verdict, so auto-tagging never puts it back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from photoclip.core.db import Library
from photoclip.core.db import tags as tag_db
from photoclip.core.tagging.labels import ensure_label, get_label
from photoclip.core.tagging.names import normalize_name


@dataclass(frozen=True)
class Tag:
    label: str
    source: str  # 'auto' or 'manual'
    score: float | None


def photo_tags(lib: Library, photo_id: int) -> list[Tag]:
    return [Tag(*row) for row in tag_db.photo_tags(lib, photo_id)]


def add_tag(lib: Library, photo_id: int, name: str, *, score: float | None = None) -> None:
    """Tag a photo by hand (creating the label if needed). Overrides an earlier rejection."""
    label = ensure_label(lib, name)
    with lib.transaction():
        tag_db.put_manual_tag(lib, photo_id, label.id, score, time.time(), update_score=True)
        tag_db.forget_rejection(lib, label.id, photo_id)


def rejected_labels(lib: Library, photo_id: int) -> set[str]:
    """Names of the labels the user said this photo is not (rejected or removed by hand)."""
    return tag_db.rejected_label_names(lib, photo_id)


def remove_tag(lib: Library, photo_id: int, name: str) -> bool:
    """Take a tag off a photo by hand; returns whether it had the tag.

    The removal is kept as a 'reject' verdict, so auto-tagging never puts the tag
    back and XMP export takes the keyword out of the photo's sidecar even when
    another app wrote it there. Unlike `feedback`, the label's threshold stays
    where it was: taking one tag off is a statement about this photo, not about
    where the label's cut-off belongs; for the same reason it does not move the
    label's vector either (only ✓/✗ feedback does, see verdicts.py).
    """
    label = get_label(lib, name)
    with lib.transaction():
        had, score = tag_db.tag_score(lib, photo_id, label.id)
        if not had:
            return False
        tag_db.delete_tag(lib, photo_id, label.id)
        tag_db.put_verdict(lib, label.id, photo_id, "reject", score, time.time(), moves_vector=False)
    return True


def tag_counts(lib: Library) -> list[tuple[str, int]]:
    """(label name, photos tagged) for the tag list, labels with no photos included."""
    return tag_db.counts_by_name(lib)


def photos_with_label(lib: Library, name: str, *, include_children: bool = True) -> list[int]:
    """Ids of photos tagged with a label (and, by default, with any label under it)."""
    return tag_db.photos_with_label(lib, normalize_name(name), include_children=include_children)
