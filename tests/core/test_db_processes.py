"""Two real processes write the same library at once: both finish, nothing is lost, the file stays sound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from photoclip.core.db import Library

ROOT = Path(__file__).resolve().parents[2]

# Each writer creates (or opens) the library, waits for "go" so both start together, then
# adds its photos in many short transactions, each with a nested block for the vector.
WRITER = """
import sys
import numpy as np
from photoclip.core.db import Library

path, name, count, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
sys.stdin.readline()
with Library(path) as lib:  # both processes may be creating it at this moment
    folder_id = lib.add_folder(folder)
    with lib.transaction():
        lib.register_model("m", 8)
    for i in range(count):
        with lib.transaction():
            photo_id = lib.insert_photo(f"{folder}/{name}-{i:04d}.jpg", folder_id, i, i, None)
            try:
                with lib.transaction():
                    lib.put_vectors("m", [photo_id], np.full((1, 8), i, np.float32))
                    if i % 10 == 0:
                        raise ValueError("a failed step, rolled back on its own")
            except ValueError:
                pass
print("done", flush=True)
"""


def test_two_processes_write_the_same_library_at_once(tmp_path):
    path = tmp_path / "shared.db"
    count = 120
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(count), str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for name in ("left", "right")
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        for writer in writers:  # the barrier: both are started and waiting
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outputs = [writer.communicate(timeout=240) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    for writer, (out, err) in zip(writers, outputs):
        assert writer.returncode == 0, err
        assert out.strip() == "done"

    with Library(path) as lib:
        assert lib.integrity_ok()
        assert lib.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        names = sorted(Path(p).name for p in lib.file_states())
        assert names == sorted(f"{side}-{i:04d}.jpg" for side in ("left", "right") for i in range(count))
        assert len(lib.folder_paths()) == 1
        ids, matrix, _ = lib.load_vectors("m")
        assert len(ids) == 2 * (count - count // 10)  # every tenth vector was rolled back with its step
        photos = lib.photos(ids.tolist())
        for photo_id, row in zip(ids.tolist(), matrix):
            i = int(photos[photo_id].name.split("-")[1].split(".")[0])
            assert i % 10 != 0
            np.testing.assert_array_equal(row, np.full(8, i, np.float32))


# Another process adds a photo and closes the library: as the last connection it sees, it
# checkpoints and deletes the -wal file.
CLOSER = """
import sys
from photoclip.core.db import Library

with Library(sys.argv[1]) as lib:
    lib.insert_photo(sys.argv[2], lib.add_folder(sys.argv[3]), 1, 1, None)
"""

LISTER = """
import sys
from photoclip.core.db import Library

with Library(sys.argv[1]) as lib:
    print("\\n".join(row[0] for row in lib.db.execute("SELECT path FROM photos")))
"""


def test_opening_a_second_library_object_keeps_the_first_ones_locks(tmp_path):
    # The app opens a Library on many threads. Each opening looked at the file's header
    # with open() and close(), and closing any descriptor of a file drops every POSIX lock
    # this process holds on it, those of its open connections too (SQLite's "How To
    # Corrupt An SQLite Database File", 2.2). A `photoclip tag` closing meanwhile then
    # believed itself the last user and deleted the WAL the app was reading: the app's
    # next answer said "database disk image is malformed", and its writes were lost.
    path = tmp_path / "library.db"
    folder = str(tmp_path)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    with Library(path) as app:
        folder_id = app.add_folder(folder)
        app.insert_photo(f"{folder}/before.jpg", folder_id, 1, 1, None)
        Library(path).close()  # another thread of the app opens (and closes) its own connection
        subprocess.run([sys.executable, "-c", CLOSER, str(path), f"{folder}/cli.jpg", folder], check=True, env=env, cwd=ROOT)
        app.insert_photo(f"{folder}/after.jpg", folder_id, 2, 2, None)
        seen_by_app = {row[0] for row in app.db.execute("SELECT path FROM photos")}
        # What any other process sees while the app is still open (the app's own close
        # would checkpoint its orphaned WAL back and hide the loss).
        listed = subprocess.run([sys.executable, "-c", LISTER, str(path)], check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    names = {f"{folder}/{n}.jpg" for n in ("before", "cli", "after")}
    assert seen_by_app == names
    assert set(listed.stdout.splitlines()) == names
