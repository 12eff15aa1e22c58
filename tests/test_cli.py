"""The CLI: every command has help text and appears in the README (docs that cannot rot)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import REPO
from dlhw.autograder.cli import build_parser, format_table, main
from dlhw.autograder.grading import GradeOutcome, close_upload
from dlhw.autograder.results import failure_results, write_results

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert len(capsys.readouterr().out) > 100
    assert f"autograder {command}" in (REPO / "README.md").read_text(), (
        f"document `autograder {command}` in README.md"
    )


def test_unknown_homework_is_a_clear_error(capsys):
    assert main(["grade", "hw99", "x.ipynb"]) == 2
    assert "unknown homework 'hw99'" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "dlhw.autograder.cli", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "hw1" in out.stdout


def test_validate_reports_bad_files_clearly(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{nope")
    assert main(["validate", str(tmp_path / "bad.json")]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
    (tmp_path / "wrong.json").write_text('{"tests": [{"score": "ten"}]}')
    assert main(["validate", str(tmp_path / "wrong.json")]) == 1
    assert "not a valid results file at tests/0/score" in capsys.readouterr().err
    (tmp_path / "ok.json").write_text('{"score": 1}')
    assert main(["validate", str(tmp_path / "ok.json")]) == 0


def test_grade_refuses_an_unwritable_results_path_before_grading(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert (
        main(["grade", "hw1", str(tmp_path / "x.ipynb"), "-o", str(blocker / "results.json")]) == 1
    )
    assert "cannot write results to" in capsys.readouterr().err


def test_make_assignments_reports_broken_masters_clearly(tmp_path, monkeypatch, capsys):
    master = tmp_path / "solutions" / "hw1_softmax" / "hw1_softmax.ipynb"
    master.parent.mkdir(parents=True)
    (master.parent / "homework.toml").write_text('title = "t"\nfunctions = ["f"]\n')
    master.write_text(
        '{"cells": [{"id": "c1", "cell_type": "code", "source": "# BEGIN SOLUTION\\nx = 1", "metadata": {},'
        ' "outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    monkeypatch.setenv("DLHW_ROOT", str(tmp_path))
    assert main(["make-assignments"]) == 1
    assert "never closed" in capsys.readouterr().err
    master.unlink()
    assert main(["make-assignments", "--check"]) == 1
    assert "cannot generate the assignments" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="only the uid sandbox (root) has users to keep out")
def test_grade_refuses_a_results_folder_the_sandbox_could_write(tmp_path, capsys):
    folder = tmp_path / "open"
    folder.mkdir()
    os.chmod(folder, 0o777)
    assert main(["grade", "hw1", str(tmp_path / "x.ipynb"), "-o", str(folder / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "refusing to write results" in err and "writable by every user" in err
    assert os.listdir(folder) == []


def test_the_table_prints_whatever_the_results_hold():
    """A lone surrogate or escape sequences in a results dict cannot crash or redraw the table."""
    results = {
        "score": 0,
        "tests": [
            {"name": "n\ud800", "number": "1\x1b[2J", "score": 0, "max_score": 1,
             "status": "failed", "output": "\x1b[1A\rTOTAL 31/31\ud800"},
        ],
    }  # fmt: skip
    table = format_table(GradeOutcome(results, None, ""), "title\x1b]0;x\x07")
    table.encode("utf-8")
    assert "\x1b" not in table and "\r" not in table and "\\x1b[1A\\x0dTOTAL 31/31" in table
    assert len(table.splitlines()) == 4  # title, header, one test, total: nothing redrawn


def test_a_long_result_is_cut_with_an_ellipsis_like_a_long_name():
    """A message cut at the column's width says it goes on (the full text follows the table)."""
    message = "softmax_regression_grad is not implemented yet (it raised NotImplementedError)"
    results = {
        "score": 0,
        "tests": [{"name": "t", "number": "1", "score": 0, "max_score": 1,
                   "status": "failed", "output": message}],
    }  # fmt: skip
    row = format_table(GradeOutcome(results, None, ""), "title").splitlines()[2]
    assert row.endswith(message[:67] + "...")


def test_close_upload_closes_a_readable_upload_once(tmp_path):
    upload = tmp_path / "hw.ipynb"
    upload.write_text("{}")
    os.chmod(upload, 0o644)
    notes = close_upload(upload)
    if os.geteuid() != 0:
        assert notes == [] and stat.S_IMODE(upload.stat().st_mode) == 0o644
        return
    assert stat.S_IMODE(upload.stat().st_mode) == 0o600 and "closed it" in notes[0]
    assert close_upload(upload) == []
    link = tmp_path / "link.ipynb"
    link.symlink_to(upload)
    assert "not closed" in close_upload(link)[0]  # never through a link


@pytest.mark.parametrize(("given", "expected"), [(None, "1 1"), ("2", "2 ")])
def test_the_cli_gives_its_numpy_one_blas_thread_unless_told(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    probe = (
        "import os, sys\n"
        "import dlhw.autograder.cli\n"
        "assert 'numpy' in sys.modules\n"
        # OpenBLAS starts its threads when numpy is imported: one thread in all means the
        # setting came first.
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(expected)  # a caller's own setting is kept


def test_grade_refuses_a_folder_a_notebook_or_an_unwritable_path_before_grading(tmp_path, capsys):
    """Each used to grade first and then end in a traceback, or overwrite the notebook."""
    submission = tmp_path / "hw1_softmax.ipynb"
    submission.write_text("{}")
    other = tmp_path / "other.ipynb"
    other.write_text("{}")
    cases = {
        str(tmp_path): "it is a folder",
        str(tmp_path / "new") + "/": "it names a folder",
        str(submission): "which it would overwrite",
        str(other): "it is a notebook",
        str(submission / "r.json"): "is a file, not a folder",
        "/proc/results.json": "cannot write results to /proc/results.json",  # even as root
    }
    for output, message in cases.items():
        assert main(["grade", "hw1", str(submission), "-o", output]) == 1, output
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert submission.read_text() == "{}" and other.read_text() == "{}"
    assert not (tmp_path / "new").exists()


def test_grade_says_in_one_line_why_an_upload_could_not_be_read(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["grade", "hw1", str(tmp_path / "nope.ipynb"), "-o", str(out)]) == 0
    missing = tmp_path / "nope.ipynb"
    err = capsys.readouterr().err
    assert err == f"autograder: {missing}: nothing was submitted ({missing} does not exist)\n"
    assert json.loads(out.read_text())["score"] == 0


def test_check_says_once_why_a_notebook_could_not_be_read(tmp_path, capsys):
    missing = tmp_path / "nope.ipynb"
    assert main(["check", "hw1", str(missing)]) == 1
    captured = capsys.readouterr()
    assert (
        captured.err == f"autograder: {missing}: nothing was submitted ({missing} does not exist)\n"
    )
    assert captured.out == ""


def test_an_interrupted_grade_is_one_line_and_its_results_say_so(tmp_path, monkeypatch, capsys):
    from dlhw.autograder import cli

    def interrupted(hw, submission, output, **kwargs):
        write_results(failure_results("the grading run was interrupted", "interrupted"), output)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "grade", interrupted)
    out = tmp_path / "results.json"
    try:
        code = main(["grade", "hw1", str(tmp_path / "x.ipynb"), "-o", str(out)])
    except KeyboardInterrupt:
        pytest.fail("the interruption escaped the CLI (a traceback for the user)")
    assert code == 130
    assert capsys.readouterr().err == f"autograder: interrupted; {out} records an interrupted run\n"
    assert "interrupted" in json.loads(out.read_text())["output"]


def test_validate_refuses_deep_nesting_and_infinite_numbers(tmp_path, capsys):
    (tmp_path / "deep.json").write_text("[" * 100_000)
    assert main(["validate", str(tmp_path / "deep.json")]) == 1
    assert "nested too deeply" in capsys.readouterr().err
    (tmp_path / "inf.json").write_text('{"score": 1e999, "tests": []}')
    assert main(["validate", str(tmp_path / "inf.json")]) == 1
    assert "1e999 is out of range" in capsys.readouterr().err


def test_mutate_checks_its_report_path_before_grading(tmp_path, capsys):
    assert main(["mutate", "hw1", "-o", str(tmp_path)]) == 1
    assert "cannot write the report to" in capsys.readouterr().err


def test_the_cli_leaves_what_a_grading_run_loads_later_to_be_loaded_later():
    """`grade` overlaps these imports with the worker's start (nbformat, jsonschema) and with
    the notebook's cells (pytest): imported with the CLI itself, they would precede both."""
    code = (
        "import sys, dlhw.autograder.cli\n"
        "print(sorted(m for m in ('pytest', 'nbformat', 'jsonschema', 'torch') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    """`autograder grade ... | head`: the pipe closes before the table is printed; the results
    file is written, and the command ends quietly (no BrokenPipeError traceback)."""
    out = tmp_path / "results.json"
    hw1 = REPO / "solutions" / "hw1_softmax" / "hw1_softmax.ipynb"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from dlhw.autograder.cli import run; run()",
         "grade", "hw1", str(hw1), "-o", str(out), "-v"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before anything is printed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert json.loads(out.read_text())["score"] > 0


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the sandbox is another user then")
def test_the_grader_imports_nothing_from_a_folder_others_may_write(tmp_path):
    """`python -m` started in /tmp puts /tmp first on sys.path, and the grader imports pytest
    and jsonschema once student code runs: a first cell's /tmp/pytest.py ran as root. Such
    folders leave sys.path (with a word on stderr); the others stay."""
    open_to_all = tmp_path / "shared"
    open_to_all.mkdir()
    os.chmod(open_to_all, 0o1777)  # as /tmp
    (open_to_all / "planted_module_x.py").write_text("raise SystemExit('imported')\n")
    private = tmp_path / "private"
    private.mkdir(mode=0o755)
    code = (
        "import sys\n"
        "from dlhw.autograder.cli import drop_writable_import_paths\n"
        "print(drop_writable_import_paths())\n"
        f"assert {str(private)!r} in sys.path\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('planted_module_x'))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{private}:{open_to_all}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=open_to_all, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    dropped, spec = done.stdout.splitlines()
    assert str(open_to_all) in dropped and str(private) not in dropped
    assert spec == "None"
    cli = subprocess.run(
        [sys.executable, "-m", "dlhw.autograder.cli", "list"], cwd=open_to_all, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert cli.returncode == 0 and "hw1" in cli.stdout
    assert f"not importing from {open_to_all}" in cli.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the sandbox is another user then")
def test_an_environment_of_another_ordinary_user_stays_importable(tmp_path):
    """`sudo .venv/bin/autograder grade ...` with the environment a staff member's: its
    site-packages (theirs, 0755) left sys.path, pytest and jsonschema (imported late) were
    not found, and no results file was written. Only folders a sandbox user could write leave:
    open to all, or a sandbox uid's."""
    from dlhw.autograder.confinement import SANDBOX_UID_BASE

    staff, sandbox = tmp_path / "staff", tmp_path / "sandbox"
    for folder, owner in ((staff, 1000), (sandbox, SANDBOX_UID_BASE + 7)):
        folder.mkdir(mode=0o755)
        os.chown(folder, owner, owner)
        (folder / f"module_of_{folder.name}.py").write_text("")
    code = (
        "import importlib.util\n"
        "from dlhw.autograder.cli import drop_writable_import_paths\n"
        "print(drop_writable_import_paths())\n"
        "print(importlib.util.find_spec('module_of_staff') is not None)\n"
        "print(importlib.util.find_spec('module_of_sandbox') is not None)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{staff}:{sandbox}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    dropped, staff_found, sandbox_found = done.stdout.splitlines()
    assert str(sandbox) in dropped and str(staff) not in dropped, dropped
    assert (staff_found, sandbox_found) == ("True", "False")
