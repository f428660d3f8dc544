"""Run one workflow script in this process and record where its time goes, by phase.

    python bench/job_probe.py OUT.json workflow/scripts/train.py --data ... (the script's own arguments)

Used by bench/job_phases.py (one fresh process per job, as Snakemake starts them). The script runs as
``__main__`` would (its ``main`` through ``fixedpoints.cli.run_script``); around it this wrapper times,
as exclusive wall-clock seconds (time inside a nested phase counts only for the inner one):

* ``imports``: every module loaded (``importlib._bootstrap._find_and_load``, so lazy imports inside the
  script count too), from the first import of the script's module body on;
* ``compile``: JAX tracing, lowering and XLA compilation (or loading the program from the persistent
  compilation cache), from ``jax.monitoring``'s duration events; also the number of programs compiled,
  and the persistent cache's hits and misses;
* ``io``: opening, reading, writing and closing HDF5 files (h5py);
* ``render``: drawing a figure: into PNG bytes (``fixedpoints.plotting.common._png_bytes``), or into a PDF
  (``Figure.savefig``) and writing the file;
* ``compute``: the rest of the script's time in this process.

It writes OUT.json: those seconds, ``inproc_s`` (from this wrapper's first line to the end of ``main``),
``cpu_s`` (this process's user + system time at that point) and the compile counters. The process
start (interpreter, site) and exit are what the parent measures beyond ``inproc_s``.
"""

import time

T_BEGIN = time.perf_counter()

import importlib._bootstrap as _bootstrap  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import runpy  # noqa: E402
import sys  # noqa: E402
from typing import NoReturn  # noqa: E402

PHASES = ("imports", "io", "render")
totals = {name: 0.0 for name in PHASES}
stack: list[list] = []          # [phase, started, time spent in nested phases]


def enter(phase: str) -> None:
    stack.append([phase, time.perf_counter(), 0.0])


def leave() -> None:
    phase, started, nested = stack.pop()
    spent = time.perf_counter() - started
    totals[phase] += spent - nested
    if stack:
        stack[-1][2] += spent


def timed(phase: str, fn):
    """``fn`` wrapped so that its calls count as ``phase`` (exclusive of phases nested inside)."""
    def wrapper(*args, **kwargs):
        enter(phase)
        try:
            return fn(*args, **kwargs)
        finally:
            leave()
    wrapper.__wrapped__ = fn
    return wrapper


_bootstrap._find_and_load = timed("imports", _bootstrap._find_and_load)

compile_s = {"trace": 0.0, "lower": 0.0, "backend": 0.0}
counts = {"programs": 0, "cache_hits": 0, "cache_misses": 0}
per_program: list[tuple[str, str, float]] = []   # (trace | lower | backend, function, seconds)
patched = set()


def instrument(module_name: str) -> None:
    """Wrap h5py's file and dataset access, matplotlib's savefig, the project's PNG drawing and JAX's compile
    events once imported."""
    if module_name == "h5py" and "h5py" not in patched:
        import h5py
        patched.add("h5py")
        for cls, names in ((h5py.File, ("__init__", "close")), (h5py.Dataset, ("__getitem__", "__setitem__")),
                           (h5py.Group, ("create_dataset", "__getitem__"))):
            for name in names:
                setattr(cls, name, timed("io", getattr(cls, name)))
    elif module_name == "matplotlib.figure" and "mpl" not in patched:
        from matplotlib.figure import Figure
        patched.add("mpl")
        Figure.savefig = timed("render", Figure.savefig)
    elif module_name == "fixedpoints.plotting.common" and "png" not in patched:
        from fixedpoints.plotting import common
        patched.add("png")
        common._png_bytes = timed("render", common._png_bytes)      # a PNG is drawn without savefig
    elif module_name == "jax" and "jax" not in patched:
        from jax import monitoring
        patched.add("jax")
        events = {"/jax/core/compile/jaxpr_trace_duration": "trace",
                  "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
                  "/jax/core/compile/backend_compile_duration": "backend"}

        def on_duration(event, seconds, fun_name="?", **_):
            if event in events:
                compile_s[events[event]] += seconds
                counts["programs"] += event == "/jax/core/compile/backend_compile_duration"
                per_program.append((events[event], str(fun_name), seconds))

        def on_event(event, **_):
            if event == "/jax/compilation_cache/cache_hits":
                counts["cache_hits"] += 1
            elif event == "/jax/compilation_cache/cache_misses":
                counts["cache_misses"] += 1

        monitoring.register_event_duration_secs_listener(on_duration)
        monitoring.register_event_listener(on_event)


_find_and_load_timed = _bootstrap._find_and_load


def find_and_load(name, import_):
    module = _find_and_load_timed(name, import_)
    if name in ("h5py", "matplotlib.figure", "jax", "fixedpoints.plotting.common"):
        instrument(name)
    return module


_bootstrap._find_and_load = find_and_load


class _ScriptExit(SystemExit):
    """The script's ``os._exit`` (fixedpoints.cli.exit_script), turned into an exception to record first."""


def _exit_after_recording(code: int) -> None:
    raise _ScriptExit(code)


def main() -> NoReturn:
    out, script, *args = sys.argv[1:]
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    code = 0
    fast_exit, os._exit = os._exit, _exit_after_recording
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    inproc = time.perf_counter() - T_BEGIN
    usage = os.times()
    compile_total = sum(compile_s.values())
    record = {"inproc_s": inproc, "cpu_s": usage.user + usage.system, **totals, "compile": compile_total,
              "compute": inproc - sum(totals.values()) - compile_total, **{f"{k}_s": v for k, v in compile_s.items()},
              **counts, "exit_code": code, "per_program": per_program}
    with open(out, "w") as f:
        json.dump(record, f)
    sys.stdout.flush()                # end as the script does: without the interpreter's teardown
    sys.stderr.flush()
    fast_exit(code)


if __name__ == "__main__":
    main()
