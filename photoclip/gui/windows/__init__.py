"""The main window, split by job: layout, sidebar, queries, grid actions, drops, tagging commands."""
