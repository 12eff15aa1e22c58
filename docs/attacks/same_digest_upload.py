"""Not a cell: builds a student's upload folder for `autograder batch`, twice (see README.md).

    python same_digest_upload.py CLASS/ann first    # graded: 33/33
    python same_digest_upload.py CLASS/ann second   # now the stub is graded (0/33), but a re-run
                                                    # of the batch called it "unchanged", 33/33

The digest that decides a re-run's skip joined each file's name and content with NUL bytes, so
a file that holds NULs can hold what reads as more files: `a` = "X\\0hw1_softmax.ipynb\\0<stub>"
digests like `a` = "X" beside a notebook `hw1_softmax.ipynb` = <stub>.
"""

import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
reference = (root / "solutions/hw1_softmax/hw1_softmax.ipynb").read_bytes()
stub = (root / "assignments/hw1_softmax/hw1_softmax.ipynb").read_bytes()
folder, step = Path(sys.argv[1]), sys.argv[2]
folder.mkdir(parents=True, exist_ok=True)
(folder / "zz.ipynb").write_bytes(reference)  # the only notebook of the first upload
if step == "first":
    (folder / "a").write_bytes(b"X\0hw1_softmax.ipynb\0" + stub)
else:  # the homework's own name wins over zz.ipynb: the stub is graded
    (folder / "a").write_bytes(b"X")
    (folder / "hw1_softmax.ipynb").write_bytes(stub)
