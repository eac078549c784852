"""embed-archive on a local Ray instance with the tiny model: same vectors as `index`, resumable, importable.

Ray tests are few (the machine has 2 cores): one session-scoped Ray, one archive made
per module and shared by the read-only checks, and one killed-and-resumed run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import PHOTOS, TINY_MODEL

pytest.importorskip("ray.data")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _cli(args: list[str], db: Path, weights: Path) -> int:
    from photoclip.cli.main import run

    return run(["--db", str(db), "--model", TINY_MODEL, "--weights", str(weights), "--device", "cpu", *args])


def _hostile_copy(target: Path) -> Path:
    shutil.copytree(PHOTOS, target, ignore=shutil.ignore_patterns("*.md"))
    (target / "truncated.jpg").write_bytes((PHOTOS / "skimage_coffee.jpg").read_bytes()[:3000])
    (target / "notaphoto.png").write_bytes(b"hello, I am text")
    return target


@pytest.fixture(scope="module")
def archive(ray_cluster, tiny_weights, tmp_path_factory):
    """Photos (two of them unreadable), their archive, and the JSON summary of the run."""
    base = tmp_path_factory.mktemp("archive")
    photos = _hostile_copy(base / "photos")
    out = base / "out"
    env = os.environ.copy()
    env["PHOTOCLIP_HOME"] = str(base / "home")
    # The run as a user types it, in a process of its own, joining the session's Ray.
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "photoclip", "--db", str(base / "unused.db"), "--model", TINY_MODEL, "--weights", str(tiny_weights)),
            *("--device", "cpu", "embed-archive", str(photos), "--out", str(out), "--ray-address", ray_cluster),
            *("--batch-size", "3", "--shard-size", "4", "--json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    # Only photoclip's progress: before, Ray's token notice, its C++ core's "error" about Ray
    # Data's own actors, and Ray Data's plan and timings came with it (see the -v run below).
    assert [line for line in proc.stderr.splitlines() if not line.startswith("embed-archive: ")] == [], proc.stderr
    return photos, out, json.loads(proc.stdout)


def _rows(out: Path) -> dict[str, dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    rows: dict[str, dict] = {}
    for shard in manifest["shards"]:
        for row in pq.read_table(out / shard["file"]).to_pylist():
            rows[os.fsdecode(row["path"])] = row
    return rows


def test_archive_rows_match_what_index_stores(archive, tiny_weights, tmp_path):
    photos, out, summary = archive
    assert summary["embedded"] == 8 and summary["skipped"] == 2 and summary["shards"] == 3
    rows = _rows(out)
    db = tmp_path / "lib.db"
    assert _cli(["add-folder", str(photos)], db, tiny_weights) == 0
    assert _cli(["index", "--no-thumbnails"], db, tiny_weights) == 0
    from photoclip.core.db import Library
    from photoclip.core.model import ModelChoice, model_id_for

    model_id = model_id_for(ModelChoice(TINY_MODEL, str(tiny_weights)))
    with Library(db) as lib:
        photos_in_lib = {p.path: p for p in lib.all_photos(statuses=("ok", "new", "skipped"))}
        assert set(photos_in_lib) == set(rows)
        for path, row in rows.items():
            photo = photos_in_lib[path]
            assert row["model_id"] == model_id
            assert (row["size"], row["mtime_ns"], row["fingerprint"]) == (photo.size, photo.mtime_ns, photo.hash)
            assert row["skip_reason"] == photo.skip_reason
            if photo.skip_reason is not None:
                assert row["vector"] is None
                continue
            meta = (photo.width, photo.height, photo.taken_at, photo.taken_source, photo.camera, photo.gps_lat, photo.gps_lon)
            assert (
                row["width"],
                row["height"],
                row["taken_at"],
                row["taken_source"],
                row["camera"],
                row["gps_lat"],
                row["gps_lon"],
            ) == meta
            ours = np.asarray(row["vector"], np.float32)
            theirs = lib.vector(photo.id, model_id)
            cosine = float(ours @ theirs / (np.linalg.norm(ours) * np.linalg.norm(theirs)))
            assert cosine >= 0.999, path


def test_import_vectors_then_similar_and_index_find_them_current(archive, tiny_weights, tmp_path, capsys):
    photos, out, _ = archive
    # The archive was made where the photos lived elsewhere: same files (and mtimes) under another path here.
    here = tmp_path / "mounted"
    shutil.copytree(photos, here)
    db = tmp_path / "lib.db"
    assert _cli(["import-vectors", str(out), "--map-prefix", f"{photos}={here}", "--json"], db, tiny_weights) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["imported"], result["skipped"], result["not_here"], result["changed"]) == (8, 2, 0, 0)
    assert result["folders"] == [str(here)]

    probe = here / "skimage_chelsea.jpg"
    os.environ["PHOTOCLIP_NO_WORKER"] = "1"
    try:
        assert _cli(["similar", str(probe), "--json"], db, tiny_weights) == 0
    finally:
        del os.environ["PHOTOCLIP_NO_WORKER"]
    hits = json.loads(capsys.readouterr().out)
    first = hits[0] if isinstance(hits, list) else hits["results"][0]
    assert first["path"] == str(probe)

    assert _cli(["problems", "--json"], db, tiny_weights) == 0
    assert {p["path"] for p in json.loads(capsys.readouterr().out)["skipped"]} == {str(here / "truncated.jpg"), str(here / "notaphoto.png")}
    # Nothing is embedded again: the scan finds every imported file current.
    assert _cli(["index", "--no-thumbnails", "--json"], db, tiny_weights) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["new"], summary["changed"], summary["embedded"], summary["catalogued"], summary["skipped"]) == (0, 0, 0, 0, 0)


def test_a_killed_run_resumes_without_redoing_finished_shards(ray_cluster, tiny_weights, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for copy in range(4):  # 32 files, so that the run is far from done when its first shard lands
        for source in sorted(PHOTOS.glob("*.*")):
            if source.suffix != ".md":
                shutil.copy2(source, photos / f"{copy}-{source.name}")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "photoclip", "--db", str(tmp_path / "unused.db"), "--model", TINY_MODEL]
    command += ["--weights", str(tiny_weights), "--device", "cpu", "embed-archive", str(photos), "--out", str(out)]
    command += ["--ray-address", ray_cluster, "--batch-size", "1", "--shard-size", "2"]
    env = {**os.environ, "PHOTOCLIP_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        for line in proc.stderr:  # await the first shard's line, then kill the run
            if "wrote shard-" in line:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    finished = {s["file"]: (out / s["file"]).read_bytes() for s in manifest["shards"]}
    done = sum(s["rows"] for s in manifest["shards"])
    assert 1 <= len(finished) < 16

    # Run again with --verbose (photoclip's own -v, before the command): Ray's own lines too.
    verbose = [command[0], "-m", "photoclip", "-v", *command[3:], "--json"]
    proc = subprocess.run(verbose, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Execution plan of Dataset" in proc.stderr, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["already"] == done
    assert summary["embedded"] == 32 - done
    for name, content in finished.items():
        assert (out / name).read_bytes() == content  # finished shards untouched
    rows = _rows(out)
    assert len(rows) == 32 and all(r["vector"] is not None for r in rows.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(s["rows"] for s in manifest["shards"]) == 32  # no file embedded twice
