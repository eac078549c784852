"""Label names that differ only in case name the same label (core/tagging/labels.py find_label).

A tag typed "cat" under an existing "Cat" made a second label that looked like the first
(round 23's attacker), while `search --tag` matched either case. Libraries that already
hold both keep both, each found by its exact name."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.tagging.names import LabelError


@pytest.fixture
def lib(tmp_path: Path):
    library = Library(tmp_path / "lib.db")
    yield library
    library.close()


def test_another_case_finds_the_label_and_makes_no_second_one(lib: Library) -> None:
    made = tagging.create_label(lib, "Animals/Cats", ["a cat"])
    assert tagging.find_label(lib, "animals/cats") == tagging.find_label(lib, "ANIMALS/CATS") == made
    assert tagging.ensure_label(lib, "animals/CATS").id == made.id
    with pytest.raises(LabelError, match="'Animals/Cats' already exists"):
        tagging.create_label(lib, "animals/cats")
    assert [label.name for label in tagging.list_labels(lib)] == ["Animals/Cats"]


def test_a_label_can_be_renamed_to_another_case_of_itself_and_its_children_follow(lib: Library) -> None:
    tagging.create_label(lib, "cats")
    tagging.create_label(lib, "cats/kittens")
    tagging.create_label(lib, "Dogs")
    renamed = tagging.rename_label(lib, "CATS", "Cats")  # typed in a third case
    assert renamed.name == "Cats"
    assert sorted(label.name for label in tagging.list_labels(lib)) == ["Cats", "Cats/kittens", "Dogs"]
    with pytest.raises(LabelError, match="'Dogs' already exists"):
        tagging.rename_label(lib, "Cats", "dogs")


def test_two_labels_made_before_that_differ_in_case_are_each_found_by_their_own_name_only(lib: Library) -> None:
    with lib.transaction():
        label_db.insert_label(lib, "Cat", [], 0.0)
        label_db.insert_label(lib, "cat", [], 0.0)
    found = tagging.find_label(lib, "Cat")
    assert found is not None and found.name == "Cat"
    found = tagging.find_label(lib, "cat")
    assert found is not None and found.name == "cat"
    assert tagging.find_label(lib, "CAT") is None  # which one would be a guess


@pytest.mark.parametrize("name", ["\u200bCats", "Cats\ufeff", "Animals/\u2060Cats", "\u200d"])
def test_a_name_with_an_invisible_character_at_an_edge_is_refused(lib: Library, name: str) -> None:
    """It printed exactly like another label's name and was a second label."""
    with pytest.raises(LabelError, match="invisible character"):
        tagging.create_label(lib, name)


def test_joiners_inside_a_name_stay_allowed(lib: Library) -> None:
    """Zero-width joiners make emoji sequences and Persian words: inside a name they are text."""
    assert tagging.create_label(lib, "family 👨\u200d👩\u200d👧").name == "family 👨\u200d👩\u200d👧"
    assert tagging.create_label(lib, "می\u200cخواهم").name == "می\u200cخواهم"
