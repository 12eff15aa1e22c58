"""Removing what the sandbox left, as root: never through a link, never by recursion (issue #8)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dlhw.autograder import confinement
from dlhw.autograder.confinement import Identity, remove_scratch_files, remove_tree

ROOT = os.geteuid() == 0


def deep_tree(top: Path, depth: int, every: int = 100, owner: int = -1) -> None:
    """A folder `depth` levels deep (far past PATH_MAX and the recursion limit), a file every
    `every` levels, built with descriptors since the paths are too long to name."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    os.fchown(fd, owner, owner)
    for level in range(depth):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
        os.fchown(fd, owner, owner)
        if level % every == 0:
            file = os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
            os.fchown(file, owner, owner)
            os.close(file)
    os.close(fd)


@pytest.fixture
def decoy(tmp_path: Path) -> Path:
    folder = tmp_path / "decoy"
    folder.mkdir()
    (folder / "victim.txt").write_text("untouched")
    return folder


@pytest.fixture
def tmp_path(tmp_path: Path):  # type: ignore[no-untyped-def]
    """pytest's own, emptied by us afterwards: its cleanup recurses, and a deep tree left by a
    failed test would make a later session's cleanup raise RecursionError."""
    yield tmp_path
    for entry in tmp_path.iterdir():
        remove_tree(entry)


def test_a_tree_thousands_of_levels_deep_is_removed(tmp_path):
    deep_tree(tmp_path / "t", 2500)  # past the recursion limit (1000) and PATH_MAX (4096)
    assert remove_tree(tmp_path / "t") == 2500 + 25 + 1
    assert not (tmp_path / "t").exists()


def test_links_are_removed_never_followed(tmp_path, decoy):
    tree = tmp_path / "t"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "link").symlink_to(decoy)
    (tree / "a" / "b" / "file-link").symlink_to(decoy / "victim.txt")
    (tree / "top-link").symlink_to(decoy)
    os.chmod(tree / "a", 0)  # locked folders are no obstacle (root), nor a reason to stop
    remove_tree(tree)
    assert not tree.exists() and (decoy / "victim.txt").read_text() == "untouched"
    (tmp_path / "alone").symlink_to(decoy)
    assert remove_tree(tmp_path / "alone") == 1 and decoy.is_dir()


def test_a_folder_swapped_for_a_link_during_removal_is_not_followed(tmp_path, decoy):
    """A surviving process swaps a folder of the tree for a link to the decoy, over and over,
    while the tree is removed: whatever the timing, the decoy keeps its file."""
    for attempt in range(8):
        tree = tmp_path / f"t{attempt}"
        for i in range(50):
            (tree / f"d{i}" / "inner").mkdir(parents=True)
            (tree / f"d{i}" / "inner" / "f").write_text("x")
        stop = threading.Event()

        def swap(tree: Path = tree, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                for i in range(50):
                    folder = tree / f"d{i}"
                    try:
                        folder.rename(tree / f"moved{i}")
                        folder.symlink_to(decoy)
                    except OSError:
                        pass

        swapper = threading.Thread(target=swap)
        swapper.start()
        try:
            remove_tree(tree)
        except OSError:
            pass  # a tree that keeps changing may make one removal fail; never follow a link
        finally:
            stop.set()
            swapper.join()
        remove_tree(tree) if tree.exists() else None
        assert sorted(os.listdir(decoy)) == ["victim.txt"]
        assert (decoy / "victim.txt").read_text() == "untouched"


def test_a_tree_moved_away_during_removal_stops_the_walk(tmp_path, monkeypatch):
    """Going back up through "..", the walk checks it is where it came from."""
    tree = tmp_path / "t"
    (tree / "a" / "b").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("keep")
    real_open = os.open

    def moving_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        fd = real_open(path, flags, *args, **kwargs)
        if path == "b":  # once inside a/b, move a/ into `elsewhere`
            os.rename(tree / "a", elsewhere / "a")
        return fd

    monkeypatch.setattr(confinement.os, "open", moving_open)
    with pytest.raises(confinement.CleanupError, match="moved"):
        remove_tree(tree)
    assert (elsewhere / "keep").read_text() == "keep"


@pytest.mark.skipif(not ROOT, reason="files of another uid need root")
def test_scratch_cleanup_removes_deep_trees_and_links_of_the_uid_only(tmp_path, decoy, monkeypatch):
    uid = 64_998
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o1777)
    os.chmod(scratch, 0o1777)
    monkeypatch.setattr(confinement, "SCRATCH_ROOTS", (str(scratch),))
    deep_tree(scratch / "deep", 1500, owner=uid)
    (scratch / "link").symlink_to(decoy)
    (scratch / "file").write_text("x")
    others = scratch / "others"
    others.mkdir()
    (others / "theirs").write_text("not the sandbox's")
    for name in ("link", "file"):
        os.chown(scratch / name, uid, uid, follow_symlinks=False)
    assert remove_scratch_files(Identity(uid, uid), keep=tmp_path / "none") == 3
    assert sorted(os.listdir(scratch)) == ["others"]
    assert (decoy / "victim.txt").read_text() == "untouched"


@pytest.mark.parametrize("fails", ["kernel layers", "watchdog thread"])
def test_a_session_whose_set_up_fails_half_way_leaves_nothing_behind(monkeypatch, fails):
    """A set-up cut short by an error (no cgroup, no thread to start) raises, and what it had
    made (its folders, the run's cgroup and jail root) is removed: a batch goes on for hours."""
    import tempfile

    from dlhw.autograder import session as session_module

    made = []

    def layers(*args, **kwargs):
        if fails == "kernel layers":
            raise OSError("cgroup: no space left on device")
        made.append(confinement.kernel_layers(*args, **kwargs))
        return made[-1]

    class NoThread(threading.Timer):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    def ours() -> set[str]:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("dlhw-")}

    before = ours()
    monkeypatch.setattr(session_module, "kernel_layers", layers)
    monkeypatch.setattr(session_module.threading, "Timer", NoThread)
    with pytest.raises((OSError, RuntimeError)):
        session_module.Session()
    assert ours() <= before
    assert not session_module.OPEN_SESSIONS
    for jail, _ in made:
        if jail is not None and jail.cgroup is not None:
            folders = [jail.cgroup.v2, *jail.cgroup.v1.values()]
            assert not any(f is not None and f.exists() for f in folders)
