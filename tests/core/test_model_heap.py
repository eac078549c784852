"""heap.give_back_freed_memory: the pages a thread freed go back to the system (glibc)."""

from __future__ import annotations

import sys
import threading

import pytest

from photoclip.core.model.heap import give_back_freed_memory


def resident_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim; elsewhere nothing is done")
def test_memory_a_thread_freed_is_given_back() -> None:
    """As torch's threads free a batch's activations: 200 MB in 64 KB blocks (below glibc's
    mmap threshold, so from the thread's heap), all freed but the last, which pins the
    heap's top so that nothing goes back on its own."""
    kept: list[bytearray] = []

    def work() -> None:
        blocks = [bytearray(b"\1" * (64 << 10)) for _ in range(3200)]
        kept.append(blocks[-1])
        del blocks

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    before = resident_mb()
    assert give_back_freed_memory()
    after = resident_mb()
    assert before - after > 100, (before, after)
