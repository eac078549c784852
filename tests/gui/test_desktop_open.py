"""Opening a file with the desktop's program: xdg-open's failure is noticed and answered
with where the file is (Qt's openUrl said yes as soon as xdg-open started, so a computer
with no viewer or file manager set up showed nothing at all)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from photoclip.gui.services import desktop_open

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xdg-open is the Linux way")


def fake_xdg_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exit_code: int) -> Path:
    """An xdg-open first on PATH that records what it was asked and exits with `exit_code`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "asked.txt"
    script = bin_dir / "xdg-open"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\nexit {exit_code}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_a_desktop_that_cannot_open_the_file_is_noticed(qtbot, tmp_path, monkeypatch):
    asked = fake_xdg_open(tmp_path, monkeypatch, exit_code=3)  # xdg-open's "no method available"
    failed: list[str] = []
    photo = tmp_path / "café crème.jpg"
    photo.write_bytes(b"x")
    assert desktop_open.open_with_desktop(photo, failed.append) is True
    qtbot.waitUntil(lambda: failed == [str(photo)], timeout=10000)
    assert asked.read_text(encoding="utf-8").splitlines() == [str(photo)]
    assert not desktop_open._PENDING


def test_a_desktop_that_opens_the_file_is_left_alone(qtbot, tmp_path, monkeypatch):
    fake_xdg_open(tmp_path, monkeypatch, exit_code=0)
    failed: list[str] = []
    assert desktop_open.open_with_desktop(tmp_path, failed.append) is True
    qtbot.waitUntil(lambda: not desktop_open._PENDING, timeout=10000)
    assert failed == []


def test_no_xdg_open_at_all_is_a_plain_no(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert desktop_open.open_with_desktop(tmp_path, lambda _: pytest.fail("nothing was asked")) is False


def test_open_with_system_viewer_says_where_the_photo_is_when_nothing_opens_it(qtbot, tmp_path, monkeypatch):
    from photoclip.gui.windows.grid_actions import open_path

    fake_xdg_open(tmp_path, monkeypatch, exit_code=3)
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(b"x")
    assert open_path(photo) is True

    def box() -> QMessageBox | None:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and str(photo) in w.text()]
        return found[0] if found else None

    qtbot.waitUntil(lambda: box() is not None, timeout=10000)
    shown = box()
    assert shown is not None and str(photo) in shown.text() and "No program to open" in shown.informativeText()
    shown.close()
