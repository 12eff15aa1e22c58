# The grader's own limits, set from graded code (DLHW_SANDBOX=same-user, or not root): the worker
# is the grader's user, so prlimit() on its parent is allowed, and Landlock scopes signals, not
# limits. Eight open files: the grader fails ("The autograder failed: OSError: [Errno 24] Too
# many open files"), 0/0; in a batch, the process that grades the next submissions keeps the
# limit. setpriority(), sched_setscheduler() and sched_setaffinity() on it (or PRIO_USER: every
# process of the uid) starve or pin it.
import os
import resource

try:
    resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (8, 8))
    print("GL prlimit on the grader: ALLOWED")
except OSError as e:
    print("GL prlimit on the grader: REFUSED", type(e).__name__)
