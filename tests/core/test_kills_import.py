"""SIGKILL during `import-vectors` (tests/core/killpoint.py stops it at a chosen call):
afterwards `photoclip status` exits 0, and a rerun finishes with every photo and every
vector (and a sidecar's keywords) exactly once, as an import never interrupted would have left them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import TINY_MODEL
from tests.core.test_kills import assert_library_opens, env, kill_at, photoclip  # noqa: F401  (env: the fixture)

pytest.importorskip("pyarrow")

from tests.core.test_archive_files import TINY_DIM, make_archive

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="SIGKILL")]

IMPORTER = "photoclip.core.archive.importer"


@pytest.fixture
def archive(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> Path:
    """Three shards of three photos (eight in all) under the tiny model's id."""
    from photoclip.core.model import FakeEmbedder, ModelChoice, model_id_for

    model_id = model_id_for(ModelChoice(TINY_MODEL, str(tiny_weights)))
    # Another app's keywords beside a photo of the second shard: imported with the photo.
    (photo_dir / "skimage_coffee.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:subject><rdf:Bag><rdf:li>espresso</rdf:li><rdf:li>morning</rdf:li></rdf:Bag></dc:subject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    out = tmp_path / "archive"
    make_archive(photo_dir, out, FakeEmbedder(dim=TINY_DIM, model_id=model_id), shard_size=3)
    return out


def rows(db: Path) -> tuple[list[bytes], list[tuple[bytes, str]], list[tuple[bytes, str, str]]]:
    with sqlite3.connect(db) as conn:
        photos = [p for (p,) in conn.execute("SELECT path FROM photos ORDER BY path")]
        vectors = list(conn.execute("SELECT p.path, v.model_id FROM vectors v JOIN photos p ON p.id = v.photo_id ORDER BY p.path"))
        tags = list(
            conn.execute(
                "SELECT p.path, l.name, t.source FROM tags t JOIN photos p ON p.id = t.photo_id JOIN labels l ON l.id = t.label_id"
                " ORDER BY p.path, l.name"
            )
        )
    conn.close()
    return photos, vectors, tags


@pytest.mark.parametrize(
    ("target", "when", "nth"),
    [
        ("photoclip.core.db:Library.add_folder", "after", 1),  # the folder added, nothing else
        ("photoclip.core.db:Library.register_model", "after", 1),  # the model known, no photo
        (f"{IMPORTER}:read_shard", "before", 5),  # the first shard committed, the second not begun
        ("photoclip.core.db:Library.put_vectors", "after", 5),  # inside the second shard's transaction
        (f"{IMPORTER}:assign_places", "before", 1),  # every shard in, the places not yet
    ],
    ids=["folder", "model", "between-shards", "mid-shard", "places"],
)
def test_import_vectors_killed_then_run_again(env, tmp_path, archive, tiny_weights, target, when, nth):  # noqa: F811
    args = ("--model", TINY_MODEL, "--weights", str(tiny_weights), "import-vectors", str(archive))
    done = photoclip({**env, "PHOTOCLIP_DB": str(tmp_path / "whole.db")}, *args)
    assert done.returncode == 0, done.stderr
    expected = rows(tmp_path / "whole.db")
    assert len(expected[0]) == len(expected[1]) == 8 and [t[1] for t in expected[2]] == ["espresso", "morning"]

    kill_at(env, target, when, nth, *args)
    assert_library_opens(env)
    again = photoclip(env, *args)
    assert again.returncode == 0, again.stderr
    assert rows(Path(env["PHOTOCLIP_DB"])) == expected
