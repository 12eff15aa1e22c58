"""results.json: the bundled schema is Gradescope's, outputs are truncated, invalid results never leave."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from conftest import SHARED
from dlhw.autograder.results import (
    MAX_OUTPUT,
    UnsafeResultsPath,
    failure_results,
    results_path_problem,
    schema,
    validate,
    write_results,
)


def test_bundled_schema_matches_the_spec():
    spec = SHARED / "spec" / "gradescope-results.schema.json"
    if not spec.exists():
        pytest.skip(f"{spec} is not present")
    assert schema() == json.loads(spec.read_text())


def test_bundled_schema_is_a_valid_draft_2020_12_schema():
    """validate trusts the schema (it is not checked at run time): a broken edit fails here."""
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    broken = {**schema(), "type": "results"}  # not a JSON type: the check can fail
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft202012Validator.check_schema(broken)


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


def _strict(word: str) -> None:
    raise ValueError(f"{word} is not JSON")


def test_a_mismatchs_infinite_error_is_written_as_json_can_hold_it(tmp_path, capsys):
    """5 where 0 is expected: an infinite relative error, which Python's json writes as the bare
    word Infinity (not JSON: strict readers refuse the whole file)."""
    from dlhw.autograder import feedback
    from dlhw.autograder.checks import assert_close
    from dlhw.autograder.cli import main

    with pytest.raises(AssertionError) as caught:
        assert_close(np.array([5.0, 1.0]), np.array([0.0, 1.0]), rtol=0, atol=0, name="x")
    output, extra = feedback.render(caught.value, str(caught.value))
    assert extra["max_rel_error"] == float("inf")
    test = {"name": "t", "score": 0, "max_score": 1, "output": output, "extra_data": extra}
    write_results({"score": 0, "tests": [test]}, tmp_path / "r.json")
    written = json.loads((tmp_path / "r.json").read_text(), parse_constant=_strict)
    assert written["tests"][0]["extra_data"]["max_rel_error"] == "inf"
    # The validator refuses such a file (it accepted one, as Python's json reader does).
    (tmp_path / "bad.json").write_text('{"score": 0, "tests": [], "extra_data": {"x": Infinity}}')
    assert main(["validate", str(tmp_path / "bad.json")]) == 1
    assert "Infinity is not a JSON number" in capsys.readouterr().err


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


# ---- issue #8: results no other run can read or replace ------------------------------------------

ROOT = os.geteuid() == 0


def test_results_are_readable_by_the_grader_alone(tmp_path):
    write_results({"score": 0, "tests": []}, tmp_path / "results.json")
    assert stat.S_IMODE(os.stat(tmp_path / "results.json").st_mode) == 0o600


def test_student_text_in_results_is_stored_printable(tmp_path):
    written = write_results(
        {"score": 0, "output": "x\x1b[2J\ud800", "tests": [
            {"name": "t\r", "score": 0, "max_score": 1, "output": "TOTAL 31/31\r\x1b[1A"}]},
        tmp_path / "results.json",
    )  # fmt: skip
    assert written["output"] == "x\\x1b[2J\ufffd"
    assert written["tests"][0]["output"] == "TOTAL 31/31\\x0d\\x1b[1A"
    (tmp_path / "results.json").read_text(encoding="utf-8")


@pytest.mark.skipif(not ROOT, reason="only the uid sandbox (root) has users to keep out")
@pytest.mark.parametrize(
    "mode, owner, problem",
    [
        (0o777, 0, "is writable by every user"),
        (0o755, 63_999, "belongs to a sandbox user"),
        (0o1777, 0, None),  # sticky, like /tmp: others cannot rename or delete root's file
        (0o755, 0, None),
    ],
)
def test_results_folders_the_sandbox_could_write_are_refused(tmp_path, mode, owner, problem):
    folder = tmp_path / "out"
    folder.mkdir()
    os.chmod(folder, mode)
    os.chown(folder, owner, owner)
    found = results_path_problem(folder / "sub" / "results.json")
    assert (found is None) if problem is None else (problem in (found or ""))
    if problem is not None:
        with pytest.raises(UnsafeResultsPath, match="refusing to write results"):
            write_results({"score": 0, "tests": []}, folder / "results.json")
        assert os.listdir(folder) == []


def test_results_that_cannot_be_checked_still_make_a_valid_file(tmp_path, monkeypatch):
    """jsonschema missing or broken in the grader's environment: the run's results cannot be
    checked, so a grader failure's fixed form is written (valid, as checked here with the real
    jsonschema), saying why; before, write_results raised and no file was written."""
    import sys

    from dlhw.autograder import results as module

    module._validator.cache_clear()
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import jsonschema: ImportError
    path = tmp_path / "results.json"
    try:
        write_results({"score": 1, "output": "", "tests": [{"score": 1, "max_score": 1}]}, path)
    finally:
        module._validator.cache_clear()
    monkeypatch.undo()
    written = json.loads(path.read_text())
    validate(written)
    assert written["score"] == 0
    assert "its results could not be checked (ModuleNotFoundError" in written["output"]
