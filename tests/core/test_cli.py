"""The command line, run as a user runs it: a subprocess with the installed entry point's code."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_MODEL
from tests.core.helpers import write_jpeg

pytestmark = pytest.mark.slow


def photoclip(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "photoclip", *args], env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path, tiny_weights, isolated_home):
    return {
        **os.environ,
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "cli.db"),
        "PHOTOCLIP_MODEL": TINY_MODEL,
        "PHOTOCLIP_WEIGHTS": str(tiny_weights),
        "PHOTOCLIP_DEVICE": "cpu",
    }


def test_add_index_search_similar_status_json(env, photo_dir):
    photoclip("add-folder", str(photo_dir), env=env)
    summary = json.loads(photoclip("index", "--json", env=env).stdout)
    count = len(list(photo_dir.iterdir()))
    assert summary["embedded"] == count and summary["skipped"] == 0
    chelsea = str(photo_dir / "skimage_chelsea.jpg")
    results = json.loads(photoclip("search", chelsea, "--json", "-n", "3", env=env).stdout)["results"]
    assert results[0]["path"] == chelsea and results[0]["score"] > 0.99
    assert len(results) == 3
    combined = json.loads(photoclip("search", "a cat", "+", chelsea, "-dogs", "--json", env=env).stdout)["results"]
    assert {"path", "score"} <= set(combined[0]) and len(combined) == count
    similar = json.loads(photoclip("similar", chelsea, "--json", env=env).stdout)["results"]
    assert similar[0]["path"] == chelsea
    status = json.loads(photoclip("status", "--json", env=env).stdout)
    assert status["photos"] == count and status["embedded"] == count and status["pending"] == 0
    assert status["model"]["name"] == TINY_MODEL
    dupes = json.loads(photoclip("duplicates", "--threshold", "0.5", "--json", env=env).stdout)
    assert sum(len(g) for g in dupes["groups"]) <= count
    plain = photoclip("search", "beach", "-n", "2", env=env).stdout.strip().splitlines()
    assert len(plain) == 2 and all("\t" in line for line in plain)


def test_errors_are_one_line_and_nonzero(env, tmp_path):
    proc = photoclip("index", env=env, check=False)
    assert proc.returncode == 2 and "no folders" in proc.stderr and "Traceback" not in proc.stderr
    proc = photoclip("add-folder", str(tmp_path / "nowhere"), env=env, check=False)
    assert proc.returncode == 2 and "Not a folder" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "f.jpg").write_text("x")
    proc = photoclip("similar", str(tmp_path / "f.jpg"), env=env, check=False)
    assert proc.returncode == 2 and "Cannot use" in proc.stderr
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    proc = photoclip("--db", str(bad), "status", env=env, check=False)
    assert proc.returncode == 2 and "not a photoclip library" in proc.stderr


def test_without_a_model_the_library_is_catalogued_and_the_message_says_what_to_do(env, photo_dir):
    env = {**env, "PHOTOCLIP_MODEL": "ViT-B-32-256", "PHOTOCLIP_WEIGHTS": "datacomp_s34b_b86k", "HF_HUB_OFFLINE": "1"}
    photoclip("add-folder", str(photo_dir), env=env)
    proc = photoclip("index", "--json", env=env, check=False)
    assert proc.returncode == 3
    assert "ViT-B-32-256" in proc.stderr and "--weights" in proc.stderr and "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["catalogued"] == len(list(photo_dir.iterdir())) and summary["embedded"] == 0
    status = json.loads(photoclip("status", "--json", env=env).stdout)
    assert status["pending"] == status["photos"] > 0
    proc = photoclip("search", "cat", env=env, check=False)
    assert proc.returncode == 2 and "--weights" in proc.stderr


def test_db_option_and_env_choose_the_database(env, tmp_path, photo_dir):
    other = tmp_path / "other.db"
    photoclip("--db", str(other), "add-folder", str(photo_dir), env=env)
    assert json.loads(photoclip("--db", str(other), "status", "--json", env=env).stdout)["folders"]
    # The library PHOTOCLIP_DB names was never made: said, not made empty (a typo'd path once
    # got an empty library file and "0 photos").
    missing = photoclip("status", "--json", env=env, check=False)
    assert missing.returncode == 2 and "There is no library at" in missing.stderr and "add-folder" in missing.stderr
    assert not Path(env["PHOTOCLIP_DB"]).exists()
    photoclip("add-folder", str(photo_dir), env=env)
    assert json.loads(photoclip("status", "--json", env=env).stdout)["folders"]


def test_remove_folder_and_problems(env, tmp_path):
    folder = tmp_path / "pics"
    write_jpeg(folder / "ok.jpg")
    (folder / "broken.jpg").write_text("nope")
    photoclip("add-folder", str(folder), env=env)
    photoclip("index", env=env)
    problems = json.loads(photoclip("problems", "--json", env=env).stdout)["skipped"]
    assert [Path(p["path"]).name for p in problems] == ["broken.jpg"]
    photoclip("remove-folder", str(folder), env=env)
    status = json.loads(photoclip("status", "--json", env=env).stdout)
    assert status["photos"] == 0 and (folder / "ok.jpg").exists()


def test_sigkill_mid_index_leaves_a_sound_database_and_rerun_resumes(env, tmp_path):
    folder = tmp_path / "many"
    total = 240
    for i in range(total):
        write_jpeg(folder / f"p{i:03d}.jpg", size=(1024, 768), seed=i)
    db = Path(env["PHOTOCLIP_DB"])
    photoclip("add-folder", str(folder), env=env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoclip", "index", "--batch-size", "4", "--commit-every", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    committed = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            committed = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            committed = 0
        if committed >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "indexing ended before it could be killed; make the job bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    conn.close()
    assert 20 <= before < total
    summary = json.loads(photoclip("index", "--json", env=env).stdout)
    assert summary["embedded"] == total - before
    status = json.loads(photoclip("status", "--json", env=env).stdout)
    assert status["embedded"] == total and status["pending"] == 0


def test_a_result_named_with_a_line_break_is_one_line_and_json_keeps_the_name(env, tmp_path):
    # Before: `search` printed "0.123\t…/new" and "line.jpg" as two result lines.
    folder = tmp_path / "odd"
    odd = write_jpeg(folder / "new\nline.jpg")
    photoclip("add-folder", str(folder), env=env)
    photoclip("index", env=env)
    plain = photoclip("search", "a photo", env=env).stdout
    assert plain.count("\n") == 1 and plain.rstrip("\n").endswith("\t" + str(folder / "new\\nline.jpg")), plain
    similar = photoclip("similar", str(odd), env=env).stdout
    assert similar.count("\n") == 1, similar
    as_json = json.loads(photoclip("search", "a photo", "--json", env=env).stdout)
    assert as_json["results"][0]["path"] == str(odd)


def test_a_thumbnail_cache_that_cannot_be_used_is_said_once_and_indexing_goes_on(env, photo_dir, tmp_path):
    """PHOTOCLIP_CACHE naming a regular file printed one warning for every photo."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = {**env, "PHOTOCLIP_CACHE": str(blocker)}
    photoclip("add-folder", str(photo_dir), env=env)
    proc = photoclip("index", env=env)
    assert proc.stderr.count("thumbnails are off") == 1, proc.stderr
    assert sum("thumbnail" in line for line in proc.stderr.splitlines()) == 1, proc.stderr  # no line per photo
    count = len(list(photo_dir.iterdir()))
    assert json.loads(photoclip("status", "--json", env=env).stdout)["embedded"] == count
    assert blocker.read_text() == "x"  # not ours: untouched


def test_status_says_why_the_weights_file_cannot_be_used(env, tmp_path):
    # Before: status hung on a named pipe; then it showed "embedded: 0" with no word of why.
    fifo = tmp_path / "clip.pt"
    os.mkfifo(fifo)
    (tmp_path / "empty").mkdir()
    photoclip("add-folder", str(tmp_path / "empty"), env=env)  # status needs a library
    env = {**env, "PHOTOCLIP_WEIGHTS": str(fifo)}
    assert f"cannot be used: The model weights file {fifo} is a named pipe" in photoclip("status", env=env).stdout
    model = json.loads(photoclip("status", "--json", env=env).stdout)["model"]
    assert model["id"] is None and "named pipe" in model["problem"]
    env["PHOTOCLIP_WEIGHTS"] = str(tmp_path / "gone.pt")
    assert "does not exist" in json.loads(photoclip("status", "--json", env=env).stdout)["model"]["problem"]
