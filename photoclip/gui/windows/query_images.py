"""Image files in a query (a dropped photo, "find similar" on a file): read before the search.

The library thread used to decode such a file inside the search, and every other library
job (the sidebar, a tag edit, the next search) waited behind it: seconds for a huge photo,
longer for one on a slow drive. Now the file is decoded in the window's job pool and only
embedded on the model's thread; the search on the library thread gets the vector. A
library photo still answers with its stored vector there, as the command line's does.
A newer query (typing, another drop, browsing) drops what is still on its way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.model import Embedder, normalize
from photoclip.core.search import QueryTerm
from photoclip.core.search.query import decode_query_image, image_file, stored_image_vector
from photoclip.gui.services.workers import Worker
from photoclip.gui.windows.base import WindowPart

IMAGES_KEPT = 16  # query images kept embedded, so that changing a filter does not read the file again


class QueryImagesCancelled(Exception):
    """A newer query came while the images were being read: nothing to show."""


def with_image_vectors(
    lib: Library, terms: Sequence[QueryTerm], vectors: Mapping[str, np.ndarray], model_id: str
) -> tuple[list[QueryTerm], list[str]]:
    """Library thread: the image terms as vector terms (a library photo's stored vector,
    else the one embedded off this thread), and the files that have neither: never decoded
    here, they go back to the window to be read (`QueryImages.read_query_images`)."""
    out: list[QueryTerm] = []
    missing: list[str] = []
    for term in terms:
        if term.kind != "image":
            out.append(term)
            continue
        path = str(term.value)
        vector = stored_image_vector(lib, path, model_id)
        if vector is None:
            vector = vectors.get(path)
        if vector is None:
            missing.append(path)
        else:
            out.append(QueryTerm("vector", vector, term.weight))
    return out, missing


def decode_all(paths: Sequence[str], size: int, cancel: CancelToken) -> np.ndarray:
    """Job pool: the files as one batch of model input; stops between files once cancelled."""
    arrays = []
    for path in paths:
        if cancel.cancelled:
            raise QueryImagesCancelled
        arrays.append(decode_query_image(image_file(path), size))
    return np.stack(arrays)


class QueryImages(WindowPart):
    _images_kept: OrderedDict[tuple[str, str], np.ndarray] | None = None  # (model id, path) -> unit vector
    _images_job: tuple[Worker, int] | None = None  # the decode or the embedding on its way
    _images_wanted: tuple[str, tuple[str, ...]] | None = None  # (model id, paths) that job reads

    def query_image_vectors(self, paths: Sequence[str]) -> dict[str, np.ndarray] | None:
        """The embedded vectors of these files, or None: some are still to be read, which is
        started here (unless already on its way), and the query runs again once they are."""
        embedder = self.embedder
        if embedder is None:
            return {}
        # Every file kept goes along, not only the chips': a file name typed in the bar is
        # found on the library thread, which sends it back here once (see with_image_vectors).
        vectors = {path: vector for (model_id, path), vector in self._kept().items() if model_id == embedder.model_id}
        unread = [p for p in dict.fromkeys(paths) if p not in vectors]
        if not unread:
            return vectors
        self.read_query_images(unread)
        return None

    def read_query_images(self, paths: Sequence[str]) -> None:
        """Decode `paths` in the job pool, embed them on the model's thread, then run the query again."""
        embedder = self.embedder
        if embedder is None:
            return
        wanted = (embedder.model_id, tuple(paths))
        if self._images_job is not None and self._images_wanted == wanted:
            return  # already on its way (a filter changed meanwhile): its end runs the query as it is then
        self.forget_query_images()
        self._images_wanted = wanted
        size = embedder.input_size

        def decoded(batch: np.ndarray) -> None:
            self._images_job = (self.model_pool, self.model_pool.submit(lambda _cancel: _embed(embedder, batch), embedded, failed))

        def embedded(vectors: np.ndarray) -> None:
            self._images_job = self._images_wanted = None
            kept = self._kept()
            for path, vector in zip(paths, vectors, strict=True):
                kept[(embedder.model_id, path)] = vector
                kept.move_to_end((embedder.model_id, path))
            while len(kept) > max(IMAGES_KEPT, len(paths)):  # never the files this query is about to use
                kept.popitem(last=False)
            self.run_query()

        def failed(exc: BaseException) -> None:
            self._images_job = self._images_wanted = None
            if not isinstance(exc, QueryImagesCancelled):
                self._query_failed(exc)

        self._images_job = (self.pool, self.pool.submit(lambda cancel: decode_all(paths, size, cancel), decoded, failed))

    def forget_query_images(self) -> None:
        """Another query: the files still being read are not wanted any more."""
        job, self._images_job, self._images_wanted = self._images_job, None, None
        if job is not None:
            worker, token = job
            worker.cancel(token)  # a decode stops before its next file
            worker.discard(token)  # and its result, or the embedding's, is never used

    def _kept(self) -> OrderedDict[tuple[str, str], np.ndarray]:
        if self._images_kept is None:
            self._images_kept = OrderedDict()
        return self._images_kept


def _embed(embedder: Embedder, batch: np.ndarray) -> np.ndarray:
    """The model's thread: the decoded files' unit vectors."""
    vectors: np.ndarray = normalize(np.asarray(embedder.embed_images(batch), np.float32))
    return vectors
