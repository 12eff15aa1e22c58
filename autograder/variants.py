"""Variants of a homework's reference: realistic bugs that must lose points, and correct but
unusual solutions that must keep them. They measure the hidden tests from both sides.

Each homework lists its variants in `solutions/hwN_slug/variants.py` (instructor-written, trusted,
never shipped to students) as two plain dicts:

    BUGS = {
        "relu_grad_at_zero": {                         # a name saying what is wrong
            "two_layer_grads": '''
                def two_layer_grads(X, y, W1, W2):
                    ...                                # the whole new definition
            ''',
        },
    }
    UNUSUAL = {"loops": {"relu": "def relu(Z): ..."}}

A key names a top-level function or class of the master notebook's graded cells, or a method
(`"Linear.backward"`); its value replaces that definition, and nothing else, in the cell that
holds it. A variant is therefore a plausible notebook: the student's other cells untouched.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap
from dataclasses import dataclass
from types import ModuleType

import nbformat

from dlhw.autograder.homeworks import Homework
from dlhw.autograder.notebook import graded_cells

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # "bug" (must lose points) | "unusual" (must keep full marks)
    replacements: dict[str, str]


class VariantError(ValueError):
    """A variant that names no definition, or one defined more than once."""


def load_variants(hw: Homework) -> list[Variant]:
    """The homework's variants, bugs first; none when it has no variants.py."""
    if not hw.variants.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"dlhw_variants_{hw.id}", hw.variants)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the course's own file, like the hidden tests
    found = []
    for kind, table in (("bug", "BUGS"), ("unusual", "UNUSUAL")):
        for name, replacements in getattr(module, table, {}).items():
            found.append(Variant(name, kind, dict(replacements)))
    return found


def _find(tree: ast.Module, dotted: str) -> list[Definition]:
    scope: list[ast.stmt] = tree.body
    hits: list[Definition] = []
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        hits = [
            node
            for node in scope
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == part
        ]
        if depth < len(parts) - 1:
            classes = [h for h in hits if isinstance(h, ast.ClassDef)]
            if len(classes) != 1:
                return []
            scope = classes[0].body
    return hits


def replace_definition(source: str, dotted: str, new: str) -> str | None:
    """`source` with the definition of `dotted` replaced by `new` (re-indented to fit), or None
    when `source` does not define it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    hits = _find(tree, dotted)
    if not hits:
        return None
    if len(hits) > 1:
        raise VariantError(f"{dotted} is defined {len(hits)} times in one cell")
    node = hits[0]
    lines = source.splitlines(keepends=True)
    first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    last = node.end_lineno or node.lineno
    indent = lines[node.lineno - 1][: node.col_offset]
    body = textwrap.indent(textwrap.dedent(new).strip("\n"), indent) + "\n"
    return "".join(lines[:first]) + body + "".join(lines[last:])


def variant_cells(hw: Homework, variant: Variant) -> list[str]:
    """The master notebook's graded cells with the variant's replacements made."""
    cells = [c.source for c in graded_cells(hw.master).cells]
    for dotted, new in variant.replacements.items():
        done = 0
        for i, cell in enumerate(cells):
            changed = replace_definition(cell, dotted, new)
            if changed is not None:
                cells[i], done = changed, done + 1
        if done != 1:
            raise VariantError(
                f"{hw.id} variant {variant.name}: {dotted} is defined in {done} graded cells"
            )
    return cells


def variant_notebook(hw: Homework, variant: Variant) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in variant_cells(hw, variant)]
    return nb
