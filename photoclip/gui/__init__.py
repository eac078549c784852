"""The desktop app. The only package that imports Qt (PySide6).

Rules kept here: no SQL and no torch in this package (it calls `photoclip.core`);
nothing slow on the GUI thread (model load, text embedding, SQLite writes,
full-size decodes run in workers); QPixmap is only ever made on the GUI thread.
"""
