"""What a use case changed, so each view refreshes only what the edit touched.

The idea is Anki's `OpChanges`: an operation runs in the background and returns a small
record of what it touched; the window hands that record to its views, and each decides
whether it cares (the grid about removed photos, the tag list about tags, the viewer
about its own photo) instead of every edit causing a refresh of everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Changes:
    message: str = ""  # one sentence for the status bar ("" when there is nothing to say)
    photos_changed: set[int] = field(default_factory=set)  # photos whose tags or rows changed
    any_photo: bool = False  # tags of photos not listed may have changed too (a run over the library)
    photos_removed: set[int] = field(default_factory=set)  # photos the library forgot
    tags_changed: bool = False  # which photos carry which tags (tag list counts, tag filter)
    labels_changed: bool = False  # the labels themselves (names, thresholds)
    folders_changed: bool = False  # the library's folders (sidebar)
    sidecars_written: list[str] = field(default_factory=list)  # XMP files written
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) that failed

    def problems_text(self) -> str:
        """The files that could not be handled, for the end of a status message ("" if none)."""
        if not self.problems:
            return ""
        path, reason = self.problems[0]
        return f" {len(self.problems):,} could not be written, e.g. {path}: {reason}"

    def merge(self, other: Changes) -> Changes:
        """Both changes in one (the other's message wins when it has one)."""
        return Changes(
            message=other.message or self.message,
            photos_changed=self.photos_changed | other.photos_changed,
            any_photo=self.any_photo or other.any_photo,
            photos_removed=self.photos_removed | other.photos_removed,
            tags_changed=self.tags_changed or other.tags_changed,
            labels_changed=self.labels_changed or other.labels_changed,
            folders_changed=self.folders_changed or other.folders_changed,
            sidecars_written=self.sidecars_written + other.sidecars_written,
            problems=self.problems + other.problems,
        )

    @property
    def library_changed(self) -> bool:
        """Whether the sidebar's counts (folders, photos, tags) may be out of date."""
        return bool(self.folders_changed or self.photos_removed or self.tags_changed)

    def touches(self, photo_id: int) -> bool:
        """Whether this photo's tags or row may have changed (a viewer showing it redraws)."""
        return self.any_photo or photo_id in self.photos_changed or photo_id in self.photos_removed
