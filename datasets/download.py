"""Downloading data files from a list of mirrors, each verified by SHA-256 before it is kept.

A file is streamed into a temporary file next to its destination, its SHA-256 compared with the
catalogue's, and only then renamed into place, so an interrupted or corrupt download never leaves a
file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalog import FileSpec
from .checksums import CHUNK, ChecksumMismatch

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DownloadAttempt:
    url: str
    error: str


class DatasetUnavailable(RuntimeError):
    """A data set could not be found on disk nor downloaded; the message says where we looked."""


class DownloadError(DatasetUnavailable):
    """Every mirror failed for one file; the message lists each URL tried and its error."""

    def __init__(self, spec: FileSpec, attempts: Sequence[DownloadAttempt], dest: Path) -> None:
        self.spec = spec
        self.attempts = tuple(attempts)
        self.dest = dest
        tried = "\n".join(f"  {a.url}: {a.error}" for a in self.attempts) or "  (no mirrors given)"
        super().__init__(
            f"could not download {spec.filename}; tried:\n{tried}\n"
            f"If this machine is offline, get the files elsewhere and either place them in "
            f"{dest}, set DLHW_DATA_DIR to a folder holding them, or pass data_dir=..."
        )


def download_file(
    spec: FileSpec,
    mirrors: Sequence[str],
    dest_dir: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Fetch ``spec.filename`` from the first mirror that serves it intact; return its path.

    Raises DownloadError when every mirror fails (unreachable, HTTP error, wrong size or checksum).
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / spec.filename
    attempts: list[DownloadAttempt] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + spec.filename
        try:
            _fetch_verified(url, spec, dest, timeout)
        except (OSError, ValueError) as err:  # URLError and socket errors are OSErrors
            attempts.append(DownloadAttempt(url, f"{type(err).__name__}: {err}"))
            continue
        return dest
    raise DownloadError(spec, attempts, dest_dir)


def _fetch_verified(url: str, spec: FileSpec, dest: Path, timeout: float) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > spec.archive_size:
                    raise ValueError(f"more than the expected {spec.archive_size} bytes")
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual != spec.archive_sha256:
            raise ChecksumMismatch(url, spec.archive_sha256, actual, f"download of {spec.filename}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
