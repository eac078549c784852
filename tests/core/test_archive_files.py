"""Archive folders without Ray: shards made by the same steps the cluster runs, imported, and refused when hostile."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_MODEL

pa = pytest.importorskip("pyarrow")

from photoclip.core.archive.importer import import_vectors, map_path, parse_prefix_map  # noqa: E402
from photoclip.core.archive.pipeline import Resources, list_work, plan_resources  # noqa: E402
from photoclip.core.archive.shards import ArchiveError, Manifest, write_manifest, write_shard  # noqa: E402
from photoclip.core.archive.tasks import decode_files, to_shard_rows  # noqa: E402
from photoclip.core.model import FakeEmbedder  # noqa: E402

TINY_DIM = 64  # the tiny model's embed_dim (tests/data/model-configs/photoclip-tiny.json)


def make_archive(photos: Path, out: Path, embedder, shard_size: int = 3) -> Manifest:
    """What the cluster does, in this process: list, decode (the index's decode), embed, shard."""
    out.mkdir()
    listing, _ = list_work([str(photos)], {}, [])
    decoded = decode_files(listing, embedder.input_size)
    pixels = decoded.column("pixels").to_pylist()
    size = embedder.input_size
    vectors = [
        embedder.embed_images(np.frombuffer(p, np.uint8).reshape(1, size, size, 3))[0].astype(np.float16) if p else None for p in pixels
    ]
    rows = to_shard_rows(decoded.drop_columns(["pixels"]), embedder.model_id, embedder.dim, vectors)
    manifest = Manifest(embedder.model_id, embedder.dim, [str(photos)])
    for start in range(0, rows.num_rows, shard_size):
        manifest.shards.append(write_shard(out, len(manifest.shards), rows.slice(start, shard_size)))
    write_manifest(out, manifest)
    return manifest


@pytest.fixture
def hostile_photos(photo_dir: Path) -> Path:
    (photo_dir / "truncated.jpg").write_bytes((photo_dir / "skimage_coffee.jpg").read_bytes()[:3000])
    return photo_dir


def test_imported_photos_are_current_for_index(hostile_photos, tmp_path, library, fake_embedder):
    out = tmp_path / "archive"
    make_archive(hostile_photos, out, fake_embedder)
    moved = tmp_path / "elsewhere"
    hostile_photos.rename(moved)  # the archive was made where the photos had another path
    result = import_vectors(library, out, fake_embedder.model_id, parse_prefix_map([f"{hostile_photos}={moved}"]))
    assert (result.imported, result.skipped, result.not_here, result.changed) == (8, 1, 0, 0)
    assert [f.path for f in library.folders()] == [str(moved)]
    skipped = [(path, reason.split(":")[0]) for path, reason in library.skipped()]
    assert skipped == [(str(moved / "truncated.jpg"), "corrupt or truncated image")]

    from photoclip.core.ingest.pipeline import index_library

    events = list(index_library(library, fake_embedder))
    final = events[-1]
    assert (final.scan.new, final.scan.changed, final.embedded, final.catalogued, final.skipped) == (0, 0, 0, 0, 0)
    # A second import changes nothing.
    again = import_vectors(library, out, fake_embedder.model_id, parse_prefix_map([f"{hostile_photos}={moved}"]))
    assert (again.imported, again.already) == (0, 9)


def test_a_file_changed_since_embedding_is_left_for_index(photo_dir, tmp_path, library, fake_embedder):
    out = tmp_path / "archive"
    make_archive(photo_dir, out, fake_embedder)
    target = photo_dir / "skimage_camera.png"
    os.utime(target, ns=(1, 1))
    (photo_dir / "skimage_grass.png").unlink()
    result = import_vectors(library, out, fake_embedder.model_id, [])
    assert (result.imported, result.changed, result.not_here) == (6, 1, 1)
    assert library.photo_by_path(target) is None


@pytest.mark.parametrize(
    ("texts", "path", "expected"),
    [
        (["/nas/photos=/mnt/p"], "/nas/photos/a/b.jpg", "/mnt/p/a/b.jpg"),
        (["/nas/photos/=/mnt/p/"], "/nas/photos", "/mnt/p"),
        (["/nas/photos=/mnt/p"], "/nas/photos2/b.jpg", "/nas/photos2/b.jpg"),  # a prefix of a name is not a folder above it
        (["/nas=/x", "/nas/photos=/y"], "/nas/photos/b.jpg", "/y/b.jpg"),  # the longest wins
    ],
)
def test_map_prefix(texts, path, expected):
    assert map_path(path, parse_prefix_map(texts)) == expected


def test_plan_resources_refuses_what_would_wait_forever():
    assert plan_resources({"CPU": 2}, None, None) == Resources(1, 0.0, 0.9)
    assert plan_resources({"CPU": 2}, 2, None).cpus_per_worker == 0.5
    gpu = plan_resources({"CPU": 16, "GPU": 4}, None, None)
    assert (gpu.workers, gpu.gpus_per_worker) == (4, 1.0)
    with pytest.raises(ArchiveError, match="has 0 GPUs"):
        plan_resources({"CPU": 8}, None, 1)
    with pytest.raises(ArchiveError, match="need 6 GPUs"):
        plan_resources({"CPU": 16, "GPU": 4}, 3, 2)
    with pytest.raises(ArchiveError, match="fewer --workers"):
        plan_resources({"CPU": 1}, None, None)


# -- the command line, hostile input: one line, exit 2 --------------------------------------


@pytest.fixture
def tiny_archive(photo_dir, tmp_path, tiny_weights):
    """An archive whose model id is the tiny model's (vectors from a stand-in: import never embeds)."""
    from photoclip.core.model import FakeEmbedder, ModelChoice, model_id_for

    model_id = model_id_for(ModelChoice(TINY_MODEL, str(tiny_weights)))
    out = tmp_path / "archive"
    make_archive(photo_dir, out, FakeEmbedder(dim=TINY_DIM, model_id=model_id))
    return out


def _cli(args, tmp_path, tiny_weights, capsys):
    from photoclip.cli.main import run

    code = run(["--db", str(tmp_path / "lib.db"), "--model", TINY_MODEL, "--weights", str(tiny_weights), *args])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def _library_photos(tmp_path):
    from photoclip.core.db import Library

    with Library(tmp_path / "lib.db") as lib:
        return lib.counts(None)["photos"]


def test_import_vectors_cli_works_and_counts(tiny_archive, tmp_path, tiny_weights, capsys):
    code, err = _cli(["import-vectors", str(tiny_archive)], tmp_path, tiny_weights, capsys)
    assert code == 0, err
    assert _library_photos(tmp_path) == 8


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "manifest.json").unlink(), "has no manifest.json"),
        (lambda out: (out / "manifest.json").write_text("{not json"), "is damaged or not a photoclip archive manifest"),
        (lambda out: (out / "manifest.json").write_text(json.dumps({"format": "photoclip-archive", "version": 99})), "version 99"),
        (lambda out: (out / "shard-000001.parquet").unlink(), "is missing"),
        (lambda out: (out / "shard-000002.parquet").write_bytes(b"PAR1 garbage"), "is damaged"),
        (lambda out: (out / "manifest.json").unlink() or os.mkfifo(out / "manifest.json"), "not a regular file"),
    ],
)
def test_import_vectors_refuses_a_damaged_archive_before_writing(tiny_archive, tmp_path, tiny_weights, capsys, damage, message):
    damage(tiny_archive)
    code, err = _cli(["import-vectors", str(tiny_archive)], tmp_path, tiny_weights, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "lib.db").exists() or _library_photos(tmp_path) == 0


def _replace_vectors(out: Path, values: list[float | None]) -> None:
    """Rewrite the first shard with these vectors (one value repeated, or null) and a manifest that vouches for it."""
    from photoclip.core.archive.shards import read_manifest, read_shard

    manifest = read_manifest(out)
    assert manifest is not None
    table = read_shard(out, manifest.shards[0], manifest)
    field = table.schema.field("vector")
    vectors = [None if v is None else [v] * manifest.dim for v in values]
    table = table.set_column(table.schema.get_field_index("vector"), field, pa.array(vectors, type=field.type))
    manifest.shards[0] = write_shard(out, 0, table)
    write_manifest(out, manifest)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 100.0, 0.0], ids=["nan", "inf", "long", "zero"])
def test_import_vectors_refuses_vectors_that_are_not_unit_length(tiny_archive, tmp_path, tiny_weights, capsys, bad):
    # Before: imported; `duplicates` then listed 'inf' scores and NaN ranked anywhere.
    _replace_vectors(tiny_archive, [None, bad, None])
    code, err = _cli(["import-vectors", str(tiny_archive)], tmp_path, tiny_weights, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "not of unit length" in err, err
    assert not (tmp_path / "lib.db").exists() or _library_photos(tmp_path) == 0


def test_import_vectors_refuses_vectors_of_another_size_than_the_model_gives(photo_dir, tmp_path, tiny_weights, capsys):
    # Before: a manifest naming the model with 32-number vectors was imported (the model gives 64),
    # and every later search, similar, tag and duplicates was an internal error.
    from photoclip.core.model import FakeEmbedder, ModelChoice, model_id_for

    model_id = model_id_for(ModelChoice(TINY_MODEL, str(tiny_weights)))
    make_archive(photo_dir, tmp_path / "archive", FakeEmbedder(dim=32, model_id=model_id))
    code, err = _cli(["import-vectors", str(tmp_path / "archive")], tmp_path, tiny_weights, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "have 32 numbers each, but the model gives 64" in err, err
    assert not (tmp_path / "lib.db").exists() or _library_photos(tmp_path) == 0


def test_import_refuses_vectors_of_another_size_than_the_library_holds(photo_dir, tmp_path, library):
    # Without a known model size (an embedder-free call), the library's own record decides.
    with library.transaction():
        library.register_model("m", 64)
    make_archive(photo_dir, tmp_path / "archive", FakeEmbedder(dim=32, model_id="m"))
    with pytest.raises(ArchiveError, match="the library holds 64"):
        import_vectors(library, tmp_path / "archive", "m", [])
    assert library.counts(None)["photos"] == 0 and library.folders() == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--map-prefix", "nonsense"], "takes FROM=TO"),
        (["--map-prefix", "relative=/x"], "must be absolute"),
        (["--map-prefix", "/=/nowhere/at/all"], "is not a folder on this machine"),
    ],
)
def test_import_vectors_refuses_bad_prefixes(tiny_archive, tmp_path, tiny_weights, capsys, extra, message):
    code, err = _cli(["import-vectors", str(tiny_archive), *extra], tmp_path, tiny_weights, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err


def test_import_vectors_refuses_another_model(tiny_archive, tmp_path, tiny_weights, capsys):
    from photoclip.cli.main import run

    code = run(["--db", str(tmp_path / "lib.db"), "--model", "ViT-B-32", "--weights", "openai", "import-vectors", str(tiny_archive)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "holds vectors of the model photoclip-tiny" in err, err


@pytest.mark.parametrize(
    "extra",
    [["--batch-size", "0"], ["--workers", "0"], ["--gpus-per-worker", "-1"], ["--gpus-per-worker", "nan"], ["--shard-size", "x"]],
)
def test_embed_archive_refuses_bad_options(photo_dir, tmp_path, tiny_weights, capsys, extra):
    with pytest.raises(SystemExit) as exit_:
        _cli(["embed-archive", str(photo_dir), "--out", str(tmp_path / "out"), *extra], tmp_path, tiny_weights, capsys)
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_embed_archive_never_writes_into_a_photo_folder(photo_dir, tmp_path, tiny_weights, capsys):
    code, err = _cli(["embed-archive", str(photo_dir), "--out", str(photo_dir / "archive")], tmp_path, tiny_weights, capsys)
    assert code == 2 and "inside a folder being embedded" in err
    assert not (photo_dir / "archive").exists()


def test_without_the_extra_the_message_names_it(photo_dir, tmp_path, tiny_weights, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray.data", None)
    code, err = _cli(["embed-archive", str(photo_dir), "--out", str(tmp_path / "out")], tmp_path, tiny_weights, capsys)
    assert code == 2 and "pip install 'photoclip[cluster]'" in err and len(err.splitlines()) == 1, err


def test_a_path_that_climbs_out_of_its_folder_is_not_imported(photo_dir, tmp_path, library, fake_embedder):
    # Before: "ROOT/../outside/victim.jpg" passed the under-its-folder check as text and
    # became a photo of the folder, pointing at a file the user never added.
    from photoclip.core.archive.shards import read_manifest, read_shard

    out = tmp_path / "archive"
    make_archive(photo_dir, out, fake_embedder, shard_size=100)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.jpg"
    victim.write_bytes((photo_dir / "skimage_coffee.jpg").read_bytes())
    manifest = read_manifest(out)
    assert manifest is not None
    table = read_shard(out, manifest.shards[0], manifest)
    climbing = f"{photo_dir}/../outside/victim.jpg".encode()
    st = victim.stat()
    for name, value in (("path", climbing), ("size", st.st_size), ("mtime_ns", st.st_mtime_ns)):
        column = table.column(name).to_pylist()
        column[0] = value
        field = table.schema.field(name)
        table = table.set_column(table.schema.get_field_index(name), field, pa.array(column, field.type))
    (out / manifest.shards[0].file).unlink()
    manifest.shards[0] = write_shard(out, 0, table)
    write_manifest(out, manifest)

    result = import_vectors(library, out, fake_embedder.model_id, [])
    assert result.imported == 7 and result.problems == [(str(victim), f"not under its folder {photo_dir} after --map-prefix")]
    assert library.photo_by_path(str(victim)) is None
    assert all(p.path.startswith(str(photo_dir) + os.sep) and ".." not in p.path for p in library.all_photos())


def test_the_embed_archive_summary_counts_in_words() -> None:
    """Round 23's CLI walk: "in 1 new shards"."""
    from photoclip.cli.archive import summary_line

    one = {"listed": 1, "already": 0, "embedded": 1, "skipped": 0, "shards": 1}
    assert summary_line(one) == "Listed 1 file: 0 already in the archive. Embedded 1, skipped 0, in 1 new shard."
    many = {"listed": 12000, "already": 3, "embedded": 11990, "skipped": 7, "shards": 4}
    assert summary_line(many) == "Listed 12,000 files: 3 already in the archive. Embedded 11,990, skipped 7, in 4 new shards."
