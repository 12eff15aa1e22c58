#!/usr/bin/env bash
# Gradescope's default image runs Python 3.10: run every test that needs no torch under it.
# (A torch for 3.10 is a multi-GB download; the torch-marked tests run under 3.11 in `make test`.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY310=${PY310:-$(ls /root/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | head -n1 || true)}
[ -n "$PY310" ] || PY310=$(command -v python3.10 || true)
if [ -z "$PY310" ] || [ ! -x "$PY310" ]; then
  echo "py310: no Python 3.10 interpreter found (set PY310=...): FAILING, 3.10 support is required" >&2
  exit 1
fi
VENV=.venv310
[ -x "$VENV/bin/python" ] || "$PY310" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "numpy>=1.23" "nbformat>=5.7" "nbconvert>=7" "pytest>=7.2" "jsonschema>=4.17" "tomli>=2"
CMAKE_ARGS="-DDLHW_CUDA=OFF" "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
# pyenv's 3.10 lives under /root, which the sandbox uid cannot enter: the uid layer is exercised
# by the 3.11 run; here the worker runs as the current user.
DLHW_SANDBOX=same-user "$VENV/bin/python" -m pytest -q -m "not torch" -p no:cacheprovider
