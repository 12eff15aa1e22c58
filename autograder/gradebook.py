"""A class's gradebook and summary, from the batch's rows.

    OUT/gradebook.csv, OUT/gradebook.json   student(s), their ids (SID), points per test, total,
                                            status, time
    OUT/summary.md                          score distribution, and per test: pass rate and the
                                            most common first line of feedback among failures
    OUT/scores.png, OUT/pass_rates.png      the same as pictures (matplotlib, when installed)

so an instructor sees at a glance which test most students fail, and why.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlhw.autograder.feedback import code_span

if TYPE_CHECKING:
    from dlhw.autograder.batch import Row

BINS = 10  # score histogram: tenths of the maximum


@dataclass(frozen=True)
class TestSummary:
    name: str
    max_points: float
    passed: int
    attempted: int
    common_failure: str
    common_count: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempted if self.attempted else 0.0


def test_summaries(rows: list[Row]) -> list[TestSummary]:
    graded = [r for r in rows if r.tests]
    names: list[str] = []
    for r in graded:
        names += [n for n in r.tests if n not in names]
    maxima = _max_points(graded)
    out = []
    for name in names:
        attempted = [r for r in graded if name in r.tests]
        passed = sum(1 for r in attempted if name not in r.feedback)
        reasons = Counter(r.feedback[name] for r in attempted if name in r.feedback)
        common, count = reasons.most_common(1)[0] if reasons else ("", 0)
        out.append(TestSummary(name, maxima.get(name, 0.0), passed, len(attempted), common, count))
    return out


def _max_points(rows: list[Row]) -> dict[str, float]:
    best: dict[str, float] = {}
    for r in rows:
        for name, points in r.test_max.items():
            best[name] = max(best.get(name, 0.0), points)
    return best


# What makes a spreadsheet read a cell as a formula: OWASP's list, with a newline and NUL (after
# which some readers look again), and the full-width forms that East Asian locales' spreadsheets
# may fold into them.
FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\0",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def _text_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a student's name such as `=HYPERLINK(...)` (from
    Gradescope's export, where students choose their names) would otherwise run as a formula.
    Leading spaces are looked past (some readers trim them before they look)."""
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def write_gradebook(rows: list[Row], out: Path, title: str = "") -> list[Path]:
    tests = test_summaries(rows)
    names = [t.name for t in tests]
    written = [out / "gradebook.csv", out / "gradebook.json", out / "summary.md"]
    # Every text is cleaned where it enters (batch.find_submissions, the results); a lone
    # surrogate that got past that is written as its escape rather than stop the gradebook.
    with (out / "gradebook.csv").open(
        "w", newline="", encoding="utf-8", errors="backslashreplace"
    ) as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["submission", "students", "sids", "status", "total", "max", "seconds", *names]
        )
        for r in rows:
            writer.writerow(
                [_text_cell(r.key), _text_cell("; ".join(r.students)),
                 _text_cell("; ".join(r.sids) if any(r.sids) else ""),
                 r.status,
                 f"{r.score:g}", f"{r.max_score:g}",
                 f"{r.seconds:.2f}", *(f"{r.tests[n]:g}" if n in r.tests else "" for n in names)]
            )  # fmt: skip
    (out / "gradebook.json").write_text(
        json.dumps([r.to_json() for r in rows], indent=2) + "\n", encoding="utf-8"
    )
    (out / "summary.md").write_text(
        summary_markdown(rows, tests, title), encoding="utf-8", errors="backslashreplace"
    )
    written += _plots(rows, tests, out)
    return written


def _histogram(rows: list[Row]) -> list[tuple[str, int]]:
    scored = [r for r in rows if r.max_score > 0]
    counts = [0] * BINS
    for r in scored:
        counts[min(int(BINS * r.score / r.max_score), BINS - 1)] += 1
    return [(f"{10 * i}-{10 * (i + 1)}%", c) for i, c in enumerate(counts)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_markdown(rows: list[Row], tests: list[TestSummary], title: str = "") -> str:
    """`title` says what was graded (the batch gives the homework and the submissions' folder)."""
    statuses = Counter(r.status for r in rows)
    scored = sorted(r.score for r in rows if r.max_score > 0)
    lines = [
        f"# Class summary: {title + ': ' if title else ''}{_count(len(rows), 'submission')}",
        "",
        ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
    ]
    if scored:
        mid = statistics.median(scored)
        full = max((r.max_score for r in rows), default=0)
        lines += ["", f"Median score {mid:g} of {full:g}; mean {sum(scored) / len(scored):.2f}."]
    lines += ["", "## Score distribution", "", "| score | submissions |", "|---|---:|"]
    lines += [f"| {label} | {count} |" for label, count in _histogram(rows)]
    lines += [
        "",
        "## Tests, hardest first",
        "",
        "| test | points | pass rate | most common failure (count) |",
        "|---|---:|---:|---|",
    ]
    for t in sorted(tests, key=lambda t: (t.pass_rate, t.name)):
        # The reason quotes what a submission wrote (an exception's message): code, never
        # Markdown, or one student's text would put links and images in the staff's summary.
        reason, name = code_span(t.common_failure), t.name.replace("|", r"\|")
        why = f"{reason} ({t.common_count})" if t.common_count else ""
        lines.append(
            f"| {name} | {t.max_points:g} | "
            f"{t.passed}/{t.attempted} ({100 * t.pass_rate:.0f}%) | {why} |"
        )
    return "\n".join(lines) + "\n"


def _plots(rows: list[Row], tests: list[TestSummary], out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the batch extra is not installed: the tables say the same
        return []
    paths = []
    hist = _histogram(rows)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([h[0] for h in hist], [h[1] for h in hist], color="#4c72b0")
    ax.set_xlabel("score (share of the maximum)")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({_count(len(rows), 'submission')})")
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=110)
    plt.close(fig)
    paths.append(out / "scores.png")
    ordered = sorted(tests, key=lambda t: (t.pass_rate, t.name))
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(ordered) + 1.2))
    ax.barh([t.name[:60] for t in ordered], [100 * t.pass_rate for t in ordered], color="#55a868")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (%)")
    ax.set_title("Tests, hardest first")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "pass_rates.png", dpi=110)
    plt.close(fig)
    paths.append(out / "pass_rates.png")
    return paths
