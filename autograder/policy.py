"""Gradescope's submission metadata, and an optional course policy applied to the results.

Gradescope writes `/autograder/submission_metadata.json` (due dates, the students, previous
submissions). The grader never needs it; when it is there, a course may hand the build a policy
file (`autograder gradescope HW --policy late.py`) defining

    def apply(results: dict, metadata: dict) -> dict:
        ...  # e.g. a late penalty from metadata["created_at"] and ["assignment"]["due_date"],
             # or a rate limit from metadata["previous_submissions"]

which runs in the trusted grader after the tests, on plain data only. A policy that fails, or
returns something that is not a results dict, leaves the results as graded and tells staff in a
hidden entry: a course's bug never costs a student a results file. See docs/gradescope.md.
"""

from __future__ import annotations

import importlib.util
import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlhw.autograder.results import validate

Policy = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
MAX_METADATA_BYTES = 5 * 2**20


def read_metadata(path: Path | None) -> dict[str, Any]:
    """The metadata as a dict; empty when there is none or it is unreadable (never required)."""
    if path is None or not path.is_file() or path.stat().st_size > MAX_METADATA_BYTES:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_policy(path: Path) -> Policy:
    """The `apply` function of a course's policy file (trusted: the course wrote it)."""
    spec = importlib.util.spec_from_file_location("dlhw_course_policy", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    apply = getattr(module, "apply", None)
    if not callable(apply):
        raise ValueError(f"{path} defines no apply(results, metadata) function")
    return apply  # type: ignore[no-any-return]


def apply_policy(
    results: dict[str, Any], metadata: dict[str, Any], policy_file: Path | None
) -> dict[str, Any]:
    """The results after the course's policy; unchanged, with a staff note, if the policy fails."""
    if policy_file is None:
        return results
    try:
        adjusted = load_policy(policy_file)(json.loads(json.dumps(results)), dict(metadata))
        if not isinstance(adjusted, dict) or not isinstance(adjusted.get("tests"), list):
            raise TypeError(f"apply returned {type(adjusted).__name__}, not a results dict")
        validate(adjusted)  # an invalid file would replace the grades by a grader failure
        return adjusted
    except Exception:  # noqa: BLE001 - the graded results stand; staff see why
        note = {
            "name": "Course policy failed (staff only)",
            "score": 0,
            "max_score": 0,
            "status": "failed",
            "visibility": "hidden",
            "output": f"{policy_file} failed; results are as graded:\n{traceback.format_exc()}",
        }
        return {**results, "tests": [*results.get("tests", []), note]}
