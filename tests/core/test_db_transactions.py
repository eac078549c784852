"""One transaction style with real nesting: SAVEPOINTs inside BEGIN IMMEDIATE."""

from __future__ import annotations

import pytest

from photoclip.core.db import DatabaseBusy, Library


def _photo_paths(lib: Library) -> set[str]:
    return {p.rsplit("/", 1)[-1] for p in lib.file_states()}


def _add(lib: Library, folder_id: int, name: str) -> int:
    return lib.insert_photo(f"/photos/{name}", folder_id, 1, 1, None)


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        library.folder_id = library.add_folder(tmp_path)  # type: ignore[attr-defined]
        yield library


def test_a_failed_inner_block_is_undone_and_the_outer_work_is_kept(lib):
    with lib.transaction():
        _add(lib, lib.folder_id, "outer-before.jpg")
        with pytest.raises(ValueError), lib.transaction():
            _add(lib, lib.folder_id, "inner.jpg")
            raise ValueError("inner step failed")
        _add(lib, lib.folder_id, "outer-after.jpg")
    assert _photo_paths(lib) == {"outer-before.jpg", "outer-after.jpg"}


def test_a_middle_block_failing_takes_its_own_inner_work_with_it(lib):
    with lib.transaction():
        _add(lib, lib.folder_id, "a.jpg")
        with pytest.raises(KeyError), lib.transaction():
            _add(lib, lib.folder_id, "b.jpg")
            with lib.transaction():
                _add(lib, lib.folder_id, "c.jpg")  # released into b's savepoint
            raise KeyError("b")
        with lib.transaction():
            _add(lib, lib.folder_id, "d.jpg")
    assert _photo_paths(lib) == {"a.jpg", "d.jpg"}


def test_an_exception_in_the_outer_block_rolls_back_everything_including_finished_inner_blocks(lib):
    with pytest.raises(RuntimeError), lib.transaction():
        _add(lib, lib.folder_id, "a.jpg")
        with lib.transaction():
            _add(lib, lib.folder_id, "b.jpg")
        raise RuntimeError("outer failed")
    assert _photo_paths(lib) == set()
    assert not lib.conn.in_transaction


def test_another_connection_can_write_as_soon_as_the_outer_transaction_ends(lib):
    with Library(lib.path) as other:
        other.conn.execute("PRAGMA busy_timeout=0")  # fail at once instead of waiting 30 s
        with lib.transaction():
            _add(lib, lib.folder_id, "mine.jpg")
            with pytest.raises(DatabaseBusy, match="busy"):
                other.insert_photo("/photos/theirs.jpg", lib.folder_id, 1, 1, None)
        # The outer block has committed: the other connection sees the row and can write.
        assert "/photos/mine.jpg" in other.file_states()
        other.insert_photo("/photos/theirs.jpg", lib.folder_id, 1, 1, None)
    assert _photo_paths(lib) == {"mine.jpg", "theirs.jpg"}


def test_the_outer_block_takes_the_write_lock_at_once(lib):
    # BEGIN IMMEDIATE: a second writer is shut out from the first statement of the block,
    # before anything is written, so the block never fails half-way on a lock upgrade.
    with Library(lib.path) as other:
        other.conn.execute("PRAGMA busy_timeout=0")
        with lib.transaction(), pytest.raises(DatabaseBusy):
            other.begin()


def test_begin_and_commit_share_the_machinery_and_a_block_inside_them_is_a_savepoint(lib):
    lib.begin()
    _add(lib, lib.folder_id, "streamed.jpg")
    with pytest.raises(ValueError), lib.transaction():
        _add(lib, lib.folder_id, "failed.jpg")
        raise ValueError
    lib.begin()  # idempotent, as the pipeline calls it
    assert lib.conn.in_transaction
    lib.commit()
    assert not lib.conn.in_transaction
    assert _photo_paths(lib) == {"streamed.jpg"}
    lib.begin()
    _add(lib, lib.folder_id, "dropped.jpg")
    lib.rollback()
    assert _photo_paths(lib) == {"streamed.jpg"}


def test_commit_inside_a_block_is_refused_and_the_block_stays_atomic(lib):
    with pytest.raises(RuntimeError, match="inside"), lib.transaction():
        _add(lib, lib.folder_id, "a.jpg")
        lib.commit()
    assert _photo_paths(lib) == set()
