"""The untrusted side of the trust boundary: everything that runs in the student's process.

`python -I -m dlhw.autograder.worker` (confinement.spawn_worker; in a batch job, forked by the
fork server: forkserver.py) confines itself (limits.py), runs
the notebook's cells with IPython syntax neutralised (magics.py), answers calls of the student's
functions and keeps the student's objects by id (object_table.py), speaking only the plain-data
protocol of `dlhw.autograder.wire`. Nothing here imports the grader's side (the tests, their
oracles, pytest, the reporter, sessions): tests/test_layout.py checks it statically, and
tests/test_objects.py checks the worker's loaded modules at run time."""
