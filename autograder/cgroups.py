"""One cgroup per grading run, over every process of the submission (root only).

The worker's keeper (jail.py) joins these cgroups before it forks anything, so the whole tree is
in them, whatever it does with sessions, process groups or double forks; it cannot leave them
(moving a process needs write access to cgroup files, which are root's). What each gives:

- cgroup v2 (`cgroup.kill`, Linux >= 5.14): one write kills every process of the group at once,
  even one forking as fast as it can; membership is read from `cgroup.procs`. Controllers
  (memory.max, pids.max) are set only where the parent already delegates them.
- cgroup v1 `freezer`: freeze the group (nothing in it runs or forks), kill every member, thaw.
- cgroup v1 `memory` and `pids`: a limit on the memory (with the scratch tmpfs) and on the number
  of tasks of the whole submission, not per process.
- cgroup v1 `cpu`: the submission weighs as one group against the grader, however many sessions
  (autogroups) it opens: spinners cannot starve the grader's tests.

Where none is mounted or writable (a container without CAP_SYS_ADMIN) `create` returns None and
the caller falls back on killing by uid (killing.py).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

V1_CONTROLLERS = ("memory", "pids", "freezer", "cpu")


def _mounts() -> tuple[str | None, dict[str, str]]:
    """(the cgroup2 mount point, {v1 controller: its mount point})."""
    v2: str | None = None
    v1: dict[str, str] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or fields[3] != "/":
            continue  # a cgroup mount of a sub-tree (cgroup namespace of another): not ours
        if tail[0] == "cgroup2" and v2 is None:
            v2 = fields[4]
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in V1_CONTROLLERS:
                    v1.setdefault(option, fields[4])
    return v2, v1


def _own_paths() -> dict[str, str]:
    """{controller or '' for v2: the grader's own cgroup path}."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            own[name] = path
    return own


@dataclass
class Cgroup:
    v2: Path | None = None
    v1: dict[str, Path] = field(default_factory=dict)

    def describe(self) -> str:
        parts = []
        if self.v2 is not None:
            parts.append("cgroup v2 (kill)")
        if self.v1:
            parts.append(f"cgroup v1 ({', '.join(sorted(self.v1))})")
        return " + ".join(parts)

    def weighs_as_one(self) -> bool:
        """The group has the cpu controller: its processes, however many, share one share of
        the CPU beside other groups (a submission's forked spinners do not outweigh another's
        worker)."""
        if "cpu" in self.v1:
            return True
        if self.v2 is None:
            return False
        try:
            return "cpu" in (self.v2.parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            return False

    def procs_files(self) -> list[str]:
        dirs = ([self.v2] if self.v2 is not None else []) + list(self.v1.values())
        return [str(d / "cgroup.procs") for d in dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            try:
                found |= {int(p) for p in Path(procs).read_text().split()}
            except OSError:
                continue
        return found

    def kill(self, timeout: float = 5.0) -> None:
        """Kill every process in the group; returns once it is empty or `timeout` has passed."""
        deadline = time.monotonic() + timeout
        pause = 0.0005  # killed processes are gone within a millisecond or two, mostly
        while self.pids() and time.monotonic() < deadline:
            if self.v2 is not None and (self.v2 / "cgroup.kill").exists():
                _write(self.v2 / "cgroup.kill", "1")
            elif "freezer" in self.v1:
                self._freeze_and_kill(deadline)
            else:
                for pid in self.pids():
                    _kill_member(pid, self)
            time.sleep(pause)
            pause = min(pause * 2, 0.005)

    def _freeze_and_kill(self, deadline: float) -> None:
        freezer = self.v1["freezer"]
        _write(freezer / "freezer.state", "FROZEN")
        while time.monotonic() < deadline:
            if (freezer / "freezer.state").read_text().strip() == "FROZEN":
                break
            time.sleep(0.002)
        for pid in self.pids():
            _kill_member(pid, self)
        _write(freezer / "freezer.state", "THAWED")  # killed tasks die once thawed

    def remove(self) -> bool:
        """Remove the group's folders; False when a process is still in it."""
        if self.pids():
            return False
        ok = True
        for folder in ([self.v2] if self.v2 is not None else []) + list(self.v1.values()):
            for _ in range(100):  # a task that just died may still be counted for a moment
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                ok = False
        return ok


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


def _kill_member(pid: int, group: Cgroup) -> None:
    """SIGKILL a member, through a pidfd so that a recycled pid is never hit."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if pid in group.pids():  # still the member we listed, now pinned by the pidfd
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def create(name: str, memory_bytes: int, max_tasks: int) -> tuple[Cgroup | None, str]:
    """A cgroup (v2 and/or v1) named `name` under the grader's own; (None, why) if there is none."""
    if os.geteuid() != 0:
        return None, "not root"
    try:
        v2_mount, v1_mounts = _mounts()
        own = _own_paths()
    except OSError as exc:
        return None, str(exc)
    group, problems = Cgroup(), []
    if v2_mount is not None and "" in own:
        folder = Path(v2_mount + own[""].rstrip("/")) / name
        try:
            folder.mkdir()
            group.v2 = folder
            delegated = (folder.parent / "cgroup.subtree_control").read_text().split()
            if "memory" in delegated:
                _write(folder / "memory.max", str(memory_bytes))
                _write(folder / "memory.swap.max", "0")
            if "pids" in delegated:
                _write(folder / "pids.max", str(max_tasks))
        except OSError as exc:
            problems.append(f"cgroup v2: {exc.strerror}")
    for controller, mount in v1_mounts.items():
        if controller not in own:
            continue
        folder = Path(mount + own[controller].rstrip("/")) / name
        try:
            folder.mkdir()
        except OSError as exc:
            problems.append(f"cgroup v1 {controller}: {exc.strerror}")
            continue
        group.v1[controller] = folder
        if controller == "memory":
            _write(folder / "memory.limit_in_bytes", str(memory_bytes))
            _write(folder / "memory.memsw.limit_in_bytes", str(memory_bytes))
        elif controller == "pids":
            _write(folder / "pids.max", str(max_tasks))
    if group.v2 is None and not group.v1:
        return None, "; ".join(problems) or "no cgroup hierarchy mounted"
    return group, "; ".join(problems)
