"""SHA-256 of files and of their decompressed contents, and the error for a mismatch."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib

from .catalog import FileSpec
from .idx import open_maybe_gzip

CHUNK = 1 << 20


class ChecksumMismatch(ValueError):
    """A file's SHA-256 is not the expected one. ``source`` is its path or URL."""

    def __init__(
        self, source: str | os.PathLike[str], expected: str, actual: str, what: str
    ) -> None:
        self.source = str(source)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"checksum mismatch for {self.source} ({what}): "
            f"expected SHA-256 {expected}, got {actual}"
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, as ``sha256sum`` prints it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's contents after gzip decompression (of the bytes as is if plain)."""
    digest = hashlib.sha256()
    try:
        with open_maybe_gzip(path) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{path}: truncated or corrupt gzip stream ({err})") from err
    return digest.hexdigest()


def verify_archive(path: str | os.PathLike[str], spec: FileSpec) -> None:
    """Check a downloaded ``.gz`` byte for byte against ``spec.archive_sha256``."""
    actual = sha256_file(path)
    if actual != spec.archive_sha256:
        raise ChecksumMismatch(path, spec.archive_sha256, actual, f"download of {spec.filename}")


def verify_content(path: str | os.PathLike[str], spec: FileSpec) -> None:
    """Check a file found on disk (gzip or not) by its decompressed bytes."""
    try:
        actual = content_sha256(path)
    except ValueError as err:
        raise ChecksumMismatch(path, spec.content_sha256, f"unreadable ({err})", spec.stem) from err
    if actual != spec.content_sha256:
        raise ChecksumMismatch(path, spec.content_sha256, actual, f"decompressed {spec.stem}")
