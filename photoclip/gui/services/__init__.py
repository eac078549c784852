"""Background services of the app: the worker abstraction, indexer, tagger, thumbnails, model, reveal."""
