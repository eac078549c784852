"""Finding a model's weights: the user's file, the Hugging Face cache open_clip uses, or a
download with progress; and the message that says what to do when none of these works.

open_clip and huggingface_hub are imported inside the functions: importing this module
costs nothing."""

from __future__ import annotations

import os
from typing import Any

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model.choice import ModelChoice, checkpoint_problem
from photoclip.core.model.importing import config_file, import_open_clip, user_config_locations
from photoclip.core.model.offline import download_failed, hub_files
from photoclip.core.model.protocol import ProgressCallback


def register_extra_model_configs() -> None:
    """Let users (and tests) add open_clip architectures from JSON configs.

    Looked up in PHOTOCLIP_MODEL_CONFIGS (a folder or file) and <config dir>/models.
    """
    import open_clip

    for candidate in user_config_locations():
        if os.path.exists(candidate):
            open_clip.add_model_config(candidate)


class _ProgressBar:
    """A tqdm stand-in handed to huggingface_hub so download bytes reach our callback."""

    def __init__(self, callback: ProgressCallback, what: str) -> None:
        self._callback = callback
        self._what = what

    def make(self) -> type[Any]:
        from tqdm import tqdm

        callback, what = self._callback, self._what

        class Forwarding(tqdm):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True
                super().__init__(*args, **kwargs)
                self._done = 0
                self._total = kwargs.get("total")

            def update(self, n: float | None = 1) -> bool | None:
                self._done += int(n or 0)
                callback(self._done, self._total, what)
                return None

        return Forwarding


def resolve_weights(choice: ModelChoice, progress: ProgressCallback | None = None) -> str:
    """A local checkpoint path for the choice: the user's file, or open_clip's download.

    Raises ModelUnavailable; a failed download raises WeightsDownloadFailed, whose message and
    `route` name the file to fetch by hand.
    """
    import open_clip

    if choice.weights_is_file:
        problem = checkpoint_problem(choice.weights)
        if problem is not None:
            raise ModelUnavailable(f"The model weights file {choice.weights} {problem}.")
        return choice.weights
    tags = open_clip.list_pretrained_tags_by_model(choice.name)
    if choice.weights not in tags:
        known = ", ".join(tags) if tags else "none"
        raise ModelUnavailable(f"open_clip has no pretrained weights {choice.weights!r} for {choice.name} (known: {known}).")
    cfg = open_clip.get_pretrained_cfg(choice.name, choice.weights)
    hub = cfg.get("hf_hub") or ""
    url = cfg.get("url") or ""
    try:
        if hub:
            return _download_from_hub(hub, progress)
        return str(open_clip.pretrained.download_pretrained_from_url(url, cache_dir=None))
    except Exception as exc:
        raise download_failed(choice, exc) from exc


# torch's refusal of a pickle that holds more than tensors ends by suggesting
# weights_only=False, i.e. running the file's code: never advice to pass on to a user.
REFUSED_PICKLE = (
    "it holds Python objects besides tensors, which could run code when opened, so photoclip "
    "refuses it (use a file that holds only the weights: a state dict or .safetensors)"
)


def short_reason(exc: BaseException) -> str:
    import pickle

    if isinstance(exc, pickle.UnpicklingError) and "weights only load failed" in str(exc).lower():
        return REFUSED_PICKLE
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _cached_hub_file(hub: str) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    repo_id, names = hub_files(hub)
    for name in names:
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return cached
    return None


def weights_available(choice: ModelChoice) -> bool:
    """Whether loading `choice` needs no download (imports open_clip: call it off the GUI thread).

    A file choice or an unknown name answers True: the load itself reports those problems.
    """
    if choice.weights_is_file:
        return True
    # The app asks this before it loads: imported here as the load imports it (without
    # timm and torch's compiler where the model needs neither), not whole.
    open_clip = import_open_clip(config_file(choice.name))
    register_extra_model_configs()
    try:
        cfg = open_clip.get_pretrained_cfg(choice.name, choice.weights)
    except Exception:
        return True
    hub = (cfg or {}).get("hf_hub") or ""
    if not hub:
        return True  # URL-hosted weights: the load finds or fetches them
    return _cached_hub_file(hub) is not None


def _download_from_hub(hub: str, progress: ProgressCallback | None) -> str:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    cached = _cached_hub_file(hub)
    if cached is not None:
        return cached
    repo_id, names = hub_files(hub)
    _require_reachable_hub(repo_id, names[0])
    tqdm_class = _ProgressBar(progress, repo_id).make() if progress else None
    for name in names[:-1]:
        try:
            return hf_hub_download(repo_id=repo_id, filename=name, tqdm_class=tqdm_class)
        except EntryNotFoundError:
            continue  # this repo has the other file format; any other error is final
    return hf_hub_download(repo_id=repo_id, filename=names[-1], tqdm_class=tqdm_class)


class HubUnreachable(ConnectionError):
    """The download site did not answer at all (no network, no name resolution, a firewall)."""


def _require_reachable_hub(repo_id: str, name: str) -> None:
    """Ask the hub once, without retries, before hf_hub_download does.

    When no copy is cached, hf_hub_download retries a request that failed on the network five
    times with growing pauses (about 25 s per file name, two warnings per try): on an offline
    computer that was most of a minute of noise before photoclip could say what to do. Any
    answer from the site (even "no such file") lets the download go on and give its own error.
    """
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    if constants.HF_HUB_OFFLINE:
        return  # hf_hub_download refuses at once, with its own offline error
    try:
        get_hf_file_metadata(hf_hub_url(repo_id, name), timeout=10)
    except HfHubHTTPError:
        return
    except Exception as exc:
        raise HubUnreachable(f"no answer from the download site: {exc}") from exc


def describe_models() -> list[tuple[str, str]]:
    """(architecture, pretrained tag) pairs open_clip can download."""
    import open_clip

    return list(open_clip.list_pretrained())


def buildable_architectures() -> list[str]:
    """Every architecture open_clip can build, those from the user's own configs included:
    with a checkpoint file no pretrained tag is needed, so these are all a file can be for."""
    import open_clip

    register_extra_model_configs()
    return list(open_clip.list_models())
