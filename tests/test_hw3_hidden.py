"""Homework 3's hidden tests against hostile replies: what they cost the grader, whom they blame.

A hidden test runs in the grader, whose memory is Gradescope's (768 MB in all): it must check a
reply's shape and dtype before it computes anything on it. Here a submission's `Linear(400,
300).W` is a 32 MiB bool array (a reply just under the size limit); `np.std` of a bool array makes
two float64 temporaries of 8 times its size each, 512 MiB in the grader, had the init test not
refused the shape first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat

from conftest import notebook_from_cells, reference_source
from dlhw.autograder.homeworks import get_homework

HW = get_homework("hw3")


def _graded_variant(tmp_path, name: str) -> dict:
    """The hidden tests' results for the named variant of the reference."""
    from dlhw.autograder.grading import grade
    from dlhw.autograder.variants import load_variants, variant_notebook

    (variant,) = [v for v in load_variants(HW) if v.name == name]
    path = tmp_path / name / HW.notebook_name
    path.parent.mkdir()
    nbformat.write(variant_notebook(HW, variant), path)
    return grade(HW, path, tmp_path / name / "results.json", tests=HW.hidden_tests).results


BOOL_WEIGHTS = """
_init = Linear.__init__


def _bool_init(self, n_in, n_out, rng=None):
    _init(self, n_in, n_out, rng=rng)
    if n_in == 400:
        self.W = np.ones(32 * 2**20 - 2**16, dtype=bool)


Linear.__init__ = _bool_init
"""

GRADER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from dlhw.autograder.grading import grade
    from dlhw.autograder.homeworks import get_homework
    hw = get_homework("hw3")
    outcome = grade(hw, Path(sys.argv[1]), Path(sys.argv[2]), tests=hw.hidden_tests)
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into
    # ru_maxrss (a pytest process that imported torch would set the floor at ~400 MB).
    hwm = next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:'))
    peak = int(hwm.split()[1]) * 1024
    init = next(t for t in outcome.results["tests"] if t["name"].startswith("Linear(in, out"))
    print(json.dumps({"peak": peak, "init": init["output"]}))
    """
)


def test_the_init_test_refuses_a_huge_weight_reply_before_computing_on_it(tmp_path) -> None:
    path = tmp_path / HW.notebook_name
    nbformat.write(notebook_from_cells([*reference_source(HW), BOOL_WEIGHTS]), path)
    done = subprocess.run(
        [sys.executable, "-c", GRADER, str(path), str(tmp_path / "results.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Linear(400, 300).W has shape (33488896,)" in report["init"], report["init"]
    # The grader alone peaks near 100 MB here; std() of the reply took it past 600 MB.
    assert report["peak"] < 300 * 2**20, f"the grader peaked at {report['peak'] / 2**20:.0f} MiB"


def test_objects_returned_for_arrays_never_blame_the_tests(tmp_path) -> None:
    """Linear.forward gives a Value and Linear(400, 300).W is one: numpy, asked to compare or
    summarise them, probed `.dtype` and applied `abs`, names no class declares, and the run's
    summary said the tests had a mistake and staff would regrade."""
    from dlhw.autograder.grading import grade

    path = tmp_path / HW.notebook_name
    forward_gives_a_value = "Linear.forward = lambda self, X: Value(1.0)"
    nbformat.write(notebook_from_cells([*reference_source(HW), forward_gives_a_value]), path)
    outcome = grade(HW, path, tmp_path / "results.json")
    assert "mistake in the tests" not in outcome.results["output"]
    assert all("could not run this test" not in t["output"] for t in outcome.results["tests"])
    assert "GRADER ERRORS" not in outcome.staff_log
    public = next(t for t in outcome.results["tests"] if t["name"].startswith("public: Linear"))
    # The public test compares with checks.assert_close, which names what came back.
    assert "should be a number or a numeric array, but it is Value" in public["output"], public[
        "output"
    ]


def test_a_topo_sort_that_remembers_its_visits_is_told_so(tmp_path) -> None:
    """topo_sort with a global visited set lists nothing on its second call (the test's backward
    made the first): the feedback says backward ran first and what such an empty list means."""
    results = _graded_variant(tmp_path, "topo_sort_global_visited_set")
    topo = [t for t in results["tests"] if t["name"].startswith("topo_sort:")]
    assert topo and all(t["status"] == "failed" for t in topo), topo
    for test in topo:
        assert "called after root.backward()" in test["output"], test["output"]
        assert "outside the call" in test["output"], test["output"]


def test_values_compared_by_data_are_named_as_the_cause_and_other_mistakes_are_not(tmp_path):
    """A Value with __eq__ and __hash__ by data (micrograd-style) merges different nodes of equal
    value in sets: the random graphs' grads and topo_sort's list were wrong with no word of why.
    The tests ask topo_sort about Value(2.0) + Value(2.0) once they fail, and say so; a Value
    that is wrong otherwise (mul's grad assigned, not added) is not told about equality."""
    told, outcomes = {}, {}
    for name in ("value_eq_and_hash_by_data", "value_mul_assigns_grad"):
        results = _graded_variant(tmp_path, name)
        outcomes[name] = results["output"]
        failed = [t for t in results["tests"] if t["status"] == "failed"]
        graphs = [t for t in failed if t["name"].startswith("Value: a random graph")]
        assert graphs, [t["name"] for t in failed]
        told[name] = [t for t in failed if "Value(2.0) + Value(2.0)) lists 2 nodes" in t["output"]]
    merged = {t["name"].split(":")[0] for t in told["value_eq_and_hash_by_data"]}
    assert merged == {"Value", "topo_sort"}, merged
    assert told["value_mul_assigns_grad"] == []
    # The question is the hint's, not the test's: the summary counted the random graphs' failures
    # against topo_sort ("topo_sort: 6 of 8 tests failed") for a Value whose mul alone is wrong.
    assert "topo_sort:" not in outcomes["value_mul_assigns_grad"], outcomes[
        "value_mul_assigns_grad"
    ]


def test_a_topo_sort_that_hangs_on_the_hints_question_alone_costs_no_other_test(tmp_path):
    """topo_sort is asked about Value(2.0) + Value(2.0) only for a hint: hanging there, it was
    given up by the time-out breaker and failed the topo_sort tests it passes (score 99 of
    103 for a Value whose mul is wrong)."""
    from dlhw.autograder.grading import grade
    from dlhw.autograder.variants import load_variants, variant_notebook

    (variant,) = [v for v in load_variants(HW) if v.name == "value_mul_assigns_grad"]
    hangs_on_the_hint = textwrap.dedent(
        """
        _topo_sort = topo_sort


        def topo_sort(root):
            while root.data in (4.0, 5.0) and len(root._prev) == 2:
                pass
            return _topo_sort(root)
        """
    )
    scores = {}
    for name, cells in (("plain", []), ("hangs", [hangs_on_the_hint])):
        nb = variant_notebook(HW, variant)
        nb.cells += [nbformat.v4.new_code_cell(cell) for cell in cells]
        path = tmp_path / name / HW.notebook_name
        path.parent.mkdir()
        nbformat.write(nb, path)
        outcome = grade(HW, path, tmp_path / name / "results.json", tests=HW.hidden_tests)
        scores[name] = outcome.score
        assert "GRADER ERRORS" not in outcome.staff_log
    assert scores["hangs"] == scores["plain"], scores


def test_a_linear_that_ignores_rng_is_told_where_to_draw_from(tmp_path) -> None:
    """Linear drawing W from the global np.random (rng ignored) was told only "Linear(...,
    rng=7) twice gave different W"; it is told to use np.random.default_rng(rng), as hw5 is."""
    results = _graded_variant(tmp_path, "linear_global_np_random")
    (init,) = [t for t in results["tests"] if t["name"].startswith("Linear(in, out, rng): W")]
    assert init["status"] == "failed" and "np.random.default_rng(rng)" in init["output"], init


def test_the_culprit_note_names_the_operations_or_says_a_node_is_unused() -> None:
    """hw3's random-graph tests name where wrong grads come from: the last wrong node's users;
    a node no operation uses (random_program leaves one out when adding it overflows) has grad
    0 whatever the graph, and the note says that rather than an empty list of operations."""
    import importlib.util

    import numpy as np

    (path,) = get_homework("hw3").hidden_tests
    spec = importlib.util.spec_from_file_location("hw3_hidden_for_culprit", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    leaves = [1.0, 2.0, 3.0]  # n0, n1, n2; n3 = n0 * n1; n4 = n3 + 2 (n2 is used by nothing)
    ops = [("mul", [0, 1], 0.0), ("addc", [3], 2.0)]
    expected = np.array([2.0, 1.0, 0.0, 1.0, 1.0])
    wrong_n0 = np.array([5.0, 1.0, 0.0, 1.0, 1.0])
    assert "look at how n3 = n0 * n1 passes its share back to n0" in module.culprit(
        wrong_n0, expected, leaves, ops
    )
    unused = module.culprit(np.array([2.0, 1.0, 7.0, 1.0, 1.0]), expected, leaves, ops)
    assert "n2, the last one whose grad is wrong, is used by no operation" in unused
    assert "look at how  pass" not in unused


def test_a_grad_that_is_a_value_is_named_as_such(tmp_path) -> None:
    """mul's _backward adds `other * out.grad`, a Value: every grad it touches becomes a Value.
    The random graphs read the grads with float(), and the feedback was "float() of an object of
    your submission was needed where the tests expect plain data", naming neither the grad nor
    a node; it now names both, and what most often makes a grad a Value."""
    results = _graded_variant(tmp_path, "value_mul_grad_made_of_values")
    graphs = [t for t in results["tests"] if t["name"].startswith("Value: a random graph")]
    assert graphs and all(t["status"] == "failed" for t in graphs), graphs
    for test in graphs:
        assert "float() of an object" not in test["output"], test["output"]
        assert ".grad is a Value, not a number" in test["output"], test["output"]
        assert "other.data * out.grad" in test["output"], test["output"]


def test_what_topo_sort_returned_is_named_when_it_holds_no_node(tmp_path) -> None:
    """topo_sort without `return`, or listing each node's data, while backward sorts the graph
    itself: the topo_sort tests said "the test could not complete: TypeError: 'NoneType' object
    is not iterable" (the test's own list()) and "listed none of them. Does it remember the nodes
    of an earlier call?" (a global visited set's hint). Each now says what came back."""
    said = {
        "topo_sort_forgets_return_backward_sorts_itself": "topo_sort returned None",
        "topo_sort_returns_the_datas": "entries of its list are float",
    }
    for name, words in said.items():
        failed = [t for t in _graded_variant(tmp_path, name)["tests"] if t["status"] == "failed"]
        assert {t["name"].split(":")[0] for t in failed} == {"topo_sort", "Value"}, failed
        for test in failed:
            assert words in test["output"], test["output"]
            assert "could not complete" not in test["output"], test["output"]
            assert "earlier call" not in test["output"], test["output"]
