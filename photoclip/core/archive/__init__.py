"""Archives past one machine: embedding on a Ray cluster into Parquet shards, and importing them.

The top layer of the engine: it reuses the index's decoding (ingest), the model and the
library's SQL, and nothing below imports it. Ray and pyarrow come with the optional
`photoclip[cluster]` extra, so this package's own import needs neither; the modules
that do (shards, pipeline, tasks, importer) are imported only by the two commands, after
`require_cluster_extra` has said clearly what is missing.
"""

from __future__ import annotations

from photoclip.core.archive.extra import require_cluster_extra

__all__ = ["require_cluster_extra"]
