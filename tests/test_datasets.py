"""dlhw.datasets: IDX parsing, checksums, locating and (offline) downloading.

Real data come from outside the repository and are never copied into it:
* the MNIST test set in ../shared/datasets/mnist (its README gives the class counts used as oracle);
* Fashion-MNIST from Debian's package dataset-fashion-mnist (`make data`).
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from dlhw.datasets import (
    FASHION_MNIST,
    MNIST,
    ChecksumMismatch,
    DatasetUnavailable,
    DownloadError,
    FileSpec,
    candidate_dirs,
    content_sha256,
    download_file,
    load_mnist_files,
    read_idx,
    sha256_file,
    verify_content,
)

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared/datasets/mnist"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

# ../shared/datasets/README.md: class counts of the MNIST test set, digits 0..9.
MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

needs_shared_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test set is not at {SHARED_MNIST}",
)
needs_fashion = pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or `make data`)",
)


@pytest.fixture(autouse=True)
def _no_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may see the developer's DLHW_DATA_DIR or write to the real ~/.cache."""
    monkeypatch.delenv("DLHW_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """Encode an array as IDX (big-endian), the way the format's spec lays it out."""
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# --- read_idx ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "code"),
    [("u1", 0x08), ("i1", 0x09), ("i2", 0x0B), ("i4", 0x0C), ("f4", 0x0D), ("f8", 0x0E)],
)
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips_every_type(
    tmp_path: Path, dtype: str, code: int, compress: bool
) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    data = idx_bytes(array, code)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)  # exact: integers and exactly representable floats
    assert out.flags.writeable


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x08", "too short"),
        (b"\x01\x02\x08\x01" + b"\x00" * 8, "not an IDX file"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX element type 0x07"),
        (b"\x00\x00\x08\x00", "dimension count 0"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 10), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 9, "truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\x00" * 11, "trailing bytes"),
    ],
)
def test_read_idx_rejects_malformed_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(idx_bytes(np.zeros(1000, np.uint8), 0x08))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        read_idx(path)


# --- the real MNIST test set (../shared) ------------------------------------------------------


@needs_shared_mnist
def test_mnist_test_set_shapes_and_class_counts() -> None:
    images = read_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(SHARED_MNIST / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_CLASS_COUNTS


@needs_shared_mnist
def test_mnist_test_files_match_shared_sha256sums_and_catalogue() -> None:
    listed = dict(
        reversed(line.split())
        for line in (SHARED_MNIST / "SHA256SUMS").read_text().splitlines()
        if line
    )
    for spec in (MNIST.test_images, MNIST.test_labels):
        path = SHARED_MNIST / spec.filename
        assert sha256_file(path) == listed[spec.filename]  # these exact (re-compressed) bytes
        verify_content(path, spec)  # the decompressed data are the published MNIST test set


@needs_shared_mnist
def test_corrupted_copy_fails_verification(tmp_path: Path) -> None:
    spec = MNIST.test_labels
    labels = bytearray(gzip.decompress((SHARED_MNIST / spec.filename).read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # one label changed: still a valid IDX file
    path = tmp_path / spec.filename
    path.write_bytes(gzip.compress(bytes(labels)))
    read_idx(path)  # parses fine: only the checksum can tell
    with pytest.raises(ChecksumMismatch) as info:
        verify_content(path, spec)
    message = str(info.value)
    assert str(path) in message and spec.content_sha256 in message
    assert hashlib.sha256(labels).hexdigest() in message


@needs_shared_mnist
def test_truncated_copy_fails_verification(tmp_path: Path) -> None:
    spec = MNIST.test_images
    path = tmp_path / spec.filename
    path.write_bytes((SHARED_MNIST / spec.filename).read_bytes()[:50_000])
    with pytest.raises(ChecksumMismatch, match="unreadable"):
        verify_content(path, spec)


# --- locating ---------------------------------------------------------------------------------


def test_candidate_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLHW_DATA_DIR", str(tmp_path / "env"))
    dirs = [
        c.directory for c in candidate_dirs(FASHION_MNIST, tmp_path / "arg", tmp_path / "cache")
    ]
    assert dirs == [
        tmp_path / "arg/fashion-mnist",
        tmp_path / "arg",
        tmp_path / "env/fashion-mnist",
        tmp_path / "env",
        DEBIAN_FASHION,
        tmp_path / "cache/fashion-mnist",
    ]


def test_unknown_dataset_name() -> None:
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        load_mnist_files("cifar")


@needs_shared_mnist
def test_incomplete_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "data/mnist"
    folder.mkdir(parents=True)
    for spec in (MNIST.test_images, MNIST.test_labels):
        (folder / spec.filename).symlink_to(SHARED_MNIST / spec.filename)
    with pytest.raises(DatasetUnavailable) as info:
        load_mnist_files("mnist", data_dir=tmp_path / "data", download=False, cache_dir=tmp_path)
    message = str(info.value)
    assert f"{folder} (data_dir argument): missing train-images-idx3-ubyte.gz" in message
    assert "Downloading is disabled" in message and "DLHW_DATA_DIR" in message


def link_fashion(folder: Path, names: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in FASHION_MNIST.files:
        if names is None or spec.filename in names:
            (folder / spec.filename).symlink_to(DEBIAN_FASHION / spec.filename)


@needs_fashion
def test_fashion_mnist_from_debian() -> None:
    files = load_mnist_files("fashion-mnist", download=False)
    assert files.directory == DEBIAN_FASHION
    train_x, train_y = read_idx(files.train_images), read_idx(files.train_labels)
    test_x, test_y = read_idx(files.test_images), read_idx(files.test_labels)
    assert train_x.shape == (60_000, 28, 28) and test_x.shape == (10_000, 28, 28)
    assert train_x.dtype == test_x.dtype == np.uint8
    # Fashion-MNIST is balanced by construction: 6,000 and 1,000 images per class.
    assert np.bincount(train_y).tolist() == [6000] * 10
    assert np.bincount(test_y).tolist() == [1000] * 10


@needs_fashion
def test_data_dir_and_env_var_take_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link_fashion(tmp_path / "arg")  # files directly in the folder
    found = load_mnist_files("fashion-mnist", data_dir=tmp_path / "arg", download=False)
    assert found.directory == tmp_path / "arg"
    link_fashion(tmp_path / "env/fashion-mnist")  # files in a subfolder named after the data set
    monkeypatch.setenv("DLHW_DATA_DIR", str(tmp_path / "env"))
    found = load_mnist_files("fashion-mnist", download=False)
    assert found.directory == tmp_path / "env/fashion-mnist"


@needs_fashion
def test_plain_idx_files_are_found(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    link_fashion(folder, names=["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
    for spec in (FASHION_MNIST.test_images, FASHION_MNIST.test_labels):
        (folder / spec.stem).write_bytes(
            gzip.decompress((DEBIAN_FASHION / spec.filename).read_bytes())
        )
    files = load_mnist_files("fashion-mnist", data_dir=folder, download=False)
    assert files.test_labels == folder / "t10k-labels-idx1-ubyte"
    assert content_sha256(files.test_labels) == FASHION_MNIST.test_labels.content_sha256


@needs_fashion
def test_corrupt_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    link_fashion(folder, names=[s.filename for s in FASHION_MNIST.files[:3]])
    labels = np.zeros(10_000, np.uint8)  # right shape, wrong labels
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    with pytest.warns(UserWarning, match="skipping .*bad.*checksum mismatch"):
        files = load_mnist_files("fashion-mnist", data_dir=folder, download=False)
    assert files.directory == DEBIAN_FASHION


# --- downloading (never the real internet) ----------------------------------------------------


def test_offline_download_fails_with_a_clear_message(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailable) as info:
        load_mnist_files("mnist", cache_dir=cache, mirrors=["http://127.0.0.1:9/"], timeout=5)
    message = str(info.value)
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz: URLError" in message
    assert f"{cache / 'mnist'} (download cache): no such folder" in message
    assert "DLHW_DATA_DIR" in message and "data_dir=" in message and str(cache / "mnist") in message
    assert isinstance(info.value.__cause__, DownloadError)
    assert list((cache / "mnist").iterdir()) == []  # no partial files left behind


def tiny_spec(tmp_path: Path, payload: bytes) -> tuple[FileSpec, str]:
    """A one-file 'data set' served from a file:// mirror."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny-idx1-ubyte.gz").write_bytes(payload)
    spec = FileSpec(
        "tiny-idx1-ubyte.gz",
        archive_sha256=hashlib.sha256(b"the expected bytes").hexdigest(),
        archive_size=1000,
        content_sha256="",
    )
    return spec, mirror.as_uri() + "/"


def test_download_verifies_then_renames(tmp_path: Path) -> None:
    spec, mirror = tiny_spec(tmp_path, b"the expected bytes")
    path = download_file(spec, ["http://127.0.0.1:9/", mirror], tmp_path / "dest", timeout=5)
    assert path == tmp_path / "dest" / spec.filename
    assert path.read_bytes() == b"the expected bytes"
    assert [p.name for p in (tmp_path / "dest").iterdir()] == [spec.filename]


def test_download_checksum_mismatch_names_file_and_hashes(tmp_path: Path) -> None:
    spec, mirror = tiny_spec(tmp_path, b"tampered bytes")
    with pytest.raises(DownloadError) as info:
        download_file(spec, [mirror], tmp_path / "dest")
    message = str(info.value)
    assert spec.filename in message and spec.archive_sha256 in message
    assert hashlib.sha256(b"tampered bytes").hexdigest() in message
    assert list((tmp_path / "dest").iterdir()) == []


def test_download_stops_at_the_expected_size(tmp_path: Path) -> None:
    spec, mirror = tiny_spec(tmp_path, b"x" * 5000)
    with pytest.raises(DownloadError, match="more than the expected 1000 bytes"):
        download_file(spec, [mirror], tmp_path / "dest")
