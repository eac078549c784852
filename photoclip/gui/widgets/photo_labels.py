"""One photo's labels in the viewer: its best labels, how far past their lines, its tags, corrections.

`TagActions` is the one way the app's widgets change tags: each edit runs on the
library thread (see `tags.py`), keeps the sidecars in step when the user asked for
that, and announces itself with `changed` so the window can refresh its tag list.
`PhotoLabelsPanel` draws the classic CLIP demo with the user's own labels: per label a
small bar centred on that label's line and words for how far the photo is past it or
below it (never the raw similarity, which means nothing to a photographer), and buttons
to confirm or reject.
"""

from __future__ import annotations

import html
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
from photoclip.core.model import Embedder
from photoclip.core.tagging import LabelMatch
from photoclip.core.tagging.apply import LINE_TOLERANCE
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


# How far a score is from its label's line, in cosine units. A label's scores over a library
# spread by about 0.01 to 0.02 (the robust scale calibration.py measures): within NEAR the
# photo could go either way, past WELL it clearly fits (or clearly does not). FAR is the
# distance the bar draws at full length on either side of the line.
NEAR, WELL, FAR = 0.01, 0.03, 0.06


def distance_text(score: float, line: float) -> str:
    """Where a photo stands against a label's line, in words: "well past the line" …"""
    gap = score - line
    if gap >= -LINE_TOLERANCE:  # the same comparison the tagging makes (apply.past_line)
        return "well past the line" if gap >= WELL else "past the line" if gap >= NEAR else "just past the line"
    return "far below the line" if gap <= -WELL else "below the line" if gap <= -NEAR else "just below the line"


class LineBar(QWidget):
    """A small bar centred on the label's line (the red tick): it reaches right as far as
    the photo is past the line, left as far as it is below; the same scale for every row."""

    def __init__(self, score: float, line: float | None, tagged: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score, self.line, self.tagged = score, line, tagged
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(100, 14)

    def reach(self) -> float:
        """-1 (far below) to 1 (far past); 0 at the line, and without a line."""
        if self.line is None:
            return 0.0
        return min(max((self.score - self.line) / FAR, -1.0), 1.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = QRectF(self.rect()).adjusted(0, 2, -1, -2)
        painter.fillRect(area, self.palette().alternateBase())
        if self.line is None:
            return  # not calibrated: no line to measure from
        middle = area.center().x()
        reach = self.reach() * area.width() / 2
        past = reach >= 0
        fill = self.palette().highlight().color() if past else QColor(150, 150, 150)
        if self.tagged and not past:
            fill = fill.darker(130)  # tagged below the line (by hand): still a tag
        painter.fillRect(QRectF(min(middle, middle + reach), area.top(), abs(reach), area.height()), fill)
        painter.setPen(QPen(QColor(220, 40, 40), 2))
        painter.drawLine(int(middle), int(area.top()) - 2, int(middle), int(area.bottom()) + 2)


HELD_BACK = "held back"
HELD_BACK_TIP = (
    "The score is past the label's line, but this photo fits a plain description such as "
    "“a photo” about as well as the label, so photoclip does not tag it on its own. "
    "Press ✓ if it is right."
)


def state_text(labels: tags.PhotoLabels, match: LabelMatch) -> str:
    """The one source of the words beside a label's bar: read from the same score and line
    the bar draws, so the words never contradict the picture.

    "tagged · well past the line", "just below the line", "past the line · held back"…
    """
    tag = labels.tag(match.label)
    state = None
    if tag is not None:
        state = "tagged by you" if tag.source == "manual" else "tagged"
    elif match.label in labels.rejected:
        state = "you said no"
    if match.threshold is None:
        return state or "not calibrated yet"
    where = distance_text(match.score, match.threshold)
    if state is not None:
        return f"{state} · {where}"
    if match.score < match.threshold - LINE_TOLERANCE:
        return where
    return f"{where} · not tagged yet" if match.passes else f"{where} · {HELD_BACK}"


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
            self.note.setText("Best matching labels. The red tick is each label's line: a bar reaching right is past it, the label fits.")
        elif not labels.label_names:
            self.note.setText("No labels yet: make some in Tools → Labels, or type a tag below.")
        elif not has_model:
            self.note.setText("Scores appear once the model is ready.")
        else:
            self.note.setText("This photo has not been analysed yet.")
        self._fill_matches(labels)
        self._fill_other_tags(labels)
        # Shown now, not on the layouts' queued show: whoever reacts to the viewer's
        # "labels shown" (a screenshot, a test, a screen reader) finds the rows there.
        for holder in (self.rows, self.other_tags):
            for child in holder.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
                child.show()
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
        for row, match in enumerate(matches):
            tag = labels.tag(match.label)
            tagged = tag is not None
            name = QLabel(match.label, self.rows)
            # The raw numbers stay for the curious, out of the way.
            name.setToolTip(f"CLIP similarity {match.score:.3f}" + (f", line {match.threshold:.3f}" if match.threshold is not None else ""))
            bar = LineBar(match.score, match.threshold, tagged, self.rows)
            text = state_text(labels, match)
            state = QLabel(text, self.rows)
            state.setWordWrap(True)  # "just past the line · held back" folds on a narrow side panel
            state.setObjectName(f"state:{match.label}")
            if text.endswith(HELD_BACK):
                state.setToolTip(HELD_BACK_TIP)
            if tag is not None and tag.source == "manual":
                # A tag the user typed or confirmed comes off as plainly as it went on: ✗
                # would teach the label too, which is not what "remove my tag" means.
                state.setTextFormat(Qt.TextFormat.RichText)
                state.setText(f'{html.escape(text)} · <a href="remove">remove</a>')
                state.setToolTip(f"Take your tag “{match.label}” off this photo (the label learns nothing from it)")
                state.linkActivated.connect(lambda _link, n=match.label: emit(self.remove_requested, n))
            yes = self._button("✓", f"Yes, this is “{match.label}” (the label learns from it)", self.confirm, match.label)
            yes.setEnabled(not (tag is not None and tag.source == "manual"))
            no = self._button("✗", f"No, this is not “{match.label}” (the label learns from it)", self.reject, match.label)
            for col, widget in enumerate((name, bar, state, yes, no)):
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
