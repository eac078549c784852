"""XMP sidecars: `sidecar` (export and the names other code uses), `keywords` (files' keywords,
import as tags), `merge` (keywords in a parsed document), `document` (lossless parse and
write-back), `files` (paths, and reading and replacing regular files only)."""
