"""The photoclip engine. Nothing in this package may import Qt (enforced by import-linter)."""
