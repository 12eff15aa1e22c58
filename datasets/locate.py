"""Finding a data set's four IDX files on disk, downloading them when they are nowhere.

Places searched, in order (the first holding all four files, verified, wins):

1. ``data_dir``, the function argument;
2. the folder in the environment variable ``DLHW_DATA_DIR``;
3. folders where OS packages put the data (Debian's ``dataset-fashion-mnist``:
   ``/usr/share/datasets/fashion-mnist``);
4. the per-user cache, ``$XDG_CACHE_HOME/dlhw/<name>`` (default ``~/.cache/dlhw/<name>``).

A user folder (1 or 2) may hold the files directly or in a subfolder named after the data set
(``mnist/``, ``fashion-mnist/``), so one ``DLHW_DATA_DIR`` can hold both. Each file may be gzip
(``train-images-idx3-ubyte.gz``) or plain (``train-images-idx3-ubyte``). Downloads go to
``<data_dir>/<name>``, else ``$DLHW_DATA_DIR/<name>``, else the cache.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalog import DatasetSpec, FileSpec, dataset_spec
from .checksums import ChecksumMismatch, verify_content
from .download import DEFAULT_TIMEOUT_S, DatasetUnavailable, DownloadError, download_file

ENV_DATA_DIR = "DLHW_DATA_DIR"


@dataclass(frozen=True)
class DatasetFiles:
    """Where the four files of a data set are."""

    name: str
    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path

    @property
    def directory(self) -> Path:
        return self.train_images.parent


@dataclass(frozen=True)
class Candidate:
    """A folder that may hold the data set, and why it is searched (for messages)."""

    directory: Path
    origin: str


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dlhw``, or ``~/.cache/dlhw``; data sets live in subfolders by name."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlhw"


def candidate_dirs(
    spec: DatasetSpec,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Candidate]:
    """The folders searched for ``spec``, in order (see the module docstring)."""
    found: list[Candidate] = []
    env_dir = os.environ.get(ENV_DATA_DIR)
    for root, origin in ((data_dir, "data_dir argument"), (env_dir, f"${ENV_DATA_DIR}")):
        if root:
            root = Path(root).expanduser()
            found += [Candidate(root / spec.name, origin), Candidate(root, origin)]
    found += [Candidate(Path(d), origin) for d, origin in spec.system_dirs]
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    found.append(Candidate(cache / spec.name, "download cache"))
    return found


def find_file(directory: Path, spec: FileSpec) -> Path | None:
    """``directory/<name>.gz`` or ``directory/<name>``, whichever exists (gzip first)."""
    for name in (spec.filename, spec.stem):
        path = directory / name
        if path.is_file():
            return path
    return None


def _files_in(directory: Path, spec: DatasetSpec, verify: bool) -> DatasetFiles | str:
    """The data set's files in ``directory``, or the reason they are not usable there."""
    if not directory.is_dir():
        return "no such folder"
    paths = [find_file(directory, f) for f in spec.files]
    missing = [f.filename for f, p in zip(spec.files, paths, strict=True) if p is None]
    if missing:
        return "missing " + ", ".join(missing)
    present = [p for p in paths if p is not None]
    if verify:
        for path, file_spec in zip(present, spec.files, strict=True):
            try:
                verify_content(path, file_spec)
            except ChecksumMismatch as err:
                warnings.warn(f"skipping {directory}: {err}", stacklevel=3)
                return str(err)
    return DatasetFiles(spec.name, *present)


def load_mnist_files(
    name: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    verify: bool = True,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> DatasetFiles:
    """Locate (downloading if allowed) the four IDX files of ``name`` ("mnist" | "fashion-mnist").

    Files found on disk are checked by the SHA-256 of their decompressed bytes (``verify``);
    downloads by the SHA-256 of the archive. ``mirrors`` overrides the data set's mirror list.
    Raises DatasetUnavailable saying what was looked for where, and why each place failed.
    """
    spec = dataset_spec(name)
    candidates = candidate_dirs(spec, data_dir, cache_dir)
    reasons: list[str] = []
    for cand in candidates:
        result = _files_in(cand.directory, spec, verify)
        if isinstance(result, DatasetFiles):
            return result
        reasons.append(f"  {cand.directory} ({cand.origin}): {result}")

    wanted = ", ".join(f.filename for f in spec.files)
    where = "\n".join(reasons)
    summary = f"{spec.title} is not available. Looked for {wanted} (gzip or not) in:\n{where}"
    fix = (
        f"Fix: pass data_dir=<folder with the files>, set {ENV_DATA_DIR}, "
        + "".join(f"install the {how}, " for _, how in spec.system_dirs)
        + "or allow the download (needs internet)."
    )
    if not download:
        raise DatasetUnavailable(f"{summary}\nDownloading is disabled (download=False).\n{fix}")

    target = candidates[0].directory if (data_dir or os.environ.get(ENV_DATA_DIR)) else None
    target = target or candidates[-1].directory
    try:
        for file_spec in spec.files:
            present = find_file(target, file_spec)
            if present is not None and _verifies(present, file_spec):
                continue
            download_file(file_spec, spec.mirrors if mirrors is None else mirrors, target, timeout)
    except DownloadError as err:
        raise DatasetUnavailable(f"{summary}\nDownload failed: {err}") from err
    result = _files_in(target, spec, verify=False)  # downloads were verified as they arrived
    assert isinstance(result, DatasetFiles), result
    return result


def _verifies(path: Path, spec: FileSpec) -> bool:
    try:
        verify_content(path, spec)
    except ChecksumMismatch:
        return False
    return True
