"""The desktop entry: installed by the real command into XDG_DATA_HOME, and valid."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_packaging_copies_match_the_package() -> None:
    names = ["photoclip.desktop", "photoclip.svg", "io.github.photoclip.metainfo.xml"]
    match, mismatch, errors = filecmp.cmpfiles(ROOT / "resources", ROOT / "photoclip" / "resources", names, shallow=False)
    assert sorted(match) == sorted(names), (mismatch, errors)


@pytest.mark.slow
def test_install_desktop_entry(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"))
    done = subprocess.run(
        [sys.executable, "-m", "photoclip", "--install-desktop-entry"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    entry = tmp_path / "share" / "applications" / "io.github.photoclip.desktop"
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "io.github.photoclip.svg"
    assert entry.is_file() and icon.is_file()
    assert (tmp_path / "share" / "metainfo" / "io.github.photoclip.metainfo.xml").is_file()
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" %U") and "photoclip" in exec_line
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed")
    checked = subprocess.run([validator, str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
