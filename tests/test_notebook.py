"""Reading submissions: validation errors are clear, tags are honoured, IPython syntax is neutralised."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from conftest import notebook_from_cells
from dlhw.autograder.notebook import (
    MAX_NOTEBOOK_OBJECTS,
    MAX_NOTEBOOK_VALUES,
    NotebookError,
    graded_cells,
)
from dlhw.autograder.worker.magics import neutralise_ipython


def write(tmp_path: Path, content: bytes | str, name: str = "hw.ipynb") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file"),
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "not a Jupyter notebook"),
        (
            '{"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
            "not a valid Jupyter notebook",
        ),
        (  # a code cell without outputs or execution_count, with a key the schema does not know
            '{"cells": [{"cell_type": "code", "id": "a1", "source": "x = 1", "metadata": {}, '
            '"bogus": 1}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
            "not a valid Jupyter notebook",
        ),
    ],
)
@pytest.mark.parametrize("validator", ["fastjsonschema", "jsonschema"])
def test_unreadable_uploads_get_a_clear_message(tmp_path, monkeypatch, content, message, validator):
    # `grade` validates its one notebook with jsonschema, a batch with nbformat's default.
    monkeypatch.setenv("NBFORMAT_VALIDATOR", validator)
    with pytest.raises(NotebookError, match=message):
        graded_cells(write(tmp_path, content))


def test_oversized_notebook_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "x")
    with pytest.raises(NotebookError, match="over the 0 MB limit"):
        from dlhw.autograder.notebook import read_notebook

        read_notebook(path, max_bytes=0)


@pytest.mark.parametrize(
    ("filler", "count"),
    [("[]", MAX_NOTEBOOK_VALUES), ("{}", MAX_NOTEBOOK_OBJECTS + 1), ("0", MAX_NOTEBOOK_VALUES)],
)
def test_a_notebook_of_millions_of_tiny_values_is_refused_before_parsing(tmp_path, filler, count):
    # 3 bytes of JSON parse into 64-480 bytes of Python objects, several times over: 17 million
    # empty lists in a 49 MB notebook took the grader to 3.7 GB. Strings, however long, count
    # as one value (a comma or bracket inside one counts for nothing).
    nb = notebook_from_cells(["a = 1"])
    nb.metadata["filler"] = "FILLER"
    nb.cells.append(nbformat.v4.new_markdown_cell("[], {}, " * 1000))
    text = nbformat.writes(nb)
    path = tmp_path / "hw.ipynb"
    path.write_text(text.replace('"FILLER"', "[" + ",".join([filler] * count) + "]"))
    with pytest.raises(NotebookError, match="JSON values.*over the limits"):
        graded_cells(path)
    path.write_text(text.replace('"FILLER"', "[" + ",".join([filler] * 1000) + "]"))
    assert [c.source for c in graded_cells(path).cells] == ["a = 1"]


def test_tagged_cells_are_skipped_and_empty_cells_ignored(tmp_path):
    nb = notebook_from_cells(["a = 1", ("train()", ["skip-grading"]), "   ", "b = a + 1"])
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Title"))
    path = tmp_path / "hw.ipynb"
    nbformat.write(nb, path)
    read = graded_cells(path)
    assert [c.source for c in read.cells] == ["a = 1", "b = a + 1"]
    assert read.skipped == (2,)


def test_cells_sharing_an_id_are_read_without_a_warning(tmp_path):
    """nbformat gives duplicate cell ids new ones and warns (a FutureWarning per notebook, on
    the grader's stderr); 10,000 random ids meet about once in a hundred notebooks."""
    import warnings

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2")]
    nb.cells[1].id = nb.cells[0].id
    path = tmp_path / "dup.ipynb"
    path.write_text(json.dumps(nb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = graded_cells(path)
    assert [c.source for c in read.cells] == ["x = 1", "y = 2"]


def test_notebook_without_code_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("only text")])
    path = tmp_path / "hw.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NotebookError, match="no code to grade"):
        graded_cells(path)


def test_v3_notebook_is_converted(tmp_path):
    v3 = {
        "nbformat": 3, "nbformat_minor": 0, "metadata": {},
        "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 41 + 1", "language": "python",
                                    "outputs": [], "metadata": {}}], "metadata": {}}],
    }  # fmt: skip
    read = graded_cells(write(tmp_path, json.dumps(v3)))
    assert [c.source for c in read.cells] == ["x = 41 + 1"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%matplotlib inline\nx = 1", "pass  # removed IPython magic\nx = 1"),
        ("!pip install numpy", "pass  # removed IPython magic"),
        ("files = !ls\nx = 1", "files = None  # removed IPython magic\nx = 1"),
        ("a, b  = !ls", "a, b = (None, None)  # removed IPython magic"),
        ("x, = %time f()", "x, = (None,)  # removed IPython magic"),
        ("x\t= !ls", "x = None  # removed IPython magic"),
        (
            "def f():\n    %time g()\n    return 1",
            "def f():\n    pass  # removed IPython magic\n    return 1",
        ),
        ("np.sum?", "pass  # removed IPython help"),
        # Any target IPython assigns an escape's value to (its first `=` outside brackets and
        # strings): the cell compiled only with plain names before, and lost all it defined.
        ("times['adam'] = %timeit -o f()", "times['adam'] = None  # removed IPython magic"),
        ("d['a=b'], o.x = !ls", "d['a=b'], o.x = (None, None)  # removed IPython magic"),
        ("x: list = !ls", "x: list = None  # removed IPython magic"),
        # IPython's first `=` token: past `==`, `!=`, `<=` and `+=`, which are other tokens; and
        # the targets are those after the last `;` or `:`, not the line's (`a, b = None, None,
        # None` raised a ValueError: too many values to unpack).
        ("if a == b: t = %time f()", "if a == b: t = None  # removed IPython magic"),
        (
            "for i, j in z: a, b = !ls",
            "for i, j in z: a, b = (None, None)  # removed IPython magic",
        ),
        (
            "import os, sys; a, b = !ls",
            "import os, sys; a, b = (None, None)  # removed IPython magic",
        ),
        # Targets in brackets, nested or starred get values of their shape (`(a, b) = None`
        # and `a, (b, c) = None, None` raised a TypeError at run time).
        ("(a, b) = %time f()", "(a, b) = (None, None)  # removed IPython magic"),
        ("[a, b] = !ls", "[a, b] = (None, None)  # removed IPython magic"),
        ("a, (b, c) = !ls", "a, (b, c) = (None, (None, None))  # removed IPython magic"),
        ("((a, b), c) = %time f()", "((a, b), c) = ((None, None), None)  # removed IPython magic"),
        ("a, *b = %time f()", "a, *b = (None,)  # removed IPython magic"),
        ("(a) = !ls", "(a) = None  # removed IPython magic"),
    ],
)
def test_line_magics_and_shell_escapes_are_neutralised(source, expected):
    """Each rewritten line runs (`a, b = None` compiled, and raised a TypeError at run time:
    the rest of its cell never ran)."""
    assert neutralise_ipython(source) == expected

    class Obj:
        pass

    names = {"g": lambda: 1, "times": {}, "d": {}, "o": Obj(), "a": 1, "b": 1, "z": [(1, 2)]}
    exec(compile(neutralise_ipython(source) or "", "<t>", "exec"), names)


@pytest.mark.parametrize(
    "line",
    ["x += %time f()", "x == %time f()", "f(a=%time g())", "x = y = !ls", "x != !y", "x := !ls",
     "x = {'a': 1}  # = !ls", "x = 5 % 3"],
)  # fmt: skip
def test_an_escape_after_what_is_no_assignment_is_left_as_ipython_leaves_it(line):
    """IPython rewrites `TARGET = %magic` only: after `+=`, `==`, `:=`, a keyword argument or a
    second `=`, the escape stays, and so does a line that assigns Python (each of these lines
    is what IPython's TransformerManager returns unchanged)."""
    assert neutralise_ipython(line) == line


@pytest.mark.parametrize(
    "line",
    ["'''It's x = %d'''", '"""He said "files = !ls" in Jupyter"""', "s = '''it's''' + 'a = !b'",
     '"""x = %timeit" """'],
)  # fmt: skip
def test_python_in_a_triple_quoted_string_is_left_as_it_is(line):
    """A triple-quoted string is one string, as IPython's tokenizer reads it: read as three
    strings, the `=` inside one holding a lone quote was taken for an assignment, and the
    docstring was cut into a line that no longer compiled."""
    cell = f"%matplotlib inline\n{line}"
    assert neutralise_ipython(cell) == f"pass  # removed IPython magic\n{line}"


def test_a_long_line_assigning_a_magic_is_read_once():
    """The target is found in one pass: a line of a megabyte of brackets, quotes or commas
    (~0.3 s each here; a regex that backtracked over the target took such a line an hour, so
    the bound only tells linear from worse)."""
    for line in ("x" + "[0]" * 300_000 + " = !ls", "a, " * 300_000 + "b = %time f()",
                 "d['" + "=" * 1_000_000 + "'] = !ls", "(" * 1_000_000):  # fmt: skip
        start = time.perf_counter()
        neutralise_ipython(line)
        assert time.perf_counter() - start < 10.0


def test_a_cell_indented_as_a_whole_is_dedented_as_ipython_does():
    """IPython removes a cell's common indentation (inputtransformer2.leading_indent): such a
    cell runs in Jupyter, and lost everything it defined to an IndentationError here."""
    cell = '\n    def f(x):\n        s = """a\n    b"""\n        return x + 1\n    %time f(1)\n'
    python = neutralise_ipython(cell)
    assert python is not None
    namespace: dict = {}
    exec(compile(python, "<cell>", "exec"), namespace)
    assert namespace["f"](1) == 2
    assert neutralise_ipython("    x = 1\ny = 2") == "    x = 1\ny = 2"  # no common indentation
    assert neutralise_ipython("    # a comment\n%time f()") == (
        "    # a comment\npass  # removed IPython magic"
    )


def test_cell_magics_run_python_bodies_and_skip_the_rest():
    assert neutralise_ipython("%%time\nx = 1").endswith("\nx = 1")
    assert neutralise_ipython("%%bash\nrm -rf /") is None
    assert neutralise_ipython("%%writefile a.py\nprint(1)") is None


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nwrong = (a\n         != b)",  # `!=` opening a continuation line
        "!ls\nx = a \\\n!= b",  # after a backslash
        "%time f()\nn = (len(y)\n     % 3)",  # `%` as the modulo operator
        "!pip list\ns = '''\n!not a shell escape\n%not a magic\n'''",  # inside a string
        "files = !ls\nd = {1:\n     !=2}",  # a continuation that is not Python stays as written
    ],
)
def test_only_lines_that_start_a_statement_are_rewritten(source):
    """IPython applies its escapes only where a statement starts; continuation lines and
    strings are Python and must reach the compiler unchanged (issue #8)."""
    out = neutralise_ipython(source)
    assert out is not None
    first, *rest = source.splitlines()
    assert out.splitlines()[0].lstrip().startswith(("pass", "files = None"))
    assert out.splitlines()[1:] == rest


def test_a_cell_with_magics_and_not_equal_on_a_continuation_line_compiles():
    source = "%matplotlib inline\nok = (1\n      != 2)"
    namespace: dict = {}
    exec(compile(neutralise_ipython(source) or "", "<t>", "exec"), namespace)
    assert namespace["ok"] is True


def test_a_long_cell_with_a_magic_is_read_a_few_times_not_once_a_line(monkeypatch):
    """Whether a line starts a statement is read from the lines before it: from the last that
    starts one (its indentation restored), not from the cell's start (a cell of 3,000
    assignments and one magic took 40 s, in the worker and in `autograder export`); lines in
    one long string stop being looked at past a budget of a few times the cell's length."""
    import tokenize

    from dlhw.autograder.worker import magics

    read = [0]
    generate_tokens = tokenize.generate_tokens

    def counting(readline):  # type: ignore[no-untyped-def]
        def counted() -> str:
            line = readline()
            read[0] += len(line)
            return line

        return generate_tokens(counted)

    monkeypatch.setattr(magics.tokenize, "generate_tokens", counting)
    assignments = "%matplotlib inline\n" + "\n".join(f"x{i} = {i}" for i in range(3000))
    at_the_margin = "\n".join(["x = 1", *("%time f()" for _ in range(3000))])
    in_a_block = "def f():\n    for i in range(3):\n" + "\n".join(
        f"        %time g({i})\n        y = {i}" for i in range(3000)
    )
    for source in (assignments, at_the_margin, in_a_block):
        read[0] = 0
        out = neutralise_ipython(source)
        assert out is not None and out.count("removed IPython magic") == source.count("%")
        assert read[0] < 4 * len(source), read[0]
    in_a_string = "%time f()\ns = '''\n" + "\n".join("%time f()" for _ in range(20_000))
    read[0] = 0
    assert neutralise_ipython(in_a_string) == "pass  # removed IPython magic\n" + "\n".join(
        in_a_string.splitlines()[1:]
    )
    assert read[0] < 10 * len(in_a_string), read[0]


def test_a_magic_below_a_long_string_of_percent_lines_is_neutralised():
    """A LaTeX preamble in a string, 30 lines of `%` comments, spent the budget for lines inside
    one string (each such line read the string again from its start), and the
    `%matplotlib inline` below it was left as it was: the cell, its function with it, failed to
    compile. A string ends only on a line with a quote: the lines without one are read once."""
    latex = "\n".join(f"% comment line {i} of the preamble" for i in range(3000))
    source = f'PREAMBLE = r"""\n{latex}\n"""\n%matplotlib inline\ndef f(x):\n    return x\n'
    out = neutralise_ipython(source)
    assert out is not None and out.count("removed IPython magic") == 1, out[-200:]
    namespace: dict = {}
    exec(compile(out, "<t>", "exec"), namespace)
    assert namespace["f"](2) == 2 and namespace["PREAMBLE"].count("%") == 3000


@pytest.mark.parametrize("separator", ["\x0c", "\x1c", "\x85", "\u2028", "\u2029"])
def test_a_cell_with_a_magic_keeps_characters_that_python_keeps_inside_a_line(separator):
    """str.splitlines cut lines at a form feed or U+2028 (text pasted from a PDF), which Python
    keeps inside a line: the string holding one no longer compiled once the cell's magic was
    rewritten, and the cell was lost. IPython keeps them, and so does the rewrite."""
    source = f's = "a{separator}b"  # see{separator}eq. 3\n%time f()\nt = 1\n'
    out = neutralise_ipython(source)
    assert (
        out == f's = "a{separator}b"  # see{separator}eq. 3\npass  # removed IPython magic\nt = 1'
    )
    namespace: dict = {}
    exec(compile(out, "<t>", "exec"), namespace)
    assert namespace["s"] == f"a{separator}b"
    assert neutralise_ipython("%time f()\r\nx = 1\ry = 2\n") == (
        "pass  # removed IPython magic\nx = 1\ny = 2"
    )


def test_a_long_line_is_looked_at_in_linear_time():
    """A lazy pattern before `\\s*=` tried every split of a run of spaces: a line of 8,000 took
    0.2 s, one of a megabyte an hour (export reads the cells in the instructor's process)."""
    import time

    start = time.monotonic()
    out = neutralise_ipython("%time f()\na" + " " * 100_000 + "b = 1")  # 30 s before
    assert out is not None and out.endswith("b = 1")
    assert time.monotonic() - start < 2


def test_an_upload_folder_thousands_of_levels_deep_is_searched_without_recursion(
    tmp_path, monkeypatch
):
    """rglob raised RecursionError on an upload 1,500 folders deep: the run failed as the
    grader's own fault. The walk finds the notebook, follows no link, and stops past
    MAX_UPLOAD_ENTRIES entries with a message."""
    from dlhw.autograder import notebook
    from dlhw.autograder.confinement import remove_tree
    from dlhw.autograder.grading import locate_notebook
    from dlhw.autograder.homeworks import get_homework

    hw = get_homework("hw1")
    upload = tmp_path / "upload"
    here = upload
    for _ in range(1500):
        here = here / "d"
        here.mkdir(parents=here.parent == upload)
    (upload / hw.notebook_name).write_text("{}")
    (upload / "outside").symlink_to(tmp_path, target_is_directory=True)
    try:
        assert locate_notebook(upload, hw) == upload / hw.notebook_name
        monkeypatch.setattr(notebook, "MAX_UPLOAD_ENTRIES", 100)
        with pytest.raises(NotebookError, match="more than 100 files and folders"):
            locate_notebook(upload, hw)
    finally:
        remove_tree(upload)  # pytest's own clean-up of tmp_path recurses
