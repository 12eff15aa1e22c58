"""A corpus of hostile and broken homework-1 submissions: one named case per entry of CASES.

Each case is what a student might upload (a notebook, a broken file, a folder), built from the
master notebook's graded cells plus the case's change. The tables: cases_runaway.py (loops,
bombs, processes left behind, exits and signals), cases_attacks.py (the grader's files and state,
deceptive results, output and network), cases_broken.py (malformed uploads, unusual but
correct work, realistic mistakes), cases_io.py (the boundary's own I/O and the grader's cleanup),
cases_escape.py (reading solutions from outside solutions/, outliving or stopping the cleanup),
cases_steering.py (student functions that try to become a test's expectation) and
cases_objects.py (hostile student objects, graded against the object-test fixture homework by
tests/test_corpus_objects.py).
tests/test_corpus.py grades every case and asserts what must happen; to read the uploads:

    .venv/bin/python tests/corpus/build_corpus.py OUT_DIR [CASE ...]

writes OUT_DIR/<case>.ipynb (or OUT_DIR/<case>/ for folder uploads). The uploads are generated,
never committed: most carry the reference solution, which must not sit anywhere outside
solutions/ (the folder the grader closes to student code), and some are 200 MB or 10,000 cells.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cases_attacks
import cases_broken
import cases_escape
import cases_io
import cases_objects
import cases_runaway
import cases_steering
from corpus_kit import Case, Context, write_upload

CASES: list[Case] = [
    *cases_runaway.CASES,
    *cases_attacks.CASES,
    *cases_broken.CASES,
    *cases_io.CASES,
    *cases_escape.CASES,
    *cases_steering.CASES,
]
BY_NAME = {c.name: c for c in CASES}
# Hostile objects (cases_objects.py) are graded against the object-test fixture homework
# (tests/objects_hw), by tests/test_corpus_objects.py.
OBJECT_CASES: list[Case] = list(cases_objects.CASES)
OBJECT_BY_NAME = {c.name: c for c in OBJECT_CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
assert not set(BY_NAME) & set(OBJECT_BY_NAME), "case names must be unique"


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    every = {**BY_NAME, **OBJECT_BY_NAME}
    out, names = Path(argv[0]), argv[1:] or list(every)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(write_upload(every[name], Context(), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
