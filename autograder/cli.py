"""The `autograder` command: thin subcommands over the library."""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import Any

# Before numpy is imported: the grader's own numpy compares values and needs one BLAS thread.
# OpenBLAS otherwise starts a thread per core at import, and they spin: ~0.1 s of CPU per
# grading run on this 2-core machine (20 ms of wall time here, all of it on Gradescope's one
# CPU). A value set by the caller wins; the worker's environment sets its own (confinement.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from dlhw.autograder import feedback  # noqa: E402 - after the thread setting above
from dlhw.autograder.confinement import Limits, is_sandbox_uid  # noqa: E402
from dlhw.autograder.gradescope import DEFAULT_RUN_TIMEOUT_S, BuildSettings, build_autograder_zip  # noqa: E402
from dlhw.autograder.grading import GradeOutcome, grade  # noqa: E402
from dlhw.autograder.homeworks import ManifestError, get_homework, homeworks  # noqa: E402
from dlhw.autograder.oracles import Mode, OracleRun  # noqa: E402
from dlhw.autograder.policy import apply_policy, read_metadata  # noqa: E402
from dlhw.autograder.results import (  # noqa: E402
    VISIBILITIES,
    OutputPathError,
    UnsafeResultsPath,
    check_output_file,
    check_results_path,
    failure_results,
    write_results,
)
from dlhw.autograder.wire.text import clean  # noqa: E402

DEFAULTS = Limits()


def format_table(outcome: GradeOutcome, title: str) -> str:
    """One line per test. Every cell is cleaned again (text.clean is idempotent): whatever a
    results dict holds, no escape sequence or carriage return reaches the terminal to redraw
    the table, and each test stays on its own line."""
    tests = outcome.results.get("tests", [])
    width = max([len(clean(str(t["name"]))) for t in tests] + [20])
    width = min(width, 60)
    lines = [clean(title), f"{'#':>4}  {'test':<{width}}  {'score':>9}  result"]
    for t in tests:
        name = clean(str(t["name"]))
        name = name if len(name) <= width else name[: width - 3] + "..."
        first = feedback.first_line(clean(str(t.get("output") or "")))
        first = first if len(first) <= 70 else first[:67] + "..."  # cut as the names are
        result = "ok" if t.get("status") == "passed" else (first or "failed")
        score = f"{t['score']:g}/{t['max_score']:g}"
        number = clean(str(t.get("number", "")))[:8]
        lines.append(f"{number:>4}  {name:<{width}}  {score:>9}  {result}")
    lines.append(f"{'':>4}  {'TOTAL':<{width}}  {outcome.score:g}/{outcome.max_score:g}".rstrip())
    return "\n".join(lines)


def _limits(opts: argparse.Namespace) -> Limits:
    return Limits(
        call_timeout_s=opts.call_timeout,
        run_timeout_s=opts.run_timeout,
        memory_bytes=opts.memory_mb * 2**20,
    )


# nbformat validates with fastjsonschema by default, which first compiles the schema to code
# (~40 ms of every process): right for a batch, which reads many notebooks in one process, but
# `grade` reads one, which jsonschema validates in ~8 ms. A value set by the caller wins.
ONE_NOTEBOOK_VALIDATOR = "jsonschema"


def cmd_grade(opts: argparse.Namespace) -> int:
    os.environ.setdefault("NBFORMAT_VALIDATOR", ONE_NOTEBOOK_VALIDATOR)
    hw = get_homework(opts.homework)
    output = Path(opts.output)
    try:  # find out before grading whether the results can be written at all
        if opts.output.endswith(("/", os.sep)):
            raise OutputPathError("it names a folder; give the results file's path")
        check_output_file(output, Path(opts.submission))
        check_results_path(output)
    except OutputPathError as exc:
        print(f"autograder: cannot write results to {opts.output}: {exc}", file=sys.stderr)
        return 1
    except UnsafeResultsPath as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 1
    policy = Path(opts.policy) if opts.policy else None
    try:
        outcome = grade(
            hw,
            Path(opts.submission),
            None if policy else output,
            limits=_limits(opts),
            stdout_visibility=opts.stdout_visibility,
            oracles=OracleRun(Mode.LIVE if opts.live_oracles else Mode.RECORDED),
        )
        if policy is not None:  # the course's late/rate policy, on the graded results
            metadata = read_metadata(Path(opts.metadata) if opts.metadata else None)
            adjusted = write_results(apply_policy(outcome.results, metadata, policy), output)
            outcome = GradeOutcome(adjusted, output, outcome.staff_log, outcome.printed)
    except OSError as exc:  # checked above, but the disk or the folder changed since
        print(f"autograder: could not write results to {output}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # grade() wrote results saying so, unless a policy was to come
        if policy is not None:
            write_results(failure_results("the grading run was interrupted", "interrupted"), output)
        print(f"autograder: interrupted; {output} records an interrupted run", file=sys.stderr)
        return 130
    if outcome.unreadable:  # the table says so on every line, cut short: once, in full
        print(f"autograder: {opts.submission}: {outcome.unreadable}", file=sys.stderr)
    if opts.stdout_visibility not in (None, "hidden"):
        # Students will see this stdout: only what their own code printed, never the tests.
        print(clean(outcome.printed) or "(your notebook printed nothing while being graded)")
        return 0
    if opts.stdout_visibility == "hidden" and outcome.printed:
        print("[what the submission printed]\n" + clean(outcome.printed) + "\n")
    print(format_table(outcome, f"{hw.id} ({hw.title}): {opts.submission}"))
    if opts.verbose:
        print("\n" + clean(outcome.results.get("output", "")))
        print("\n[staff log]\n" + clean(outcome.staff_log))
    print(f"\nwrote {opts.output}")
    return 0


def cmd_gradescope(opts: argparse.Namespace) -> int:
    from dlhw.autograder.recording import needs_live_torch

    hw = get_homework(opts.homework)
    settings = BuildSettings(
        run_timeout_s=opts.run_timeout,
        needs_torch=needs_live_torch(hw) if opts.torch == "auto" else opts.torch == "yes",
        policy=Path(opts.policy) if opts.policy else None,
        stdout_visibility=opts.stdout_visibility,
    )
    try:
        names = build_autograder_zip(hw, Path(opts.output), settings)
    except (OSError, ValueError) as exc:
        print(f"autograder: cannot build the Gradescope zip: {exc}", file=sys.stderr)
        return 1
    size = Path(opts.output).stat().st_size
    print(f"wrote {opts.output}: {len(names)} files, {size / 1024:.0f} KiB")
    print(f"  homework {hw.id}, run budget {settings.run_timeout_s:g} s, "
          f"torch {'installed' if settings.needs_torch else 'not needed'}")  # fmt: skip
    return 0


def cmd_release(opts: argparse.Namespace) -> int:
    from dlhw.autograder.handout import HandoutError, LeakError, build_handout

    hw = get_homework(opts.homework)
    try:
        written = build_handout(hw, Path(opts.output))
    except (OSError, LeakError, HandoutError) as exc:
        print(f"autograder: cannot build the handout: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files to {opts.output} (checked: nothing private leaks)")
    return 0


def cmd_export(opts: argparse.Namespace) -> int:
    from dlhw.autograder.batch import BatchError, export_scripts

    hw = get_homework(opts.homework)
    source, out = Path(opts.submissions), Path(opts.output)
    if not source.exists():
        print(f"autograder: {source} does not exist", file=sys.stderr)
        return 1
    try:
        written, skipped = export_scripts(hw, source, out)
    except (BatchError, OSError) as exc:
        print(f"autograder: cannot export: {clean(str(exc))}", file=sys.stderr)
        return 1
    for why in skipped:
        print(f"  left out {why}")
    print(
        f"wrote {len(written)} scripts to {out / 'scripts'} and the handout's to "
        f"{out / 'handout.py'} (a base file for MOSS: -b {out / 'handout.py'})"
    )
    return 0


def _progress_bar(tqdm: Any, unit: str, quiet: bool) -> tuple[Any, list[Any]]:
    """A `progress(done, total)` for grade_batch drawing a bar (count, rate and time left), made
    once the count is known, and the list that then holds it (to close)."""
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        if not bars:  # drawn at 0 as it is made: a refresh now would draw a second "0%"
            bars.append(tqdm(total=total, unit=unit, disable=quiet, initial=done))
            return
        bars[0].n = done
        bars[0].refresh()

    return progress, bars


def cmd_batch(opts: argparse.Namespace) -> int:
    from dlhw.autograder.batch import BatchError, grade_batch

    hw = get_homework(opts.homework)
    folder, out = Path(opts.submissions), Path(opts.output)
    if not folder.is_dir():
        print(f"autograder: {folder} is not a folder of submissions", file=sys.stderr)
        return 1
    try:
        from tqdm import tqdm
    except ImportError:
        print(
            "autograder: batch grading needs its extra: pip install 'dlhw[batch]'", file=sys.stderr
        )
        return 1
    progress, bars = _progress_bar(tqdm, "submission", opts.quiet)
    try:
        rows = grade_batch(
            hw, folder, out, jobs=opts.jobs, limits=_limits(opts), rerun=opts.rerun,
            progress=progress, shared_cpu=opts.shared_cpu,
            warn=lambda text: print(f"autograder: {text}", file=sys.stderr),
        )  # fmt: skip
    except KeyboardInterrupt:
        for bar in bars:
            bar.close()
        print(f"interrupted: finished results and the gradebook are in {out}", file=sys.stderr)
        return 130
    except BatchError as exc:  # it may quote the export's metadata
        print(f"autograder: {clean(str(exc))}", file=sys.stderr)
        return 1
    for bar in bars:
        bar.close()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    print(f"gradebook: {out / 'gradebook.csv'}; summary: {out / 'summary.md'}")
    return 0


def cmd_mutate(opts: argparse.Namespace) -> int:
    from dlhw.autograder.mutation import make_mutants, mutation_report

    hw = get_homework(opts.homework)
    if opts.list:
        for mutant in make_mutants(hw):
            print(mutant.id)
        return 0
    try:  # before the minutes of grading, not after
        if opts.output:
            check_output_file(Path(opts.output))
    except OutputPathError as exc:
        print(f"autograder: cannot write the report to {opts.output}: {exc}", file=sys.stderr)
        return 1
    progress: Any = None
    bars: list[Any] = []
    try:
        from tqdm import tqdm
    except ImportError:  # the batch extra is not installed: no bar
        pass
    else:
        progress, bars = _progress_bar(tqdm, "mutant", opts.quiet)
    try:
        report = mutation_report(hw, jobs=opts.jobs, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    text = report.text()
    print(text)
    if opts.output:
        try:
            Path(opts.output).write_text(text + "\n")
        except OSError as exc:
            print(f"autograder: cannot write {opts.output}: {exc.strerror}", file=sys.stderr)
            return 1
    return 0 if report.score >= opts.min_score else 1


def cmd_check(opts: argparse.Namespace) -> int:
    hw = get_homework(opts.homework)
    public = hw.assignment_dir / "public_tests.py"  # the students' copy: they have no solutions/
    outcome = grade(hw, Path(opts.notebook), None, limits=_limits(opts), tests=[public])
    if outcome.unreadable:  # the same reason on every test: once, and no table
        print(f"autograder: {opts.notebook}: {outcome.unreadable}", file=sys.stderr)
        return 1
    print(format_table(outcome, f"{hw.id} public tests: {opts.notebook}"))
    print("\n" + clean(outcome.results.get("output", "")))
    for t in outcome.results.get("tests", []):
        if t["status"] != "passed":
            print(f"\n--- {clean(t['name'])} ---\n{clean(t.get('output', ''))}")
    return 0 if outcome.score == outcome.max_score else 1


def cmd_demo(opts: argparse.Namespace) -> int:
    out = Path(opts.out)
    for hw in homeworks():
        for label, notebook in (("reference", hw.master), ("stub", hw.stub)):
            path = out / hw.id / label / "results.json"
            outcome = grade(hw, notebook, path)
            print(format_table(outcome, f"\n{hw.id} {label} notebook: {notebook}"))
            print(f"  -> {path}")
    return 0


def cmd_make_assignments(opts: argparse.Namespace) -> int:
    from dlhw.autograder.stubgen import check_assignment, write_assignment

    try:
        if opts.check:
            problems = [p for hw in homeworks() for p in check_assignment(hw)]
            for p in problems:
                print(f"out of date: {p}  (run `make assignments`)", file=sys.stderr)
            if not problems:
                print("assignments are up to date with their master notebooks")
            return 1 if problems else 0
        for hw in homeworks():
            written = write_assignment(hw)
            print(f"{hw.id}: " + (", ".join(map(str, written)) if written else "up to date"))
    except (OSError, ValueError) as exc:  # a missing or unreadable master, unbalanced markers
        print(f"autograder: cannot generate the assignments: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_record_oracles(opts: argparse.Namespace) -> int:
    from dlhw.autograder.recording import record_oracles

    chosen = [get_homework(h) for h in opts.homework] or homeworks()
    failed = False
    for hw in chosen:
        report = record_oracles(hw, check=opts.check)
        failed |= not report.ok
        for problem in report.problems:
            print(f"{hw.id}: {problem}", file=sys.stderr)
        if report.ok and opts.check:
            print(f"{hw.id}: {report.values} recorded oracle values agree with live torch")
        elif report.ok:
            where = ", ".join(map(str, report.written)) or "no oracles"
            print(f"{hw.id}: recorded {report.values} oracle values in {where}")
    if failed and opts.check:
        print(
            "run `make oracles` (autograder record-oracles) to record them again", file=sys.stderr
        )
    return 1 if failed else 0


def cmd_list(opts: argparse.Namespace) -> int:
    for hw in homeworks():
        print(f"{hw.id}  {hw.slug:<16} {hw.title}  (graded: {', '.join(hw.names)})")
    return 0


def _not_json(word: str) -> None:
    raise ValueError(f"{word} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON's grammar allows it, no reader can hold it
        raise ValueError(f"{text} is out of range for a number")
    return value


def cmd_validate(opts: argparse.Namespace) -> int:
    import jsonschema

    from dlhw.autograder.results import validate

    path = Path(opts.results)
    try:
        validate(json.loads(path.read_text(), parse_constant=_not_json, parse_float=_finite))
    except OSError as exc:
        print(f"autograder: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"autograder: {path} is not valid JSON: {exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print(f"autograder: {path} is not a results file: it is nested too deeply", file=sys.stderr)
        return 1
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        print(
            f"autograder: {path} is not a valid results file at {where}: {exc.message}",
            file=sys.stderr,
        )
        return 1
    print(f"{path} is a valid Gradescope results file")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder", description="Grade deep-learning homework notebooks in a sandbox."
    )
    subs = parser.add_subparsers(dest="command", required=True)

    def limits_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--call-timeout",
            type=float,
            default=DEFAULTS.call_timeout_s,
            help="seconds one call of a student function may take (default %(default)s)",
        )
        p.add_argument(
            "--run-timeout",
            type=float,
            default=DEFAULTS.run_timeout_s,
            help="seconds the whole grading run may take (default %(default)s)",
        )
        p.add_argument("--memory-mb", type=int, default=DEFAULTS.memory_bytes // 2**20,
                       help="memory (heap, arrays) the student's process may allocate, in MiB (default %(default)s)")  # fmt: skip

    p = subs.add_parser("grade", help="grade one submission and write Gradescope's results.json")
    p.add_argument("homework", help="homework id, e.g. hw1 (see `autograder list`)")
    p.add_argument("submission", help="the notebook, or a folder holding it")
    p.add_argument(
        "-o", "--output", default="results.json", help="results file (default %(default)s)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="also print feedback and staff log")
    p.add_argument(
        "--live-oracles",
        action="store_true",
        help="compute the tests' PyTorch expectations live instead of using the recorded ones",
    )
    limits_args(p)
    p.set_defaults(func=cmd_grade)

    p.add_argument("--stdout-visibility", choices=VISIBILITIES,
                   help="as on Gradescope: what the submission prints goes to this command's "
                   "stdout, which students see with this visibility (then it prints nothing else "
                   "unless hidden); default: printed output stays in the results' output")  # fmt: skip
    p.add_argument("--metadata", help="Gradescope's submission_metadata.json, read when present "
                   "and passed to --policy")  # fmt: skip
    p.add_argument("--policy", help="a course policy file (apply(results, metadata) -> results), "
                   "e.g. a late penalty; see docs/gradescope.md")  # fmt: skip

    p = subs.add_parser(
        "gradescope",
        help="build the Gradescope autograder zip for one homework",
        description="Build FILE.zip for Gradescope's 'Zip file upload': setup.sh, run_autograder, "
        "the grader's sources and this homework's tests (nothing else). See docs/gradescope.md.",
    )
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("-o", "--output", required=True, help="the zip to write")
    p.add_argument("--run-timeout", type=float, default=DEFAULT_RUN_TIMEOUT_S,
                   help="the grader's budget for one run, seconds; must end well before "
                   "Gradescope's 600 s timeout (default %(default)s)")  # fmt: skip
    p.add_argument("--torch", choices=("auto", "yes", "no"), default="auto",
                   help="install PyTorch in the image (auto: only if a test needs live torch: "
                   "an oracle without a record, or one marked live)")  # fmt: skip
    p.add_argument("--policy", help="a course policy file to apply to every run's results")
    p.add_argument("--stdout-visibility", choices=VISIBILITIES, default="hidden",
                   help="who sees what a submission prints (default %(default)s; otherwise "
                   "that output is all the run prints)")  # fmt: skip
    p.set_defaults(func=cmd_gradescope)

    p = subs.add_parser(
        "release",
        help="build the student handout for one homework",
        description="Write the stub, public tests, self-check, data loader and a README into DIR, "
        "and check that nothing private (solutions, hidden tests, oracles) leaks.",
    )
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("-o", "--output", required=True, help="a new, empty folder")
    p.set_defaults(func=cmd_release)

    p = subs.add_parser(
        "batch",
        help="grade every submission in a folder (a class), with a gradebook and summary",
        description="Grade every submission in DIR: one .ipynb or one folder per student, or a "
        "Gradescope 'Export Submissions' folder (submission_metadata.yml). Writes "
        "OUT/results/<submission>/results.json, OUT/gradebook.{csv,json}, OUT/summary.md and "
        "plots. Re-runs into the same OUT skip unchanged submissions (same notebook, homework, "
        "grader and limits); OUT may not hold another homework's results.",
    )
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("submissions", metavar="DIR", help="the folder of submissions")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="the output folder: new, or one this homework's batch wrote")  # fmt: skip
    p.add_argument("-j", "--jobs", type=int, default=2,
                   help="graders side by side (default %(default)s)")  # fmt: skip
    p.add_argument("--rerun", action="store_true", help="grade unchanged submissions again")
    p.add_argument("--shared-cpu", action="store_true",
                   help="grade --jobs submissions at a time even where their processes would "
                   "share the CPU (no cpu cgroup per run): one's spinners can then make "
                   "another's calls time out")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    limits_args(p)
    p.set_defaults(func=cmd_batch)

    p = subs.add_parser(
        "export",
        help="each submission's graded code as a Python script (for MOSS, JPlag, an editor)",
        description="Write the graded code cells of each submission in DIR (a notebook, or a "
        "folder of submissions as `batch` reads it) to OUT/scripts/<submission>.py as the "
        "grader runs them (IPython syntax made Python), and the handout stub's to OUT/handout.py, "
        "the base file a plagiarism checker leaves out. Nothing is run.",
    )
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("submissions", metavar="DIR", help="a notebook, or the folder of submissions")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="a new, empty folder")
    p.set_defaults(func=cmd_export)

    p = subs.add_parser(
        "mutate",
        help="measure the hidden tests: the share of mutants of the reference they catch",
        description="Make mutants of the reference's solution regions (operators swapped, "
        "off-by-one constants and slices, axes changed, signs flipped, statements dropped), "
        "grade each with the batch engine, and report the share caught, with every survivor "
        "as a diff. Mutants listed in the homework's equivalent_mutants.toml are excluded.",
    )
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("-j", "--jobs", type=int, default=2, help="graders side by side (default 2)")
    p.add_argument("--min-score", type=float, default=0.9,
                   help="exit 1 below this share caught (default %(default)s)")  # fmt: skip
    p.add_argument("--list", action="store_true", help="only list the mutants' ids")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", help="also write the report to this file")
    p.set_defaults(func=cmd_mutate)

    p = subs.add_parser("check", help="run the public tests on your notebook (for students)")
    p.add_argument("homework", help="homework id, e.g. hw1")
    p.add_argument("notebook", help="your notebook")
    limits_args(p)
    p.set_defaults(func=cmd_check)

    p = subs.add_parser("demo", help="grade each homework's reference notebook and its stub")
    p.add_argument(
        "--out", default="out", help="folder for the results files (default %(default)s)"
    )
    p.set_defaults(func=cmd_demo)

    p = subs.add_parser("make-assignments", help="generate student stubs and public tests")
    p.add_argument(
        "--check", action="store_true", help="fail if the generated files are out of date"
    )
    p.set_defaults(func=cmd_make_assignments)

    p = subs.add_parser(
        "record-oracles",
        help="record the hidden tests' PyTorch expectations (or --check them against live torch)",
        description="Grade each homework's reference notebook with live torch and store every "
        "oracle value its tests ask for beside the tests (recorded_oracles.npz); with --check, "
        "fail if a record is stale, missing or unused.",
    )
    p.add_argument("homework", nargs="*", help="homework ids (default: every homework)")
    p.add_argument(
        "--check", action="store_true", help="compare the records with live torch; write nothing"
    )
    p.set_defaults(func=cmd_record_oracles)

    p = subs.add_parser(
        "list",
        help="list the homeworks",
        description="List the homeworks this grader knows, with their ids and graded functions.",
    )
    p.set_defaults(func=cmd_list)

    p = subs.add_parser("validate", help="validate a results.json against Gradescope's schema")
    p.add_argument("results", help="path of results.json")
    p.set_defaults(func=cmd_validate)
    return parser


def drop_writable_import_paths() -> list[str]:
    """Remove from sys.path the folders a sandbox user may write, and return them: those open
    to all (sticky or not: others can create names there) and those a sandbox uid owns.
    The grader imports some modules late (pytest, jsonschema, torch for live oracles), when
    student code already runs: with `python -m` started in /tmp (sys.path[0] is the current
    folder), or a PYTHONPATH there, a first cell's /tmp/pytest.py would run as the grader's
    user. A folder of another ordinary user stays (the sandbox has none of its rights): the
    environment the grader runs from may be a staff member's (`sudo .venv/bin/autograder`), and
    without its site-packages the late imports failed and no results file was written. Only as
    root: a grader that is not runs student code as its own user, who can write its folders
    anyway."""
    dropped: list[str] = []
    if os.geteuid() != 0:
        return dropped
    for entry in list(sys.path):
        try:
            info = os.stat(entry or os.getcwd())
        except OSError:
            continue  # absent (a zip of the standard library that is not there): nothing to load
        if stat.S_ISDIR(info.st_mode) and (info.st_mode & 0o002 or is_sandbox_uid(info.st_uid)):
            sys.path.remove(entry)
            dropped.append(entry or os.getcwd())
    return dropped


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # never a UnicodeEncodeError on what we print
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    for folder in drop_writable_import_paths():
        print(f"autograder: not importing from {folder}: other users may write there",
              file=sys.stderr)  # fmt: skip
    opts = build_parser().parse_args(argv)
    try:
        return int(opts.func(opts))
    except KeyError as exc:
        print(f"autograder: {exc.args[0]}", file=sys.stderr)
        return 2
    except ManifestError as exc:
        print(f"autograder: a homework's manifest is broken: {exc}", file=sys.stderr)
        return 2


def run() -> None:
    """Console-script entry point: exits without tearing down loaded modules (torch's teardown
    alone costs ~0.4 s per grading run); every file has been written and closed by then."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `autograder grade ... | head`: the reader left; files are written
        code = 141  # as a process that SIGPIPE ended reports it (128 + 13)
    try:
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
