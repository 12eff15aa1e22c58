"""`python -m dlhw.autograder.worker`: the worker's entry point (loop.py)."""

from dlhw.autograder.worker.loop import main

main()
