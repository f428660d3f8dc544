"""`FixedPoints`: a set of fixed points x* = F(x*, u) with their diagnostics, and its HDF5 format.

Every per-point field is an array whose first axis indexes the points (``n``); ``d`` is the state
size, ``m`` the input size:

* ``xstar`` [n, d] the points; ``x_init`` [n, d] where their optimisation started;
  ``inputs`` [n, m] the constant input u; ``F_xstar`` [n, d] = F(x*, u);
  ``qstar`` [n] = ½‖F(x*, u) − x*‖²; ``dq`` [n] the last change of q; ``n_iters`` [n] optimiser steps.
* ``J_xstar`` [n, d, d] = ∂F/∂x at x*; ``dFdu`` [n, d, m] = ∂F/∂u; ``eigval_J_xstar`` [n, d]
  (complex, sorted by |λ| descending) and ``eigvec_J_xstar`` [n, d, d] (eigenvectors in columns);
  ``is_stable`` [n] = max|λ| < 1; ``n_unstable`` [n] = #{|λ| > 1}, the saddle index.
* the certificate: ``residual_norm`` [n] = ‖F(x*) − x*‖, ``newton_converged`` [n],
  ``sigma_min`` [n] the smallest singular value of J − I (small: the point is not isolated),
  ``is_slow`` [n] (q above the final threshold or Newton failed), ``is_marginal`` [n]
  (sigma_min below the isolation tolerance); ``cond_id`` [n] a user label of the condition.

Fields that were not computed are ``None``. The file format (schema ``fixedpoints/fixed_points``)
has root attributes (the finder's hyperparameters, ``wall_s``), groups ``unique`` and ``all`` with
one dataset per field, and group ``states`` with ``hiddens`` [trials, time, d].
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping

import h5py
import numpy as np

from .io import atomic_h5, content_attrs, read_array, read_h5, write_array

FIXED_POINTS_SCHEMA = "fixedpoints/fixed_points"

# name -> (number of dimensions, kind); the first axis of each is n
FIELDS: dict[str, tuple[int, str]] = {
    "xstar": (2, "float"), "x_init": (2, "float"), "inputs": (2, "float"), "F_xstar": (2, "float"),
    "qstar": (1, "float"), "dq": (1, "float"), "n_iters": (1, "int"),
    "J_xstar": (3, "float"), "dFdu": (3, "float"), "eigval_J_xstar": (2, "complex"),
    "eigvec_J_xstar": (3, "complex"), "is_stable": (1, "bool"), "n_unstable": (1, "int"),
    "residual_norm": (1, "float"), "newton_converged": (1, "bool"), "sigma_min": (1, "float"),
    "is_slow": (1, "bool"), "is_marginal": (1, "bool"), "cond_id": (1, "int"),
}
REQUIRED = ("xstar", "x_init", "inputs", "F_xstar", "qstar", "dq", "n_iters")
_KIND_DTYPE = {"int": np.int64, "bool": np.bool_, "complex": None, "float": None}


def cluster_labels(points_nxk: np.ndarray, tol) -> np.ndarray:
    """Transitive clustering → labels [n] in 0..c−1: i ~ j when ‖p_i − p_j‖₂ ≤ tol (a number), or when
    ‖p_i − p_j‖₂ ≤ r_i + r_j for per-point radii ``tol`` = r [n]; closed under chains.

    The candidate pairs come from blocks of the squared-distance matrix ‖a‖² + ‖b‖² − 2 a·b (BLAS), with
    a margin for its rounding error (which is far larger than a tiny radius); only the pairs within that
    margin of the threshold are checked with the exact differences (with thousands of points at one
    root in 256 dimensions, checking every pair took 40 s). The clusters are the connected components
    of that graph (scipy): no Python loop over points.
    """
    from scipy.sparse import coo_matrix       # here: reading and drawing fixed points need no scipy (0.15 s)
    from scipy.sparse.csgraph import connected_components

    points = np.asarray(points_nxk, np.float64)
    n = points.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    radius = np.broadcast_to(np.asarray(tol, np.float64) / (2.0 if np.ndim(tol) == 0 else 1.0), (n,))
    sq = np.einsum("ij,ij->i", points, points)
    rows, cols = [], []
    block = max(1, 2 ** 22 // n)
    for i0 in range(0, n, block):
        d2 = sq[i0:i0 + block, None] + sq[None, :] - 2.0 * (points[i0:i0 + block] @ points.T)
        reach = radius[i0:i0 + block, None] + radius[None, :]
        margin = 8.0 * np.finfo(np.float64).eps * (sq[i0:i0 + block, None] + sq[None, :])
        certain = d2 <= reach ** 2 - margin           # within reach whatever the rounding: no exact check
        r, c = np.nonzero(d2 <= reach ** 2 + margin)
        keep = c > r + i0
        r, c, sure = r[keep] + i0, c[keep], certain[r[keep], c[keep]]
        close, (rc, cc) = sure.copy(), (r[~sure], c[~sure])
        close[~sure] = np.linalg.norm(points[rc] - points[cc], axis=1) <= radius[rc] + radius[cc]
        rows.append(r[close].astype(np.int32))
        cols.append(c[close].astype(np.int32))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def representatives(labels: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Index of the lowest-``score`` member of each cluster, ordered by cluster label."""
    order = np.lexsort((np.nan_to_num(np.asarray(score, np.float64), nan=np.inf), labels))
    first = np.ones(len(order), bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    return order[first]


def single_thread_blas():
    """Context in which numpy's BLAS/LAPACK run on one thread: next to JAX's busy thread pool a
    multi-threaded OpenBLAS is >10× slower on a small machine (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def decompose(J_nxdxd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition of a batch of Jacobians → (eigval [n,d], eigvec [n,d,d], is_stable [n], n_unstable [n]).

    Eigenvalues are sorted by |λ| descending (eigenvectors, in columns, alike); is_stable is
    max|λ| < 1 and n_unstable the count of |λ| > 1.
    """
    J = np.asarray(J_nxdxd)
    if J.shape[0] == 0:
        d = J.shape[1] if J.ndim == 3 else 0
        return (np.zeros((0, d), np.complex128), np.zeros((0, d, d), np.complex128), np.zeros(0, bool),
                np.zeros(0, np.int64))
    with single_thread_blas():
        eigval, eigvec = np.linalg.eig(J)
    order = np.argsort(-np.abs(eigval), axis=1, kind="stable")
    eigval = np.take_along_axis(eigval, order, axis=1)
    eigvec = np.take_along_axis(eigvec, order[:, None, :], axis=2)
    magnitude = np.abs(eigval)
    return eigval, eigvec, magnitude[:, 0] < 1.0, np.sum(magnitude > 1.0, axis=1).astype(np.int64)


class FixedPoints:
    """A set of fixed points; see the module docstring for the fields and their shapes.

    ``fps[i]`` (int), ``fps[a:b]``, ``fps[mask]`` and ``fps[index_array]`` return a new set;
    ``len(fps) == fps.n``. ``hyperparameters`` holds the settings of the finder that made it.
    """

    def __init__(self, xstar, x_init=None, inputs=None, F_xstar=None, qstar=None, dq=None, n_iters=None, *,
                 J_xstar=None, dFdu=None, eigval_J_xstar=None, eigvec_J_xstar=None, is_stable=None,
                 n_unstable=None, residual_norm=None, newton_converged=None, sigma_min=None, is_slow=None,
                 is_marginal=None, cond_id=None, tol_unique: float = 1e-2,
                 hyperparameters: Mapping | None = None):
        xstar = np.asarray(xstar)
        if xstar.ndim != 2:
            raise ValueError(f"xstar must have shape [n, d], got {xstar.shape}")
        n = xstar.shape[0]
        values = dict(xstar=xstar, x_init=x_init, inputs=inputs, F_xstar=F_xstar, qstar=qstar, dq=dq,
                      n_iters=n_iters, J_xstar=J_xstar, dFdu=dFdu, eigval_J_xstar=eigval_J_xstar,
                      eigvec_J_xstar=eigvec_J_xstar, is_stable=is_stable, n_unstable=n_unstable,
                      residual_norm=residual_norm, newton_converged=newton_converged, sigma_min=sigma_min,
                      is_slow=is_slow, is_marginal=is_marginal, cond_id=cond_id)
        for name, value in values.items():
            if value is not None:
                ndim, kind = FIELDS[name]
                value = np.asarray(value, _KIND_DTYPE[kind])
                if value.ndim != ndim or value.shape[0] != n:
                    raise ValueError(f"{name} must have {ndim} dimensions and {n} rows (as xstar), "
                                     f"got shape {value.shape}")
            setattr(self, name, value)
        self.tol_unique = float(tol_unique)
        self.hyperparameters = dict(hyperparameters or {})

    # -- sizes --------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.xstar.shape[0])

    @property
    def n_states(self) -> int:
        return int(self.xstar.shape[1])

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[1]) if self.inputs is not None else 0

    def __len__(self) -> int:
        return self.n

    @property
    def speed(self) -> np.ndarray:
        """‖F(x*, u) − x*‖ [n] = √(2q): how far one step of the map moves each point."""
        return np.sqrt(2.0 * np.maximum(np.asarray(self.qstar, np.float64), 0.0))

    @classmethod
    def empty(cls, d: int, m: int, tol_unique: float = 1e-2) -> FixedPoints:
        """A set of zero points that still carries every per-point field, with the right trailing shapes."""
        z = np.zeros
        return cls(z((0, d)), z((0, d)), z((0, m)), z((0, d)), z(0), z(0), z(0, np.int64), J_xstar=z((0, d, d)),
                   dFdu=z((0, d, m)), eigval_J_xstar=z((0, d), complex), eigvec_J_xstar=z((0, d, d), complex),
                   is_stable=z(0, bool), n_unstable=z(0, np.int64), residual_norm=z(0), newton_converged=z(0, bool),
                   sigma_min=z(0), is_slow=z(0, bool), is_marginal=z(0, bool), tol_unique=tol_unique)

    def fields(self) -> dict[str, np.ndarray]:
        """The per-point fields that are set, name → array."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}

    def _replace(self, **arrays) -> FixedPoints:
        return FixedPoints(**arrays, tol_unique=self.tol_unique, hyperparameters=self.hyperparameters)

    def __getitem__(self, index) -> FixedPoints:
        if isinstance(index, (int, np.integer)):
            if not -self.n <= index < self.n:
                raise IndexError(f"index {index} out of range for {self.n} fixed points")
            index = [int(index) % self.n]
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool and index.shape != (self.n,):
                raise IndexError(f"boolean mask must have shape ({self.n},), got {index.shape}")
        return self._replace(**{name: value[index] for name, value in self.fields().items()})

    @staticmethod
    def concatenate(fps_list: Iterable[FixedPoints]) -> FixedPoints:
        """One set holding the points of every set in turn; a field missing from any set is dropped."""
        fps_list = list(fps_list)
        if not fps_list:
            raise ValueError("concatenate needs at least one FixedPoints")
        dims = {fps.n_states for fps in fps_list}
        if len(dims) > 1:
            raise ValueError(f"cannot concatenate fixed points of different state sizes {sorted(dims)}")
        names = [name for name in FIELDS if all(getattr(fps, name) is not None for fps in fps_list)]
        first = fps_list[0]
        return FixedPoints(**{name: np.concatenate([getattr(fps, name) for fps in fps_list]) for name in names},
                           tol_unique=first.tol_unique, hyperparameters=first.hyperparameters)

    # -- analysis -----------------------------------------------------------------------------
    def get_unique(self, tol_unique: float | None = None) -> FixedPoints:
        """The distinct points: transitive clusters of [x*, u] within ``tol_unique`` (default: the
        set's own), each represented by its member of lowest q."""
        tol = self.tol_unique if tol_unique is None else float(tol_unique)
        if self.n == 0:
            return self[:0]
        points = self.xstar if self.inputs is None else np.concatenate([self.xstar, self.inputs], axis=1)
        labels = cluster_labels(points, tol)
        score = self.qstar if self.qstar is not None else np.zeros(self.n)
        return self[representatives(labels, score)]

    def decompose_jacobians(self) -> None:
        """Fill eigval_J_xstar, eigvec_J_xstar (sorted by |λ| descending), is_stable and n_unstable from J_xstar."""
        if self.J_xstar is None:
            raise ValueError("decompose_jacobians needs J_xstar; compute the Jacobians first")
        self.eigval_J_xstar, self.eigvec_J_xstar, self.is_stable, self.n_unstable = decompose(self.J_xstar)

    def summary_lines(self, n_bits: int | None = None) -> list[str]:
        """The lines printed by `print_summary`."""
        from .topology import census_text      # here: topology imports networkx, which only graphs need

        lines = ["=== Fixed Points Summary ===", f"Number of fixed points: {self.n}",
                 f"State dimension: {self.n_states}", f"Input dimension: {self.n_inputs}"]
        if self.n and self.qstar is not None:
            q = self.qstar
            lines.append(f"q values: min={np.min(q):.2e}, median={np.median(q):.2e}, max={np.max(q):.2e}")
        if self.n and self.n_iters is not None:
            it = self.n_iters
            lines.append(f"Iterations: min={np.min(it)}, median={np.median(it):g}, max={np.max(it)}")
        if self.is_stable is not None:
            lines.append(f"Stable fixed points: {int(np.sum(self.is_stable))} / {self.n}")
        if self.n_unstable is not None:
            lines.append(f"Index census (number of unstable directions): {census_text(self.n_unstable, n_bits)}")
        if self.n and self.newton_converged is not None:
            lines.append(f"Newton-polished: {int(np.sum(self.newton_converged))} / {self.n}")
        if self.n and self.sigma_min is not None and np.any(np.isfinite(self.sigma_min)):
            lines.append(f"Smallest singular value of J - I: min={np.nanmin(self.sigma_min):.2e}")
        return lines

    def print_summary(self, n_bits: int | None = None) -> None:
        """Print the number of points, sizes, q and iteration statistics, stability and the index census."""
        print("\n".join(self.summary_lines(n_bits)))

    def __repr__(self) -> str:
        return f"FixedPoints(n={self.n}, n_states={self.n_states}, n_inputs={self.n_inputs})"

    # -- files --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, all_fps: FixedPoints | None = None, hiddens=None,
             attrs: Mapping | None = None, slow_fps: FixedPoints | None = None,
             extra_groups: Mapping[str, Callable[[h5py.Group], None]] | None = None) -> None:
        """Write ``fixed_points.h5`` atomically: root attrs = hyperparameters (+ ``attrs``), group
        ``unique`` (this set), ``all`` (``all_fps``, or this set when absent), ``states/hiddens``,
        when given ``slow`` (the slow and marginal points, with their certificate), and one group per entry
        of ``extra_groups`` (name → a function that writes it, e.g. the memory census's ``memories``)."""
        all_fps = self if all_fps is None else all_fps
        d = self.n_states
        hiddens = np.zeros((0, 0, d), np.float32) if hiddens is None else np.asarray(hiddens)
        if hiddens.ndim != 3 or hiddens.shape[2] != d:
            raise ValueError(f"hiddens must have shape [trials, time, {d}], got {hiddens.shape}")
        with atomic_h5(path, FIXED_POINTS_SCHEMA) as f:
            for key, value in {**self.hyperparameters, **dict(attrs or {})}.items():
                f.attrs[key] = value
            groups = [("unique", self), ("all", all_fps)] + ([("slow", slow_fps)] if slow_fps is not None else [])
            for name, fps in groups:
                group = f.create_group(name)
                group.attrs["tol_unique"] = fps.tol_unique
                for field, value in fps.fields().items():
                    write_array(group, field, value)   # Fletcher-32: a flipped byte is detected
            write_array(f.create_group("states"), "hiddens", hiddens)
            for name, write in dict(extra_groups or {}).items():
                write(f.create_group(name))

    @classmethod
    def load(cls, path: str | os.PathLike, group: str = "unique") -> FixedPoints:
        """Read group ``unique`` (or ``all``) of a ``fixed_points.h5``; errors name the file."""
        return load_fixed_points(path, groups=(group,))[group]


def _read_group(f, name: str) -> FixedPoints:
    if name not in f:
        raise KeyError(f"missing group /{name}")
    group = f[name]
    arrays = {}
    for field, (ndim, kind) in FIELDS.items():
        if field in group or field in REQUIRED:
            arrays[field] = read_array(group, field, ndim=ndim, dtype=_KIND_DTYPE[kind])
    tol = float(group.attrs.get("tol_unique", f.attrs.get("tol_unique", 1e-2)))
    hyper = content_attrs(f.attrs)
    try:
        return FixedPoints(**arrays, tol_unique=tol, hyperparameters=hyper)
    except ValueError as error:
        raise ValueError(f"group /{name}: {error}") from None


def load_fixed_points(path: str | os.PathLike, groups=("unique", "all")) -> dict:
    """Read ``fixed_points.h5`` → ``{"unique": FixedPoints, "all": FixedPoints, "hiddens": [trials,time,d],
    "attrs": dict}`` (only the requested groups); a missing or malformed file raises FileFormatError naming it."""
    with read_h5(path, FIXED_POINTS_SCHEMA) as f:
        out = {name: _read_group(f, name) for name in groups}
        if "states" not in f:
            raise KeyError("missing group /states")
        out["hiddens"] = read_array(f["states"], "hiddens", ndim=3, dtype=np.float32)
        out["attrs"] = {k: (v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v) for k, v in f.attrs.items()}
    return out
