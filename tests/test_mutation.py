"""Mutants of the reference: made only inside solution regions, graded, and scored."""

from __future__ import annotations

import pytest

from dlhw.autograder.homeworks import Homework, homeworks
from dlhw.autograder.mutation import equivalents, make_mutants, mutants_of_cell, mutation_report

CELL = '''def f(x, y):
    """Doc."""
    scale = 2
    # BEGIN SOLUTION
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} rows")
    total = (x * scale - y).sum(axis=1)
    return total[1:3]
    # END SOLUTION
'''


def edits(source: str) -> set[str]:
    return {mutated for _, _, mutated in mutants_of_cell(source, 0)}


def test_mutants_stay_inside_solution_regions_and_out_of_messages() -> None:
    mutants = edits(CELL)
    assert mutants
    for mutated in mutants:
        assert "scale = 2" in mutated  # outside the region: never changed
        assert 'raise ValueError(f"{x.shape[0]} rows")' in mutated or "pass" in mutated
        compile(mutated, "<mutant>", "exec")
    joined = "\n".join(mutants)
    for expected in (
        "x * scale + y",  # operator swapped
        "x / scale - y",
        "sum(axis=0)",  # axis changed
        "total[1:3 - 1]",  # slice bound
        "total[1 + 1:3]",
        "return -(total[1:3])",  # sign
        "x.shape[0] == y.shape[0]",  # comparison
    ):
        assert expected in joined, expected
    assert edits("def g():\n    return 1 + 2\n") == set()  # no region, no mutant


def test_every_homework_makes_mutants_with_unique_ids() -> None:
    for hw in homeworks():
        mutants = make_mutants(hw)
        assert len(mutants) >= 20, hw.id
        assert len({m.id for m in mutants}) == len(mutants)
        assert len({(m.cell, m.source) for m in mutants}) == len(mutants)


@pytest.mark.parametrize("hw", homeworks(), ids=[hw.id for hw in homeworks()])
def test_equivalent_mutants_have_reasons_and_still_exist(hw: Homework) -> None:
    ids = [m.id for m in make_mutants(hw)]
    for entry in equivalents(hw):
        assert entry.reason.strip()
        assert any(entry.matches(i) for i in ids), f"{entry.key} matches no mutant any more"


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("hw", homeworks(), ids=[hw.id for hw in homeworks()])
def test_the_hidden_tests_catch_90_percent_of_mutants(hw: Homework) -> None:
    report = mutation_report(hw, jobs=2)
    assert report.score >= 0.9, report.text()
    assert not report.unknown_equivalents
