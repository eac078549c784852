"""Tools → Suggest labels…: hand-set photo vectors around three phrases of the vocabulary (FakeEmbedder)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from photoclip.app import suggestions
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder
from photoclip.core.settings import Settings
from photoclip.core.tagging import suggest
from photoclip.gui.dialogs.labels import LabelsDialog
from photoclip.gui.dialogs.suggest import NO_MODEL_TEXT, SuggestDialog
from photoclip.gui.services.workers import LibraryRunner, TaskRunner
from photoclip.gui.windows.main_window import MainWindow
from tests.core.test_tagging import add_photos

DIM = 16
SUBJECTS = {"beach": (0, 30), "dog": (1, 30), "birthday cake": (2, 30)}  # as core's suggest tests
SHOWN = ["beach", "birthday cake", "dog"]  # equal groups: by name


def axis(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0
    return v


@pytest.fixture
def emb() -> FakeEmbedder:
    """Three phrases of the real vocabulary on axes 0-2; every other phrase gets its hashed vector."""
    suggest.vocabulary()  # imports open_clip for its ImageNet names once (slow), outside the signal waits
    embedder = FakeEmbedder(dim=DIM)
    for phrase, (i, _) in SUBJECTS.items():
        embedder.text_vectors[suggest.PHRASE_TEMPLATE.format(phrase)] = axis(i)
    return embedder


@pytest.fixture
def clustered_db(db_path: Path, tmp_path: Path, emb: FakeEmbedder) -> Path:
    rng = np.random.default_rng(5)
    with Library(db_path) as lib:
        for i, size in SUBJECTS.values():
            add_photos(lib, emb, [axis(i) + 0.12 * rng.standard_normal(DIM) for _ in range(size)], tmp_path)
        add_photos(lib, emb, [-axis(0) - axis(1), -axis(2) - axis(3)], tmp_path)  # two odd photos
        lib.conn.commit()
    return db_path


@pytest.fixture
def runners(clustered_db: Path):
    library, jobs = LibraryRunner(clustered_db), TaskRunner("test-jobs")
    yield library, jobs
    jobs.shutdown()
    library.shutdown()


def _open(qtbot, db: Path, runners, embedder) -> SuggestDialog:
    library, jobs = runners
    dialog = SuggestDialog(db, jobs, library, None)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.suggestions_shown, timeout=60000):
        dialog.set_embedder(embedder)
    return dialog


def test_shows_each_group_with_its_count_phrases_and_samples(qtbot, clustered_db: Path, runners, emb) -> None:
    library, jobs = runners
    dialog = SuggestDialog(clustered_db, jobs, library, None)
    qtbot.addWidget(dialog)
    assert dialog.status.text() == NO_MODEL_TEXT and not dialog.cards  # no model: says so, runs nothing
    with qtbot.waitSignal(dialog.suggestions_shown, timeout=60000):
        dialog.set_embedder(emb)
    shown = {card.suggestion.name: card for card in dialog.cards}
    assert list(shown) == SHOWN
    for name, (_, size) in SUBJECTS.items():
        card = shown[name]
        assert card.suggestion.photos == size and f"{size:,} photos" in card.title.text()
        assert len(card.samples) == suggest.SAMPLES_PER_SUGGESTION
        assert card.phrases.text() == "Also looks like: " + ", ".join(card.suggestion.phrases[1:])
    assert set(dialog.paths) == {pid for card in dialog.cards for pid in card.samples}  # thumbnails can be made
    assert "3 suggestions from 92 analysed photos" in dialog.status.text()
    with Library(clustered_db) as lib:
        assert tagging.list_labels(lib) == []  # suggesting never makes a label


def test_one_click_makes_the_label_with_its_phrases_and_says_so(qtbot, clustered_db: Path, runners, emb) -> None:
    dialog = _open(qtbot, clustered_db, runners, emb)
    card = next(c for c in dialog.cards if c.suggestion.name == "dog")
    with qtbot.waitSignal(dialog.label_made, timeout=10000) as made, qtbot.waitSignal(dialog.changed) as changed:
        card.make_button.click()
    assert made.args == ["dog"] and changed.args[0].labels_changed
    assert not card.make_button.isEnabled() and card.make_button.text() == "Label made"
    with Library(clustered_db) as lib:
        labels = tagging.list_labels(lib)
    assert [(label.name, label.descriptions) for label in labels] == [("dog", card.suggestion.phrases[1:])]
    assert len(labels[0].descriptions) == suggest.PHRASES_PER_SUGGESTION - 1
    # Only the clicked suggestion became a label; asked again, the made one is no longer offered.
    with qtbot.waitSignal(dialog.suggestions_shown, timeout=60000):
        dialog.again_button.click()
    assert "dog" not in {c.suggestion.name for c in dialog.cards}


def test_a_name_taken_meanwhile_is_reported_not_raised(qtbot, clustered_db: Path, runners, emb) -> None:
    dialog = _open(qtbot, clustered_db, runners, emb)
    with Library(clustered_db) as lib:
        tagging.create_label(lib, "beach")
    with qtbot.waitSignal(dialog.failed, timeout=10000) as failed:
        dialog.cards[0].make_button.click()
    assert "already exists" in failed.args[0] and dialog.cards[0].make_button.isEnabled()


class GatedEmbedder(FakeEmbedder):
    """Text embedding waits for the test: the job is certainly running when the dialog closes."""

    def __init__(self) -> None:
        super().__init__(dim=DIM)
        self.entered, self.gate = threading.Event(), threading.Event()

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(10)
        return super().embed_texts(texts)


def test_closing_cancels_the_grouping(qtbot, clustered_db: Path, runners) -> None:
    library, jobs = runners
    gated = GatedEmbedder()
    dialog = SuggestDialog(clustered_db, jobs, library, gated)
    qtbot.addWidget(dialog)
    assert gated.entered.wait(10) and dialog.running
    dialog.reject()
    gated.gate.set()
    qtbot.waitUntil(lambda: jobs.pending == 0, timeout=10000)
    # The batch under way finished; the vocabulary's other batches were never embedded.
    assert gated.text_calls == 1 < len(suggest.vocabulary()) / tagging.TEXT_BATCH
    assert not dialog.cards


def test_make_label_use_case_returns_changes(library, emb) -> None:
    s = tagging.Suggestion("city at night", ("city at night", "skyline"), 12, (1, 2), 0.1)
    change = suggestions.make_label(library, s)
    assert change.labels_changed and "city at night" in change.message
    assert tagging.get_label(library, "city at night").descriptions == ("skyline",)  # the name is in its prompts already


def test_tools_menu_opens_suggestions_and_a_made_label_opens_in_the_labels_dialog(qtbot, clustered_db: Path, emb) -> None:
    win = MainWindow(clustered_db, Settings(), load_model=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.results_shown, timeout=10000):
        win.show()
    win.model_service.embedder = emb
    win.suggest_action.trigger()
    dialog = win.findChild(SuggestDialog)
    assert dialog is not None
    with qtbot.waitSignal(dialog.suggestions_shown, timeout=60000):
        win.model_service.ready.emit(emb)
    card = next(c for c in dialog.cards if c.suggestion.name == "birthday cake")
    with qtbot.waitSignal(dialog.label_made, timeout=10000):
        card.make_button.click()
    labels = win.findChild(LabelsDialog)
    assert labels is not None
    qtbot.waitUntil(lambda: labels.current_name() == "birthday cake", timeout=10000)
    # It says what happened and what is next (the walk of round 19 found it silent there).
    assert labels.status.text().startswith("Made “birthday cake” from a suggestion; nothing is tagged yet.")
    assert "press Apply" in labels.status.text()
    labels.reject()
    dialog.reject()
    win.close()
