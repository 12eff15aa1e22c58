"""The autograder for Gradescope: one zip per homework, holding only what grading needs.

    build_autograder_zip(get_homework("hw1"), Path("hw1-autograder.zip"))

The zip's root holds Gradescope's two scripts (`setup.sh`, `run_autograder`, from deploy/), a
`grader.env` with this build's settings, a `Dockerfile` for the manual Docker configuration, and
`course/`: the grader's sources (built and installed by setup.sh into its own virtual
environment) and this one homework's manifest, public and hidden tests and recorded oracles. Not
in it: other homeworks, master notebooks, variants, the test suite, the repository's history.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dlhw.autograder.homeworks import Homework

# Gradescope's default limit is 10 minutes, and a run that reaches it scores 0 with no per-test
# results at all. The grader's own budget ends well before, so a slow submission still gets them.
GRADESCOPE_TIMEOUT_S = 600
DEFAULT_RUN_TIMEOUT_S = 420
TORCH_VERSION = "2.13.0+cpu"

# The grader's sources, relative to the course root: what `pip install course/` needs.
PACKAGE_FILES = ("pyproject.toml", "CMakeLists.txt", "README.md", "LICENSE")
PACKAGE_DIRS = ("autograder", "datasets", "kernels")
# Never shipped, wherever they sit: caches and build products.
EXCLUDED_PARTS = {"__pycache__", ".ipynb_checkpoints", "build", ".pytest_cache"}
# From the homework's folder, only what grading reads (no master notebook, no variants).
HOMEWORK_FILES = ("homework.toml", "public_tests.py")


@dataclass(frozen=True)
class BuildSettings:
    run_timeout_s: float = DEFAULT_RUN_TIMEOUT_S
    needs_torch: bool = True
    policy: Path | None = None  # an optional late/rate policy (see dlhw.autograder.policy)
    # Who sees what the submission printed (Gradescope's stdout_visibility). Not "visible" by
    # default: Gradescope's own default is hidden, and staff then also see the score table.
    stdout_visibility: str = "hidden"

    def env(self, hw: Homework) -> str:
        values = {
            "DLHW_HOMEWORK": hw.id,
            "DLHW_RUN_TIMEOUT": f"{self.run_timeout_s:g}",
            "DLHW_NEEDS_TORCH": "1" if self.needs_torch else "0",
            "DLHW_TORCH_VERSION": TORCH_VERSION,
            "DLHW_STDOUT_VISIBILITY": self.stdout_visibility,
        }
        lines = [f"{k}={shlex.quote(v)}" for k, v in values.items()]
        return "# Written by `autograder gradescope`; read by setup.sh and run_autograder.\n" + (
            "\n".join(lines) + "\n"
        )


def _walk(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not EXCLUDED_PARTS.intersection(p.relative_to(folder).parts)
    )


def zip_members(hw: Homework) -> dict[str, Path]:
    """Name in the zip -> file on disk, for the course part of the zip."""
    root = hw.root
    members: dict[str, Path] = {}
    for name in PACKAGE_FILES:
        if (root / name).is_file():
            members[f"course/{name}"] = root / name
    for folder in PACKAGE_DIRS:
        for path in _walk(root / folder):
            if path.suffix in (".so", ".pyc"):
                continue  # built for this machine: setup.sh builds its own
            members[f"course/{path.relative_to(root)}"] = path
    base = f"course/solutions/{hw.slug}"
    for name in HOMEWORK_FILES:
        members[f"{base}/{name}"] = hw.solution_dir / name
    tests = hw.solution_dir / "tests"
    for path in _walk(tests):
        members[f"{base}/tests/{path.relative_to(tests)}"] = path
    return members


def _deploy_file(name: str) -> bytes:
    return resources.files("dlhw.autograder").joinpath(f"deploy/{name}").read_bytes()


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible zips
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_autograder_zip(
    hw: Homework, output: Path, settings: BuildSettings | None = None
) -> list[str]:
    """Write the Gradescope autograder zip for `hw`; returns the names it holds."""
    settings = settings or BuildSettings()
    if not 0 < settings.run_timeout_s <= GRADESCOPE_TIMEOUT_S - 60:
        raise ValueError(
            f"the run budget must leave Gradescope's {GRADESCOPE_TIMEOUT_S} s timeout at least a "
            f"minute for start-up and reporting (got {settings.run_timeout_s:g} s)"
        )
    if settings.policy is not None:  # the course's file: fail here, not in every student's run
        from dlhw.autograder.policy import load_policy

        try:
            load_policy(settings.policy)
        except Exception as exc:  # noqa: BLE001 - whatever the course's file raises
            raise ValueError(f"the policy {settings.policy} does not load: {exc!r}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it when complete: a failed build leaves
    # neither a partial zip nor a broken previous one.
    fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=".zip", dir=output.parent)
    os.close(fd)
    try:
        names = _write_zip(hw, Path(partial), settings)
        os.chmod(partial, 0o644)
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return names


def _write_zip(hw: Homework, output: Path, settings: BuildSettings) -> list[str]:
    names = []
    with zipfile.ZipFile(output, "w") as archive:
        for name, executable in (
            ("setup.sh", True),
            ("run_autograder", True),
            ("Dockerfile", False),
        ):
            _add(archive, name, _deploy_file(name), executable)
            names.append(name)
        _add(archive, "grader.env", settings.env(hw).encode())
        names.append("grader.env")
        if settings.policy is not None:
            _add(archive, "course/policy.py", settings.policy.read_bytes())
            names.append("course/policy.py")
        for name, path in zip_members(hw).items():
            _add(archive, name, path.read_bytes(), executable=bool(path.stat().st_mode & 0o111))
            names.append(name)
    return names


# ---- trying a zip on this machine, in a root laid out like Gradescope's ------------------------


def unpack(zip_path: Path, root: Path) -> None:
    """Unpack into root/source with the zip's permission bits, and place run_autograder as
    Gradescope does (root/run_autograder)."""
    (root / "source").mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():  # extractall would drop the permission bits
            archive.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")


def local_env(root: Path, offline: bool = True) -> dict[str, str]:
    """The environment for setup.sh and run_autograder under `root` on this machine: no apt, and
    (offline) PyTorch from pip's own configuration rather than the CPU index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLHW_")}
    env["DLHW_GRADESCOPE_ROOT"] = str(root)
    env["DLHW_SKIP_APT"] = "1"
    if offline:
        env["DLHW_TORCH_INDEX"] = ""
    if Path("/usr/bin/python3").exists():  # outside /root, so the sandbox uid can run it
        env["DLHW_PYTHON"] = "/usr/bin/python3"
    return env


def prepare_submission(root: Path, notebook: Path) -> None:
    """A fresh submission/ holding `notebook`, and an empty results/."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    shutil.copy(notebook, root / "submission" / notebook.name)
