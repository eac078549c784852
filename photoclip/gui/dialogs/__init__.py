"""The dialogs: labels, settings, the photo viewer."""
