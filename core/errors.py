"""Errors that reach the user as a one-line message (exit status 2 on the command line, a dialog
in the app), as opposed to bugs, which keep their traceback."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input: a missing or unreadable file, a malformed config, an unusable sequence.

    The message names the file (when there is one) and the problem, on one line.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        text = f"{self.path}: {message}" if self.path is not None else message
        super().__init__(" ".join(text.split()))


class CancelledError(Exception):
    """A long job was cancelled by the user (GUI Cancel button, Ctrl-C); partial results are kept."""
