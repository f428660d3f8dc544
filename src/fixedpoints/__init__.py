"""fixedpoints: train RNNs on the N-bit FlipFlop task and find, classify and plot their fixed points.

The public names are imported on first use (PEP 562), so a script that only needs the task and
the file formats (``generate_data.py``) starts without loading JAX.
"""

import importlib

_PUBLIC = {
    "FixedPointFinder": "finder", "FixedPoints": "fixed_points", "FileFormatError": "io", "load_data": "io",
    "load_history": "io", "load_model": "io", "save_data": "io", "save_model": "io", "RNN": "models",
    "FlipFlopData": "tasks", "TrainingHistory": "training", "train": "training", "certify": "certification",
    "MemoryCensus": "memory", "memory_census": "memory",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'fixedpoints' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
