"""Work-arounds for bugs in the Qt binding, each detected at run time rather than assumed.

PySide6 6.12.0: `SignalInstance.emit()` returns `True` without taking a reference
to it, so every emit from Python leaves `True` one reference short. `True` starts
with a few hundred references, so after a few hundred emits (a scrolled grid
emits one per thumbnail) CPython aborts with "bool_dealloc: deallocating True".
`emit()` below gives the reference back when the binding is found to drop it.
Giving back a reference the binding did keep would only make `True` immortal,
which it is meant to be anyway, so the check is safe whichever way it goes.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


def _emit_drops_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    result = probe.ping.emit()  # type: ignore[func-returns-value]  # the binding returns True; the stubs say None
    after = sys.getrefcount(True)
    del result
    lost = before - sys.getrefcount(True)
    # Repair what the probe itself took before deciding.
    for _ in range(max(0, lost)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return after - before < 1  # holding `result` should have added one reference


EMIT_DROPS_REFERENCE = _emit_drops_reference()


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, safe on bindings whose emit() under-counts its result."""
    result = signal.emit(*args)
    if EMIT_DROPS_REFERENCE and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))


# The same binding drops a reference to None/True/False when a QVariant holding nothing
# (or a bool) comes back to Python, e.g. `QModelIndex.data()` for an empty role. Such
# calls are avoided on hot paths (the grid's delegate asks the Python model directly),
# but they cannot all be avoided. Python 3.12 made these singletons immortal (PEP 683)
# for this very class of bug; on 3.11 the same effect is had by giving each a large
# reserve of references, topped up by the window now and then. Only done when the
# binding is measured to leak, and harmless otherwise: these objects are never freed.
_RESERVE = 1 << 40


def _variant_drops_reference() -> bool:
    from PySide6.QtCore import QModelIndex

    index = QModelIndex()
    before = sys.getrefcount(None)
    for _ in range(4):
        index.data()
    lost = before - sys.getrefcount(None)
    for _ in range(max(0, lost)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return lost > 0


VARIANT_DROPS_REFERENCE = _variant_drops_reference()
_NEEDS_RESERVE = (EMIT_DROPS_REFERENCE or VARIANT_DROPS_REFERENCE) and sys.implementation.name == "cpython" and sys.version_info < (3, 12)


def keep_singletons_alive() -> None:
    """Top up the reference reserve of None, True and False (see above); cheap, idempotent."""
    if not _NEEDS_RESERVE:
        return
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object
        if refcount.value < _RESERVE // 2:
            refcount.value += _RESERVE
