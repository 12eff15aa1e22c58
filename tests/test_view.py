"""What the sandbox can read: the whole course root, walked as the sandbox uid from student code.

Deny by default: besides the allow-list (view.allowed_in_course: the packages the worker imports
and the virtual environment), nothing of the course root may be readable, with the kernel layers
(a private view) and without them (permissions, view.close_course_root)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlhw.autograder import confinement, view
from dlhw.autograder.confinement import Limits
from dlhw.autograder.homeworks import course_root
from dlhw.autograder.session import Session
from dlhw.autograder.submission import Submission
from dlhw.autograder.view import (
    allowed_in_course,
    allowed_read_only,
    close_course_root,
    environments_in_course,
    namespaces_unavailable,
)

ISOLATED = os.geteuid() == 0 and os.environ.get("DLHW_SANDBOX") != "same-user"
LIMITS = Limits(call_timeout_s=60.0, cell_timeout_s=60.0, run_timeout_s=120.0)

# Runs as the student's code: every file it can open for reading and every folder it can list,
# skipping the allow-listed folders (the venv alone holds ~20,000 files of torch).
WALK = """
import os
import sys

def walk(root, skip):
    readable = []
    for folder, dirs, files in os.walk(root, onerror=lambda e: None):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        readable.append(folder + "/")
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    f.read(1)
                readable.append(path)
            except OSError:
                pass
    return readable


def probe(paths):
    # which of these paths can be read (files) or listed (folders)
    readable = []
    for path in paths:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
            readable.append(path)
        except OSError:
            pass
    return readable
"""


def every_path(root: str, allowed: list[str]) -> list[str]:
    """Every file and folder of the course root as root sees it, allowed subtrees aside, and
    the history a worktree's `.git` file points to (its top files and packs)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in allowed]
        found += [os.path.join(folder, n) for n in dirs + files]
    dot_git = Path(root) / ".git"
    if dot_git.is_file():
        gitdir = Path(dot_git.read_text().split(":", 1)[1].strip())
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
        found += [str(p) for p in [*common.iterdir(), *common.glob("objects/pack/*")]]
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@pytest.fixture(params=["kernel", "fallback", "cgroups only"])
def layers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if not ISOLATED:
        pytest.skip("the uid sandbox needs root (without DLHW_SANDBOX=same-user)")
    if request.param == "fallback":
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
    if request.param == "cgroups only":  # no namespaces (no CAP_SYS_ADMIN): permissions only
        monkeypatch.setattr(confinement, "namespaces_unavailable", lambda: "simulated")
    return str(request.param)


@pytest.mark.slow
def test_nothing_of_the_course_root_is_readable_outside_the_allow_list(layers: str) -> None:
    root = os.path.realpath(course_root())
    allowed = allowed_in_course()
    assert allowed, "the worker imports its package from somewhere"
    close_course_root()  # what grading does first
    with Session(LIMITS) as session:
        session.run_cells([(0, WALK)])
        assert session.reports[0].status == "ok", session.reports[0].message
        sub = Submission(session)
        readable = sub.walk(root, allowed)  # what it finds by itself
        readable += sub.probe(every_path(root, allowed))  # and by name
        notes = session.notes
    kernel = layers == "kernel" and not namespaces_unavailable()
    assert ("namespaces (mount" in notes[-1]) == kernel, notes
    # Folders on the way to an allowed path may be listed (their names are the allow-list's);
    # other Python environments (installed packages) are left open by the fallback.
    on_the_way = {os.path.dirname(a) + "/" for a in allowed} | {root + "/"}
    environments = [] if kernel else environments_in_course()
    leaks = [
        p for p in readable if p not in on_the_way and not any(_inside(p, e) for e in environments)
    ]
    assert leaks == [], f"readable outside the allow-list ({len(leaks)}): {leaks[:20]}"
    # The walk did run: the secrets exist on our side and were not among what it read.
    for secret in ("solutions", "tests/corpus/cases_attacks.py"):
        assert (Path(root) / secret).exists()


def test_the_allow_list_is_the_environment_and_the_packages_never_the_course() -> None:
    root = os.path.realpath(course_root())
    for path in allowed_read_only():
        assert not _inside(root, path) or path in ("/usr",), path  # never the root or a parent
    inside = {Path(p).relative_to(root).parts[0] for p in allowed_in_course()}
    assert inside <= {Path(sys.prefix).name, "autograder", "datasets", "kernels"}  # the venv
    assert "autograder" in inside


def test_a_view_that_cannot_be_built_means_grading_without_namespaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not ISOLATED or namespaces_unavailable():
        pytest.skip("needs root and namespaces")
    monkeypatch.setattr(view, "SCRATCH", (("/tmp", "size=not-a-size"),))  # the mount fails
    with Session(LIMITS) as session:
        session.run_cells([(0, "import os\ndef who():\n    return os.getuid()")])
        assert session.reports[0].status == "ok"
        assert Submission(session).who() == session.identity.uid
        assert any("namespaces FAILED" in note for note in session.notes), session.notes


USES_TORCH = """
import importlib, sys

def import_torch():
    try:
        import torch
    except ImportError as exc:
        return "refused: " + str(exc)
    return "imported"

def import_torch_without_the_finder():
    # student code can drop the worker's finder: then only an empty folder is left to import
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "DeniedImports"]
    sys.modules.pop("torch", None)
    importlib.invalidate_caches()
    try:
        import torch
    except ImportError as exc:
        return "refused: " + str(exc)
    return "usable" if hasattr(torch, "tensor") else "empty"
"""


@pytest.mark.parametrize("view_layer", [True, False], ids=["view", "no view"])
def test_graded_code_cannot_use_torch(view_layer: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # torch is installed beside the grader (live oracles); Gradescope's image has none, and no
    # homework may be done by calling it.
    pytest.importorskip("torch")
    if not view_layer:
        monkeypatch.setattr(confinement, "namespaces_unavailable", lambda: "simulated")
    view.close_denied_packages()  # what grading does first (grading.protect_private_files)
    with Session(LIMITS) as session:
        session.run_cells([(0, USES_TORCH)])
        assert session.reports[0].status == "ok", session.reports[0].message
        sub = Submission(session)
        refused = sub.import_torch()
        bypassed = sub.import_torch_without_the_finder()
        viewed = "namespaces (mount" in session.notes[-1]
    assert refused.startswith("refused: No module named 'torch': graded code may not use torch")
    if viewed:  # the folder itself is empty: nothing of torch is left to import
        assert bypassed in ("empty", "refused: No module named 'torch'"), bypassed
    elif ISOLATED and sys.prefix != sys.base_prefix:
        # Without the view (Docker's default containers, Gradescope's when a homework installs
        # torch for live oracles), the environment's torch is closed to other users: the
        # sandbox uid finds a folder it cannot enter (a bare namespace package, or nothing).
        assert bypassed in ("empty", "refused: No module named 'torch'"), bypassed
    else:  # no uid of its own: the finder is the only layer (documented in docs/isolation.md)
        assert bypassed == "usable" or not ISOLATED, bypassed


def test_the_denied_packages_are_masked_in_the_view_config(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    config = view.jail_config(
        uid=1, gid=1, workdir=tmp_path, shared_dir=tmp_path, argv=["x"], env={}, pass_fds=[],
        cgroups=[], root=tmp_path,
    )  # fmt: skip
    masked = [path for kind, path, arg in config["mounts"] if kind == "tmpfs" and "mode=555" in arg]
    torch_dir = os.path.dirname(os.path.realpath(__import__("torch").__file__))
    assert torch_dir in masked
    order = [path for _, path, _ in config["mounts"]]
    environment = max(
        (p for p in order if _inside(torch_dir, p) and p != torch_dir), key=len
    )  # the environment's own mount comes first, or it would hide the mask
    assert order.index(environment) < order.index(torch_dir)


USES_A_DENIED_PACKAGE = """
import importlib, sys

def use(name, folder):
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "DeniedImports"]
    sys.path.insert(0, folder)
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        return "refused: " + str(exc)
    return "usable" if hasattr(module, USABLE[name]) else "empty"

USABLE = {"torch": "tensor", "scipy": "MINIMIZE"}
"""


def _use_in_the_view(name: str, folder: str) -> str:
    with Session(LIMITS) as session:
        session.run_cells([(0, USES_A_DENIED_PACKAGE)])
        assert session.reports[0].status == "ok", session.reports[0].message
        assert "namespaces (mount" in session.notes[-1], session.notes
        return str(Submission(session).use(name, folder))


@pytest.fixture
def view_only() -> None:
    if not ISOLATED or namespaces_unavailable():
        pytest.skip("the private view needs root and namespaces")


def test_a_denied_package_is_masked_in_an_environment_reached_through_a_link(
    view_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grader started as /srv/course/.venv/bin/python, where /srv/course is a link: the view
    mounts the environment at sys.prefix and at its real path, and masked torch only below the
    real one; graded code that dropped the worker's finder imported a working torch."""
    pytest.importorskip("torch")
    real = os.path.realpath(sys.prefix)
    link = tmp_path / "course-link"
    link.symlink_to(os.path.dirname(real))
    prefix = str(link / os.path.basename(real))
    executable = os.path.join(prefix, os.path.relpath(sys.executable, sys.prefix))
    site = next(p for p in sys.path if p.endswith("site-packages") and _inside(p, sys.prefix))
    for name in ("prefix", "exec_prefix"):
        monkeypatch.setattr(sys, name, prefix)
    monkeypatch.setattr(sys, "executable", executable)  # the worker runs as the link names it
    aliased_site = prefix + site[len(real) :]
    assert _use_in_the_view("torch", aliased_site) in ("empty", "refused: No module named 'torch'")


def test_a_denied_package_in_a_system_site_folder_is_masked_in_the_view(
    view_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view mounts /usr whole: scipy installed there by the system's package manager
    (/usr/lib/python3/dist-packages, outside the grader's environment) was left unmasked."""
    system = tmp_path / "usr"  # stands for /usr: a system tree the view mounts
    package = system / "lib" / "python3" / "dist-packages" / "scipy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("MINIMIZE = 'scipy.optimize for the homework'\n")
    for folder in (tmp_path, system, *system.rglob("*")):
        folder.chmod(0o755)  # readable by the sandbox uid, as /usr is
    monkeypatch.setattr(view, "SYSTEM", (*view.SYSTEM, str(system)))
    view.denied_dirs.cache_clear()
    try:
        used = _use_in_the_view("scipy", str(package.parent))
    finally:
        view.denied_dirs.cache_clear()
    assert used in ("empty", "refused: No module named 'scipy'"), used


PROBES_FOR_TORCH = """
import importlib.util

HAVE_TORCH = importlib.util.find_spec("torch") is not None  # an optional import, as on Colab

def probes():
    return HAVE_TORCH, importlib.util.find_spec("numpy") is not None

def import_torch():
    try:
        import torch.nn
    except ImportError as exc:
        return str(exc)
    return "imported"
"""


def test_probing_for_a_denied_package_finds_it_missing_without_stopping_the_cell() -> None:
    """`find_spec("torch") is not None` is False where torch is not installed (Gradescope's
    image); the worker's finder made it raise instead, the cell stopped there, and what the cell
    defined after it did not exist: a submission correct there lost the tests of it here."""
    pytest.importorskip("torch")
    with Session(LIMITS) as session:
        session.run_cells([(0, PROBES_FOR_TORCH)])
        assert session.reports[0].status == "ok", session.reports[0].message
        sub = Submission(session)
        assert sub.probes() == (False, True)
        refused = sub.import_torch()  # importing it still says why
    assert refused.endswith("graded code may not use torch (compute it with NumPy, as the "
                            "homework asks)"), refused  # fmt: skip


IMPORTS_MATPLOTLIB_FIRST = """
import importlib.util


def have_plots():
    return importlib.util.find_spec("matplotlib") is not None


import matplotlib.pyplot as plt
import numpy as np
"""


def test_a_graded_import_of_what_gradescope_lacks_fails_here_as_there() -> None:
    """matplotlib (the batch extra) is beside the grader here and never in Gradescope's image: a
    graded cell that imports it first stopped there on Gradescope, before its numpy import, and
    kept every test here. Here too it is missing, in the words Python says it there."""
    pytest.importorskip("matplotlib")
    with Session(LIMITS) as session:
        session.run_cells([(0, IMPORTS_MATPLOTLIB_FIRST)])
        (report,) = session.reports
        have_plots = Submission(session).have_plots()
    assert not have_plots  # an optional import sees it missing, as there
    assert report.status == "error", report
    assert "ModuleNotFoundError: No module named 'matplotlib'" in report.message, report.message
    assert "may not use" not in report.message, report.message


@pytest.mark.parametrize("module", ["PIL", "ipykernel", "psutil"])
def test_what_the_extras_bring_along_is_missing_as_on_gradescope(module: str) -> None:
    """pillow comes with matplotlib (the batch extra), ipykernel and psutil with the dev extra:
    beside the grader here, never in Gradescope's image. A graded `from PIL import Image` kept
    every test here and stopped its cell there; here it stops too."""
    pytest.importorskip(module)
    with Session(LIMITS) as session:
        session.run_cells([(0, f"import {module}\n")])
        (report,) = session.reports
    assert report.status == "error", report
    assert f"ModuleNotFoundError: No module named '{module}'" in report.message, report.message


def test_the_namespace_probe_answers_from_a_child_and_leaves_the_grader_s_namespaces(monkeypatch):
    """namespaces_unavailable asks a forked child (jail.probe): its verdict is the child's, the
    grader's own mount namespace is the one it had, and a refusal is quoted."""
    from dlhw.autograder import jail

    before = os.readlink("/proc/self/ns/mnt")
    namespaces_unavailable.cache_clear()
    try:
        verdict = namespaces_unavailable()
        assert os.readlink("/proc/self/ns/mnt") == before
        if os.geteuid() != 0:
            assert verdict == "not root"
            return
        # The same steps in an interpreter of their own (how it was asked before) agree.
        code = f"import sys; sys.path.insert(0, {str(Path(jail.__file__).parent)!r}); "
        alone = subprocess.run(
            [sys.executable, "-I", "-S", "-c", code + "import jail; jail.probe()"],
            capture_output=True, check=False,
        )  # fmt: skip
        assert (verdict == "") == (alone.returncode == 0), (verdict, alone.stderr)

        def refused() -> None:
            raise OSError(1, "unshare: Operation not permitted")

        monkeypatch.setattr(jail, "probe", refused)
        namespaces_unavailable.cache_clear()
        assert namespaces_unavailable() == "[Errno 1] unshare: Operation not permitted"
        monkeypatch.setattr(jail, "probe", lambda: os._exit(3))
        namespaces_unavailable.cache_clear()
        assert namespaces_unavailable() == "probe failed: status 3"
        assert os.readlink("/proc/self/ns/mnt") == before
    finally:
        namespaces_unavailable.cache_clear()


@pytest.mark.skipif(os.geteuid() != 0, reason="the probe runs as root only")
def test_a_namespace_probe_that_never_answers_is_given_up(monkeypatch):
    """The probe was an interpreter run with a 30 s time-out; forked, it waited for the child
    with no limit: a child stuck in unshare(2) held the grading run for good (no results)."""
    import time

    from dlhw.autograder import jail, view

    monkeypatch.setattr(jail, "probe", lambda: time.sleep(60))
    monkeypatch.setattr(view, "PROBE_TIMEOUT_S", 0.5)
    namespaces_unavailable.cache_clear()
    try:
        started = time.monotonic()
        assert namespaces_unavailable() == "probe failed: no answer in 0.5 s"
        assert time.monotonic() - started < 10
    finally:
        namespaces_unavailable.cache_clear()


@pytest.mark.skipif(os.geteuid() != 0, reason="root only: the probe forks only then")
def test_a_probe_whose_status_another_thread_collected_is_asked_again(monkeypatch):
    """A child reaped by another session's zombie collection left no status: that verdict is
    asked for again, not cached for the whole process as a refusal (no namespaces for every
    later run of a batch job), nor raised out of Session()."""
    from dlhw.autograder import view

    real = os.waitpid
    lost = iter([True])

    def waitpid(pid: int, options: int) -> tuple[int, int]:
        done = real(pid, options)  # reaped, as the other thread would
        if next(lost, False):
            raise ChildProcessError(10, "No child processes")
        return done

    namespaces_unavailable.cache_clear()
    try:
        honest = namespaces_unavailable()
        namespaces_unavailable.cache_clear()
        monkeypatch.setattr(view.os, "waitpid", waitpid)
        assert namespaces_unavailable() == honest  # the second probe answered
        namespaces_unavailable.cache_clear()
        lost = iter([True, True])
        assert (
            namespaces_unavailable()
            == "probe failed: its exit status was collected elsewhere, twice"
        )
    finally:
        namespaces_unavailable.cache_clear()
