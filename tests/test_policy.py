"""Submission metadata and course policies: optional, applied on plain data, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO
from dlhw.autograder.cli import main
from dlhw.autograder.policy import apply_policy, read_metadata
from dlhw.autograder.results import validate

EXAMPLE = REPO / "docs" / "examples" / "late_policy.py"


def results(score: float = 8.0) -> dict:
    return {
        "score": score,
        "output": "graded",
        "tests": [{"name": "t", "score": score, "max_score": 10.0, "status": "failed"}],
    }


def metadata(created: str, previous: int = 0) -> dict:
    return {
        "created_at": created,
        "assignment": {"due_date": "2026-11-20T23:59:00.000000-08:00"},
        "previous_submissions": [
            {"submission_time": "2026-11-20T12:00:00-08:00", "score": 7.0} for _ in range(previous)
        ],
    }


def test_metadata_is_optional_and_never_required(tmp_path: Path) -> None:
    assert read_metadata(None) == {}
    assert read_metadata(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert read_metadata(tmp_path / "bad.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_metadata(tmp_path / "list.json") == {}
    (tmp_path / "ok.json").write_text(json.dumps(metadata("2026-11-20T10:00:00-08:00")))
    assert read_metadata(tmp_path / "ok.json")["assignment"]["due_date"].startswith("2026")


def test_the_example_late_policy_takes_ten_percent_per_day() -> None:
    on_time = apply_policy(results(), metadata("2026-11-20T10:00:00-08:00"), EXAMPLE)
    assert on_time["score"] == 8.0
    late = apply_policy(results(), metadata("2026-11-22T10:00:00-08:00"), EXAMPLE)
    assert late["score"] == 8.0 * 0.8 and "2 day(s) late" in late["output"]
    validate(late)


def test_the_example_rate_limit_keeps_the_previous_score() -> None:
    limited = apply_policy(results(), metadata("2026-11-20T13:00:00-08:00", previous=10), EXAMPLE)
    assert limited["score"] == 7.0 and "submissions in the last 24 hours" in limited["output"]


def test_a_failing_or_invalid_policy_leaves_the_grades_and_tells_staff(tmp_path: Path) -> None:
    for body in (
        "def apply(results, metadata):\n    raise RuntimeError('course bug')\n",
        "def apply(results, metadata):\n    return None\n",
        "def apply(results, metadata):\n    results['score'] = 'ten'\n    return results\n",
        "x = 1\n",
    ):
        policy = tmp_path / "policy.py"
        policy.write_text(body)
        out = apply_policy(results(), {}, policy)
        assert out["score"] == 8.0 and out["tests"][0] == results()["tests"][0]
        assert out["tests"][-1]["visibility"] == "hidden"
        assert "Course policy failed" in out["tests"][-1]["name"]
        validate(out)


def test_cli_grade_applies_a_policy_from_metadata(tmp_path: Path, hw1) -> None:
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps(metadata("2026-11-23T10:00:00-08:00")))
    out = tmp_path / "results.json"
    code = main(["grade", "hw1", str(hw1.stub), "-o", str(out), "--metadata", str(meta),
                 "--policy", str(EXAMPLE)])  # fmt: skip
    assert code == 0
    written = json.loads(out.read_text())
    validate(written)
    assert "day(s) late" in written["output"] and written["score"] == 0
