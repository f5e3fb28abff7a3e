"""The package's error types: one base, :class:`GsfmError`, for every bad-input error.

Why one base: a caller (the command line, a notebook, a test) can catch every "this file or
argument is wrong" error of the package in one ``except GsfmError`` and print its one-line
message, while a bug (a ``TypeError`` from our own code) still shows its traceback.

Each error carries the offending ``path`` (or ``None`` when the problem is not one file) and
names it in its message. The concrete types also inherit the built-in exception that callers
caught before this module existed (``FileNotFoundError`` / ``ValueError``), so existing
``except ValueError`` code keeps working.

This module imports nothing: every layer may raise these errors.
"""

from __future__ import annotations

import os

__all__ = ["DataError", "GsfmError", "MissingFileError"]


class GsfmError(Exception):
    """Bad input: a file, folder or argument that gsfm refuses, said in one line.

    ``path`` is the file or folder at fault (also named in the message), or ``None``.
    """

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


class DataError(GsfmError, ValueError):
    """A file that exists but cannot be used: corrupt, truncated, of the wrong kind or size."""


class MissingFileError(GsfmError, FileNotFoundError):
    """A file or folder that should be there and is not."""
