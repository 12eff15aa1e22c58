"""Not a cell: lays out a student's upload folder for `autograder batch` (see README.md).

    python unreadable_in_upload.py CLASS/mallory

What a student's zip holds, as `unzip` restores its modes: the notebook, a file of mode 000 and a
folder of mode 444 (its names can be listed, its entries not). A grader that is not root cannot
read them; the re-run key (batch.submission_digest) raised PermissionError for the whole class.
"""

import os
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
stub = (root / "assignments/hw1_softmax/hw1_softmax.ipynb").read_bytes()
folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
(folder / "hw1_softmax.ipynb").write_bytes(stub)
(folder / "locked.txt").write_text("x")
os.chmod(folder / "locked.txt", 0)
(folder / "listable").mkdir(exist_ok=True)
(folder / "listable" / "inner.txt").write_text("y")
os.chmod(folder / "listable", 0o444)
