"""Gradescope's results.json: assembled, validated against the schema, written atomically.

`write_results` never lets an invalid file out: it validates against the bundled copy of the
schema (identical to shared/spec's, checked by a test) and truncates every `output` to Gradescope's
100,000 characters first. `failure_results` is what the student and staff see when the grader
itself fails: a visible "autograder failed" entry and a hidden one with the traceback.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import traceback
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlhw.autograder.wire.text import clean

if TYPE_CHECKING:
    import jsonschema

# When students see a test or the run's output (Gradescope's `visibility` values).
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

MAX_OUTPUT = 100_000


@cache
def schema() -> dict[str, Any]:
    text = resources.files("dlhw.autograder").joinpath("schemas/gradescope-results.schema.json")
    return json.loads(text.read_text())


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    note = f"\n[... output truncated: {len(text) - limit + 200:,} more characters]"
    return text[: limit - 200] + note


def _clean(results: dict[str, Any]) -> dict[str, Any]:
    """Truncated outputs; and every output, name and message made safe to print once more
    (text.clean: student text is cleaned where it enters, this is the net for anything else that
    quotes the upload, such as a file name in a message)."""
    out = dict(results)
    if "output" in out:
        out["output"] = truncate(clean(str(out["output"])))
    out["tests"] = [
        {
            **t,
            **({"output": truncate(clean(str(t["output"])))} if "output" in t else {}),
            **({"name": clean(t["name"])} if isinstance(t.get("name"), str) else {}),
        }
        for t in out.get("tests", [])
    ]
    return out


def _json_numbers(value: Any) -> Any:
    """`value` with every non-finite float as a string ("inf", "nan"): JSON has no such numbers,
    and Python's json writes them as the bare words Infinity and NaN, which strict readers
    refuse. A wrong answer of 5 where 0 is expected has an infinite relative error, so a
    mismatch's extra_data holds one in ordinary grading."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


@cache
def _validator() -> jsonschema.Draft202012Validator:
    """A validator made once per process. The schema is the package's own file, and the test
    suite checks it against draft 2020-12's metaschema (test_results): checking it here too
    cost every grading run ~19 ms, as jsonschema.validate's check did every call. jsonschema
    is imported here, when results are first checked: a run's start-up does not wait for it."""
    import jsonschema

    return jsonschema.Draft202012Validator(schema())


def validate(results: dict[str, Any]) -> None:
    """jsonschema.validate's checks and error (the most relevant one), with a cached validator."""
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(_validator().iter_errors(results))
    if error is not None:
        raise error


def failure_results(summary: str, details: str, execution_time: float = 0.0) -> dict[str, Any]:
    """Results for a run in which the grader itself failed (never the student's fault)."""
    return {
        "score": 0,
        "execution_time": round(execution_time, 3),
        "output": f"The autograder failed: {summary}\nThis is not your fault; course staff have been told.",
        "tests": [
            {
                "name": "Autograder failed",
                "score": 0,
                "max_score": 0,
                "status": "failed",
                "visibility": "visible",
                "output": f"The autograder failed while grading this submission: {summary}\n"
                "Please contact course staff.",
            },
            {
                "name": "Autograder failure details (staff only)",
                "score": 0,
                "max_score": 0,
                "status": "failed",
                "visibility": "hidden",
                "output": details,
            },
        ],
    }


def finalize(results: dict[str, Any]) -> dict[str, Any]:
    """Truncate outputs and validate; an invalid file is replaced by a grader-failure one, and
    so is one that cannot be checked (jsonschema missing or broken in the grader's
    environment): a file is still written, with a failure's fixed form (test_results checks it
    against the schema), and staff are told why."""
    results = _json_numbers(_clean(results))
    try:
        import jsonschema

        try:
            validate(results)
        except jsonschema.ValidationError as exc:
            results = _clean(failure_results("it produced an invalid results file", str(exc)))
            validate(results)
    except Exception as exc:  # noqa: BLE001 - the checker itself failed: said, never silent
        details = traceback.format_exc()
        results = _clean(
            failure_results(
                f"its results could not be checked ({type(exc).__name__}: {exc})", details
            )
        )
    return results


class UnsafeResultsPath(ValueError):
    """A results path the sandbox could replace: refused before grading."""


def results_path_problem(path: Path) -> str | None:
    """Why a results file at `path` could be replaced by the sandbox, or None when it cannot.

    Only matters with the uid sandbox (the grader is root): every existing folder on the real
    path must be neither owned by a sandbox uid nor writable by all without the sticky bit. In a
    sticky world-writable folder such as /tmp, other users can create names but not rename or
    delete ours: the file is renamed into place by root and then stays root's. Folders yet to be
    created are created by root, with mode 0755."""
    if os.geteuid() != 0:
        return None
    from dlhw.autograder.confinement import is_sandbox_uid

    real = Path(os.path.realpath(path.parent))
    for folder in [*reversed(real.parents), real]:
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            continue
        if is_sandbox_uid(info.st_uid):
            return f"{folder} belongs to a sandbox user (uid {info.st_uid})"
        if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
            return f"{folder} is writable by every user (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def check_results_path(path: Path) -> None:
    problem = results_path_problem(path)
    if problem is not None:
        raise UnsafeResultsPath(
            f"refusing to write results to {path}: {problem}, so a submission's code could "
            "replace the file; choose a folder only root can write (or a sticky one, like /tmp)"
        )


class OutputPathError(ValueError):
    """An output file that cannot be written, or whose writing would destroy an input."""


def check_output_file(path: Path, *inputs: Path) -> None:
    """Before a long run: a file can be created at `path` (its folder made if missing), and
    writing it replaces none of `inputs` nor a notebook. The folder is probed by creating and
    removing a file in it: `os.access` says yes to root everywhere, /proc included. The error
    says why, not which file (the caller names it)."""
    target = os.path.realpath(path)
    for given in inputs:
        if target == os.path.realpath(given):
            raise OutputPathError(f"it is the input {given}, which it would overwrite")
    if path.is_dir():
        raise OutputPathError(f"it is a folder; give a file's path, e.g. {path / 'results.json'}")
    if path.suffix == ".ipynb" and path.exists():
        raise OutputPathError("it is a notebook, which it would replace")
    above = next((folder for folder in path.parents if folder.exists()), None)
    if above is not None and not above.is_dir():
        raise OutputPathError(f"{above} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(str(exc.strerror or exc)) from None


def write_results(results: dict[str, Any], path: Path) -> dict[str, Any]:
    """Finalize, then write atomically: a new file (O_EXCL, mode 0600: no other user, no later
    submission, reads it) in the same folder, renamed over the target. The rename replaces a
    planted link or file; it never writes through one."""
    results = finalize(results)
    check_results_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(results, fh, indent=2, allow_nan=False)  # finalize made them finite
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return results
