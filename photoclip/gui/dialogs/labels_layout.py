"""The Labels dialog's widgets and layout: which widget goes where.

Kept apart from labels.py, which holds what the dialog does (load, score, apply) and
connects the widgets to it, as the main window keeps windows/layout.py apart from its
behaviour. LabelsDialog is a LabelsWidgets: this module never needs to know it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from photoclip.gui.dialogs.label_answers import NEW_LIST_WORDS, held_box_text
from photoclip.gui.widgets.background_rule import BackgroundRuleBox
from photoclip.gui.widgets.empty_list import EmptyTextList
from photoclip.gui.widgets.histogram import HistogramWidget
from photoclip.gui.widgets.label_preview import PreviewGrid

if TYPE_CHECKING:
    from photoclip.core.tagging import LabelScores
    from photoclip.gui.services.thumbnails import ThumbnailLoader

SLIDER_STEPS = 1000
NO_LABELS_TEXT = "No labels yet. Press Add… to make one (a name, then a few words of what it looks like), or Add starter labels."


def slider_range(scores: LabelScores) -> tuple[float, float]:
    """The scores the slider spans: those seen, widened to include the stored line so it can be shown."""
    lo, hi = float(scores.scores.min()), float(scores.scores.max())
    lo, hi = min(lo, scores.threshold), max(hi, scores.threshold)
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def threshold_at(scores: LabelScores, position: int) -> float:
    """The line (a raw score) at a slider position."""
    lo, hi = slider_range(scores)
    return lo + (hi - lo) * position / SLIDER_STEPS


def slider_position(scores: LabelScores, threshold: float) -> int:
    """The slider position that shows a line (a raw score), kept on the slider."""
    lo, hi = slider_range(scores)
    return min(max(round(SLIDER_STEPS * (threshold - lo) / (hi - lo)), 0), SLIDER_STEPS)


def reserve_room(held_box: QCheckBox, new_list: QPushButton) -> None:
    """The row of what the preview shows keeps its width whatever it says: the new-list button
    takes its room while hidden, at its widest words, and the held-back box at its widest
    count. When an answer brought them ("Show the 3 photos still held back", "Show only the
    photos still held back"), the dialog grew wider under the user's pointer (round 24)."""
    policy = new_list.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    new_list.setSizePolicy(policy)
    new_list.setMinimumWidth(max(_width_with(new_list, words) for words in NEW_LIST_WORDS.values()))
    held_box.setMinimumWidth(_width_with(held_box, held_box_text(9_999, still=True)))


def _width_with(widget: QCheckBox | QPushButton, text: str) -> int:
    """The width `widget` asks for with `text` on it; its own text is left as it was."""
    shown = widget.text()
    widget.setText(text)
    width = widget.sizeHint().width()
    widget.setText(shown)
    return width


class LabelsWidgets(QDialog):
    """The Labels dialog's widgets, made and laid out by `build_labels_ui`."""

    label_list: EmptyTextList
    add_button: QPushButton
    rename_button: QPushButton
    delete_button: QPushButton
    starter_button: QPushButton
    import_button: QPushButton
    export_button: QPushButton
    descriptions: QPlainTextEdit
    save_descriptions_button: QPushButton
    histogram: HistogramWidget
    slider: QSlider
    count_label: QLabel
    show_held_back: QCheckBox
    show_near_line: QCheckBox
    new_near_button: QPushButton
    background_rule: BackgroundRuleBox
    preview: PreviewGrid
    apply_button: QPushButton
    reset_button: QPushButton
    tag_all_button: QPushButton
    progress: QProgressBar
    status: QLabel


def build_labels_ui(dialog: LabelsWidgets, thumbs: ThumbnailLoader | None) -> None:
    """Make the dialog's widgets (as its attributes) and lay them out."""
    dialog.label_list = EmptyTextList(dialog, NO_LABELS_TEXT)
    dialog.add_button = QPushButton("Add…", dialog)
    dialog.rename_button = QPushButton("Rename…", dialog)
    dialog.delete_button = QPushButton("Delete…", dialog)
    dialog.starter_button = QPushButton("Add starter labels", dialog)
    left = QWidget(dialog)
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.addWidget(dialog.label_list)
    row = QHBoxLayout()
    for button in (dialog.add_button, dialog.rename_button, dialog.delete_button):
        row.addWidget(button)
    left_layout.addLayout(row)
    left_layout.addWidget(dialog.starter_button)
    files = QHBoxLayout()
    dialog.import_button = QPushButton("Import…", dialog)
    dialog.import_button.setToolTip("Add labels from a file someone shared (existing labels are kept)")
    dialog.export_button = QPushButton("Export…", dialog)
    dialog.export_button.setToolTip("Save your labels and their descriptions to a file to share")
    files.addWidget(dialog.import_button)
    files.addWidget(dialog.export_button)
    left_layout.addLayout(files)

    dialog.descriptions = QPlainTextEdit(dialog)
    dialog.descriptions.setPlaceholderText("Description phrases, one per line (e.g. “a dog on a sofa”)")
    dialog.descriptions.setMaximumHeight(90)
    lines = dialog.descriptions.fontMetrics().lineSpacing()
    dialog.descriptions.setMinimumHeight(3 * lines + 12)  # three phrases in view; more scroll (a 1024x700 screen)
    dialog.save_descriptions_button = QPushButton("Save descriptions", dialog)
    dialog.histogram = HistogramWidget(dialog)
    dialog.slider = QSlider(Qt.Orientation.Horizontal, dialog)
    dialog.slider.setRange(0, SLIDER_STEPS)
    dialog.count_label = QLabel("", dialog)
    dialog.show_held_back = QCheckBox("Show the photos held back", dialog)
    dialog.show_held_back.setToolTip(
        "Photos past the line that look as much like any photo as like this label: photoclip does not "
        "tag them on its own. Right-click one and choose Yes to tag it anyway (the label learns from it)."
    )
    dialog.show_held_back.setEnabled(False)
    dialog.show_near_line = QCheckBox("Show photos near the line", dialog)
    dialog.show_near_line.setToolTip(
        "The photos just past and just below the line: right-click one and say Yes or No. "
        "These answers teach the label the most, and the line moves with them."
    )
    dialog.new_near_button = QPushButton("Show new photos to answer", dialog)
    dialog.new_near_button.setToolTip(
        "The photos you answered stay in the list, marked, so you can see what you said. "
        "This draws the list again from the label as it is now, without the photos you answered."
    )
    dialog.new_near_button.hide()  # only while answered photos are kept in view
    reserve_room(dialog.show_held_back, dialog.new_near_button)
    dialog.background_rule = BackgroundRuleBox(dialog)
    dialog.preview = PreviewGrid(thumbs, dialog)
    dialog.apply_button = QPushButton("Apply", dialog)
    dialog.apply_button.setToolTip("Keep this threshold and re-tag the library with this label")
    dialog.reset_button = QPushButton("Reset to calibrated", dialog)
    dialog.tag_all_button = QPushButton("Tag library with all labels", dialog)
    dialog.tag_all_button.setToolTip("Apply every label to every analysed photo (Ctrl+T in the main window)")
    dialog.progress = QProgressBar(dialog)
    dialog.progress.setTextVisible(False)
    dialog.progress.setMaximumHeight(12)
    dialog.progress.hide()
    dialog.status = QLabel("", dialog)
    for text in (dialog.status, dialog.count_label):
        # Wrapped and free to shrink: a long message takes more lines, never a wider dialog.
        text.setWordWrap(True)
        text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        text.setMinimumWidth(0)
        # Room for two lines kept whatever they say: a layout sizes the dialog by a wrapped
        # label's one-line minimum, so a second line took its height from the preview above.
        text.setMinimumHeight(2 * text.fontMetrics().lineSpacing())
    right = QWidget(dialog)
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(QLabel("Descriptions:", dialog))
    # Buttons beside what they act on, not on rows of their own: on a 1366x768 desktop the
    # two rows' height pushed Reset/Apply over the preview, and at 1024x700 the dialog ran
    # off the screen (round 23's walk).
    described = QHBoxLayout()
    described.addWidget(dialog.descriptions, 1)
    described.addWidget(dialog.save_descriptions_button, 0, Qt.AlignmentFlag.AlignBottom)
    right_layout.addLayout(described)
    right_layout.addWidget(dialog.histogram, 1)
    right_layout.addWidget(dialog.slider)
    counted = QHBoxLayout()
    counted.addWidget(dialog.count_label, 1)
    counted.addWidget(dialog.reset_button, 0, Qt.AlignmentFlag.AlignTop)
    counted.addWidget(dialog.apply_button, 0, Qt.AlignmentFlag.AlignTop)
    right_layout.addLayout(counted)
    shows = QHBoxLayout()
    shows.addWidget(dialog.show_held_back)
    shows.addWidget(dialog.show_near_line)
    shows.addWidget(dialog.new_near_button)
    shows.addStretch(1)
    right_layout.addLayout(shows)
    right_layout.addWidget(dialog.background_rule)
    right_layout.addWidget(dialog.preview)

    splitter = QSplitter(dialog)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    close.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(splitter, 1)
    layout.addWidget(dialog.status)
    layout.addWidget(dialog.progress)
    bottom = QHBoxLayout()
    bottom.addWidget(dialog.tag_all_button)
    bottom.addStretch(1)
    bottom.addWidget(close)
    layout.addLayout(bottom)
