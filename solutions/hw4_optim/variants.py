"""Homework 4's variants (see dlhw.autograder.variants): realistic bugs that must lose points and
correct-but-unusual solutions that must keep full marks. tests/test_homeworks.py grades each;
tests/test_hw4_reference.py runs the tests on each in-process."""

BUGS = {}
UNUSUAL = {}
