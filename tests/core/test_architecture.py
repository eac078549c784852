"""The core must work with no Qt at all; the import contracts in pyproject.toml must hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_imports_with_qt_unavailable():
    code = (
        "import sys, importlib, pkgutil\n"
        "sys.modules['PySide6'] = None\n"  # any `import PySide6` now raises ImportError
        "sys.modules['shiboken6'] = None\n"
        "import photoclip.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__):\n"
        "    importlib.import_module('photoclip.core.' + m.name)\n"
        "import photoclip.cli\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 2 kept, 0 broken" in proc.stdout or "0 broken" in proc.stdout
