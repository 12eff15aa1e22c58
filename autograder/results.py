"""Gradescope's results.json: assembled, validated against the schema, written atomically.

`write_results` never lets an invalid file out: it validates against the bundled copy of the
schema (identical to shared/spec's, checked by a test) and truncates every `output` to Gradescope's
100,000 characters first. `failure_results` is what the student and staff see when the grader
itself fails: a visible "autograder failed" entry and a hidden one with the traceback.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from dlhw.autograder.text import clean

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


def validate(results: dict[str, Any]) -> None:
    jsonschema.validate(results, schema(), cls=jsonschema.Draft202012Validator)


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
    """Truncate outputs and validate; an invalid file is replaced by a grader-failure one."""
    results = _clean(results)
    try:
        validate(results)
    except jsonschema.ValidationError as exc:
        results = _clean(failure_results("it produced an invalid results file", str(exc)))
        validate(results)
    return results


def write_results(results: dict[str, Any], path: Path) -> dict[str, Any]:
    """Finalize, then write atomically (a temp file in the same folder, renamed over the target)."""
    results = finalize(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(results, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return results
