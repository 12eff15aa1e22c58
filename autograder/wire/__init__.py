"""What crosses the trust boundary, shared by both sides: the plain-data protocol (protocol.py),
how student text is made safe (text.py), numpy Generators as plain data (generators.py) and the
operators objects may declare (operators.py). Imports only the standard library and numpy, so the
worker can use it without importing anything of the grader's side."""
