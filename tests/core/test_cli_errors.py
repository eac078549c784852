"""Mistakes and hostile input at the real entry point: one line on stderr, exit 2, nothing changed.

Every check here runs before any model loads: the environment names a model that
cannot be had offline, so a check that came too late would print the model's
advice instead of the expected sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.helpers import write_jpeg

pytestmark = pytest.mark.slow


def photoclip(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "photoclip", *args], env=env, capture_output=True, text=True, timeout=timeout)


def assert_refused(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stdout == ""


@pytest.fixture
def env(tmp_path, isolated_home):
    return {
        **os.environ,
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "cli.db"),
        # Not available offline: any check that waited for the model would say so instead.
        "PHOTOCLIP_MODEL": "ViT-B-32-256",
        "PHOTOCLIP_WEIGHTS": "datacomp_s34b_b86k",
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture
def with_folder(env, tmp_path):
    folder = tmp_path / "pics"
    write_jpeg(folder / "one.jpg")
    assert photoclip("add-folder", str(folder), env=env).returncode == 0
    return folder


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["search", ""], "The query is empty"),
        (["search", "   ", "\t"], "The query is empty"),
        (["search", "-people"], "not only terms to avoid"),
        (["search", "0*beach"], "must be a number above 0"),
        (["search", "cat", "-n", "0"], "--limit: must be 1 or more"),
        (["search", "cat", "--limit", "-5"], "--limit: must be 1 or more"),
        (["search", "cat", "--limit", "ten"], "not a whole number"),
        (["similar", "x.jpg", "-n", "0"], "must be 1 or more"),
        (["duplicates", "--threshold", "1.5"], "between -1 and 1"),
        (["duplicates", "--threshold", "-1.01"], "between -1 and 1"),
        (["duplicates", "--threshold", "nan"], "between -1 and 1"),
        (["duplicates", "--threshold", "inf"], "between -1 and 1"),
        (["search", "cat", "--min-score", "NaN"], "between -1 and 1"),
        (["search", "cat", "--from", "notadate"], "not a date"),
        (["search", "cat", "--to", "2024-13-01"], "not a date"),
        (["search", "cat", "--from", "2024-02-01", "--to", "2024-01-01"], "date range is empty"),
        (["search", "cat", "--tag", " / "], "tag filter is blank"),
        (["search", "beach", "+", "IMG_1234.jpg"], "No such file: IMG_1234.jpg"),  # before: searched as the text "IMG_1234.jpg"
        (["similar", "nowhere/IMG_1234.jpg"], "No such file"),
        (["tags", "x.jpg", "--top", "0"], "must be 1 or more"),
        (["index", "--batch-size", "0"], "must be 1 or more"),
        (["index", "--workers", "-1"], "must be 1 or more"),
        (["index", "--workers", "x"], "not a whole number"),
        # Before: accepted; every photo was then held in memory at once (10**9 decode threads
        # meant one thread and one decoded photo per photo, the batch all photos).
        (["index", "--batch-size", "1000000000"], "--batch-size: must be at most 1024, not 1000000000"),
        (["index", "--workers", "1000000000"], "--workers: must be at most 256, not 1000000000"),
        (["index", "--commit-every", "nan"], "must be between 0 and 31622400 seconds"),
        # Before: accepted, and the worker's idle timer died with OverflowError (a traceback).
        (["watch", "--idle-unload", "1e308"], "must be between 0 and 31622400 seconds (a year at most)"),
        (["watch", "--rescan-every", "1e12"], "must be between 0 and 31622400 seconds (a year at most)"),
        (["index", "--commit-every", "1e300"], "must be between 0 and 31622400 seconds (a year at most)"),
        # Before: an empty value (a script's unset variable) meant the default library or model,
        # or the current folder for --to and --out.
        (["--db", "", "labels", "add", "Dogs"], "argument --db: must not be empty"),
        (["--model", " ", "status"], "argument --model: must not be empty"),
        (["--weights", "", "status"], "argument --weights: must not be empty"),
        (["albums", "export", "A", "--to", ""], "argument --to: must not be empty"),
        (["embed-archive", "x", "--out", ""], "argument --out: must not be empty"),
        # Before: accepted, and meant every photo of the archive held in memory at once.
        (["embed-archive", "x", "--out", "y", "--batch-size", "1000000000"], "--batch-size: must be at most 4096"),
        (["embed-archive", "x", "--out", "y", "--shard-size", "1000000000"], "--shard-size: must be at most 262144"),
        (["embed-archive", "x", "--out", "y", "--workers", "1000000000"], "--workers: must be at most 1024"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(env, with_folder, args, expected):
    assert_refused(photoclip(*args, env=env), expected)


def test_a_folder_filter_must_be_a_library_folder(env, with_folder, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    assert_refused(photoclip("search", "cat", "--folder", str(tmp_path / "elsewhere"), env=env), "not one of the library's folders")
    proc = photoclip("similar", str(with_folder / "one.jpg"), "--folder", str(tmp_path), env=env)
    assert_refused(proc, "not one of the library's folders")
    # A library folder or one under it passes the check and reaches the model (which is missing here).
    proc = photoclip("search", "cat", "--folder", str(with_folder), env=env)
    assert proc.returncode == 2 and "ViT-B-32-256" in proc.stderr


def test_a_fifo_or_a_folder_as_the_query_image_is_refused_without_blocking(env, with_folder, tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert_refused(photoclip("similar", str(fifo), env=env, timeout=30), "Not a regular file")
    assert_refused(photoclip("search", "cat", "+", str(fifo), env=env, timeout=30), "Not a regular file")
    (tmp_path / "dir.jpg").mkdir()
    assert_refused(photoclip("similar", str(tmp_path / "dir.jpg"), env=env), "Not a regular file")
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)  # named for what it is, not "No such file"
    assert_refused(photoclip("similar", str(loop), env=env), "a loop of symbolic links")
    assert_refused(photoclip("search", "cat", "+", str(loop), env=env), "a loop of symbolic links")


def test_db_that_is_a_folder_or_a_fifo_is_refused(env, tmp_path):
    assert_refused(photoclip("--db", str(tmp_path), "status", env=env), "is a folder")
    fifo = tmp_path / "lib.db"
    os.mkfifo(fifo)
    assert_refused(photoclip("--db", str(fifo), "status", env=env, timeout=30), "not a regular file")


def test_a_first_run_creates_the_default_library_folder(env, tmp_path):
    """A fresh account has no data folder: the default library's is made, a --db's is not."""
    fresh = {key: value for key, value in env.items() if key not in ("PHOTOCLIP_HOME", "PHOTOCLIP_DB")}
    fresh.update(HOME=str(tmp_path / "newcomer"), XDG_DATA_HOME="", XDG_CONFIG_HOME="", XDG_CACHE_HOME="")
    (tmp_path / "newcomer").mkdir()
    folder = tmp_path / "pics"
    write_jpeg(folder / "one.jpg")
    proc = photoclip("add-folder", str(folder), env=fresh)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "newcomer" / ".local" / "share" / "photoclip" / "library.db").is_file()
    assert_refused(photoclip("--db", str(tmp_path / "typo" / "lib.db"), "status", env=env), "does not exist")
    assert not (tmp_path / "typo").exists()


def test_another_applications_database_is_refused_and_left_untouched(env, tmp_path):
    other = tmp_path / "notes.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    proc = photoclip("--db", str(other), "add-folder", str(tmp_path), env=env)
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    assert not Path(f"{other}-wal").exists()
    assert_refused(proc, "not a photoclip library")


def test_permission_denied_is_a_sentence_not_an_internal_error(env, tmp_path):
    # /sys refuses new files even to root: a real EACCES without changing any permission.
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("needs Linux sysfs")
    assert photoclip("labels", "add", "Beach", env=env).returncode == 0
    proc = photoclip("labels", "export", "/sys/photoclip-labels.json", env=env)
    assert_refused(proc, "permission denied")


ROOT_MOUNTS = os.geteuid() == 0 and shutil.which("unshare") is not None and sys.platform == "linux"


def in_private_tmpfs(script: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `script` with $D a 512 KiB tmpfs that only this process tree sees (root only)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    full = f'mount -t tmpfs -o size=512k tmpfs "$D" || exit 97\n{script}'
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", full],
        env={**env, "D": str(mount_point), "PY": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(not ROOT_MOUNTS, reason="needs root and unshare to mount a small private tmpfs")
def test_a_full_disk_is_a_sentence_and_the_library_survives(env, tmp_path):
    descriptions = " ".join(f"-d {'x' * 2000}{j}" for j in range(20))
    proc = in_private_tmpfs(
        f"""
        "$PY" -m photoclip --db "$D/lib.db" labels add Beach >/dev/null || exit 98
        "$PY" -m photoclip --db "$D/../other.db" labels add Beach >/dev/null || exit 98
        dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null
        "$PY" -m photoclip --db "$D/../other.db" labels export "$D/labels.json"; echo "export=$?"
        rc=0
        for i in $(seq 1 40); do
            "$PY" -m photoclip --db "$D/lib.db" labels add "Label $i" {descriptions} 2>"$D/../err" >/dev/null || {{ rc=$?; break; }}
        done
        echo "db=$rc"
        cat "$D/../err" >&2
        rm -f "$D/fill"
        "$PY" -m photoclip --db "$D/lib.db" labels list | grep -q Beach || exit 99
        """,
        tmp_path,
        env,
    )
    if proc.returncode == 97:
        pytest.skip("this machine does not allow mounting a tmpfs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "export=2" in proc.stdout and "db=2" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert "disk is full" in lines[0], proc.stderr  # the export; lines[1] is the database's own message


@pytest.mark.skipif(not ROOT_MOUNTS, reason="needs root and unshare to mount a read-only tmpfs")
def test_a_read_only_library_or_folder_is_a_sentence(env, tmp_path):
    proc = in_private_tmpfs(
        """
        "$PY" -m photoclip --db "$D/lib.db" labels add Beach >/dev/null || exit 98
        mount -o remount,ro "$D" || exit 97
        "$PY" -m photoclip --db "$D/lib.db" labels add Dogs; echo "db=$?"
        "$PY" -m photoclip --db "$D/../other.db" labels export "$D/labels.json"; echo "export=$?"
        """,
        tmp_path,
        env,
    )
    if proc.returncode == 97:
        pytest.skip("this machine does not allow mounting a tmpfs")
    assert "db=2" in proc.stdout and "export=2" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert "read-only" in lines[0] and "read-only" in lines[1], proc.stderr


@pytest.mark.parametrize(
    "args",
    [["similar", "no\nsuch.jpg"], ["info", "no\nsuch.jpg"], ["add-folder", "no\nsuch"], ["similar", "\x1b]0;owned\x07.jpg"]],
    ids=["similar", "info", "add-folder", "terminal escape"],
)
def test_a_name_with_control_characters_is_one_line_with_escapes(env, with_folder, args):
    # Before: "photoclip: No such file: no" and "such.jpg" on a second line; an escape
    # sequence in a name went to the terminal as is.
    proc = photoclip(*args, env=env)
    assert_refused(proc, "")
    assert "\x1b" not in proc.stderr and ("no\\nsuch" in proc.stderr or "\\x1b]0;owned\\x07" in proc.stderr), proc.stderr


def test_one_line_escapes_control_characters_only():
    from photoclip.core.errors import one_line

    assert one_line("Café/été.jpg") == "Café/été.jpg"
    assert one_line("a\nb\tc\rd\x1b[2Je\x85f\x7f") == "a\\nb\\tc\\rd\\x1b[2Je\\x85f\\x7f"


def test_a_result_line_naming_a_file_with_a_line_break_stays_one_line(env, tmp_path):
    # Before: `problems` printed "…/bad" and "name.jpg\tnot an image…" as two lines, so a
    # script reading one result per line saw a file that does not exist.
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "bad\nname.jpg").write_bytes(b"not a jpeg")
    assert photoclip("add-folder", str(folder), env=env).returncode == 0
    photoclip("index", "--catalogue-only", env=env)
    plain = photoclip("problems", env=env)
    assert plain.returncode == 0 and plain.stdout.count("\n") == 1, plain.stdout
    assert plain.stdout.startswith(str(folder / "bad\\nname.jpg") + "\tnot an image")
    as_json = photoclip("problems", "--json", env=env)
    assert json.loads(as_json.stdout)["skipped"][0]["path"] == str(folder / "bad\nname.jpg")  # JSON keeps the real name
