"""What each data set is: its four IDX files, their checksums, where to download them.

Two checksums per file, because the same data reach us in different gzip wrappings:

* ``archive_sha256`` (and ``archive_size``): the ``.gz`` exactly as the mirrors serve it. A download
  is verified against it before it is renamed into place.
* ``content_sha256``: the decompressed IDX bytes. Files found on disk are verified against it, so a
  re-compressed copy of the same data is accepted. Debian's ``dataset-fashion-mnist`` and the MNIST
  test set in ``../shared/datasets/mnist`` are both re-compressed: their ``.gz`` hashes differ from
  the mirrors' (``../shared/datasets/mnist/SHA256SUMS`` hashes that particular re-compression), while
  their decompressed bytes match ``content_sha256`` below.

Sources of the values (none were computed from the files they are meant to check):

* MNIST archives: tensorflow/datasets, ``tensorflow_datasets/url_checksums/mnist.txt``
  (commit 31f1255e57e5), for https://storage.googleapis.com/cvdf-datasets/mnist/. Public download
  scripts for the ossci-datasets mirror list the same SHA-256 values and sizes.
* MNIST contents: the SHA-256 of the decompressed files as listed by several independent public
  projects; cross-checks: the decompressed MD5s of the same files (6bbc9ace..., a25bea73...,
  2646ac64..., 27ae3e4e...), published in many download scripts, agree with the test files here.
* Fashion-MNIST archives: tensorflow/datasets, ``tensorflow_datasets/url_checksums/fashion_mnist.txt``
  (commit 333639b37af6), for Zalando's mirror.
* Fashion-MNIST contents: SHA-256 of the decompressed files from a public project's data Makefile;
  cross-check: the decompressed MD5s published with the data set (f4a8712d..., 9018921c...,
  8181f547..., 15d48437...) agree with Debian's files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileSpec:
    """One IDX file of a data set, as distributed (gzip-compressed)."""

    filename: str  #: name of the ``.gz`` on the mirrors, e.g. ``train-images-idx3-ubyte.gz``
    archive_sha256: str  #: SHA-256 of the ``.gz`` as the mirrors serve it
    archive_size: int  #: size in bytes of that ``.gz``
    content_sha256: str  #: SHA-256 of the decompressed IDX bytes

    @property
    def stem(self) -> str:
        """The decompressed file's name: ``filename`` without ``.gz``."""
        return self.filename.removesuffix(".gz")


@dataclass(frozen=True)
class DatasetSpec:
    """A data set in MNIST layout: train and test images and labels."""

    name: str  #: short name, also the name of its folder in the cache
    title: str  #: for messages
    train_images: FileSpec
    train_labels: FileSpec
    test_images: FileSpec
    test_labels: FileSpec
    mirrors: tuple[str, ...]  #: base URLs, each ending in "/", tried in order
    system_dirs: tuple[tuple[str, str], ...] = ()  #: (folder, how it gets there) from OS packages

    @property
    def files(self) -> tuple[FileSpec, FileSpec, FileSpec, FileSpec]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    train_images=FileSpec(
        "train-images-idx3-ubyte.gz",
        archive_sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        archive_size=9_912_422,
        content_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    train_labels=FileSpec(
        "train-labels-idx1-ubyte.gz",
        archive_sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        archive_size=28_881,
        content_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    test_images=FileSpec(
        "t10k-images-idx3-ubyte.gz",
        archive_sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        archive_size=1_648_877,
        content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    test_labels=FileSpec(
        "t10k-labels-idx1-ubyte.gz",
        archive_sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        archive_size=4_542,
        content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    train_images=FileSpec(
        "train-images-idx3-ubyte.gz",
        archive_sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        archive_size=26_421_880,
        content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels=FileSpec(
        "train-labels-idx1-ubyte.gz",
        archive_sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        archive_size=29_515,
        content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images=FileSpec(
        "t10k-images-idx3-ubyte.gz",
        archive_sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        archive_size=4_422_102,
        content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels=FileSpec(
        "t10k-labels-idx1-ubyte.gz",
        archive_sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        archive_size=5_148,
        content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=(("/usr/share/datasets/fashion-mnist", "Debian package dataset-fashion-mnist"),),
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a data set by name ("mnist" or "fashion-mnist"); ValueError for others."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(repr(n) for n in DATASETS)
        raise ValueError(f"unknown data set {name!r}; known: {known}") from None
