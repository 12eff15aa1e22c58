"""Data for the homeworks: locating, downloading (checksummed) and parsing MNIST-format IDX files.

Typical use: ``files = load_mnist_files("fashion-mnist")`` (or "mnist"; ``data_dir=...``,
``download=False``), then ``read_idx(files.train_images)``, a uint8 array of shape (60000, 28, 28).
"""

from __future__ import annotations

from .catalog import DATASETS, FASHION_MNIST, MNIST, DatasetSpec, FileSpec, dataset_spec
from .checksums import ChecksumMismatch, content_sha256, sha256_file, verify_archive, verify_content
from .download import DatasetUnavailable, DownloadError, download_file
from .idx import parse_idx, read_idx
from .locate import ENV_DATA_DIR, DatasetFiles, candidate_dirs, default_cache_dir, load_mnist_files

__all__ = [
    "DATASETS",
    "ENV_DATA_DIR",
    "FASHION_MNIST",
    "MNIST",
    "ChecksumMismatch",
    "DatasetFiles",
    "DatasetSpec",
    "DatasetUnavailable",
    "DownloadError",
    "FileSpec",
    "candidate_dirs",
    "content_sha256",
    "dataset_spec",
    "default_cache_dir",
    "download_file",
    "load_mnist_files",
    "parse_idx",
    "read_idx",
    "sha256_file",
    "verify_archive",
    "verify_content",
]
