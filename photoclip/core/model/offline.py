"""The offline route: which file to fetch on another computer for a chosen model, and the
words that say so when a download fails (never the download library's own exception text,
which is written for programmers; that goes to the log).

open_clip is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass

from photoclip.core.errors import ModelUnavailable, os_problem
from photoclip.core.model.choice import ModelChoice

log = logging.getLogger(__name__)

HUB_PAGE = "https://huggingface.co"
# The file names open_clip asks the hub for, in its order, when the config names only the repository.
HUB_FILE_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
HOW_TO_CHOOSE = (
    "choose it as the checkpoint file (in the app: File → Settings… → Search model → Checkpoint file; "
    "or `--weights FILE` on the command line)"
)


def hub_files(hub: str) -> tuple[str, list[str]]:
    """open_clip writes "org/repo/" or "org/repo/filename": the same split it uses."""
    repo_id, filename = hub[: hub.rfind("/")], hub[hub.rfind("/") + 1 :]
    return repo_id, [filename] if filename else list(HUB_FILE_NAMES)


@dataclass(frozen=True)
class OfflineRoute:
    """Where a model's weights come from, so a user can fetch the file by hand."""

    model: str
    weights: str
    page: str  # the web page that lists the file
    file_name: str  # the file to download from it
    file_url: str  # a direct link to that file
    alternative: str | None = None  # another name the same weights may have on that page
    looked_in: str | None = None  # the download cache folder photoclip looks in before downloading

    def instructions(self, how_to_choose: str = HOW_TO_CHOOSE) -> str:
        """What to do without a connection, in a few sentences (how_to_choose: the CLI's or the window's words).

        The command line's error and the window's banner both say exactly this: one wording.
        """
        other = f" (if the page has only {self.alternative}, that one)" if self.alternative else ""
        looked = f"photoclip looked for {self.file_name} in {self.looked_in} and did not find it. " if self.looked_in else ""
        return (
            f"{looked}To set {self.model} up without a connection, download {self.file_name}{other} from {self.page} "
            f"on a computer with internet (direct link: {self.file_url}), copy it here and {how_to_choose}. "
            f"The file must be the one made for {self.model}: a checkpoint for another architecture is refused."
        )


def hub_cache_folder(repo_id: str) -> str:
    """The folder of the Hugging Face download cache that holds `repo_id`'s files (HF_HUB_CACHE honoured)."""
    from huggingface_hub import constants

    return os.path.join(constants.HF_HUB_CACHE, "models--" + repo_id.replace("/", "--"))


def offline_route(choice: ModelChoice) -> OfflineRoute | None:
    """The file to fetch for an (architecture, tag) choice; None for a file choice or a pair open_clip does not know.

    Imports open_clip: call it off the GUI thread.
    """
    if choice.weights_is_file:
        return None
    import open_clip

    try:
        cfg = open_clip.get_pretrained_cfg(choice.name, choice.weights) or {}
    except Exception:
        return None
    hub = cfg.get("hf_hub") or ""
    if hub:
        repo_id, names = hub_files(hub)
        page = f"{HUB_PAGE}/{repo_id}"
        return OfflineRoute(
            choice.name,
            choice.weights,
            page=page,
            file_name=names[0],
            file_url=f"{page}/resolve/main/{names[0]}",
            alternative=names[1] if len(names) > 1 else None,
            looked_in=hub_cache_folder(repo_id),
        )
    url = str(cfg.get("url") or "")
    if not url:
        return None
    return OfflineRoute(choice.name, choice.weights, page=url, file_name=url.rsplit("/", 1)[-1], file_url=url)


class WeightsDownloadFailed(ModelUnavailable):
    """A download of a model's weights failed; `route` says which file to fetch by hand."""

    def __init__(self, message: str, route: OfflineRoute | None) -> None:
        super().__init__(message)
        self.route = route


def plain_reason(exc: BaseException) -> str:
    """Why a download failed, in a user's words; the exception itself goes to the log."""
    log.info("weights download failed: %s: %s", type(exc).__name__, exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc).lower()
    if names & {"OfflineModeIsEnabled", "LocalEntryNotFoundError"} or "offline" in text:
        return "this computer is offline (or downloads are switched off), and they are not in the download cache"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
        return f"the download could not be saved: {os_problem(exc)}"
    if names & {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "ProxyError", "SSLError", "URLError"}:
        return "huggingface.co could not be reached"
    if names & {"GatedRepoError", "RepositoryNotFoundError", "EntryNotFoundError", "RevisionNotFoundError", "HTTPError"}:
        return "the download site refused or does not have the file"
    return "the download failed (the details are in the log)"


def download_failed(choice: ModelChoice, exc: BaseException) -> WeightsDownloadFailed:
    route = offline_route(choice)
    # No "photoclip" up front: the command line prefixes "photoclip: " to every error.
    message = f"The weights of {choice.name} ({choice.weights}) could not be downloaded: {plain_reason(exc)}."
    if route is not None:
        message += " " + route.instructions()
    message += " Your library stays browsable meanwhile; photos are embedded once a model is available."
    return WeightsDownloadFailed(message, route)
