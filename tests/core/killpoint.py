"""Run the photoclip CLI with one function made to stop at a chosen call, for SIGKILL tests.

    python -m tests.core.killpoint MODULE:ATTR[.ATTR] before|after N -- CLI ARGS...

At the Nth call of the function (before it runs, or after it returned) the process prints
KILLPOINT on stderr and waits forever: the test reads that line, then kills it. No sleep
decides where the kill lands; the program's own code path does.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from typing import Any


def install(target: str, when: str, nth: int) -> None:
    module_name, _, attr_path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = attr_path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)
    calls = 0
    lock = threading.Lock()

    def stop() -> None:
        sys.stderr.write("KILLPOINT\n")
        sys.stderr.flush()
        threading.Event().wait()  # until SIGKILL

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        with lock:
            calls += 1
            here = calls == nth
        if here and when == "before":
            stop()
        result = original(*args, **kwargs)
        if here and when == "after":
            stop()
        return result

    setattr(owner, name, wrapper)


if __name__ == "__main__":
    target, when, nth, dashes, *cli = sys.argv[1:]
    assert dashes == "--" and when in ("before", "after")
    install(target, when, int(nth))
    from photoclip.cli.main import run

    sys.exit(run(cli))
