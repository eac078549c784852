"""`index` and the watcher leave the approximate index file current (worker/index_keeper.py).

A graph built by a search's background thread dies with a one-shot command; these check
that the end of a pass writes a file covering every vector, which a later process loads
and answers from at once, and that below the setting nothing is read or written.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from photoclip.core.db import Library
from photoclip.core.search import Searcher
from photoclip.core.search.approximate import ApproximateSearch, index_path
from photoclip.core.search.compressed import CompressedIndex
from photoclip.worker.index_keeper import IndexKeeper
from tests.core.test_cli_watch import env, photoclip  # noqa: F401  (env is a fixture)
from tests.core.test_search import add_photos
from tests.core.test_search_approximate import DIM, answers, exact, queries, random_vectors
from tests.core.test_worker import MODEL_ID, start_worker  # noqa: F401  (a fixture)

pytest.importorskip("faiss")


def covered(db: Path, model_id: str, dim: int) -> CompressedIndex:
    """The graph in the index file (its header checked against the model and dimension)."""
    return CompressedIndex.from_bytes(index_path(db, model_id).read_bytes(), model_id, dim)


def max_rowid(lib: Library, model_id: str) -> int:
    return int(lib.load_vectors(model_id, 0)[2])


def test_a_pass_above_the_setting_leaves_a_current_file_a_new_process_answers_from(library, tmp_path, monkeypatch):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    add_photos(library, tmp_path / "one", random_vectors(150))
    keeper = IndexKeeper(library.path, approximate_from=100)
    assert keeper.after_pass(library, "fake")
    graph = covered(library.path, "fake", DIM)
    assert len(graph) == 150 and graph.coverage.last_rowid == max_rowid(library, "fake")

    # New photos after the next pass: taken into the same graph and written, no rebuild.
    add_photos(library, tmp_path / "two", random_vectors(40, seed=5))
    monkeypatch.setattr(ApproximateSearch, "_start_build", lambda *a: pytest.fail("rebuilt instead of topping up"))
    assert keeper.after_pass(library, "fake")
    graph = covered(library.path, "fake", DIM)
    assert len(graph) == 190 and graph.coverage.last_rowid == max_rowid(library, "fake")

    # A later search (another process) loads the file and answers from the graph at once, exactly.
    searcher = Searcher(library, exact(library).embedder, approximate_from=100)
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)
    assert searcher.approximate.answered == "approximate"


def test_a_pass_takes_removed_photos_out_of_the_file_and_rebuilds_only_a_worn_graph(library, tmp_path, monkeypatch):
    ids = add_photos(library, tmp_path, random_vectors(200))
    keeper = IndexKeeper(library.path, approximate_from=100)
    assert keeper.after_pass(library, "fake")
    builds = []
    real_build = ApproximateSearch._start_build
    monkeypatch.setattr(ApproximateSearch, "_start_build", lambda self, *a: builds.append(1) or real_build(self, *a))

    for pid in ids[:30]:  # 15%: taken out, no rebuild
        library.forget_photo(pid)
    assert keeper.after_pass(library, "fake")
    graph = covered(library.path, "fake", DIM)
    assert not builds and len(graph) == 170 and graph.coverage.worn == 30
    assert not {int(k) for k in graph.live_keys()} & set(ids[:30])

    announced: list[str] = []
    for pid in ids[30:50]:  # 50 of 200 now: past the 20% share, so the pass waits for a fresh graph
        library.forget_photo(pid)
    assert keeper.after_pass(library, "fake", announce=announced.append)
    graph = covered(library.path, "fake", DIM)
    assert builds == [1] and len(graph) == 150 and graph.coverage.worn == 0
    assert announced == ["Rebuilding (many photos left it) the search index of 150 photos for fast search…"]
    assert not {int(k) for k in graph.live_keys()} & set(ids[:50])


def test_below_the_setting_a_pass_reads_and_writes_nothing(library, tmp_path, monkeypatch):
    add_photos(library, tmp_path, random_vectors(50))
    monkeypatch.setattr("photoclip.worker.index_keeper.VectorIndex.load", lambda *a: pytest.fail("loaded the vectors below the setting"))
    assert not IndexKeeper(library.path, approximate_from=100).after_pass(library, "fake")
    assert not IndexKeeper(library.path, approximate_from=0).after_pass(library, "fake")  # 0: always exact
    assert not index_path(library.path, "fake").exists()


def test_a_stop_request_ends_the_wait_for_a_build(library, tmp_path, monkeypatch):
    add_photos(library, tmp_path, random_vectors(150))

    def never_ending_build(self, *args):
        self._building = threading.Thread(target=lambda: None)  # never started: "rebuilding" for ever
        self._built_event.clear()

    waits: list[float] = []

    def wait_built(self, timeout):
        waits.append(timeout)
        assert len(waits) < 20, "the stop request was not heard"
        return False

    monkeypatch.setattr(ApproximateSearch, "_start_build", never_ending_build)
    monkeypatch.setattr(ApproximateSearch, "wait_built", wait_built)
    asked: list[int] = []
    stop = lambda: asked.append(1) or len(asked) >= 3  # noqa: E731
    assert not IndexKeeper(library.path, approximate_from=100).after_pass(library, "fake", stop=stop)
    assert len(asked) == 3 and len(waits) == 2  # waited twice, then heard the third ask


def _settings(home: Path, **values: object) -> None:
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "settings.json").write_text(json.dumps(values))


def test_the_watcher_leaves_the_graph_current_after_a_pass(start_worker, photo_dir, isolated_home):  # noqa: F811
    _settings(isolated_home, approximate_search_from=2)
    running = start_worker(photo_dir)
    count = len(list(photo_dir.iterdir()))
    running.until(lambda lib: lib.vector_count(MODEL_ID) == count and index_path(lib.path, MODEL_ID).exists())
    with Library(running.db) as lib:
        assert running.worker.wait_for_passes(1, 30)
        graph = covered(running.db, MODEL_ID, len(lib.load_vectors(MODEL_ID, 0)[1][0]))
        assert len(graph) == count and graph.coverage.last_rowid == max_rowid(lib, MODEL_ID)


@pytest.mark.slow
@pytest.mark.parametrize("threshold", [2, 0])
def test_index_command_builds_the_graph_only_above_the_setting(env, photo_dir, isolated_home, threshold):  # noqa: F811
    _settings(isolated_home, precision="fp32", approximate_search_from=threshold)
    photoclip("add-folder", str(photo_dir), env=env)
    done = photoclip("index", "--no-thumbnails", env=env)
    db = Path(env["PHOTOCLIP_DB"])
    with Library(db) as lib:
        (model_id,) = [row[0] for row in lib.conn.execute("SELECT DISTINCT model_id FROM vectors")]
        count = lib.vector_count(model_id)
        if threshold == 0:
            assert not index_path(db, model_id).exists()
            assert "search index" not in done.stderr
            return
        graph = covered(db, model_id, len(lib.load_vectors(model_id, 0)[1][0]))
        assert len(graph) == count == len(list(photo_dir.iterdir()))
        assert graph.coverage.last_rowid == max_rowid(lib, model_id)
    assert "Building the search index of 8 photos" in done.stderr
