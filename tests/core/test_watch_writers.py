"""Other commands write the library while `photoclip watch` runs on it: each finishes or says
in one line why not, nothing is lost, no "database is locked" traceback."""

from __future__ import annotations

import json

import pytest

from tests.core.helpers import write_jpeg
from tests.core.test_cli_watch import env, photoclip, watching  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_commands_that_write_while_watch_runs(env, photo_dir, watching, tmp_path):  # noqa: F811
    watching.expect("Indexed:")
    other = tmp_path / "other"
    for i in range(3):
        write_jpeg(other / f"o{i}.jpg", seed=i)
    results = {}
    results["add-folder"] = photoclip("add-folder", str(other), env=env, check=False)
    results["index"] = photoclip("index", env=env, check=False)
    results["labels add"] = photoclip("labels", "add", "Cats", "--description", "a cat", env=env, check=False)
    results["tag"] = photoclip("tag", env=env, check=False)
    results["albums save"] = photoclip("albums", "save", "cats", "a cat", env=env, check=False)
    results["remove-folder"] = photoclip("remove-folder", str(other), env=env, check=False)
    for name, proc in results.items():
        assert proc.returncode == 0 and "Traceback" not in proc.stderr and "locked" not in proc.stderr, (name, proc.stderr)
    st = json.loads(photoclip("status", "--json", env=env).stdout)
    # The other folder was indexed (3 embedded) and then removed: the watched one is whole.
    assert "Embedded 3" in results["index"].stdout
    assert [f["path"] for f in st["folders"]] == [str(photo_dir)] and st["pending"] == 0
    assert photoclip("albums", "list", env=env).stdout.startswith("cats")
    assert "Cats" in photoclip("labels", "list", env=env).stdout
    code, err = watching.stop()
    assert code == 0 and "Traceback" not in err, err
