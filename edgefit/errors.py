"""One exception hierarchy for everything a user can get wrong.

The CLI turns any ``EdgefitError`` into a one-line message on stderr and exit code 2; anything else is a bug.
Each message names the file (and the op, tensor or field where there is one) and says what is wrong.
"""

from __future__ import annotations

from pathlib import Path


class EdgefitError(Exception):
    """Bad input from the user: exit code 2, a one-line message, never a traceback."""

    exit_code = 2

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else str(path)
        self.detail = " ".join(message.split())  # always one line
        super().__init__(f"{self.path}: {self.detail}" if self.path else self.detail)


class ModelFileError(EdgefitError):
    """The model file is missing, unreadable, empty or not a file."""


class UnsupportedFormatError(EdgefitError):
    """The file is not a format edgefit reads (or its extension says one format and its bytes another)."""


class CorruptModelError(EdgefitError):
    """The file claims to be a model but its bytes do not decode (truncated, corrupt, random)."""


class ExternalDataError(EdgefitError):
    """ONNX external data is missing, points outside the model's directory, or is shorter than declared."""


class SpecError(EdgefitError):
    """A device spec (YAML) or a --set override is invalid."""


class UsageError(EdgefitError):
    """A command-line option or API argument is invalid."""
