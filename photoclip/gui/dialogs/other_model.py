"""Settings → Model → "Other open_clip model…": type an architecture and a pretrained tag.

open_clip knows a few hundred (architecture, tag) pairs; the dialog lists four. The pair a
user types is checked against open_clip's own list on a worker thread (listing it imports
open_clip and torch: seconds, never on the GUI thread), and a pair it does not know gets a
one-line message naming what it does know, before the user can save it.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from photoclip.core.model import buildable_architectures, describe_models
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import TaskRunner

CHECK_DELAY_MS = 300  # a check waits for a pause in typing
TAG_HINT = "Pretrained tag, e.g. datacomp_xl_s13b_b90k"
MAX_LISTED = 4  # tags named in a message (ViT-B-32 alone has more than a dozen): three lines fit a small screen


@functools.cache
def open_clip_pairs() -> tuple[tuple[str, str], ...]:
    """(architecture, pretrained tag) pairs open_clip can download (worker thread: imports it)."""
    return tuple(describe_models())


@functools.cache
def open_clip_architectures() -> tuple[str, ...]:
    """Architectures open_clip can build, the user's configs included (worker thread: imports it)."""
    return tuple(buildable_architectures())


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def check_pair(name: str, tag: str, pairs: Sequence[tuple[str, str]], from_file: bool = False, buildable: Sequence[str] = ()) -> str | None:
    """None when open_clip knows the pair; else one line that says what is wrong.

    With weights `from_file` (a checkpoint chosen below) only the architecture matters:
    the file replaces any download, so the tag may be left empty and is not checked, and any
    architecture open_clip can build will do (`buildable`: those with no weights to download,
    and the user's own configs, which a refused checkpoint's message may name)."""
    name, tag = name.strip(), tag.strip()
    architectures = sorted({n for n, _ in pairs} | (set(buildable) if from_file else set()))
    if not name:
        return "Type an architecture, for example ViT-B-16."
    if not from_file and name in buildable and name not in {n for n, _ in pairs}:
        # Walk 24: the photographer put their config in the models folder, typed its name, and
        # was told open_clip had no such architecture; it has, with nothing to download for it.
        return f"{name} has no weights to download: choose its checkpoint file above (Checkpoint file → Choose…)."
    if name not in architectures:
        same_but_case = [a for a in architectures if a.lower() == name.lower()]
        close = same_but_case or difflib.get_close_matches(name, architectures, n=3, cutoff=0.6)
        hint = " Did you mean " + " or ".join(f"“{c}”" for c in close) + "?" if close else ""
        return f"open_clip has no architecture “{name}”.{hint}"
    tags = [t for n, t in pairs if n == name]
    if from_file:
        return None
    if not tag:
        return f"Type a pretrained tag for {name}: {_listed(tags)}."
    if tag not in tags:
        return f"{name} has no pretrained tag “{tag}”. It has: {_listed(tags)}."
    return None


class OtherModelFields(QGroupBox):
    """Two fields and a message; `checked(bool)` says whether open_clip knows the typed pair."""

    checked = Signal(bool)

    def __init__(self, pool: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Other open_clip model", parent)
        self._pool = pool
        self.known = False
        self.from_file = False  # a checkpoint file is chosen: the tag is not needed
        self.architecture = QLineEdit(self)
        self.architecture.setPlaceholderText("Architecture, e.g. ViT-B-16")
        self.tag = QLineEdit(self)
        self.tag.setPlaceholderText(TAG_HINT)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        box = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Architecture", self.architecture)
        form.addRow("Pretrained", self.tag)
        box.addLayout(form)
        box.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check_now)
        for field in (self.architecture, self.tag):
            field.textChanged.connect(self._edited)

    def pair(self) -> tuple[str, str]:
        return self.architecture.text().strip(), self.tag.text().strip()

    def set_pair(self, name: str, tag: str) -> None:
        self.architecture.setText(name)
        self.tag.setText(tag)
        self.check_now()

    def set_from_file(self, from_file: bool) -> None:
        """A checkpoint file was chosen (or cleared) in the dialog: check again."""
        if from_file != self.from_file:
            self.from_file = from_file
            self.tag.setPlaceholderText("Not needed: the weights come from your file" if from_file else TAG_HINT)
            self._edited()

    def _edited(self) -> None:
        self._set_known(False)
        self.message.setText("Checking…")
        self._timer.start()

    def check_now(self) -> None:
        self._timer.stop()
        name, tag = self.pair()
        from_file = self.from_file
        self._pool.run(
            lambda: check_pair(name, tag, open_clip_pairs(), from_file, open_clip_architectures()),
            lambda problem: self._checked(name, tag, from_file, problem),
            self._failed,
        )

    def _checked(self, name: str, tag: str, from_file: bool, problem: str | None) -> None:
        if (name, tag) != self.pair() or from_file != self.from_file:
            return  # the user typed on meanwhile: a newer check is coming
        if problem is None and from_file:
            problem_or_fine = f"open_clip knows {name}; its weights come from your checkpoint file."
        else:
            problem_or_fine = problem or f"open_clip knows {name} · {tag}; its weights download when first used."
        self.message.setText(problem_or_fine)
        self._set_known(problem is None)

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(f"Could not read open_clip's list of models: {exc}")
        self._set_known(False)

    def _set_known(self, known: bool) -> None:
        if known != self.known:
            self.known = known
            emit(self.checked, known)
