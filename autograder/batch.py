"""Grading a whole class: every submission in a folder, N warm graders side by side.

    rows = grade_batch(get_homework("hw1"), Path("submissions/"), Path("out/"), jobs=2)

Each job is one grader process that imports the grader, the tests and their oracles once, then
grades submission after submission, each in its own fresh confined worker under a fresh sandbox
uid: as isolated as `autograder grade`, without paying start-up per student. Results land in
OUT/results/<student>/results.json as they finish; a re-run skips submissions whose notebook,
homework, grader and limits are unchanged (the key beside each results file). One bad submission never
stops the batch; Ctrl-C stops it, keeping what finished (a second Ctrl-C stops at once, each
job still closing the session of the submission it was grading).
The gradebook and class summary (dlhw.autograder.gradebook) are written at the end, also after
an interruption.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from dlhw.autograder.confinement import Limits, remove_tree
from dlhw.autograder.homeworks import Homework, get_homework
from dlhw.autograder.notebook import NotebookError, upload_files
from dlhw.autograder.wire.text import clean

KEY_FILE = ".grading-key"
EXPORT_METADATA = "submission_metadata.yml"  # Gradescope's "Export Submissions" download
SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class Item:
    """One submission of the class: where it is, who made it, and the folder its results go to."""

    key: str  # folder name under OUT/results (unique, filesystem-safe)
    path: Path  # a notebook or a folder holding one
    students: tuple[str, ...]
    sids: tuple[str, ...] = ()  # the students' ids (SID), from Gradescope's export


@dataclass
class Row:
    """One submission's line of the gradebook."""

    key: str
    students: tuple[str, ...]
    status: str  # "graded" | "unchanged" | "unreadable" | "grader failed" | "not graded"
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    tests: dict[str, float] = field(default_factory=dict)  # test name -> points
    test_max: dict[str, float] = field(default_factory=dict)  # test name -> its maximum
    feedback: dict[str, str] = field(default_factory=dict)  # failed test -> first line
    sids: tuple[str, ...] = ()  # the students' ids, to match with the course's roster

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["students"] = list(self.students)
        out["sids"] = list(self.sids)
        return out


class BatchError(ValueError):
    """A batch that cannot start: no submissions, an output folder that cannot hold its results,
    or a Gradescope export whose metadata cannot be read. Nothing has been written."""


# ---- finding the submissions ----------------------------------------------------------------


def _safe(name: str) -> str:
    cleaned = SAFE_NAME.sub("_", name).strip("._") or "submission"
    return cleaned[:100]


def find_submissions(folder: Path) -> list[Item]:
    """The class's submissions: Gradescope's export layout when its metadata file is there,
    otherwise one notebook or one folder per student."""
    if (folder / EXPORT_METADATA).is_file():
        return _from_export(folder)
    items = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir() or entry.suffix == ".ipynb":
            name = entry.stem if entry.is_file() else entry.name
            items.append(Item(_safe(name), entry, (clean(name),)))
    return _unique(items)


def _from_export(folder: Path) -> list[Item]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - an install without the batch extra
        raise SystemExit(
            "reading a Gradescope export needs PyYAML: pip install 'dlhw[batch]'"
        ) from None
    path = folder / EXPORT_METADATA
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        said = " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
        raise BatchError(f"{path} cannot be read as YAML: {said[:300]}") from None
    if not isinstance(meta, dict):
        raise BatchError(
            f"{path} should map each submission's folder to its details, "
            f"but it holds a {type(meta).__name__}"
        )
    items = []
    for sub_id, info in sorted(meta.items(), key=lambda entry: str(entry[0])):
        name = str(sub_id)
        if name in ("", ".", "..") or "/" in name or "\\" in name or name.startswith("."):
            raise BatchError(f"{path} names {name!r}, which is not a folder of the export")
        people = info.get(":submitters") or info.get("submitters") if isinstance(info, dict) else []
        people = people if isinstance(people, list) else []
        # Names a student chose (Gradescope's export) and file names (a zip unpacked from another
        # system, not UTF-8) are cleaned as the submission's own text is: no escape sequence
        # reaches a terminal that shows the gradebook, no lone surrogate stops its writing.
        students = tuple(clean(_student(p)) for p in people)
        sids = tuple(clean(_sid(p)) for p in people)
        items.append(Item(_safe(name), folder / name, students or (clean(name),), sids))
    return _unique(items)


def _student(person: Any) -> str:
    """`Name <email>` of one of an export's submitters (whatever of it is there)."""
    if not isinstance(person, dict):
        return str(person)
    email = person.get(":email") or person.get("email")
    name = person.get(":name") or person.get("name")
    return f"{name} <{email}>" if name and email else str(name or email or "?")


def _sid(person: Any) -> str:
    """One submitter's student id (`:sid`, which Gradescope leaves empty when the roster has none)."""
    sid = (person.get(":sid") or person.get("sid")) if isinstance(person, dict) else None
    return str(sid) if sid is not None else ""


def _unique(items: list[Item]) -> list[Item]:
    """Each item's key made unique with a suffix ("a", "a-2"), one that no other item has as its
    own ("a", "a" and "a-2" are a, a-3 and a-2: the second "a" took "a-2"'s folder, and the
    results or script of one of them replaced the other's), and keys compared whatever their
    case (a Mac's or Windows' disk holds "Ann" and "ann" in one folder)."""
    own = {item.key.lower() for item in items}
    taken: set[str] = set()
    out = []
    for item in items:
        key, n = item.key, 1
        while key.lower() in taken or (n > 1 and key.lower() in own):
            n += 1
            key = f"{item.key}-{n}"
        taken.add(key.lower())
        out.append(item if key == item.key else Item(key, item.path, item.students, item.sids))
    return out


# ---- what makes a result reusable ------------------------------------------------------------


def grader_fingerprint(hw: Homework) -> str:
    """A digest of everything that decides a grade: the grader's code, the homework's manifest,
    public and hidden tests and recorded oracles."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    files = sorted(package.rglob("*.py")) + [hw.manifest, hw.public_tests]
    files += sorted(p for p in (hw.solution_dir / "tests").rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_digest(path: Path) -> str:
    """A digest of the upload as grading reads it: each file's path (as bytes: a name need not
    be UTF-8), what it is (a file or a link, with the link's target) and its content, each field
    prefixed by its length. Names and contents were once joined by NUL bytes, which a file's
    content may hold: a file `a` holding "X NUL hw1.ipynb NUL <notebook>" beside `zz.ipynb` read
    the same as `a`, `hw1.ipynb` and `zz.ipynb`, so an upload that now graded 0 kept its earlier
    33/33 as "unchanged" (docs/attacks/same_digest_upload.py); and a name that is not UTF-8
    stopped the whole class's batch (UnicodeEncodeError) before anything was graded."""
    digest = hashlib.sha256(b"dlhw-upload-2\0")

    def field(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big") + data)

    try:
        files = [path] if path.is_file() else upload_files(path)
    except NotebookError as exc:  # graded all the same: grading tells the student why
        field(b"unreadable")
        field(str(exc).encode(errors="surrogateescape"))
        files = []
    for f in files:
        name = os.fsencode(f.name if path.is_file() else f.relative_to(path))
        try:
            kind, data = _entry_digest(f)
        except OSError as exc:
            # What the grader cannot read (not root: a file of mode 000 or a folder without
            # search permission, as the student's zip unpacked them) once stopped the whole
            # class's batch here with a PermissionError; grading reads around it.
            kind, data = b"unreadable", str(exc.errno).encode()
        if kind:
            field(kind)
            field(name)
            field(data)
    return digest.hexdigest()


def _entry_digest(f: Path) -> tuple[bytes, bytes]:
    """What one entry of an upload is, and what of it the digest holds: a link's target, a
    file's SHA-256; (b"", b"") for what grading reads none of (a named pipe, a socket)."""
    if f.is_symlink():  # a link out of the upload fails it, one in does not
        return b"link", os.fsencode(os.readlink(f))
    if not f.is_file():
        return b"", b""
    content = hashlib.sha256()  # read in pieces: an upload may hold a large file
    with f.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            content.update(chunk)
    return b"file", content.digest()


# ---- one job: a warm grader process ------------------------------------------------------------

_JOB: dict[str, Any] = {}
EXIT_STOPPED = 3  # a job's exit status when the batch stopped it at once
SAME_CTRL_C_S = 0.5  # a second SIGINT sooner than this after the first is the same Ctrl-C


def _warm_up(hw_id: str, limits: Limits, root: str | None) -> None:
    """Run once in each job: ignore Ctrl-C (the batch decides), import what every run needs.

    That is the grading code (pytest, nbformat, numpy), not the homework's `preload` (torch):
    a batch grades with recorded oracles, and a record that is missing imports torch when
    first needed. Importing it anyway cost each job ~1 s and ~300 MB at the start."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_at_once)
    if root:
        os.environ["DLHW_ROOT"] = root
    from dlhw.autograder.confinement import start_fork_server
    from dlhw.autograder.grading import load_all

    load_all()  # imported once per job, not when each submission first needs them
    # Workers forked from a server that has imported them (~0.1 s of CPU less per submission;
    # forkserver.py). Started before the first session, which spares the job's children.
    _JOB.update(hw=get_homework(hw_id), limits=limits, fork_server=start_fork_server())


def _stop_at_once(signum: int, frame: Any) -> None:
    """SIGTERM from the batch (Ctrl-C twice): a submission being graded is interrupted, so that
    grade() closes its session (worker killed, temporary folders removed) before the job ends;
    an idle job ends now. Killed outright, a job would leave its submission's folders behind.
    A later SIGTERM changes nothing: the job is already stopping. It comes, for one, from the
    pool itself, which terminates the other jobs once one has ended (os._exit below: a "broken"
    pool): raised in the middle of the session's cleanup, it left that job's folders behind."""
    if _JOB.get("stopping"):
        return
    _JOB["stopping"] = True
    if not _JOB.get("grading"):
        os._exit(EXIT_STOPPED)
    from dlhw.autograder.session import setting_up_or_closing, stop_once_done

    if setting_up_or_closing():  # let it finish (a session cut short leaves its folders behind):
        stop_once_done()  # a session set up is closed at once; _grade_in_job stops after grade()
        return
    raise KeyboardInterrupt


def _grade_in_job(item: Item, staged: str, results: str, key: str) -> Row:
    from dlhw.autograder.grading import grade

    start = time.monotonic()
    _JOB["grading"] = True
    try:
        # A batch keeps no staff log, so pytest's tracebacks for it are not formatted.
        outcome = grade(
            _JOB["hw"], Path(staged), Path(results), limits=_JOB["limits"], staff_tracebacks=False
        )
    except KeyboardInterrupt:  # _stop_at_once: no key, so a re-run grades it
        from dlhw.autograder.session import OPEN_SESSIONS

        for session in list(OPEN_SESSIONS):  # one the stop hit before grade() held it
            try:
                session.close()
            except Exception:  # noqa: BLE001 - the others are closed, and the job still stops
                pass
        os._exit(EXIT_STOPPED)
    finally:
        _JOB["grading"] = False
    if _JOB.get("stopping"):  # stopped while a session was set up or closed: no key either
        os._exit(EXIT_STOPPED)
    row = row_from_results(item, outcome.results, time.monotonic() - start)
    Path(results).with_name(KEY_FILE).write_text(key + "\n")
    return row


def row_from_results(item: Item, results: dict[str, Any], seconds: float, status: str = "") -> Row:
    tests = results.get("tests", [])
    failed = any(t.get("name") == "Autograder failed" for t in tests)
    unreadable = str(results.get("output", "")).startswith("Your submission could not be graded")
    status = status or ("grader failed" if failed else "unreadable" if unreadable else "graded")
    graded = [t for t in tests if t.get("max_score", 0) > 0 or t.get("visibility") != "hidden"]
    from dlhw.autograder import feedback

    return Row(
        key=item.key,
        students=item.students,
        sids=item.sids,
        status=status,
        score=float(results.get("score", 0)),
        max_score=float(sum(t.get("max_score", 0) for t in tests)),
        seconds=round(seconds, 3),
        tests={str(t["name"]): float(t.get("score", 0)) for t in graded},
        test_max={str(t["name"]): float(t.get("max_score", 0)) for t in graded},
        feedback={
            str(t["name"]): feedback.first_line(str(t.get("output", "")))[:200]
            for t in graded
            if t.get("status") != "passed"
        },
    )


# ---- the batch -------------------------------------------------------------------------------


@contextmanager
def _closed_to_others(*folders: Path) -> Iterator[None]:
    """As root, no one but root may enter these folders while the batch runs (other students'
    uploads and results are closed to every sandbox uid); modes are restored afterwards."""
    saved = []
    if os.geteuid() == 0:
        for folder in folders:
            mode = stat.S_IMODE(folder.stat().st_mode)
            saved.append((folder, mode))
            os.chmod(folder, mode & 0o700)
    try:
        yield
    finally:
        for folder, mode in saved:
            os.chmod(folder, mode)


def check_batch_folders(submissions: Path, out: Path, hw_id: str | None = None) -> None:
    """The output folder may be neither the submissions' folder nor inside it (a re-run would
    grade it as a student), nor a file; an existing one must be a batch's output folder, of the
    same homework (a re-run), never one whose results or other files a batch would overwrite."""
    inside, folder = Path(os.path.realpath(out)), Path(os.path.realpath(submissions))
    if inside == folder or folder in inside.parents:
        raise BatchError(
            f"the output folder {out} is inside the submissions folder {submissions}: a re-run "
            "would grade it as a submission; choose a folder outside it"
        )
    if out.exists() and not out.is_dir():
        raise BatchError(f"the output {out} is a file, not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / "results").is_dir():
        raise BatchError(
            f"the output folder {out} already holds files and is not a batch's output folder; "
            "choose a new folder (a re-run into the same one skips unchanged submissions)"
        )
    for entry in (out / "results").iterdir():
        other = _read(entry / KEY_FILE).split(":", 1)[0]
        if hw_id and other and other != hw_id:
            raise BatchError(
                f"the output folder {out} holds results of {other}, not {hw_id}: grading into "
                "it would mix two homeworks' results; choose another folder"
            )


def cpu_not_isolated(limits: Limits) -> str:
    """Why the submissions of a batch graded side by side would share the CPU with each other's
    processes ('' when each run gets a cgroup with the cpu controller, which makes it weigh as
    one). Without it, a submission that forks spinners takes the CPU from the one graded beside
    it, whose honest calls then run past their (wall-clock) limits: a call of 0.57 s alone timed
    out at 10 s beside 60 spinners (docs/attacks/README.md)."""
    from dlhw.autograder import cgroups
    from dlhw.autograder.confinement import kernel_layers_off, sandbox_uid_wanted

    if not sandbox_uid_wanted():
        return "no sandbox uid (not root, or DLHW_SANDBOX=same-user)"
    if kernel_layers_off():
        return "the kernel layers are off (DLHW_KERNEL_LAYERS)"
    group, why = cgroups.create(
        f"dlhw-cpu-probe-{os.getpid()}", limits.group_memory_bytes, limits.max_processes
    )
    if group is None:
        return f"no cgroups ({why})"
    try:
        return "" if group.weighs_as_one() else "the cgroups have no cpu controller"
    finally:
        group.remove()


def grade_batch(
    hw: Homework,
    submissions: Path,
    out: Path,
    *,
    jobs: int = 2,
    limits: Limits | None = None,
    rerun: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    shared_cpu: bool = False,
    warn: Callable[[str], Any] | None = None,
) -> list[Row]:
    """Grade every submission in `submissions` into `out`; returns the gradebook's rows.
    Raises BatchError, having written nothing, when there is nothing to grade or `out` cannot
    hold the results. Where runs would share the CPU with each other's processes
    (`cpu_not_isolated`), one submission is graded at a time, with a word to `warn`, unless
    `shared_cpu`: no submission may cost another its points."""
    check_batch_folders(submissions, out, hw.id)
    if jobs > 1 and not shared_cpu:
        why = cpu_not_isolated(limits or Limits())
        if why:
            jobs = 1
            if warn is not None:
                warn(
                    f"grading one submission at a time: {why}, so submissions graded side by "
                    "side would share the CPU with each other's processes, and one that forks "
                    "spinners could make another's calls run past their time limits "
                    "(--shared-cpu grades several at a time anyway)"
                )
    items = find_submissions(submissions)
    if not items:
        raise BatchError(
            f"{submissions} holds no submissions: one .ipynb or one folder per student, or "
            f"Gradescope's export (with {EXPORT_METADATA})"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results").mkdir(exist_ok=True)
        os.chmod(out / "results", 0o700)  # the students' results stay the instructor's
    except OSError as exc:
        raise BatchError(f"cannot write the output folder {out}: {exc.strerror or exc}") from None
    fingerprint = grader_fingerprint(hw)
    limits = limits or Limits()
    rows: dict[str, Row] = {}
    todo: list[tuple[Item, str]] = []
    # The limits decide grades too: a re-run with a longer --call-timeout grades every
    # submission again, not only the changed ones.
    settings = hashlib.sha256(repr(limits).encode()).hexdigest()[:16]
    for item in items:
        key = f"{hw.id}:{fingerprint}:{settings}:{submission_digest(item.path)}"
        folder = out / "results" / item.key
        if not rerun and _read(folder / KEY_FILE) == key and (folder / "results.json").is_file():
            previous = json.loads((folder / "results.json").read_text())
            rows[item.key] = row_from_results(item, previous, 0.0, status="unchanged")
        else:
            todo.append((item, key))
    done = len(rows)
    if progress:
        progress(done, len(items))
    staging = Path(tempfile.mkdtemp(prefix="dlhw-batch-"))  # 0700: root's own
    interrupted = False
    with _closed_to_others(submissions, out):
        context = get_context("spawn")  # no long-lived server a grading run could reap
        root = os.environ.get("DLHW_ROOT")
        pool = ProcessPoolExecutor(
            max_workers=max(1, jobs), mp_context=context, initializer=_warm_up,
            initargs=(hw.id, limits, root),
        )  # fmt: skip
        futures: dict[Future[Row], Item] = {}
        ctrl_c = _CtrlC(lambda: list(getattr(pool, "_processes", {}).values()))
        previous = _on_sigint(ctrl_c)
        # Handed out one per free job, never queued ahead: the pool moves a submitted call into
        # its call queue (one more than its jobs) where cancel() no longer reaches it, so a
        # single Ctrl-C still graded a submission that had not started.
        waiting = iter(todo)
        pending: set[Future[Row]] = set()

        def hand_out() -> None:
            for item, key in waiting:
                folder = out / "results" / item.key
                folder.mkdir(parents=True, exist_ok=True)
                (folder / KEY_FILE).unlink(missing_ok=True)
                try:
                    staged = _stage(item, staging)
                    future = pool.submit(
                        _grade_in_job, item, str(staged), str(folder / "results.json"), key
                    )
                except (BrokenExecutor, NotebookError) as exc:  # a job died, or an upload of
                    # too many files: this submission's failure only
                    future = Future()
                    future.set_exception(exc)
                futures[future] = item
                pending.add(future)
                return

        try:
            for _ in range(max(1, jobs)):
                hand_out()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.discard(future)
                    item = futures[future]
                    rows[item.key] = _outcome(future, item)
                    done += 1
                    if progress:
                        progress(done, len(items))
                    hand_out()
        except KeyboardInterrupt:
            interrupted = True
            for future in futures:
                future.cancel()
            print(
                "\nstopping: waiting for the submissions being graded (Ctrl-C again: at once)",
                file=sys.stderr,
            )
            pool.shutdown(wait=True, cancel_futures=True)  # a second Ctrl-C ends the jobs
            for future, item in futures.items():
                if (
                    future.done()
                    and not future.cancelled()
                    and future.exception() is None  # not a job stopped at once
                    and item.key not in rows
                ):
                    rows[item.key] = _outcome(future, item)
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
            _on_sigint(previous)
            try:  # without recursion: a staged upload may be 1,500 folders deep
                remove_tree(staging)
            except OSError:
                pass
    for item in items:  # not graded: interrupted before its turn
        rows.setdefault(item.key, Row(item.key, item.students, "not graded", sids=item.sids))
    ordered = [rows[item.key] for item in items]
    from dlhw.autograder.gradebook import write_gradebook

    write_gradebook(ordered, out, title=f"{hw.id} ({hw.title}), {submissions}")
    if interrupted:
        raise KeyboardInterrupt
    return ordered


class _CtrlC:
    """SIGINT while a batch runs. The first raises KeyboardInterrupt: the batch stops handing
    out submissions and waits for those being graded. A later one stops the jobs at once (each
    closes its submission's session first, see _stop_at_once) and raises nothing, so the
    gradebook of what finished is still written. One Ctrl-C delivered twice counts once:
    timeout(1), for one, signals the process and then its whole group (SAME_CTRL_C_S)."""

    def __init__(self, jobs: Callable[[], list[Any]]) -> None:
        self.jobs = jobs
        self.first: float | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = now
            raise KeyboardInterrupt
        if now - self.first >= SAME_CTRL_C_S:
            for process in self.jobs():
                process.terminate()


def _on_sigint(handler: Any) -> Any:
    """Install a SIGINT handler and return the previous one (only the main thread can)."""
    if threading.current_thread() is not threading.main_thread():
        return handler
    return signal.signal(signal.SIGINT, handler)


def _outcome(future: Future[Row], item: Item) -> Row:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a job that died: this submission only
        return Row(
            item.key,
            item.students,
            "grader failed",
            feedback={"(grader)": repr(exc)},
            sids=item.sids,
        )


def _stage(item: Item, staging: Path) -> Path:
    """A private copy of the upload (links are copied as links, never followed)."""
    target = staging / item.key
    if not item.path.exists():  # an export's metadata naming a folder it lacks: nothing submitted
        target.mkdir()
    elif item.path.is_dir():
        _copy_upload(item.path, target)
    else:
        target.mkdir()
        shutil.copy2(item.path, target / item.path.name, follow_symlinks=False)
        return target / item.path.name
    return target


def _copy_upload(source: Path, target: Path) -> None:
    """The upload's files and links (as links) at the same places under `target`; what is
    neither (a named pipe, a device) is left out, and so are empty folders. Without recursion:
    shutil.copytree of an upload 1,500 folders deep raised RecursionError, and so did a named
    pipe in one (shutil.Error), stopping the batch for the whole class."""
    files = upload_files(source)  # NotebookError for too many entries: hand_out reports it
    target.mkdir()
    made = {target}
    for path in files:
        dest = target / path.relative_to(source)
        missing = []
        parent = dest.parent
        while parent not in made:
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            made.add(folder)
        if path.is_symlink():
            os.symlink(os.readlink(path), dest)
        elif stat.S_ISREG(path.lstat().st_mode):
            shutil.copy2(path, dest, follow_symlinks=False)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def export_scripts(hw: Homework, source: Path, out: Path) -> tuple[list[Path], list[str]]:
    """Each submission's graded code cells as a Python script (nbconvert's PythonExporter), as
    the grader runs them (IPython's syntax made Python as in the worker), for plagiarism
    checkers such as MOSS or JPlag and for reading in an editor: OUT/scripts/<submission>.py, one per submission of `source` (a
    notebook, or a folder of them as `batch` reads it), and OUT/handout.py from the stub (MOSS's
    base file: code every student was given is not a match). Nothing is run. Returns the scripts
    written and, for each submission left out, why."""
    import nbformat
    from nbconvert.exporters import PythonExporter  # only this command needs nbconvert

    from dlhw.autograder.grading import locate_notebook
    from dlhw.autograder.notebook import graded_cells
    from dlhw.autograder.worker.magics import neutralise_ipython

    items = [Item(_safe(source.stem), source, (source.stem,))] if source.is_file() else (
        find_submissions(source)
    )  # fmt: skip
    if not items:
        raise BatchError(f"{source} holds no submissions (no .ipynb, no folder)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BatchError(f"{out} exists and is not an empty folder; choose a new one")
    exporter = PythonExporter(exclude_markdown=True, exclude_raw=True)

    def as_run(source: str) -> str:
        """The cell as the grader's worker runs it: IPython's syntax made Python the same way
        (worker/magics.py; nbconvert's own way needs IPython installed), a foreign cell magic
        (%%bash ...) left out as the worker leaves it out."""
        try:
            with warnings.catch_warnings():  # a student's `x is 1` says nothing to the instructor
                warnings.simplefilter("ignore")
                compile(source, "<cell>", "exec")
            return source
        # Nesting too deep for the compiler (`1+1+...+1`, `- - - ... 1`) raises the last two.
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            python = neutralise_ipython(source)
        if python is None:
            return "# not run by the grader (a cell magic):\n" + textwrap.indent(source, "# ")
        return python

    def script(notebook: Path) -> str:
        cells = [nbformat.v4.new_code_cell(as_run(c.source)) for c in graded_cells(notebook).cells]
        with warnings.catch_warnings():
            # The exporter's template hands every cell to IPython's transformer, and without
            # IPython installed warns that it cannot: the cells are Python already (as_run).
            warnings.filterwarnings("ignore", "IPython is needed to transform", UserWarning)
            text, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=cells))
        return str(text)

    (out / "scripts").mkdir(parents=True, exist_ok=True)
    (out / "handout.py").write_text(script(hw.stub), encoding="utf-8")
    written, skipped = [], []
    for item in items:
        try:
            text = script(locate_notebook(item.path, hw))
        # The reasons quote the upload (its file names): cleaned, since the CLI prints them.
        except NotebookError as exc:
            skipped.append(clean(f"{item.key}: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001 - one submission never stops the class's export
            skipped.append(
                clean(f"{item.key}: could not be exported ({type(exc).__name__}: {exc})")
            )
            continue
        path = out / "scripts" / f"{item.key}.py"
        # A lone surrogate (JSON's "\\ud800") has no UTF-8: written as its escape, as Python reads it.
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
        written.append(path)
    return written, skipped
