#!/usr/bin/env bash
# Create bench/compare_seed/.venv with the seed tutorial's library (canns 1.5.0 from PyPI) and
# h5py, kept apart from the project's environment: canns pins brainpy/jax versions of its own.
#
#   bash bench/compare_seed/setup_env.sh [python]      # python: interpreter to use (default python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${1:-python3}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install "canns==1.5.0" h5py
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
import canns.analyzer.slow_points as sp
print("canns", md.version("canns"), "brainpy", md.version("brainpy"), "jax", md.version("jax"),
      "FixedPointFinder:", sp.FixedPointFinder.__module__)
PY
echo "ready: $venv/bin/python"
