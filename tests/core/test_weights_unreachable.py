"""A download on a computer that cannot reach the hub fails at once, in a sentence.

The test run sets HF_HUB_OFFLINE=1 (tests/conftest.py), and then huggingface_hub refuses
every request before trying: that hid what a newcomer whose computer is offline without
that variable saw. huggingface_hub then retries each of the two file names five times with
growing pauses (about 50 seconds in all, for `photoclip index` and the window's Download
button alike) and prints two warnings per attempt before photoclip could say anything.
Here the hub is a closed port on this machine, so nothing leaves it.
"""

from __future__ import annotations

import logging
import socket

import pytest

from photoclip.core.model import ModelChoice
from photoclip.core.model import weights as weights_module
from photoclip.core.model.offline import WeightsDownloadFailed
from tests.conftest import TINY_MODEL


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_hub(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The hub at a port nobody listens on, downloads allowed; returns the pauses of any retry."""
    import huggingface_hub
    import open_clip
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(open_clip, "list_pretrained_tags_by_model", lambda name: ["demo"])
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda name, tag: {"hf_hub": "someone/tiny-clip/", "url": ""})
    pauses: list[float] = []
    # A retry sleeps before trying again: record the pause instead of waiting it out.
    monkeypatch.setattr(_http.time, "sleep", pauses.append)
    return pauses


def test_an_unreachable_hub_is_reported_without_retrying(unreachable_hub, caplog):
    caplog.set_level(logging.WARNING)
    with pytest.raises(WeightsDownloadFailed) as info:
        weights_module.resolve_weights(ModelChoice(TINY_MODEL, "demo"))
    assert unreachable_hub == [], "huggingface_hub retried (and slept) before photoclip answered"
    assert "could not be reached" in str(info.value)
    # The command line prints "photoclip: " + this; it read "photoclip: photoclip could not download ...".
    assert not str(info.value).lower().startswith("photoclip")
    assert "Retrying" not in caplog.text and "thrown while requesting" not in caplog.text
