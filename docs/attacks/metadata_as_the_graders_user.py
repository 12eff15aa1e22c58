# Without a sandbox uid (DLHW_SANDBOX=same-user, or the grader not root) graded code is the
# grader's own user: Landlock keeps it from opening the grader's files, but not from changing
# their metadata, and a worker run as root kept every capability. Prints its findings (MM).
import os, shutil
def _try(what, f):
    try:
        print("MM", what, "OK", repr(f())[:70])
    except Exception as e:
        print("MM", what, "DENIED", type(e).__name__, e)
target = str(__import__("dlhw.autograder.homeworks", fromlist=["x"]).course_root() / "autograder" / "cli.py")
_try("chmod grader file", lambda: (os.chmod(target, 0o777), oct(os.stat(target).st_mode & 0o777)))
_try("utime grader file", lambda: (os.utime(target, (0, 0)), os.stat(target).st_mtime))
_try("caps", lambda: [l for l in open("/proc/self/status") if l.startswith("CapEff") or l.startswith("CapBnd")])
open("a.txt", "w").write("x")
_try("shutil.copy2 in own folder", lambda: (shutil.copy2("a.txt", "b.txt"), open("b.txt").read()))
_try("chmod own file", lambda: (os.chmod("a.txt", 0o640), oct(os.stat("a.txt").st_mode & 0o777)))
