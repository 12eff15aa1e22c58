"""Build an attacking notebook: the reference notebook of a homework plus one cell (a file)."""
import sys
import nbformat

ref, cell, out = sys.argv[1:4]
nb = nbformat.read(ref, as_version=4)
position = int(sys.argv[4]) if len(sys.argv) > 4 else len(nb.cells)
nb.cells.insert(position, nbformat.v4.new_code_cell(open(cell).read()))
nbformat.write(nb, out)
