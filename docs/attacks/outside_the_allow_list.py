# What graded code could open, write and signal where the private view is missing (no
# CAP_SYS_ADMIN, DLHW_KERNEL_LAYERS=off) or there is no sandbox uid (not root,
# DLHW_SANDBOX=same-user). Plant first, as root:
#   mkdir -p /srv/plant && echo SECRET > /srv/plant/s.txt && chmod 755 /srv/plant && chmod 644 /srv/plant/s.txt
import os


def _try(what, f):
    try:
        print("LL", what, "OK", repr(f())[:50])
    except Exception as e:
        print("LL", what, "DENIED", type(e).__name__)


_try("a world-readable file", lambda: open("/srv/plant/s.txt").read())
_try("the /proc listing", lambda: len(os.listdir("/proc")))
_try("the grader's command line", lambda: open(f"/proc/{os.getppid()}/cmdline").read())
_try("signal 0 to the grader", lambda: os.kill(os.getppid(), 0))
_try("a file in /tmp", lambda: open("/tmp/planted-by-a-student", "w").write("x"))
_try(
    "the course's solutions",
    lambda: os.listdir(
        __import__("dlhw.autograder.homeworks", fromlist=["x"]).course_root() / "solutions"
    ),
)
