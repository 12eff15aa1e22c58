"""The trusted side of one worker: start it, feed it cells, call functions, restart it, reap it.

A `Session` owns the worker process. Cells run one request at a time, each with its own deadline;
a cell that times out or crashes the worker is dropped, the worker is restarted and the cells that
ran before it are replayed, so the rest of the notebook still counts. Calls have deadlines too,
and every reply is decoded by the strict plain-data protocol: nothing the worker sends is executed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dlhw.autograder.blame import error_fields
from dlhw.autograder.breaker import Breaker, GivenUp
from dlhw.autograder.confinement import (
    Identity,
    Limits,
    Process,
    allow_list_off,
    become_subreaper,
    children_of,
    choose_identity,
    kernel_layers,
    reap,
    release_identity,
    remove_ipc_objects,
    remove_scratch_files,
    remove_tree,
    spawn_worker,
)
from dlhw.autograder.forkserver import Forked, ForkServerGone
from dlhw.autograder.killing import QUARANTINED, kill_now
from dlhw.autograder.wire.protocol import Channel, FrameLimits, ProtocolError
from dlhw.autograder.wire.text import clean
from dlhw.autograder.worker.limits import EXIT_OUT_OF_MEMORY, MAX_WARNING_CHARS, MAX_WARNINGS

# Restarts of the worker in one run (each replays the cells that completed). With the time-out
# breaker a hung function costs little per call, so this cap, not the time, decides how many of
# the later tests a submission with one function that hangs or crashes still gets graded on.
MAX_RESTARTS = 16


class SandboxError(Exception):
    """The worker could not be started at all: a problem of the grader's installation."""


class WorkerFailure(Exception):
    """The worker did not answer properly: it timed out, died, or broke the protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "timeout" | "crash" | "protocol" | "budget" | "restarts" | "given up"


@dataclass(frozen=True)
class CellReport:
    index: int
    status: str  # "ok" | "skipped" (a cell magic not Python) | "error" | "timeout" | "crash" | ...
    message: str = ""
    warnings: tuple[str, ...] = ()  # Python's SyntaxWarnings about the cell's code


PIPE_BYTES = 1 << 20


def _widen_pipe(fd: int) -> None:
    """Give a pipe 1 MiB of room (Linux's limit for unprivileged users), not 64 KiB: an array of
    a few MB then crosses in a few writes, not one context switch per 64 KiB (a 1.7 MB reply
    took ~5 ms). Where the system refuses, the pipe keeps its size."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass


class OutputSink:
    """Drains the worker's stdout in a thread, keeping the first `limit` bytes and counting the rest."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: Any) -> None:
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            room = self.limit - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def join(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        out = clean(self.kept.decode("utf-8", errors="replace"))
        if self.dropped:
            out += f"\n[... {self.dropped:,} more bytes of output were discarded]"
        return out


@dataclass
class _Worker:
    proc: Process
    channel: Channel
    output: OutputSink
    fds: tuple[int, int] = field(default=(-1, -1))
    # Held while a thread reads or writes the pipes: a close from another thread (an interrupt
    # while the cells thread waits for a reply) frees their numbers only once that I/O is over.
    io: threading.Lock = field(default_factory=threading.Lock)


# How many sessions this process is setting up or closing right now. A signal handler that would
# raise there (a batch job's SIGTERM, batch._stop_at_once) lets it finish instead: interrupted
# half-way, a session leaves its folders, its cgroup or its processes behind.
_in_setup_or_close = 0
_stop_deferred = False


def setting_up_or_closing() -> bool:
    return _in_setup_or_close > 0


def stop_once_done() -> None:
    """Called by such a handler instead of raising: a session being set up is closed as soon as
    it is set up, then KeyboardInterrupt is raised (otherwise the whole submission would still
    be graded before the stop is acted on); a session being closed just finishes closing (its
    caller is ending; batch._grade_in_job stops once grade() returns)."""
    global _stop_deferred
    _stop_deferred = True


@contextlib.contextmanager
def _not_to_be_interrupted(then_stop: Any = None) -> Iterator[None]:
    """`then_stop`: what to call before raising a stop deferred meanwhile (None: drop it)."""
    global _in_setup_or_close, _stop_deferred
    deferred = False
    _in_setup_or_close += 1
    try:
        yield
    finally:
        _in_setup_or_close -= 1
        if _in_setup_or_close == 0:  # a stop deferred now is never left for a later session
            deferred, _stop_deferred = _stop_deferred, False
    if deferred and then_stop is not None:
        then_stop()
        raise KeyboardInterrupt


# Sessions set up and not yet closed. A batch job that stops closes them (batch._grade_in_job):
# a stop arriving just after Session() returns, before its caller holds it, would leave one open.
OPEN_SESSIONS: set[Session] = set()


class Session:
    """One submission's worker(s) for one grading run."""

    def __init__(self, limits: Limits | None = None) -> None:
        with _not_to_be_interrupted(then_stop=self.close), contextlib.ExitStack() as undo:
            # `undo` removes what was made if the set-up fails half-way (a folder, a cgroup);
            # once it is complete, close() does.
            self.limits = limits or Limits()
            self.frame_limits = FrameLimits(max_total_bytes=self.limits.max_value_bytes)
            self.identity: Identity = choose_identity()
            undo.callback(release_identity, self.identity)
            self.deadline = time.monotonic() + self.limits.run_timeout_s
            self.workdir = Path(tempfile.mkdtemp(prefix="dlhw-worker-"))
            undo.callback(remove_tree, self.workdir)
            if self.identity.isolated:
                os.chown(self.workdir, self.identity.uid, self.identity.gid)  # type: ignore[arg-type]
            become_subreaper()
            self.spared = set(children_of(os.getpid()))
            # What a restart replays, in order: (index, source, ran): the cells that ran (with or
            # without an exception), the homework's setup (index -1), and dropped cells with a
            # __future__ import, which are compiled only (ran False).
            self._replay: list[tuple[int, str, bool]] = []
            self.reports: list[CellReport] = []
            self.outputs: list[str] = []  # output of workers that have ended
            self.notes: list[str] = (
                []
                if self.identity.isolated or os.geteuid() != 0
                else ["worker NOT isolated by uid (DLHW_SANDBOX)"]
            )
            self.restarts = 0
            self._uncounted_restarts = 0
            # The time-out breaker (breaker.py); `reach` is set from the notebook's source.
            self.breaker = Breaker(self.limits.retry_timeout_s)
            # Requests that got no answer (timed out, not made, not run): a test during which one
            # happened never passes (reporter.SubmissionFixture), whatever it did with the failure.
            self.unanswered: list[str] = []
            # Counts worker starts: references from another generation are stale.
            self.generation = 0
            self.leftovers_killed = 0
            self.survivors: list[int] = []  # pids of the submission that no kill could end
            self.files_removed = 0
            self._worker: _Worker | None = None
            self._closed = False
            self._lifecycle = threading.Lock()
            self._taking = threading.Lock()  # one thread takes the worker to stop it (_stop)
            # Test data for the worker (see share_file): made now, so that the view can show it.
            self.shared_dir: Path | None = Path(tempfile.mkdtemp(prefix="dlhw-shared-"))
            undo.callback(remove_tree, self.shared_dir)
            os.chmod(self.shared_dir, 0o755)
            self.jail, layers = kernel_layers(self.identity, self.limits, self.shared_dir)
            if self.jail is not None:
                undo.callback(self._remove_jail)
            self.notes.append(layers)
            if allow_list_off():  # the worker is not told it, so it cannot say so itself
                self.notes.append("file allow-list (Landlock): off (DLHW_LANDLOCK=off)")
            # When the budget runs out, whatever the submission left running dies at once: spinners
            # must not slow the grader's remaining work (every later request fails at once anyway).
            self._watchdog = threading.Timer(self.limits.run_timeout_s + 0.5, self._budget_spent)
            self._watchdog.daemon = True
            self._watchdog.start()
            undo.pop_all()
            OPEN_SESSIONS.add(self)

    # ---- lifecycle ------------------------------------------------------------------------

    def _start(self) -> _Worker:
        first = self.generation == 0
        try:
            return self._start_once()
        except SandboxError as exc:
            if not first:
                # A later start follows the student's code, which can make it fail: a cell that
                # closed the worker's own folder to itself (chmod 0) leaves every new worker
                # unable to enter it. That is the notebook's failure, said as one (and a request
                # that got no answer), never "the test could not complete: SandboxError".
                self.notes.append(f"a restart of the worker failed: {str(exc)[-500:]}")
                raise WorkerFailure(
                    "crash",
                    "your notebook's process could not be started again after it ended (did a "
                    "cell change the permissions of its working folder?)",
                ) from None
            # The first start runs no student code: if the private view could not be built on
            # this machine, grade without namespaces rather than not at all (staff are told).
            if self.jail is None or self.jail.root is None:
                raise
            self.notes.append(f"namespaces FAILED, graded without them: {str(exc)[-500:]}")
            try:
                remove_tree(self.jail.root)  # never mounted on our side
            except OSError:
                pass
            self.jail = replace(self.jail, root=None)
            return self._start_once()

    def _spawn(self) -> tuple[Process, int, int] | None:
        """Start a worker on new pipes: (its process, our read and write ends); None when the
        fork server ended while it held them (`spawn_worker`): then again, on new ones."""
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        for fd in (to_worker_w, from_worker_w):
            _widen_pipe(fd)
        try:
            proc = spawn_worker(
                self.identity, self.workdir, to_worker_r, from_worker_w, self.limits, self.jail,
                self.shared_dir,
            )  # fmt: skip
        except ForkServerGone:
            os.close(from_worker_r)
            os.close(to_worker_w)
            return None
        except OSError as exc:
            os.close(from_worker_r)
            os.close(to_worker_w)
            who = f"uid {self.identity.uid}" if self.identity.isolated else "the current user"
            raise SandboxError(
                f"cannot start the sandboxed worker as {who}: {exc}. When the grader runs as root, "
                "its Python and virtual environment must be readable by other users (a venv made "
                "from /usr/bin/python3 outside /root, as `make setup` does)"
            ) from None
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        return proc, from_worker_r, to_worker_w

    def _start_once(self) -> _Worker:
        # Under the lock that close() takes to mark the session closed: a worker started by
        # another thread (grading.CellRunner, still running cells after an interrupt) is either
        # held here before the close, which stops it, or never started.
        with self._lifecycle:
            if self._closed:
                raise WorkerFailure("budget", "the grading session is closed")
            started = self._spawn() or self._spawn()  # the second exec's (no server used)
            if started is None:
                raise SandboxError("the sandboxed worker did not start: the fork server ended")
            proc, from_worker_r, to_worker_w = started
            os.set_blocking(to_worker_w, False)  # writes wait in select(), with a deadline
            worker = _Worker(
                proc=proc,
                channel=Channel(from_worker_r, to_worker_w, self.frame_limits),
                output=OutputSink(proc.stdout, self.limits.max_output_bytes),
                fds=(from_worker_r, to_worker_w),
            )
            self._worker = worker
            self.generation += 1
        try:
            with worker.io:
                hello = self._receive(worker, 60.0)
        except WorkerFailure as exc:
            self._stop()
            if self._closed:  # closed meanwhile (by another thread), which ended this worker
                raise WorkerFailure("budget", "the grading session is closed") from None
            if _orphaned(proc):  # its fork server died, not the view: exec'd, with namespaces
                return self._start_once()
            raise SandboxError(
                f"the sandboxed worker did not start ({exc}): {self.output()}"
            ) from None
        if not (isinstance(hello, dict) and hello.get("ready")):
            self._stop()
            raise SandboxError("the sandboxed worker did not start: bad greeting")
        self.notes.extend(str(n) for n in hello.get("notes", []))
        return worker

    def _stop(self) -> bool:
        """Kill the worker and everything of the submission; True once this call has seen none
        of it left (False: there was no worker here to stop, or something survived)."""
        # Under a lock: two threads (close() and grading.CellRunner's) each read the worker
        # before either cleared it, and both stopped it, the second closing its pipes' numbers
        # again, by then maybe another file's.
        with self._taking:
            worker, self._worker = self._worker, None
        if worker is None:
            return False
        self._reap(worker.proc)
        worker.output.join()
        if worker.proc.stdout is not None:
            worker.proc.stdout.close()
        # Another thread may still be on its pipes (woken by the kill above, it is about to read
        # the end): their numbers are freed after it, never under it, where a file opened
        # meanwhile would take them. It cannot take long: the worker is gone.
        if worker.io.acquire(timeout=10.0):
            try:
                for fd in worker.fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            finally:
                worker.io.release()
        else:
            self.notes.append("WARNING: a worker's pipes were still in use; left open")
        self.outputs.append(worker.output.text())
        return not self.survivors

    def close(self) -> None:
        """Kill, then clean up (see `_close`), not to be interrupted half-way."""
        with _not_to_be_interrupted():
            self._close()

    def _close(self) -> None:
        """Kill, then clean up. Each step runs whatever the others did: a step that fails is
        noted for staff (and the last failure re-raised at the end), never a reason to skip the
        rest. Folders are removed without following links and without recursion
        (`confinement.remove_tree`): the worker's own is the student's, and may be a trap."""
        with self._lifecycle:  # no worker starts from now on (_start_once)
            if self._closed:
                return
            self._closed = True
        OPEN_SESSIONS.discard(self)
        failures: list[BaseException] = []

        def step(what: str, action: Any) -> Any:
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - the other steps must still run
                self.notes.append(f"cleanup step '{what}' failed: {type(exc).__name__}: {exc}")
                failures.append(exc)
                return 0

        step("stop the budget watchdog", self._watchdog.cancel)
        # Once the worker's reap has seen nothing of the submission left, nothing can start
        # again (no worker starts once closed, and the sandbox uid has no process to fork):
        # the same search twice cost ~6 ms a run. Without a worker stopped here (none, or
        # another thread's to stop), it runs now.
        if not step("stop the worker", self._stop):
            step("kill leftovers", lambda: self._reap(None))
        if self.survivors:
            QUARANTINED.add(self.identity.uid)  # type: ignore[arg-type]
            self.notes.append(
                f"WARNING: {len(self.survivors)} processes of the submission SURVIVED every kill "
                f"(pids {self.survivors[:20]}); uid {self.identity.uid} is never used again"
            )
        if self.jail is not None:
            step("remove the run's cgroup and jail root", self._remove_jail)
        self.files_removed = step(
            "remove scratch files", lambda: remove_scratch_files(self.identity, keep=self.workdir)
        )
        ipc = step("remove IPC objects", lambda: remove_ipc_objects(self.identity))
        if ipc:
            self.notes.append(f"removed {ipc} System V IPC objects of the sandbox uid")
        for folder in (self.workdir, self.shared_dir):
            if folder is not None:
                step(f"remove {folder}", lambda f=folder: remove_tree(f))
        # Last: another run may have the uid now (not when a survivor has it: quarantined).
        step("release the sandbox uid", lambda: release_identity(self.identity))
        if failures:
            raise failures[-1]

    def _remove_jail(self) -> None:
        assert self.jail is not None
        if self.jail.cgroup is not None and not self.jail.cgroup.remove():
            self.notes.append("WARNING: the run's cgroup is not empty; left in place")
        if self.jail.root is not None:
            try:
                self.jail.root.rmdir()  # only ever a mount point in the worker's namespace
            except OSError:
                pass

    def _budget_spent(self) -> None:
        if not self._closed:
            kill_now(self.identity.uid, self.jail.cgroup if self.jail is not None else None)

    def _reap(self, proc: Process | None) -> None:
        cgroup = self.jail.cgroup if self.jail is not None else None
        own = 3 if self.jail is not None and self.jail.root is not None else 1
        killed, survivors = reap(proc, self.identity, self.spared, cgroup, own)
        self.leftovers_killed += killed
        self.survivors = survivors

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output(self) -> str:
        """Everything the submission printed (capped), across restarts."""
        current = [self._worker.output.text()] if self._worker else []
        return "\n".join(o for o in self.outputs + current if o)

    # ---- I/O with deadlines ---------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _deadline(self, timeout: float) -> tuple[float, WorkerFailure]:
        """When an exchange of up to `timeout` s must end, and the failure to raise then: the
        run's budget bounds every exchange, whatever the worker does."""
        budget_left = self.remaining()
        if budget_left < timeout:
            failure = WorkerFailure("budget", "the grading run's time budget ran out")
            return time.monotonic() + max(budget_left, 0.0), failure
        return time.monotonic() + timeout, WorkerFailure(
            "timeout", f"did not finish within {timeout:g} s"
        )

    def _crash(self, worker: _Worker) -> WorkerFailure:
        if self.remaining() <= 0:  # killed by the watchdog once the budget ran out
            return WorkerFailure("budget", "the grading run's time budget ran out")
        code = worker.proc.poll()
        if code is None:
            try:
                code = worker.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                code = None
        return WorkerFailure("crash", _describe_exit(code, self.limits))

    def _wait(self, fd: int, writing: bool, deadline: float, late: WorkerFailure) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise late
        ready = select.select([], [fd], [], left) if writing else select.select([fd], [], [], left)
        if not (ready[1] if writing else ready[0]):
            raise late

    def _send(self, worker: _Worker, message: dict[str, Any], deadline: float,
              late: WorkerFailure) -> None:  # fmt: skip
        """Write a request without ever blocking past `deadline` (the pipe is non-blocking): a
        worker that stops reading fills the pipe, and would otherwise hold the grader forever."""
        fd = worker.channel.write_fd

        def write(view: memoryview) -> None:
            while view:
                self._wait(fd, True, deadline, late)
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    continue
                except OSError:  # EPIPE: the worker is gone
                    raise self._crash(worker) from None

        worker.channel.send(message, write)

    def _receive(self, worker: _Worker, timeout: float, deadline: float | None = None,
                 late: WorkerFailure | None = None) -> Any:  # fmt: skip
        if deadline is None or late is None:
            deadline, late = self._deadline(timeout)
        fd = worker.channel.read_fd

        def read_into(view: memoryview) -> None:
            while view:
                self._wait(fd, False, deadline, late)  # type: ignore[arg-type]
                n = os.readv(fd, [view])
                if not n:
                    raise self._crash(worker)
                view = view[n:]

        try:
            return worker.channel.receive(read_into)
        except ProtocolError as exc:
            raise WorkerFailure(
                "protocol", f"sent a reply the grader cannot accept: {exc}"
            ) from None

    def _request(
        self,
        message: dict[str, Any],
        timeout: float,
        runs: frozenset[str] = frozenset(),
        again: bool = False,
    ) -> dict[str, Any]:
        """Send `message` and wait up to `timeout` s for the reply. `runs` names the student
        callables it may run (`callables`): one that already ran past its limit in this run gets
        the shorter `retry_timeout_s` (the time-out breaker)."""
        if self._closed:
            raise WorkerFailure("budget", "the grading session is closed")
        if self.remaining() <= 0:
            self.unanswered.append("the grading run's time budget ran out")
            raise WorkerFailure("budget", "the grading run's time budget ran out")
        full = timeout
        try:
            timeout, why = self.breaker.limit(runs, timeout)
        except GivenUp as exc:
            self.unanswered.append(str(exc))
            raise WorkerFailure("given up", str(exc)) from None
        try:
            worker = self._worker or self._restart()
        except WorkerFailure as exc:
            self.unanswered.append(str(exc))
            raise
        deadline, late = self._deadline(timeout)
        try:
            with worker.io:
                self._send(worker, message, deadline, late)
                reply = self._receive(worker, timeout, deadline, late)
            if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
                raise WorkerFailure("protocol", "sent a malformed reply")
        except WorkerFailure as exc:
            self._stop()  # a worker in an unknown state is never reused
            if exc.kind == "crash" and _orphaned(worker.proc) and not again:
                # Its fork server died (not the submission's doing) and took the worker along:
                # the request runs again on a new (exec'd) worker; no restart is counted.
                self._uncounted_restarts += 1
                return self._request(message, full, runs, again=True)
            if exc.kind in ("timeout", "budget", "restarts"):
                self.unanswered.append(str(exc))
            if exc.kind == "crash":
                self.breaker.crashed(runs)
            if exc.kind != "timeout":
                raise
            self.breaker.timed_out(runs, timeout, full)
            if why:
                raise WorkerFailure("timeout", f"{exc}: {why}") from None
            raise
        self.breaker.answered(runs)
        return reply

    @property
    def hung(self) -> set[str]:
        """The student callables that ran past their limit in this run (breaker.py)."""
        return self.breaker.hung

    def _restart(self) -> _Worker:
        if self.restarts >= MAX_RESTARTS:
            raise WorkerFailure(
                "restarts",
                f"your notebook's process already had to be restarted {MAX_RESTARTS} times in "
                "this run (after time-outs or crashes), so the grader stopped restarting it",
            )
        if self._uncounted_restarts:  # after a fork server's death (_request)
            self._uncounted_restarts -= 1
        elif self.generation > 0:  # every start after the first, also one before any cell ran
            self.restarts += 1
        worker = self._start()
        # Replay the cells that completed before; those dropped are compiled, not run: their
        # __future__ imports held for the cells after them (worker/loop.py, compile_only).
        for index, source, ran in self._replay:
            self._request(
                {"op": "run_cell" if ran else "compile_cell", "index": index, "source": source},
                self.limits.cell_timeout_s,
            )
        return self._worker or worker

    # ---- what the grader uses -------------------------------------------------------------

    def run_cells(self, cells: list[tuple[int, str]]) -> list[CellReport]:
        """Run notebook cells in order; a cell that hangs or crashes is dropped and the rest go on."""
        for index, source in cells:
            try:
                reply = self._request(
                    {"op": "run_cell", "index": index, "source": source}, self.limits.cell_timeout_s
                )
            except WorkerFailure as exc:
                self.reports.append(CellReport(index, exc.kind, str(exc)))
                if exc.kind == "budget":
                    break
                if exc.kind in ("timeout", "crash", "protocol") and "__future__" in source:
                    self._replay.append((index, source, False))  # compiled: its flags held
                continue
            error = reply.get("error")
            self._replay.append((index, source, True))
            said = _cell_warnings(reply.get("warnings"))
            if reply.get("skipped") is True:
                self.reports.append(CellReport(index, "skipped", "its cell magic is not Python"))
            elif error:
                self.reports.append(CellReport(index, "error", _format_error(error), said))
            else:
                self.reports.append(CellReport(index, "ok", "", said))
        return self.reports

    @property
    def cells(self) -> list[tuple[int, str]]:
        """The notebook's cells that ran (with or without an exception), in order."""
        return [(index, source) for index, source, ran in self._replay if ran and index >= 0]

    def run_setup(self, source: str) -> None:
        """Run the grader's own `source` (plain assignments: the homework's overrides) in the
        notebook's namespace after its cells; replayed after a restart as the cells are, and
        never reported as a cell. Where it cannot run (the time budget ran out, the notebook's
        process keeps dying), the tests meet the notebook as its cells left it."""
        try:
            reply = self._request(
                {"op": "run_cell", "index": -1, "source": source}, self.limits.cell_timeout_s
            )
        except WorkerFailure:
            return
        if not reply.get("error"):
            self._replay.append((-1, source, True))

    def call(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        return_args: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Call a student function; returns the worker's (decoded, plain-data) reply."""
        message = {
            "op": "call",
            "name": name,
            "args": list(args),
            "kwargs": dict(kwargs),
            "return_args": return_args,
        }
        return self._request(message, timeout or self.limits.call_timeout_s, frozenset({name}))

    def share_file(self, name: str, data: bytes) -> str:
        """Place a file the student's code may read (test data); returns its path for the worker.

        The folder is the grader's own, readable by all and writable by none but us: never a
        folder inside the worker's, where the student could plant a symlink and have the grader
        write (and chown) through it into any folder of the machine."""
        if self.shared_dir is None:
            raise WorkerFailure("budget", "the grading session is closed")
        path = self.shared_dir / Path(name).name
        path.write_bytes(data)
        os.chmod(path, 0o644)
        return str(path)

    def live_generation(self) -> int:
        """The generation of the running worker, starting one (and replaying the cells) if none
        runs: what the next request will reach (references of other generations are stale)."""
        if self._closed:
            raise WorkerFailure("budget", "the grading session is closed")
        if self._worker is None:
            self._restart()
        return self.generation

    def running_generation(self) -> int | None:
        """The generation of the running worker; None when none runs (nothing to release)."""
        return self.generation if self._worker is not None and not self._closed else None

    def discard_worker(self) -> None:
        """Stop a worker that broke the protocol in a way only the caller saw (a forged
        reference): it is never reused; the next request starts a fresh one."""
        self._stop()

    def request(self, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send one request (objects.py's steps), with the call time limit unless given."""
        return self._request(message, timeout or self.limits.call_timeout_s, callables(message))

    def defined(self, names: list[str]) -> dict[str, str]:
        reply = self._request({"op": "defined", "names": names}, self.limits.call_timeout_s)
        value = reply.get("value")
        if not isinstance(value, dict):
            raise WorkerFailure("protocol", "sent a malformed reply")
        return {str(k): str(v) for k, v in value.items()}


def _orphaned(proc: Process) -> bool:
    """The worker's keeper ended because its fork server did (forkserver.Forked.orphaned)."""
    return isinstance(proc, Forked) and proc.orphaned


def callables(message: dict[str, Any]) -> frozenset[str]:
    """The student callables an objects request may run, as messages name them: a function or
    class by its name, a method or attribute (a property runs code) as `.name`, an operator as
    `operator mul`; releasing objects runs their finalizers. Methods are named without their
    class (a pending target's class is not known before the request runs): a method that hung
    shortens the limit of a same-named method of another class too, which is only stricter."""
    if message.get("op") == "release":
        return frozenset({"finalizers (__del__)"})
    names = set()
    steps = list(message.get("steps", ()))
    while steps:
        step = steps.pop()
        kind, name = step[0], step[2]
        if kind == "repeat":  # what its body runs (remote.Objects.repeat)
            steps.extend(step[3][1])
        elif kind in ("fn", "fnargs", "new"):
            names.add(name)
        elif kind in ("call", "get", "set"):
            names.add(f".{name}")
        elif kind == "op":
            names.add(f"operator {name}")
    return frozenset(names)


def _cell_warnings(said: Any) -> tuple[str, ...]:
    """The warnings a worker reported with a cell, as few and as short as the worker's own
    (worker/loop.py), each on one line as Python's are: the worker is the submission's, and may
    send anything, and a newline (which the protocol's cleaning keeps) would start lines of the
    summary that read as the grader's ('TOTAL 33/33')."""
    if not isinstance(said, list):
        return ()
    return tuple(
        w.replace("\n", " ")[:MAX_WARNING_CHARS] for w in said[:MAX_WARNINGS] if isinstance(w, str)
    )


def _format_error(error: Any) -> str:
    if not isinstance(error, dict):
        return "raised an exception"
    kind, message, tb = error_fields(error)
    return tb.strip() or f"{kind}: {message}"


def _describe_exit(code: int | None, limits: Limits) -> str:
    import signal

    if code is None:
        return "the submission's process stopped answering"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = {
            "SIGKILL": "killed (out of time or memory?)",
            "SIGXCPU": f"out of CPU time ({limits.run_timeout_s:g} s)",
            "SIGXFSZ": f"wrote a file larger than {limits.max_file_bytes // 2**20} MiB",
            "SIGSEGV": "crashed (segmentation fault; runaway recursion?)",
        }.get(name, "killed by a signal")
        return f"the submission's process was {hint} [{name}]"
    if code == EXIT_OUT_OF_MEMORY:
        return (
            "the submission's process ran out of memory "
            f"(the limit is {limits.memory_bytes // 2**20} MiB; is a cell holding large arrays?)"
        )
    if code == 0:
        return "the submission's process exited with status 0 (sys.exit or os._exit?)"
    return (
        f"the submission's process exited with status {code} (sys.exit or os._exit, "
        "or a library that gave up: out of memory?)"
    )
