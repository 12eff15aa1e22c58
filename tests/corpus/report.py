"""Grade every corpus case (or the named ones) and print one line each: score and first message.

    .venv/bin/python tests/corpus/report.py [CASE ...]

A reading aid for instructors and for issue notes; tests/test_corpus.py is what asserts outcomes.
Uses the corpus tests' limits, so scores match theirs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from test_corpus import LIMITS  # noqa: E402

import build_corpus  # noqa: E402
from corpus_kit import HW, Context, write_upload  # noqa: E402
from dlhw.autograder.grading import grade  # noqa: E402


def first_message(results: dict) -> str:
    failed = [t["output"] for t in results["tests"] if t["status"] != "passed" and t["output"]]
    text = failed[0] if failed else results.get("output", "")
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def main(names: list[str]) -> int:
    for name in names or list(build_corpus.BY_NAME):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "results" / "results.json"
            upload = write_upload(
                build_corpus.BY_NAME[name], Context(results_path=str(out)), Path(tmp) / "upload"
            )
            outcome = grade(HW, upload, out, limits=LIMITS)
            score = f"{outcome.score:g}/{outcome.max_score:g}"
            print(f"{name:32s} {score:>6}  {first_message(outcome.results)[:100]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
