"""An example course policy for `autograder gradescope HW --policy late_policy.py`.

10% off per started day late, at most 50%; and at most 10 graded submissions per 24 hours (an
11th shows the message and keeps the score of the latest earlier submission). It reads only
Gradescope's submission_metadata.json, passed in as `metadata` (empty when there is none).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

PER_DAY, MAX_PENALTY, PER_24H = 0.10, 0.50, 10


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def apply(results: dict, metadata: dict) -> dict:
    created, due = metadata.get("created_at"), metadata.get("assignment", {}).get("due_date")
    if not created or not due:
        return results
    now = _time(created)
    recent = [
        p
        for p in metadata.get("previous_submissions", [])
        if now - _time(p["submission_time"]) < timedelta(hours=24)
    ]
    if len(recent) >= PER_24H:
        last = max(recent, key=lambda p: _time(p["submission_time"]))
        results["score"] = float(last.get("score", 0))
        results["output"] = (
            f"You have made {len(recent)} submissions in the last 24 hours (the limit is "
            f"{PER_24H}); this one was graded but keeps your previous score.\n\n"
            + results.get("output", "")
        )
        return results
    days_late = math.ceil((now - _time(due)).total_seconds() / 86400)
    if days_late > 0:
        total = sum(t["score"] for t in results["tests"])
        penalty = min(MAX_PENALTY, PER_DAY * days_late)
        results["score"] = round(total * (1 - penalty), 4)
        results["output"] = (
            f"Submitted {days_late} day(s) late: {penalty:.0%} off ({total:g} -> "
            f"{results['score']:g}).\n\n" + results.get("output", "")
        )
    return results
