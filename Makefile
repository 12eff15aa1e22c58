# One entry point per job. Every target sets itself up, so each works alone on a fresh clone.
# When the grader runs as root, student code runs as an unprivileged uid that must be able to run
# the same interpreter: prefer the system Python (pyenv's lives under /root, closed to others).
PYTHON_BOOT ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV        ?= .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed-stamp
OUT         ?= out

.PHONY: data setup demo test test-fast test-py310 assignments check-assignments oracles check-oracles bench bench-memory bench-kernels lint clean docker-gradescope

setup: $(STAMP)

# The pinned CPU build of PyTorch goes in first: a looser requirement would pull a multi-GB CUDA build.
# The editable install maps each module to its file: adding, moving or removing a module needs a
# reinstall too. MODULES lists them; it is rewritten (and so newer) only when the list changes.
MODULES := $(VENV)/.modules
$(shell mkdir -p $(VENV) && find autograder datasets kernels -name '*.py' -not -path '*/__pycache__/*' \
  | sort > $(MODULES).new && (cmp -s $(MODULES).new $(MODULES) || mv $(MODULES).new $(MODULES)))

$(STAMP): pyproject.toml CMakeLists.txt $(wildcard kernels/CMakeLists.txt kernels/src/*) $(MODULES)
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,batch,oracles]'
	touch $@

# The main job: grade the reference notebook and the student stub of homework 1.
demo: setup
	$(VENV)/bin/autograder demo --out $(OUT)

# Full-size Fashion-MNIST from Debian's package (tests and the training benchmark use it).
data:
	@if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else echo "note: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); tests that need it skip"; fi

# The isolation tests run once more with every worker forked by a fork server, as in a batch.
FORK_SERVER_TESTS := tests/test_forkserver.py tests/test_session.py tests/test_killing.py \
  tests/test_cleanup.py tests/test_corpus.py tests/test_corpus_objects.py \
  tests/test_feedback_leaks.py tests/test_objects.py

test: setup data check-assignments
	$(PY) -m pytest -q
	DLHW_TEST_FORK_SERVER=1 $(PY) -m pytest -q $(FORK_SERVER_TESTS)
	$(MAKE) test-py310

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# Gradescope's image runs Python 3.10: run the parts that need no torch under it.
test-py310:
	bash .ci/py310.sh

assignments: setup
	$(VENV)/bin/autograder make-assignments

check-assignments: setup
	$(VENV)/bin/autograder make-assignments --check

# The hidden tests' PyTorch expectations, recorded beside them (grading then needs no torch).
oracles: setup
	$(VENV)/bin/autograder record-oracles

check-oracles: setup
	$(VENV)/bin/autograder record-oracles --check

bench: setup
	$(PY) benchmarks/bench_grade.py

# The grader's peak memory when a submission sends the largest reply the limits admit (issue #8).
bench-memory: setup
	$(PY) benchmarks/bench_grader_memory.py

bench-kernels: setup
	$(PY) benchmarks/bench_kernels.py

lint: setup
	$(VENV)/bin/ruff check autograder datasets kernels tests benchmarks solutions
	$(VENV)/bin/ruff format --check autograder datasets kernels tests benchmarks solutions
	$(VENV)/bin/mypy autograder datasets

# Gradescope's manual Docker configuration: the same zip, built into an image where docker works.
HW ?= hw1
docker-gradescope: setup
	rm -rf build/gradescope-$(HW) && mkdir -p build/gradescope-$(HW)
	$(VENV)/bin/autograder gradescope $(HW) -o build/gradescope-$(HW).zip
	cd build/gradescope-$(HW) && unzip -q ../gradescope-$(HW).zip && docker build -t dlhw/$(HW)-autograder .

clean:
	rm -rf build $(OUT) .pytest_cache
