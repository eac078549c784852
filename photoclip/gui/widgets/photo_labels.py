"""One photo's labels in the viewer: its best labels with scores, its tags, and corrections.

`TagActions` is the one way the app's widgets change tags: each edit runs on the
library thread (see `tags.py`), keeps the sidecars in step when the user asked for
that, and announces itself with `changed` so the window can refresh its tag list.
`PhotoLabelsPanel` draws the classic CLIP demo with the user's own labels: a bar
per label, where its threshold lies, and buttons to confirm or reject.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QRectF, QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.app import tags
from photoclip.app.changes import Changes
from photoclip.app.words import score_text
from photoclip.core.model import Embedder
from photoclip.core.tagging import LabelMatch
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import LibraryRunner

# -- doing ----------------------------------------------------------------------------------

After = Callable[[Changes | None], None]  # called once an edit is done (None: it failed)


class TagActions(QObject):
    """Tag edits for any widget: feedback, add, remove; results arrive as `changed`."""

    changed = Signal(object)  # Changes
    failed = Signal(str)

    def __init__(
        self,
        library: LibraryRunner,
        embedder: Callable[[], Embedder | None],
        write_xmp: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self._embedder, self._write_xmp = embedder, write_xmp

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder()

    def load(self, photo_id: int, on_done: Callable[[tags.PhotoLabels], None]) -> None:
        embedder = self.embedder
        self.library.call(lambda ctx: tags.photo_labels(ctx.lib, embedder, photo_id), on_done, self.report_failure)

    def feedback(self, photo_ids: Sequence[int], name: str, *, confirm: bool, after: After | None = None) -> None:
        """Yes or no to a label on photos: the label learns once from all of them."""
        ids, embedder, write = list(photo_ids), self.embedder, self._write_xmp()
        if embedder is None:
            # Without a model the label cannot learn; the user's intent still counts.
            (self.add if confirm else self.remove)(ids, name, after=after)
            return
        self._call(lambda ctx: tags.give_feedback(ctx.lib, embedder, ids, name, confirm=confirm, write_xmp=write), after)

    def add(self, photo_ids: Sequence[int], name: str, *, after: After | None = None) -> None:
        ids, write = list(photo_ids), self._write_xmp()
        self._call(lambda ctx: tags.add_tags(ctx.lib, ids, name, write_xmp=write), after)

    def remove(self, photo_ids: Sequence[int], name: str, *, after: After | None = None) -> None:
        ids, write = list(photo_ids), self._write_xmp()
        self._call(lambda ctx: tags.remove_tags(ctx.lib, ids, name, write_xmp=write), after)

    def _call(self, fn: Callable, after: After | None) -> None:  # type: ignore[type-arg]
        def done(change: Changes) -> None:
            emit(self.changed, change)
            if after is not None:
                after(change)

        def failed(exc: BaseException) -> None:
            self.report_failure(exc)
            if after is not None:
                after(None)

        self.library.call(fn, done, failed)

    def report_failure(self, exc: BaseException) -> None:
        emit(self.failed, str(exc))


# -- showing ---------------------------------------------------------------------------------


class ScoreBar(QWidget):
    """A horizontal bar for one score on a shared scale, with a tick where the threshold is."""

    def __init__(self, score: float, lo: float, hi: float, threshold: float | None, passes: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score, self.lo, self.hi, self.threshold, self.passes = score, lo, hi, threshold, passes
        self.setMinimumWidth(80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(120, 14)

    def _x(self, value: float, area: QRectF) -> float:
        span = self.hi - self.lo
        fraction = (value - self.lo) / span if span > 0 else 0.5
        return area.left() + area.width() * min(max(fraction, 0.0), 1.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = QRectF(self.rect()).adjusted(0, 2, -1, -2)
        painter.fillRect(area, self.palette().alternateBase())
        fill = self.palette().highlight().color() if self.passes else QColor(150, 150, 150)
        painter.fillRect(QRectF(area.left(), area.top(), self._x(self.score, area) - area.left(), area.height()), fill)
        if self.threshold is not None:
            x = self._x(self.threshold, area)
            painter.setPen(QPen(QColor(220, 40, 40), 2))
            painter.drawLine(int(x), int(area.top()) - 2, int(x), int(area.bottom()) + 2)


HELD_BACK = "past the line, held back"
HELD_BACK_TIP = (
    "The score is past the label's line, but this photo fits a plain description such as "
    "“a photo” about as well as the label, so photoclip does not tag it on its own. "
    "Press ✓ if it is right."
)


def state_text(labels: tags.PhotoLabels, match: LabelMatch) -> str:
    """The one source of the words beside a label's bar: read from the same score and line
    the bar draws, so the words never contradict the picture."""
    tag = labels.tag(match.label)
    if tag is not None:
        return "tagged by you" if tag.source == "manual" else "tagged"
    if match.label in labels.rejected:
        return "you said no"
    if match.threshold is None:
        return "not calibrated yet"
    if match.score < match.threshold:
        return "below the line"
    return "past the line; not tagged yet" if match.passes else HELD_BACK


class PhotoLabelsPanel(QWidget):
    """Top labels with score bars and ✓/✗, the photo's other tags, and a field to add a tag."""

    confirm = Signal(str)
    reject = Signal(str)
    add_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: tags.PhotoLabels | None = None
        # The rows' order for the photo shown: ✓ or ✗ changes scores, and rows re-sorting
        # under the mouse would put another label under the next click.
        self._order_for: int | None = None
        self._order: list[str] = []
        self.title = QLabel("<b>Labels</b>", self)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        self.rows = QWidget(self)
        self.grid = QGridLayout(self.rows)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(6)
        self.other_tags = QWidget(self)
        self.other_layout = QHBoxLayout(self.other_tags)
        self.other_layout.setContentsMargins(0, 0, 0, 0)
        self.entry = QLineEdit(self)
        self.entry.setPlaceholderText("Add a tag…")
        self.entry.setClearButtonEnabled(True)
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.entry.setCompleter(self.completer)
        self.entry.returnPressed.connect(self._add)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        for w in (self.title, self.note, self.rows, self.other_tags, self.entry):
            layout.addWidget(w)
        self.set_loading()

    def set_loading(self) -> None:
        self.labels = None
        self._clear()
        self.note.setText("Loading…")

    def set_labels(self, labels: tags.PhotoLabels, has_model: bool) -> None:
        self.labels = labels
        self._clear()
        self.completer.model().setStringList(labels.label_names)  # type: ignore[attr-defined]
        if labels.matches:
            self.note.setText("Best matching labels; the red tick is each label's line: past it, the label fits.")
        elif not labels.label_names:
            self.note.setText("No labels yet: make some in Tools → Labels, or type a tag below.")
        elif not has_model:
            self.note.setText("Scores appear once the model is ready.")
        else:
            self.note.setText("This photo has not been analysed yet.")
        self._fill_matches(labels)
        self._fill_other_tags(labels)
        # The rows arrive after the dialog is laid out: ask the layouts above for room now,
        # or they keep the height of the "Loading…" state and squeeze the rows to nothing.
        self.grid.invalidate()
        self.rows.updateGeometry()
        self.updateGeometry()

    def _clear(self) -> None:
        for layout in (self.grid, self.other_layout):
            while layout.count():
                item = layout.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.setParent(None)  # out of the tree now, so a lookup never finds the old row
                    widget.deleteLater()

    def _stable(self, labels: tags.PhotoLabels) -> list[LabelMatch]:
        """The matches in the order first shown for this photo; new rows go last."""
        if self._order_for != labels.photo_id:
            self._order_for, self._order = labels.photo_id, [m.label for m in labels.matches]
            return list(labels.matches)
        place = {name: i for i, name in enumerate(self._order)}
        matches = sorted(labels.matches, key=lambda m: place.get(m.label, len(place)))
        self._order = [m.label for m in matches]
        return matches

    def order(self) -> list[str]:
        """The labels' rows, top to bottom."""
        names = []
        for row in range(self.grid.rowCount()):
            item = self.grid.itemAtPosition(row, 0)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                names.append(widget.text())
        return names

    def _fill_matches(self, labels: tags.PhotoLabels) -> None:
        matches = self._stable(labels)
        if not matches:
            return
        values = [m.score for m in matches] + [m.threshold for m in matches if m.threshold is not None]
        pad = 0.1 * (max(values) - min(values) or 0.1)
        lo, hi = min(values) - pad, max(values) + pad
        for row, match in enumerate(matches):
            tag = labels.tag(match.label)
            tagged = tag is not None
            name = QLabel(match.label, self.rows)
            name.setToolTip(f"score {match.score:.3f}" + (f", threshold {match.threshold:.3f}" if match.threshold is not None else ""))
            bar = ScoreBar(match.score, lo, hi, match.threshold, tagged, self.rows)
            score = QLabel(score_text(match.score, 3), self.rows)
            text = state_text(labels, match)
            state = QLabel(text, self.rows)
            state.setWordWrap(True)  # "past the line, held back" folds on a narrow side panel
            state.setObjectName(f"state:{match.label}")
            if text == HELD_BACK:
                state.setToolTip(HELD_BACK_TIP)
            yes = self._button("✓", f"Yes, this is “{match.label}” (the label learns from it)", self.confirm, match.label)
            yes.setEnabled(not (tag is not None and tag.source == "manual"))
            no = self._button("✗", f"No, this is not “{match.label}” (the label learns from it)", self.reject, match.label)
            for col, widget in enumerate((name, bar, score, state, yes, no)):
                self.grid.addWidget(widget, row, col)
        self.grid.setColumnStretch(1, 1)

    def _fill_other_tags(self, labels: tags.PhotoLabels) -> None:
        shown = {m.label for m in labels.matches}
        others = [t for t in labels.tags if t.label not in shown]
        if not others:
            return
        self.other_layout.addWidget(QLabel("Also tagged:", self.other_tags))
        for tag in others:
            button = QToolButton(self.other_tags)
            button.setText(f"{tag.label}  ✕")
            button.setObjectName(f"tag:{tag.label}")
            button.setToolTip(f"Remove the tag “{tag.label}” from this photo")
            button.clicked.connect(lambda _=False, n=tag.label: emit(self.remove_requested, n))
            self.other_layout.addWidget(button)
        self.other_layout.addStretch(1)

    def _button(self, text: str, tip: str, signal: SignalInstance, name: str) -> QToolButton:
        button = QToolButton(self.rows)
        button.setText(text)
        button.setToolTip(tip)
        button.setObjectName(f"{'confirm' if signal is self.confirm else 'reject'}:{name}")
        button.clicked.connect(lambda _=False: emit(signal, name))
        return button

    def _add(self) -> None:
        name = self.entry.text().strip()
        if name:
            self.entry.clear()
            emit(self.add_requested, name)
