#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image. It installs the
# grader in its own virtual environment: the image's system python3 (which Gradescope's own
# harness uses) is never changed. Written by `autograder gradescope`; settings in grader.env.
set -euo pipefail
ROOT=${DLHW_GRADESCOPE_ROOT:-/autograder}
SRC="$ROOT/source"
# shellcheck source=/dev/null
. "$SRC/grader.env"
VENV="$ROOT/dlhw-venv"

# A C++ compiler builds the course's matmul kernels; venv is not in Ubuntu's minimal python3.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${DLHW_SKIP_APT:-}" ]; then
  missing=""
  python3 -c "import ensurepip, venv" 2>/dev/null || missing="$missing python3-venv"
  command -v g++ >/dev/null 2>&1 || missing="$missing g++"
  python3 -c "import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()['include'] + '/Python.h'))" \
    || missing="$missing python3-dev"
  if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  fi
fi

PYTHON=${DLHW_PYTHON:-python3}
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
if [ "$DLHW_NEEDS_TORCH" = 1 ]; then
  # The CPU build of the pinned release: PyPI's default build for Linux carries CUDA (GBs).
  if [ -n "${DLHW_TORCH_INDEX-https://download.pytorch.org/whl/cpu}" ]; then
    "${PIP[@]}" "torch==$DLHW_TORCH_VERSION" \
      --extra-index-url "${DLHW_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
  else
    "${PIP[@]}" "torch==$DLHW_TORCH_VERSION"
  fi
fi
# No CUDA in Gradescope's containers: build the CPU kernels only.
CMAKE_ARGS="-DDLHW_CUDA=OFF" "${PIP[@]}" "$SRC/course"

# Student code runs as a fresh unprivileged uid per run (chosen by the grader); everything it must
# run is readable by others, nothing private is.
chmod -R go+rX "$VENV"
chmod 700 "$SRC/course/solutions"
echo "dlhw autograder for $DLHW_HOMEWORK installed in $VENV"
