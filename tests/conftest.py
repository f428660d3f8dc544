"""Shared test settings: a quiet, deterministic JAX on the CPU."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
