"""Stub generation from master notebooks, and the check that committed stubs are up to date."""

from __future__ import annotations

import nbformat
import pytest

from dlhw.autograder.stubgen import MarkerError, check_assignment, make_stub, strip_solutions


def test_solution_regions_become_not_implemented_at_their_indentation():
    source = "def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n\ny = 1"
    stub = strip_solutions(source)
    assert (
        stub
        == "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\ny = 1"
    )
    ns: dict = {}
    exec(compile(stub, "<stub>", "exec"), ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n# END SOLUTION", "without a BEGIN"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested"),
    ],
)
def test_unbalanced_markers_are_errors(source, message):
    with pytest.raises(MarkerError, match=message):
        strip_solutions(source)


def test_stub_clears_outputs_and_keeps_tags():
    cell = nbformat.v4.new_code_cell(
        "x = 1", metadata={"tags": ["skip-grading"]}, execution_count=3
    )
    cell.outputs = [nbformat.v4.new_output("stream", text="1")]
    stub = make_stub(nbformat.v4.new_notebook(cells=[cell]))
    assert stub.cells[0].outputs == [] and stub.cells[0].execution_count is None
    assert stub.cells[0].metadata["tags"] == ["skip-grading"]


def test_committed_assignments_are_up_to_date(hw1):
    assert check_assignment(hw1) == [], "run `make assignments` and commit the result"


def test_assignments_hold_no_solution_code(hw1):
    master = nbformat.read(hw1.master, as_version=4)
    solution_lines = {
        line.strip()
        for cell in master.cells if cell.cell_type == "code"
        for line in cell.source.split("# BEGIN SOLUTION")[1:] for line in line.split("# END SOLUTION")[0].splitlines()
        if len(line.strip()) > 25
    }  # fmt: skip
    assert solution_lines, "the master notebook should contain solution regions"
    for path in hw1.assignment_dir.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "test_hidden" not in text
            leaked = [ln for ln in solution_lines if ln in text]
            assert not leaked, f"{path.name} contains solution code: {leaked[:3]}"
