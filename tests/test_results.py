"""results.json: the bundled schema is Gradescope's, outputs are truncated, invalid results never leave."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED
from dlhw.autograder.results import MAX_OUTPUT, failure_results, schema, validate, write_results


def test_bundled_schema_matches_the_spec():
    spec = SHARED / "spec" / "gradescope-results.schema.json"
    if not spec.exists():
        pytest.skip(f"{spec} is not present")
    assert schema() == json.loads(spec.read_text())


def test_outputs_are_truncated_to_gradescopes_limit(tmp_path):
    results = {
        "score": 1,
        "output": "x" * (3 * MAX_OUTPUT),
        "tests": [{"score": 1, "max_score": 1, "output": "y" * (2 * MAX_OUTPUT)}],
    }
    written = write_results(results, tmp_path / "r.json")
    assert len(written["output"]) <= MAX_OUTPUT and len(written["tests"][0]["output"]) <= MAX_OUTPUT
    assert "truncated" in written["output"]
    validate(json.loads((tmp_path / "r.json").read_text()))


def test_invalid_results_become_a_grader_failure_file(tmp_path):
    written = write_results(
        {"score": 1, "tests": [{"visibility": "sometimes"}]}, tmp_path / "r.json"
    )
    assert written["score"] == 0
    assert [t["visibility"] for t in written["tests"]] == ["visible", "hidden"]
    assert "invalid results file" in written["output"]


def test_failure_results_are_valid_and_hide_the_traceback():
    results = failure_results("boom", "Traceback: secret path")
    validate(results)
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert all("secret" not in t["output"] for t in visible) and "secret" not in results["output"]


def test_write_is_atomic_and_replaces_a_planted_symlink(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text("untouched")
    link = tmp_path / "results.json"
    link.symlink_to(target)
    write_results({"score": 0, "tests": []}, link)
    assert target.read_text() == "untouched" and not link.is_symlink()
    assert json.loads(link.read_text())["score"] == 0
