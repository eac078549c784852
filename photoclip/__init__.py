"""photoclip: a local photo organizer with CLIP search and open-vocabulary tagging."""

__version__ = "0.1.0"
