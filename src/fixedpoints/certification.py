"""Proof that a network's fixed points are all there are: interval certification by Krawczyk's method.

`certify(rnn, u)` covers a box of the reduced variable h (by default [−1, 1]^n) by boxes, each of
which is either **excluded** (proved to contain no root of the reduced residual R(h) = 0 of
`fixedpoints.equations`) or **proved** to contain exactly one root, bisecting the rest until a box
budget runs out. The numbers are rigorous: every interval encloses the exact real value, rounding
included (`fixedpoints.interval`).

**The equations** (row vectors, n = n_hidden, weights multiply from the right, σ the logistic):

* tanh:  R(h) = tanh(a) − h,  a = u W_ih + h W_hh + b_h.
* GRU:   R(h) = n(h) − h,  n = tanh(a_n),  a_n = u W_in + (r ∘ h) W_hn + b_n,  r = σ(a_r),
         a_r = u W_ir + h W_hr + b_r (the update gate drops out: F(h) − h = σ(−a_z) ∘ R(h)).
* LSTM:  R(h) = o ∘ tanh(c) − h,  c = i ∘ g / σ(−a_f),  i = σ(a_i), g = tanh(a_g), o = σ(a_o), each
         a_x = u W_ix + h W_hx + b_x (the cell state eliminated: c = f c + i g ⇔ c = i g/(1 − f)).

**Every fixed point has h ∈ (−1, 1)^n**, so the default box [−1, 1]^n holds them all: for tanh
h = tanh(a); for the GRU a fixed point has σ(−a_z) ∘ (n − h) = 0 with σ(−a_z) > 0, so h = n = tanh(a_n);
for the LSTM h = o ∘ tanh(c) with o ∈ (0, 1) and |tanh c| < 1. Conversely every root h of R is a fixed
point (for the LSTM the state (h, c(h)), and c(h) is the only cell state that makes h fixed), so the
roots of R in [−1, 1]^n and the fixed points of the cell correspond one to one.

**Derivatives** (J[j, k] = ∂R_j/∂h_k; tanh' = 1 − tanh², σ' = σ(1 − σ)):

* tanh:  J = diag(1 − t²) W_hhᵀ − I,  t = tanh(a).
* GRU:   ∂a_n,j/∂h_k = r_k W_hn[k, j] + Σ_l W_hr[k, l] h_l r_l (1 − r_l) W_hn[l, j]  (the chain through
         the reset gate), J[j, k] = (1 − n_j²) ∂a_n,j/∂h_k − δ_jk.
* LSTM:  with q = σ(−a_f) = 1 − f:  ∂c/∂a_i = g i(1 − i)/q,  ∂c/∂a_g = i (1 − g²)/q,
         ∂c/∂a_f = c (1 − q) = c f,  so  J[j, k] = o(1 − o) tanh(c) W_ho[k, j]
         + o (1 − tanh² c) (∂c_j/∂a_i W_hi[k, j] + ∂c_j/∂a_g W_hg[k, j] + ∂c_j/∂a_f W_hf[k, j]) − δ_jk.

**The tests on a box X** of the cover (all quantities interval enclosures). Every residual has the
form R(h) = Φ(h) − h, Φ = tanh(a) (tanh), n(h) (GRU), o ∘ tanh(c) (LSTM), so every root in a box Y
lies in Φ(Y):

1. Contraction: Y ← Y ∩ Φ(Y), six times from Y = X (the fixed-point iteration run on boxes). An empty
   component → no root in X (excluded). This subsumes the plain test "R(X) ∌ 0": R_j(X) = Φ_j(X) − X_j
   misses 0 exactly when Φ_j(X) ∩ X_j is empty. X minus Y holds no root.
2. Krawczyk on Ŷ = (Y widened by 2^-40) ∩ X (ε-inflation): K(Ŷ) = m − C R(m) + (I − C J(Ŷ))(Ŷ − m),
   m the centre of Ŷ, C ≈ (mid J(Ŷ))⁻¹ any float matrix. Every root in Ŷ lies in K(Ŷ), so
   K(Ŷ) ∩ Ŷ = ∅ → excluded, and otherwise Y ← Y ∩ K(Ŷ). K(Ŷ) ⊂ int Ŷ → Ŷ holds exactly one root (so X
   does), it lies in K(Ŷ), and every matrix of J(Ŷ) is non-singular: an isolated, non-degenerate
   fixed point (Krawczyk 1969; Moore 1977; Neumaier, *Interval Methods for Systems of Equations*,
   1990, Thm 5.1.7; Rump, Acta Numerica 19, 2010, §13). Its enclosure is tightened by Y ← Y ∩ K(Y).
3. Otherwise Y is cut in two, and X with it at the same plane, across the side k with the largest
   smear w_k · max_j |J_jk| (Kearfott 1996), at 0.45 of that side: off-centre, so that a root at a
   symmetric point such as h = 0 does not sit on a cut forever. The halves of X have disjoint
   interiors, so the boxes of the cover do, and each half of Y holds every root of its half of X.

Boxes wait in a last-in-first-out stack and are judged in batches of about 2^18/n² (vectorised; no
Python loop per box); ``max_boxes`` counts judged boxes, and the boxes still waiting when it runs
out are the undecided ones (their Y). Cost (bench/README.md, "Certification"): a trained 5-bit tanh
net (10 units, 243 roots) takes 0.5–1 s, 8-unit GRU/LSTM 0.1–2.3 s; at 12–16 units the gated cells
exhaust a million boxes, since excluding a region needs every one of its n sides cut (≳ 2^n boxes).

**What a `Certificate` proves** about the network whose weights are *exactly* the float32 values of
``rnn.params`` (converted exactly to float64) at the constant input ``u`` (float64, as given), in the
box ``[box_lo, box_hi]``: every root of R in the box lies in one of the ``n_roots`` root enclosures
``[root_lo, root_hi]`` or in one of the undecided boxes; each root enclosure holds exactly one root,
which is the only root in its uniqueness box ``[unique_lo, unique_hi]``; the uniqueness boxes have
disjoint interiors, so the roots are distinct. When ``certified`` (no undecided box) the cell has
exactly ``n_roots`` fixed points in the box — with the default box, exactly ``n_roots`` fixed points
in all — each isolated with ∂R/∂h non-singular. ``root_mid`` is a float point of each enclosure (its
centre), not the root itself. Nothing is claimed about the float32 arithmetic that runs the network.

**Assumptions**: IEEE binary64 arithmetic in round-to-nearest without denormals-are-zero (numpy's
default); numpy's float64 ``tanh`` and ``exp`` accurate to 4 ulp (`interval.ASSUMED_ULPS`); matrix
products computed with one rounding per operation in any order (BLAS, with or without FMA).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import NamedTuple
from collections.abc import Mapping

import h5py
import numpy as np

from . import interval as iv
from .interval import Interval
from .io import read_array, read_attr, write_array
from .models import RNN
from .settings import setting, validate

DEFAULT_MAX_BOXES = 500_000
"""Default box budget of `certify`: 7× the most that any trained net of a cheap size needed (68k boxes,
an 8-unit LSTM); 8–36 s of CPU when it runs out."""

CHEAP_MAX_HIDDEN = {"tanh": 10, "gru": 8, "lstm": 8}
"""The largest n_hidden per cell at which every trained FlipFlop net measured was certified, within
2.3 s of CPU (bench/README.md, "Certification"); see `cheap_to_certify`."""

CROSS_CHECK_TOL = 1e-4
"""Default ∞-norm distance within which a finder point belongs to a proved root's enclosure."""

CERTIFICATE_GROUP = "certificate"
"""Suggested name of the HDF5 group that `save_certificate` writes into."""

_SPLIT_FRACTION = 0.45
_BATCH_ENTRIES = 2 ** 18      # boxes per batch ≈ this / n² (bounds the memory of the Jacobians)
_CONTRACTION_STEPS = 6        # X ← X ∩ Φ(X) steps per box before Krawczyk
_PAD = 2.0 ** -40             # Krawczyk's test runs on the box widened by this much (within the cover's box)
_TIGHTEN_STEPS = 8            # at most this many X ← X ∩ K(X) steps for a proved root


class Certificate(NamedTuple):
    """The result of `certify` (shapes: r proved roots, k undecided boxes, n = n_hidden, m inputs).

    ``certified``: no undecided box, the roots are all there are in the box. ``root_lo``, ``root_hi``
    [r, n]: an enclosure of each proved root; ``root_mid`` [r, n]: its centre (a point estimate);
    ``unique_lo``, ``unique_hi`` [r, n]: the box in which that root is proved to be the only one;
    ``undecided_lo``, ``undecided_hi`` [k, n]: boxes neither excluded nor proved when the budget ran
    out (where the certificate is incomplete); ``box_lo``, ``box_hi`` [n]: the box covered; ``u`` [m]:
    the input; ``n_boxes``: boxes processed; ``max_boxes``: the budget; ``wall_s``: seconds.
    """

    certified: bool
    root_lo: np.ndarray
    root_hi: np.ndarray
    root_mid: np.ndarray
    unique_lo: np.ndarray
    unique_hi: np.ndarray
    undecided_lo: np.ndarray
    undecided_hi: np.ndarray
    box_lo: np.ndarray
    box_hi: np.ndarray
    u: np.ndarray
    n_boxes: int
    max_boxes: int
    wall_s: float

    @property
    def n_roots(self) -> int:
        return int(self.root_mid.shape[0])

    @property
    def n_undecided(self) -> int:
        return int(self.undecided_lo.shape[0])


def cheap_to_certify(rnn_type: str, n_hidden: int) -> bool:
    """Whether certification is cheap at this size (`CHEAP_MAX_HIDDEN`): the default of a sweep."""
    return n_hidden <= CHEAP_MAX_HIDDEN[rnn_type]


@dataclasses.dataclass(kw_only=True, frozen=True)
class CertificationSettings:
    """Whether a run's fixed points are certified, and the box budget (config section ``fixed_points``)."""

    certify: str = setting("auto", "prove that the fixed points found are all there are: always, never, or auto "
                                   "(where it is cheap: tanh up to 10 units, GRU and LSTM up to 8)",
                           choices=("auto", "always", "never"))
    certify_max_boxes: int = setting(DEFAULT_MAX_BOXES, "box budget of the certificate (past it the run is not "
                                                        "certified, and says where)", ge=1)

    def __post_init__(self):
        validate(self)

    def applies(self, rnn_type: str, n_hidden: int) -> bool:
        """Whether to certify a network of this cell and size."""
        return self.certify == "always" or (self.certify == "auto" and cheap_to_certify(rnn_type, n_hidden))


# -- the reduced equation of one network at one input, in float64 ------------------------------------

class Cell(NamedTuple):
    """A network's reduced equation at a fixed input, prepared for interval evaluation (float64).

    ``gates`` [m + n + 1, G·n]: the stacked [W_i?; W_h?; b_?] of the G gates (tanh: h; GRU: r, then n;
    LSTM: i, f, g, o), so that the pre-activations of h are [u, h, 1] @ gates. ``recurrent`` [G, n, n]:
    the W_h? of the same gates. ``chain`` [n, n·n] (GRU only): W_hr[k, l]·W_hn[l, j] at [l, k·n + j],
    products of float32 numbers and so exact in float64.
    """

    rnn_type: str
    u: np.ndarray
    gates: np.ndarray
    recurrent: np.ndarray
    chain: np.ndarray | None

    @property
    def n(self) -> int:
        return self.recurrent.shape[-1]


_GATE_NAMES = {"tanh": [("ih", "hh", "h")], "gru": [("ir", "hr", "r"), ("in", "hn", "n")],
               "lstm": [(f"i{g}", f"h{g}", g) for g in "ifgo"]}


def prepare(rnn_type: str, params: Mapping[str, np.ndarray], u: np.ndarray) -> Cell:
    """The `Cell` of a network's parameters at input u [m] (float64, used as given). Parameters are
    taken as float32, the precision the network runs in (a float64 value is rounded to float32 first),
    and then converted exactly to float64 — which also makes the products in ``chain`` exact."""
    p = {k: np.asarray(v, np.float32).astype(np.float64) for k, v in params.items()}
    u = np.asarray(u, np.float64)
    names = _GATE_NAMES[rnn_type]
    gates = np.concatenate([np.vstack([p[f"w_{w_in}"], p[f"w_{w_rec}"], p[f"b_{b}"][None]])
                            for w_in, w_rec, b in names], axis=1)
    recurrent = np.stack([p[f"w_{w_rec}"] for _, w_rec, _ in names])
    chain = None
    if rnn_type == "gru":
        n = recurrent.shape[-1]
        chain = (p["w_hr"].T[:, :, None] * p["w_hn"][:, None, :]).reshape(n, n * n)
    return Cell(rnn_type, u, gates, recurrent, chain)


def _affine(cell: Cell, v: Interval, gates: np.ndarray) -> Interval:
    """[u, v, 1] @ gates for boxes v [B, n] and stacked gate matrices [m + n + 1, p]: [B, p]."""
    batch = v.lo.shape[0]
    u, ones = np.broadcast_to(cell.u, (batch, cell.u.shape[0])), np.ones((batch, 1))
    return iv.vecmat(Interval(np.hstack([u, v.lo, ones]), np.hstack([u, v.hi, ones])), gates)


def _part(a: Interval, j: int, n: int) -> Interval:
    return Interval(a.lo[:, j * n:(j + 1) * n], a.hi[:, j * n:(j + 1) * n])


def _neg(a: Interval) -> Interval:
    return Interval(-a.hi, -a.lo)


def _column(a: Interval) -> Interval:
    """[B, n] → [B, n, 1]: a per-row factor of a Jacobian."""
    return Interval(a.lo[:, :, None], a.hi[:, :, None])


def _minus_identity(a: Interval) -> Interval:
    eye = np.eye(a.lo.shape[-1])
    return iv.sub(a, iv.point(eye))


def enclose(cell: Cell, h: Interval, jacobian: bool = False) -> tuple[Interval, Interval | None]:
    """Enclosures of Φ(h) [B, n] and, if ``jacobian``, of ∂R/∂h [B, n, n] (J[b, j, k] = ∂R_j/∂h_k) over
    the boxes ``h`` = Interval([B, n], [B, n]), where R(h) = Φ(h) − h: Φ = tanh(a) (tanh), n(h) (GRU),
    o ∘ tanh(c) (LSTM). Formulas in the module docstring."""
    n = cell.n
    if cell.rnn_type == "tanh":
        phi = iv.tanh(_affine(cell, h, cell.gates))
        if not jacobian:
            return phi, None
        return phi, _minus_identity(iv.scale(_column(iv.tanh_slope(phi)), cell.recurrent[0].T))
    if cell.rnn_type == "gru":
        r = iv.sigmoid(_affine(cell, h, cell.gates[:, :n]))
        phi = iv.tanh(_affine(cell, iv.mul(r, h), cell.gates[:, n:]))
        if not jacobian:
            return phi, None
        through_reset = iv.vecmat(iv.mul(h, iv.sigmoid_slope(r)), cell.chain)
        da_n = iv.add(iv.scale(_column(r), cell.recurrent[1]),                  # [B, k, j]
                      Interval(through_reset.lo.reshape(-1, n, n), through_reset.hi.reshape(-1, n, n)))
        da_n = Interval(np.swapaxes(da_n.lo, 1, 2), np.swapaxes(da_n.hi, 1, 2))  # [B, j, k]
        return phi, _minus_identity(iv.mul(_column(iv.tanh_slope(phi)), da_n))
    a = _affine(cell, h, cell.gates)
    i, g, o = iv.sigmoid(_part(a, 0, n)), iv.tanh(_part(a, 2, n)), iv.sigmoid(_part(a, 3, n))
    a_f = _part(a, 1, n)
    inv_q = iv.reciprocal_positive(iv.sigmoid(_neg(a_f)))
    c = iv.mul(iv.mul(i, g), inv_q)
    tc = iv.tanh(c)
    phi = iv.mul(o, tc)
    if not jacobian:
        return phi, None
    kappa = iv.mul(o, iv.tanh_slope(tc))                                         # o (1 − tanh² c)
    coefficients = {
        3: iv.mul(iv.sigmoid_slope(o), tc),                                      # W_ho
        0: iv.mul(kappa, iv.mul(iv.mul(g, iv.sigmoid_slope(i)), inv_q)),         # W_hi
        2: iv.mul(kappa, iv.mul(i, iv.mul(iv.tanh_slope(g), inv_q))),            # W_hg
        1: iv.mul(kappa, iv.mul(c, iv.sigmoid(a_f))),                            # W_hf
    }
    total = None
    for gate, coefficient in coefficients.items():
        term = iv.scale(_column(coefficient), cell.recurrent[gate].T)
        total = term if total is None else iv.add(total, term)
    return phi, _minus_identity(total)


def enclose_residual(cell: Cell, h: Interval) -> Interval:
    """An enclosure of R(h) = Φ(h) − h [B, n] over the boxes h."""
    return iv.sub(enclose(cell, h)[0], h)


# -- Krawczyk's operator ------------------------------------------------------------------------------

def _approximate_inverse(a_bxnxn: np.ndarray) -> np.ndarray:
    """Any good approximation of a⁻¹ serves as Krawczyk's C (it needs no rigour); pinv where a is singular."""
    try:
        return np.linalg.inv(a_bxnxn)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a_bxnxn)


def krawczyk(cell: Cell, x: Interval, jacobian: Interval) -> Interval:
    """K(X) = m − C R(m) + (I − C J(X))(X − m) [B, n] for boxes x [B, n] with the enclosures
    ``jacobian`` [B, n, n] of ∂R/∂h over them (finite); m the float centre, C ≈ (mid J)⁻¹."""
    m = 0.5 * x.lo + 0.5 * x.hi
    residual_m = enclose_residual(cell, iv.point(m))
    j_mid, j_rad = iv.midrad(jacobian)
    c = _approximate_inverse(j_mid)
    c_residual = iv.from_midrad(*iv.matvec_midrad(c, None, *iv.midrad(residual_m)))
    c_jacobian = iv.from_midrad(*iv.matmul_midrad(c, None, j_mid, j_rad))
    contraction = iv.sub(iv.point(np.eye(cell.n)), c_jacobian)
    m_mid, m_rad = iv.midrad(contraction)
    step = iv.from_midrad(*iv.matvec_midrad(m_mid, m_rad, *iv.midrad(iv.sub(x, iv.point(m)))))
    return iv.add(iv.sub(iv.point(m), c_residual), step)


def _rows(a: Interval, mask) -> Interval:
    return Interval(a.lo[mask], a.hi[mask])


def _krawczyk_or_nan(cell: Cell, x: Interval) -> tuple[Interval, Interval]:
    """(K(X) [B, n], J(X) [B, n, n]) for every box; K is NaN where J is not finite (no test can pass)."""
    _, jacobian = enclose(cell, x, jacobian=True)
    finite = np.all(np.isfinite(jacobian.lo) & np.isfinite(jacobian.hi), axis=(1, 2))
    k = Interval(np.full_like(x.lo, np.nan), np.full_like(x.hi, np.nan))
    if finite.any():
        k_finite = krawczyk(cell, _rows(x, finite), _rows(jacobian, finite))
        k.lo[finite], k.hi[finite] = k_finite.lo, k_finite.hi
    return k, jacobian


def _intersect(x: Interval, k: Interval) -> Interval:
    """X ∩ K, keeping X where K is NaN (fmax/fmin ignore NaN)."""
    return Interval(np.fmax(x.lo, k.lo), np.fmin(x.hi, k.hi))


class BoxVerdict(NamedTuple):
    """What the tests say about boxes [B]: ``excluded`` (no root), ``proved`` (exactly one root, in
    ``shrunk``), else undecided; ``shrunk`` [B, n] = X ∩ K(X) holds every root of X."""

    excluded: np.ndarray
    proved: np.ndarray
    shrunk: Interval
    split_side: np.ndarray


def judge(cell: Cell, x: Interval, y: Interval | None = None) -> BoxVerdict:
    """Apply the contraction, exclusion and Krawczyk tests (module docstring) to the boxes x [B, n].

    ``y`` [B, n] ⊂ x (default x): boxes known to hold every root of x (x minus y is proved empty).
    Krawczyk's test runs on y widened by 2^-40 within x (ε-inflation), so that a root that the
    contraction has pinned to a few ulps, or to an edge of y that is no edge of x, can still be proved
    to lie in the interior.
    """
    shrunk = x if y is None else y
    for _ in range(_CONTRACTION_STEPS):
        shrunk = _intersect(shrunk, enclose(cell, shrunk)[0])
    excluded = np.any(shrunk.lo > shrunk.hi, axis=1)
    proved = np.zeros_like(excluded)
    split_side = np.argmax(shrunk.hi - shrunk.lo, axis=1)
    alive = ~excluded
    if alive.any():
        work, outer = _rows(shrunk, alive), _rows(x, alive)
        trial = Interval(np.fmax(outer.lo, work.lo - _PAD), np.fmin(outer.hi, work.hi + _PAD))
        k, jacobian = _krawczyk_or_nan(cell, trial)
        excluded[alive] = np.any((k.lo > trial.hi) | (k.hi < trial.lo), axis=1)
        proved[alive] = np.all((k.lo > trial.lo) & (k.hi < trial.hi), axis=1)
        inside = _intersect(work, k)
        shrunk.lo[alive], shrunk.hi[alive] = inside.lo, inside.hi
        magnitude = np.max(np.maximum(np.abs(jacobian.lo), np.abs(jacobian.hi)), axis=1)   # [B, n]: max_j |J_jk|
        smear = np.where(np.isfinite(magnitude), magnitude, 1.0) * (inside.hi - inside.lo)
        split_side[alive] = np.argmax(smear, axis=1)
    return BoxVerdict(excluded, proved, shrunk, split_side)


def _tighten(cell: Cell, x: Interval) -> Interval:
    """X ← X ∩ K(X) a few times on boxes each holding one root: tighter enclosures of the roots."""
    for _ in range(_TIGHTEN_STEPS):
        if x.lo.shape[0] == 0:
            break
        new = _intersect(x, _krawczyk_or_nan(cell, x)[0])
        if np.array_equal(new.lo, x.lo) and np.array_equal(new.hi, x.hi):
            break
        x = new
    return x


def _bisect(x: Interval, y: Interval, side) -> tuple[Interval, Interval]:
    """Cut the boxes y [B, n] across side ``side`` [B] at `_SPLIT_FRACTION` of it, and the boxes x ⊃ y
    that they stand for at the same plane: (x halves, y halves), 2B boxes each."""
    rows = np.arange(y.lo.shape[0])
    cut = y.lo[rows, side] + _SPLIT_FRACTION * (y.hi[rows, side] - y.lo[rows, side])
    halves = []
    for box in (x, y):
        left_hi, right_lo = box.hi.copy(), box.lo.copy()
        left_hi[rows, side] = cut
        right_lo[rows, side] = cut
        halves.append(Interval(np.concatenate([box.lo, right_lo]), np.concatenate([left_hi, box.hi])))
    return halves[0], halves[1]


class _BoxStack:
    """Boxes still to judge, last in first out (memory bounded by depth × batch): each a box x of the
    cover [n] and the box y ⊂ x [n] known to hold its roots, stored as lo/hi rows [size, 4, n]."""

    def __init__(self, n: int):
        self.rows, self.size = np.empty((1024, 4, n)), 0

    def push(self, x: Interval, y: Interval) -> None:
        need = self.size + x.lo.shape[0]
        if need > self.rows.shape[0]:
            grown = np.empty((max(need, 2 * self.rows.shape[0]),) + self.rows.shape[1:])
            grown[: self.size] = self.rows[: self.size]
            self.rows = grown
        self.rows[self.size:need] = np.stack([x.lo, x.hi, y.lo, y.hi], axis=1)
        self.size = need

    def pop(self, k: int) -> tuple[Interval, Interval]:
        start = self.size - min(k, self.size)
        rows = self.rows[start:self.size].copy()
        self.size = start
        return Interval(rows[:, 0], rows[:, 1]), Interval(rows[:, 2], rows[:, 3])


# -- the public entry point ---------------------------------------------------------------------------

def _concatenate(boxes: list[Interval], n: int) -> Interval:
    """One Interval [sum of B, n] of a list of Intervals [B, n]."""
    return Interval(np.concatenate([b.lo for b in boxes] or [np.empty((0, n))]),
                    np.concatenate([b.hi for b in boxes] or [np.empty((0, n))]))


def _check_inputs(rnn, u, max_boxes, box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(rnn, RNN):
        raise ValueError(f"certify: rnn must be a fixedpoints.RNN (tanh, gru or lstm), got {type(rnn).__name__}")
    for name, value in rnn.params.items():
        if not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(f"certify: parameter {name!r} contains NaN or inf")
    m, n = rnn.n_inputs, rnn.n_hidden
    u = np.zeros(m) if u is None else np.asarray(u, np.float64)
    if u.shape not in ((m,), (1, m)):
        raise ValueError(f"certify: u must have shape [{m}] (or [1, {m}]), got {list(u.shape)}")
    if not np.all(np.isfinite(u)):
        raise ValueError("certify: u contains NaN or inf")
    if isinstance(max_boxes, bool) or not isinstance(max_boxes, (int, np.integer)) or max_boxes < 1:
        raise ValueError(f"certify: max_boxes must be an integer >= 1, got {max_boxes!r}")
    if box is None:
        return u.reshape(m), -np.ones(n), np.ones(n)
    try:
        lo, hi = (np.asarray(b, np.float64) for b in box)
    except (TypeError, ValueError):
        raise ValueError(f"certify: box must be a pair (lo [{n}], hi [{n}]) of float arrays") from None
    if lo.shape != (n,) or hi.shape != (n,) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))) \
            or np.any(lo > hi):
        raise ValueError(f"certify: box must be a pair (lo [{n}], hi [{n}]) of finite arrays with lo <= hi, "
                         f"got shapes {list(lo.shape)}, {list(hi.shape)}")
    return u.reshape(m), lo, hi


def certify(rnn: RNN, u=None, *, max_boxes: int = DEFAULT_MAX_BOXES, box=None,
            verbose: bool = False) -> Certificate:
    """Prove where all fixed points of ``rnn`` at the constant input ``u`` are (module docstring).

    ``rnn``: a `fixedpoints.RNN` (tanh, gru or lstm); its float32 weights are used exactly (a float64
    parameter is first rounded to float32, as JAX runs it).
    ``u``: [m] or [1, m] (zeros if None). ``max_boxes``: the budget of boxes judged; when it runs
    out the boxes still pending are returned as undecided and ``certified`` is False. ``box``:
    (lo [n], hi [n]) to cover instead of [−1, 1]^n. ``verbose``: progress lines on stderr.
    Boxes are judged in batches (vectorised); same inputs → same certificate, bit for bit.
    """
    u, box_lo, box_hi = _check_inputs(rnn, u, max_boxes, box)
    start = time.perf_counter()
    cell = prepare(rnn.rnn_type, rnn.params, u)
    n = cell.n
    batch = int(np.clip(_BATCH_ENTRIES // (n * n), 256, 16384))
    stack = _BoxStack(n)
    whole = Interval(box_lo[None].copy(), box_hi[None].copy())
    stack.push(whole, whole)
    proved_boxes, proved_shrunk = [], []
    n_boxes, last_report = 0, start
    while stack.size and n_boxes < max_boxes:
        x, y = stack.pop(min(batch, max_boxes - n_boxes))
        n_boxes += x.lo.shape[0]
        verdict = judge(cell, x, y)
        proved_boxes.append(_rows(x, verdict.proved))
        proved_shrunk.append(_rows(verdict.shrunk, verdict.proved))
        undecided = ~(verdict.proved | verdict.excluded)
        stack.push(*_bisect(_rows(x, undecided), _rows(verdict.shrunk, undecided), verdict.split_side[undecided]))
        if verbose and time.perf_counter() - last_report > 5.0:
            last_report = time.perf_counter()
            print(f"certify: {n_boxes} boxes judged, {sum(len(b.lo) for b in proved_boxes)} roots proved, "
                  f"{stack.size} boxes pending", file=sys.stderr, flush=True)
    unique, roots = _concatenate(proved_boxes, n), _tighten(cell, _concatenate(proved_shrunk, n))
    mid = 0.5 * roots.lo + 0.5 * roots.hi
    order = np.lexsort(mid.T[::-1]) if len(mid) else np.arange(0)
    _, undecided = stack.pop(stack.size)
    wall_s = time.perf_counter() - start
    if verbose:
        print(f"certify: {n_boxes} boxes judged in {wall_s:.2f} s, {len(mid)} roots proved, "
              f"{undecided.lo.shape[0]} boxes undecided", file=sys.stderr, flush=True)
    return Certificate(certified=undecided.lo.shape[0] == 0, root_lo=roots.lo[order], root_hi=roots.hi[order],
                       root_mid=mid[order], unique_lo=unique.lo[order], unique_hi=unique.hi[order],
                       undecided_lo=undecided.lo, undecided_hi=undecided.hi, box_lo=box_lo, box_hi=box_hi, u=u,
                       n_boxes=int(n_boxes), max_boxes=int(max_boxes), wall_s=float(wall_s))


# -- HDF5 and the cross-check with the finder -----------------------------------------------------------

_CERTIFICATE_ARRAYS = {"root_lo": 2, "root_hi": 2, "root_mid": 2, "unique_lo": 2, "unique_hi": 2,
                       "undecided_lo": 2, "undecided_hi": 2, "box_lo": 1, "box_hi": 1, "u": 1}


def save_certificate(group: h5py.Group, cert: Certificate) -> None:
    """Write ``cert`` into ``group`` (e.g. ``f.create_group(CERTIFICATE_GROUP)``).

    Attributes: ``certified`` (bool), ``n_roots``, ``n_boxes``, ``n_undecided``, ``max_boxes`` (int),
    ``wall_s`` (float). Datasets (float64): ``root_lo``, ``root_hi``, ``root_mid``, ``unique_lo``,
    ``unique_hi`` [r, n]; ``undecided_lo``, ``undecided_hi`` [k, n]; ``box_lo``, ``box_hi`` [n]; ``u`` [m].
    """
    group.attrs.update(certified=bool(cert.certified), n_roots=cert.n_roots, n_boxes=int(cert.n_boxes),
                       n_undecided=cert.n_undecided, max_boxes=int(cert.max_boxes), wall_s=float(cert.wall_s))
    for name in _CERTIFICATE_ARRAYS:
        write_array(group, name, getattr(cert, name), np.float64)


def save_cross_check(group: h5py.Group, check: CrossCheck) -> None:
    """Record in a certificate's ``group`` how the finder's points compare with the proved roots: attributes
    ``finder_agrees`` (bool), ``n_missed_by_finder``, ``n_unmatched_finder_points`` (int)."""
    group.attrs.update(finder_agrees=bool(check.agree), n_missed_by_finder=int(len(check.missed_roots)),
                       n_unmatched_finder_points=int(len(check.unmatched_points)))


CERTIFICATE_COLUMNS = ("certified", "n_certified", "finder_agrees")
"""The runs-table columns of `certificate_columns`."""


def certificate_columns(group: h5py.Group | None) -> dict:
    """``certified`` (bool), ``n_certified`` (the proved roots) and ``finder_agrees`` (the finder found exactly
    the proved roots) of a certificate group; None for each without one (not certified)."""
    if group is None:
        return dict.fromkeys(CERTIFICATE_COLUMNS)
    return {"certified": read_attr(group, "certified", bool), "n_certified": read_attr(group, "n_roots", int),
            "finder_agrees": read_attr(group, "finder_agrees", bool)}


def load_certificate(group: h5py.Group) -> Certificate:
    """Read a certificate written by `save_certificate`; KeyError/ValueError name what is wrong
    (inside `fixedpoints.io.read_h5` they become a `FileFormatError` naming the file)."""
    arrays = {name: read_array(group, name, ndim=ndim, dtype=np.float64)
              for name, ndim in _CERTIFICATE_ARRAYS.items()}
    n = arrays["box_lo"].shape[0]
    counts = {"root": read_attr(group, "n_roots", int), "unique": read_attr(group, "n_roots", int),
              "undecided": read_attr(group, "n_undecided", int)}
    for name, value in arrays.items():
        prefix = name.rsplit("_", 1)[0]
        expected = (counts[prefix], n) if prefix in counts else (n,) if name != "u" else value.shape
        if value.shape != expected:
            raise ValueError(f"dataset {group.name.rstrip('/')}/{name} has shape {list(value.shape)}, "
                             f"expected {list(expected)}")
    certified = read_attr(group, "certified", bool)
    if certified != (counts["undecided"] == 0):
        raise ValueError(f"attribute certified={certified} of {group.name} disagrees with "
                         f"n_undecided={counts['undecided']}")
    return Certificate(certified=certified, **arrays, n_boxes=read_attr(group, "n_boxes", int),
                       max_boxes=read_attr(group, "max_boxes", int), wall_s=read_attr(group, "wall_s", float))


class CrossCheck(NamedTuple):
    """A finder's fixed points [p, n] against a certificate's proved roots [r, n].

    ``root_of_point`` [p]: the proved root each point belongs to (the nearest root enclosure within
    ``tol``), −1 if none; ``distance`` [p]: ∞-norm distance to the nearest root enclosure (inf if no
    root). ``missed_roots``: proved roots that no point belongs to (roots the finder missed).
    ``unmatched_points``: points that belong to no proved root and are not within ``tol`` of an
    undecided box: not fixed points of the network (an error of the finder). ``undecided_points``:
    points without a proved root but within ``tol`` of an undecided box (the certificate cannot judge
    them). ``duplicate_points``: points whose root already has an earlier point. ``agree``: no missed
    root and no unmatched point.
    """

    root_of_point: np.ndarray
    distance: np.ndarray
    missed_roots: np.ndarray
    unmatched_points: np.ndarray
    undecided_points: np.ndarray
    duplicate_points: np.ndarray
    agree: bool


def _inf_distance_pxb(points_pxn, lo_bxn, hi_bxn) -> np.ndarray:
    """∞-norm distance [p, b] from each point to each box (0 inside)."""
    below = lo_bxn[None] - points_pxn[:, None]
    above = points_pxn[:, None] - hi_bxn[None]
    return np.max(np.maximum(np.maximum(below, above), 0.0), axis=2, initial=0.0)


def cross_check(cert: Certificate, reduced_points_pxn, tol: float = CROSS_CHECK_TOL) -> CrossCheck:
    """Match a finder's fixed points to the proved roots (see `CrossCheck`).

    ``reduced_points_pxn`` [p, n]: the finder's points in the reduced variable (the state for tanh
    and GRU, h = x[:, :n] for the LSTM). A point belongs to the proved root whose enclosure is
    nearest, if that is within ∞-distance ``tol`` (default 1e-4: a float32 point polished to the
    finder's precision floor, ~1e-7 in R, lies within 1e-4 of a root whose ∂R/∂h has smallest singular
    value ≥ 1e-3, the finder's isolation threshold).
    """
    n = cert.box_lo.shape[0]
    points = np.asarray(reduced_points_pxn, np.float64)
    if points.ndim != 2 or points.shape[1] != n:
        raise ValueError(f"cross_check: points must have shape [p, {n}], got {list(points.shape)}")
    distance_pxr = _inf_distance_pxb(points, cert.root_lo, cert.root_hi)
    distance = distance_pxr.min(axis=1, initial=np.inf)
    root_of_point = np.where(distance <= tol, np.argmin(distance_pxr, axis=1) if cert.n_roots else -1, -1)
    near_undecided = np.any(_inf_distance_pxb(points, cert.undecided_lo, cert.undecided_hi) <= tol, axis=1)
    lonely = root_of_point < 0
    matched = np.flatnonzero(~lonely)
    found_roots, first = np.unique(root_of_point[matched], return_index=True)
    missed = np.setdiff1d(np.arange(cert.n_roots), found_roots)
    unmatched = np.flatnonzero(lonely & ~near_undecided)
    return CrossCheck(root_of_point=root_of_point, distance=distance, missed_roots=missed,
                      unmatched_points=unmatched, undecided_points=np.flatnonzero(lonely & near_undecided),
                      duplicate_points=np.setdiff1d(matched, matched[first]),
                      agree=len(missed) == 0 and len(unmatched) == 0)
