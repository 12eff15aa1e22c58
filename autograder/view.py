"""What the worker may see of the machine: the allow-list of its private filesystem (jail.py).

Deny by default. The worker's root is an empty read-only tmpfs into which the grader mounts, read-
only and at their usual paths, only what running the worker needs:

- the system (/usr, /lib*, /bin, /sbin, /etc): the interpreter, its libraries, certificates;
- the Python environment: sys.prefix (the virtual environment) and the base installation;
- the course's importable packages (dlhw.autograder, dlhw.datasets, dlhw.kernels), found by
  their import specs; never the course root itself, so tests/, solutions/, .git, out/, docs and
  everything else of it do not exist in the view (if the root lies inside an allowed system
  folder, an empty tmpfs covers it and only the packages are mounted back);
- the worker's own folder (read-write) and the grader's folder of test data (read-only);
- deep-learning frameworks installed beside the grader (torch, for live oracles and recording)
  are masked by empty read-only folders (`DENIED_PACKAGES`): graded code must compute what
  the homework asks by itself, and does not get, locally, a library Gradescope's image lacks;
- a fresh /proc (the worker's PID namespace only: the grader and other runs are invisible),
  a minimal /dev, and private, size-limited /tmp, /var/tmp, /dev/shm and /run/lock that vanish
  with the namespace.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import select
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

JAIL = Path(__file__).with_name("jail.py")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
PACKAGES = ("dlhw.autograder", "dlhw.datasets", "dlhw.kernels")
DEVICES = ("null", "zero", "full", "random", "urandom")
# Packages graded code may not import: the frameworks that compute what the homeworks ask students
# to write (autograd, layers, optimizers). The worker refuses them by name (worker/loop.py), and
# where it has a view, their folders are empty there (an import-hook alone is the student's to
# remove). A homework that teaches one of them would need this per homework.
DENIED_PACKAGES = (
    "torch", "torchgen", "functorch", "torchvision", "torchaudio", "triton",
    "tensorflow", "keras", "jax", "jaxlib", "flax", "optax", "sklearn", "scipy",
)  # fmt: skip
# Packages the grader's extras install beside it (batch: matplotlib, tqdm, yaml; dev: ipykernel,
# IPython) and Gradescope's image never has: graded code finds them missing here as it would
# there (a notebook whose graded cell imports matplotlib first lost every test on Gradescope and
# none under `autograder grade` or `batch`). Those a notebook imports come with them: PIL
# (pillow, matplotlib's; `from PIL import Image` kept every test here as matplotlib had) and
# psutil (ipykernel's). They compute nothing a homework asks, so the worker's finder alone
# refuses them, in Python's own words; their folders stay open.
ABSENT_PACKAGES = (
    "matplotlib", "mpl_toolkits", "PIL", "IPython", "ipykernel", "psutil", "tqdm", "yaml",
)  # fmt: skip
# CPU topology for OpenBLAS and torch's cpuinfo (without it torch warns on every import).
SYS_READABLE = ("/sys/devices/system/cpu",)
# Private scratch folders: (path, tmpfs options). They live in memory (charged to the run's
# memory cgroup where there is one) and vanish with the namespace.
SCRATCH = (
    ("/tmp", "size=256m,nr_inodes=16384,mode=1777"),
    ("/var/tmp", "size=64m,nr_inodes=4096,mode=1777"),
    ("/dev/shm", "size=64m,nr_inodes=4096,mode=1777"),
    ("/run/lock", "size=1m,nr_inodes=256,mode=1777"),
)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def import_dirs(names: tuple[str, ...]) -> list[str]:
    """The folders these packages import from here, found by their specs (nothing is imported;
    an editable install's are folders of the course root)."""
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            if os.path.isdir(location):
                found.append(os.path.realpath(location))
    return found


def package_dirs() -> list[str]:
    """The folders the course's packages import from."""
    return import_dirs(PACKAGES)


# Where a Python installation keeps installed packages, below its prefix (/usr, /usr/local, an
# environment): Debian's python3-scipy is in /usr/lib/python3/dist-packages, pip's as root in
# /usr/local/lib/python3.X/dist-packages.
SITE_FOLDERS = (
    "lib*/python3*/site-packages", "lib*/python3*/dist-packages", "lib/python3/dist-packages",
    "local/lib*/python3*/site-packages", "local/lib*/python3*/dist-packages",
)  # fmt: skip


@functools.cache
def denied_dirs() -> tuple[str, ...]:
    """The folders of the denied packages, real paths: those this interpreter imports, and those
    in every site folder of the trees the view mounts. Graded code can put any folder it sees on
    its sys.path (after removing the worker's finder), not only this environment's."""
    found = set(import_dirs(DENIED_PACKAGES))
    for tree in allowed_read_only():
        for pattern in SITE_FOLDERS:
            for site in glob.glob(os.path.join(tree, pattern)):
                found.update(
                    os.path.realpath(os.path.join(site, name))
                    for name in DENIED_PACKAGES
                    if os.path.isdir(os.path.join(site, name))
                )
    return tuple(sorted(found))


def denied_masks(read_only: list[str]) -> list[str]:
    """Where the view must cover a denied package: below every read-only mount that shows it.
    A tree mounted at two paths (a prefix reached through a link, e.g. /srv/course -> /data/
    course, is mounted both as sys.prefix and as its real path) shows it at both."""
    masks: set[str] = set()
    for path in read_only:
        if os.path.islink(path) and path in SYSTEM:
            continue  # a link (/bin -> usr/bin), not a mount: what it shows is masked at its target
        real = os.path.realpath(path)
        masks.update(path + d[len(real) :] for d in denied_dirs() if _inside(d, real))
    return sorted(masks)


def allowed_read_only(root: Path | None = None) -> list[str]:
    """Paths mounted read-only, outermost first; none is the course root or one of its parents."""
    course = os.path.realpath(root or course_root())
    candidates = [*SYSTEM, *SYS_READABLE, *package_dirs()]
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
        candidates += [os.path.abspath(prefix), os.path.realpath(prefix)]
    candidates.append(os.path.dirname(os.path.realpath(sys.executable)))
    paths: list[str] = []
    for path in sorted(set(candidates), key=lambda p: (p.count("/"), p)):
        if not os.path.exists(path) or path == course:
            continue
        if _inside(course, path) and path not in SYSTEM:
            continue  # a parent of the course root (its siblings would show): never
        covered = [p for p in paths if _inside(path, p)]
        if any(not _inside(path, course) or _inside(p, course) for p in covered):
            continue  # already visible through an outer path (not one masked over the course)
        paths.append(path)
    return paths


def jail_config(
    *,
    uid: int,
    gid: int,
    workdir: Path,
    shared_dir: Path,
    argv: list[str],
    env: dict[str, str],
    pass_fds: list[int],
    cgroups: list[str],
    root: Path,
) -> dict[str, Any]:
    """The config jail.py reads: where to mount what, then whom to run."""
    course = os.path.realpath(course_root())
    mounts: list[tuple[str, str, str]] = []
    read_only = allowed_read_only()
    for path in read_only:
        if os.path.islink(path) and path in SYSTEM:  # /bin -> usr/bin on merged-/usr systems
            mounts.append(("symlink", path, os.readlink(path)))
        elif not _inside(path, course):
            mounts.append(("ro", path, ""))
    if any(_inside(course, p) for p in read_only):  # the course root lies inside an allowed path
        mounts.append(("tmpfs", course, "size=1m,nr_inodes=1024,mode=755"))
    mounts += [("ro", p, "") for p in read_only if _inside(p, course)]
    mounts += [("tmpfs", path, options) for path, options in SCRATCH if path != "/dev/shm"]
    # An empty, read-only folder over each denied package (deeper than the environment's mount).
    mounts += [("tmpfs", path, "size=4k,nr_inodes=4,mode=555") for path in denied_masks(read_only)]
    # Outermost first: a mount hides what an earlier one put below it, so the private /tmp must
    # come before a course (and its venv) cloned under /tmp, and /var before /var/tmp. Paths of
    # the same depth are siblings; sorted() is stable, so the order above holds among them.
    mounts.sort(key=lambda mount: mount[1].rstrip("/").count("/"))
    mounts.append(("tmpfs", "/dev", "size=1m,nr_inodes=256,mode=755"))
    mounts += [("device", f"/dev/{d}", "") for d in DEVICES if os.path.exists(f"/dev/{d}")]
    mounts += [("tmpfs", path, options) for path, options in SCRATCH if path == "/dev/shm"]
    mounts.append(("symlink", "/dev/fd", "/proc/self/fd"))
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        mounts.append(("symlink", f"/dev/{name}", f"/proc/self/fd/{number}"))
    mounts.append(("proc", "/proc", ""))
    mounts.append(("rw", str(workdir), ""))
    mounts.append(("ro", str(shared_dir), ""))
    return {
        "root": str(root),
        "mounts": mounts,
        "uid": uid,
        "gid": gid,
        "workdir": str(workdir),
        "argv": argv,
        "env": env,
        "pass_fds": pass_fds,
        "cgroups": cgroups,
    }


def allowed_in_course(root: Path | None = None) -> list[str]:
    """The allow-listed paths inside the course root (the packages, the virtual environment)."""
    course = os.path.realpath(root or course_root())
    return [p for p in allowed_read_only(root) if _inside(p, course) and p != course]


def environments_in_course(root: Path | None = None) -> list[str]:
    """Python environments at the top of the course root (folders holding pyvenv.cfg, such as
    .venv310 of the 3.10 CI): installed packages only, left open by close_course_root."""
    course = os.path.realpath(root or course_root())
    return [
        os.path.join(course, name)
        for name in sorted(os.listdir(course))
        if os.path.isfile(os.path.join(course, name, "pyvenv.cfg"))
    ]


def close_course_root(root: Path | None = None) -> None:
    """The fallback where there are no namespaces (and a second wall where there are), as root:
    every entry at the top of the course root but the allow-listed ones and Python environments
    (folders holding pyvenv.cfg: installed packages, no course files) loses its permissions for
    others, and the root itself can be passed through but not listed. The sandbox uid has no
    group of the course's, so owner and group permissions stay as they are (git records none of
    these bits). A worktree's history (the repository its `.git` file names) is closed too.
    Other checkouts and files elsewhere on the machine keep their permissions."""
    if os.geteuid() != 0:
        return
    course = Path(os.path.realpath(root or course_root()))
    keep = {Path(p).relative_to(course).parts[0] for p in allowed_in_course(course)}
    keep |= {Path(p).name for p in environments_in_course(course)}
    private = [course / name for name in os.listdir(course) if name not in keep]
    dot_git = course / ".git"
    if (
        dot_git.is_file() and not dot_git.is_symlink()
    ):  # a worktree: gitdir: <repo>/.git/worktrees/x
        text = dot_git.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            gitdir = (course / text.split(":", 1)[1].strip()).resolve()
            common = gitdir / "commondir"
            shared = (gitdir / common.read_text().strip()).resolve() if common.is_file() else gitdir
            private += [gitdir, shared]
    for path in private:
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode):  # chmod would follow a link out of the course
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o007)
    os.chmod(course, stat.S_IMODE(os.stat(course).st_mode) & ~0o006)


def close_denied_packages() -> list[str]:
    """As root, the layer under the worker's import finder where there is no view (no
    namespaces, as in Docker's default containers): the denied packages of the grader's own
    virtual environment lose their permissions for others. The sandbox uid is an other; the
    grader, root, still imports them (live oracles). A system Python's packages (no virtual
    environment) stay as they are: other users of the machine use them. Returns what it closed."""
    if os.geteuid() != 0 or sys.prefix == sys.base_prefix:
        return []
    environment = os.path.realpath(sys.prefix)
    closed = []
    for path in denied_dirs():
        if not _inside(path, environment):
            continue
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o007:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o007)
            closed.append(path)
    return closed


PROBE_TIMEOUT_S = 30.0


@functools.cache
def namespaces_unavailable() -> str:
    """Why this machine cannot give the worker namespaces ('' when it can). Needs root and
    CAP_SYS_ADMIN (containers usually drop it); probed once per grader process, by a child
    forked to try what the keeper does first (jail.probe): the grader's own namespaces stay as
    they are. An interpreter started for it cost every grading run ~40 ms before the worker."""
    if os.geteuid() != 0:
        return "not root"
    for _ in range(2):  # a verdict lost to another thread's reaping is asked for again
        why = _probe_namespaces()
        if why is not None:
            return why
    return "probe failed: its exit status was collected elsewhere, twice"


def _probe_namespaces() -> str | None:
    """One forked probe's verdict; None when another thread collected its exit status."""
    from dlhw.autograder import jail

    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read)
        os.close(write)
        return f"probe failed: {exc}"
    if pid == 0:  # system calls, then _exit: nothing of the grader's runs or is flushed here
        status = 0
        try:
            os.close(read)
            jail.probe()
        except BaseException as exc:  # noqa: BLE001 - the child says why and ends
            status = 1
            try:
                os.write(write, str(exc).encode(errors="replace")[:1000])
            except BaseException:  # noqa: BLE001, S110 - its status still says it failed
                pass
        os._exit(status)
    os.close(write)
    # Bounded, as the interpreter started for it was (30 s): a child stuck in the kernel (a
    # network namespace made while the host makes many) must not hold the grading run for good.
    deadline, said = time.monotonic() + PROBE_TIMEOUT_S, b""
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while select.select([pipe], [], [], max(deadline - time.monotonic(), 0))[0]:
            chunk = pipe.read(4096)
            if not chunk:
                break
            said += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            said = f"probe failed: no answer in {PROBE_TIMEOUT_S:g} s".encode()
    why = said.decode(errors="replace").strip()
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # collected by another thread's reaping of our zombies
        return why or None
    if os.waitstatus_to_exitcode(status) != 0:
        return why or f"probe failed: status {os.waitstatus_to_exitcode(status)}"
    return ""


def course_root() -> Path:
    """The registry's course root, imported here only when asked: the worker imports this
    module (through confinement) and must not import the grader side (the registry)."""
    from dlhw.autograder.homeworks import course_root as root

    return root()
