"""Rigorous interval arithmetic in float64 numpy, vectorised over arrays of intervals.

An `Interval` is a pair of arrays ``lo <= hi`` (any common shape); every function here returns an
interval that contains the *exact* real result of the operation on every real point of its
arguments, floating-point rounding included. It is written by hand because no well-kept Python
library does vectorised interval arithmetic over numpy arrays (mpmath's ``iv`` and PyInterval work
one scalar at a time, far too slow for millions of boxes).

How rounding is accounted for (binary64, round-to-nearest, as numpy computes by default):

* **Basic operations** (+, −, ×, / of floats): the rounded result is within half an ulp of the
  exact one, so one step outward (`down`, `up`: to the neighbouring float or one further) encloses
  it, subnormal results included.
* **Elementary functions** ``np.tanh`` and ``np.exp``: *assumed* accurate to `ASSUMED_ULPS` (4) ulp,
  the bound that numpy states for its SIMD (SVML) kernels (glibc's tables list ≤ 2 ulp). Each result
  y is widened to y ∓ (2^-49·|y| + 2^-1072), which exceeds 4 ulp of the exact value in every binade
  and in the subnormal range, then rounded outward. The test suite samples both functions against a
  60-digit `decimal` reference to check the assumption on the machine it runs on.
* **Matrix products** (`matmul_midrad`, midpoint–radius form, Rump 1999): numpy/BLAS may sum in any
  order, with or without fused multiply–add; for every such order the computed c = fl(A·x) of a
  length-q inner product satisfies |c − A·x| ≤ γ_q·|A|·|x| + q·η with γ_q = q·u/(1 − q·u),
  u = 2^-53 and η = 2^-1022 bounding underflow (Higham, *Accuracy and Stability of Numerical
  Algorithms*, 2002, §3.1), and a sum of q non-negative products is ≥ (1 − γ_q)·(exact) − q·η.
  The radius is computed from non-negative terms and scaled once (derivation in `matmul_midrad`).
  No rounding-mode switch is needed.

Assumptions: IEEE binary64 arithmetic in round-to-nearest without denormals-are-zero (numpy's
default), and the accuracy of ``tanh``/``exp`` above. Infinite bounds are allowed (0·∞ is taken
as 0, as for interval bounds); a NaN bound means "unknown": every test built on these intervals
(excluded, contained) is written so that a NaN makes it fail, which is the safe side.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ASSUMED_ULPS = 4
"""Assumed accuracy of numpy's float64 ``tanh`` and ``exp``, in units in the last place."""

_REL = 2.0 ** -49           # ≥ 2·ASSUMED_ULPS·2^-52: 4 ulp of the exact value, whatever its binade
_ABS = 4 * 2.0 ** -1074     # 4 ulp in the subnormal range
_U = 2.0 ** -53             # unit roundoff of binary64
_ETA = 2.0 ** -1022         # bound on the underflow error of one product (even flushed to zero)
_PHI = 2.0 ** -53 + 2.0 ** -105   # Rump et al.'s factor for the successor in round-to-nearest
_TINY = 2.0 ** -1074              # the smallest subnormal
_ONE_PLUS_2U = 1.0 + 2.0 ** -52   # the successor of 1
_SIGMOID_CLAMP = 700.0      # exp(700) < 1e305 does not overflow


class Interval(NamedTuple):
    """Arrays ``lo`` and ``hi`` of one shape: the intervals [lo, hi], elementwise."""

    lo: np.ndarray
    hi: np.ndarray


def down(x):
    """A float below ``x`` (its predecessor or the one before): a lower bound of any exact value that
    rounds to ``x``. Computed as x − (φ|x| + η) with φ = 2^-53 + 2^-105, η = 2^-1074 in round-to-nearest,
    which is below pred(x) or equal to it (Rump, Zimmermann, Boldo & Melquiond, BIT 49, 2009, Thm 2.2);
    several times faster than ``np.nextafter``."""
    return x - (_PHI * np.abs(x) + _TINY)


def up(x):
    """A float above ``x`` (its successor or the one after): an upper bound of any exact value that
    rounds to ``x`` (see `down`)."""
    return x + (_PHI * np.abs(x) + _TINY)


def point(x) -> Interval:
    """The degenerate interval [x, x] of a float64 array."""
    x = np.asarray(x, np.float64)
    return Interval(x, x)


def add(a: Interval, b: Interval) -> Interval:
    return Interval(down(a.lo + b.lo), up(a.hi + b.hi))


def sub(a: Interval, b: Interval) -> Interval:
    return Interval(down(a.lo - b.hi), up(a.hi - b.lo))


def _product(x, y):
    """x·y elementwise with 0·∞ = 0 (a bound ∞ is never attained, so the product of bounds is 0)."""
    with np.errstate(invalid="ignore"):
        p = x * y
    zero_times_inf = ((x == 0) & np.isinf(y)) | (np.isinf(x) & (y == 0))
    return np.where(zero_times_inf, 0.0, p)


def mul(a: Interval, b: Interval) -> Interval:
    """a·b: the hull of the four products of bounds, each rounded outward."""
    products = [_product(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    return Interval(down(np.minimum.reduce(products)), up(np.maximum.reduce(products)))


def scale(a: Interval, w) -> Interval:
    """a·w for a float array ``w`` (broadcast against a)."""
    p, q = _product(a.lo, w), _product(a.hi, w)
    return Interval(down(np.minimum(p, q)), up(np.maximum(p, q)))


def reciprocal_positive(a: Interval) -> Interval:
    """1/a for 0 ≤ a.lo ≤ a.hi (1/0 = ∞)."""
    with np.errstate(divide="ignore"):
        return Interval(down(1.0 / a.hi), up(1.0 / a.lo))


def _widen_lower(y):
    """A lower bound of the exact value of an elementary function whose computed value is y."""
    return down(y - up(up(np.abs(y) * _REL) + _ABS))


def _widen_upper(y):
    return up(y + up(up(np.abs(y) * _REL) + _ABS))


def tanh(a: Interval) -> Interval:
    """tanh over a (increasing), widened by the assumed accuracy of ``np.tanh``, within [−1, 1]."""
    return Interval(np.maximum(_widen_lower(np.tanh(a.lo)), -1.0), np.minimum(_widen_upper(np.tanh(a.hi)), 1.0))


def _sigmoid_lower(x):
    """A lower bound of σ(x) = 1/(1 + exp(−x)) for |x| ≤ 700 (no overflow)."""
    return down(1.0 / up(1.0 + _widen_upper(np.exp(-x))))


def _sigmoid_upper(x):
    return up(1.0 / down(1.0 + np.maximum(_widen_lower(np.exp(-x)), 0.0)))


def sigmoid(a: Interval) -> Interval:
    """σ(a) = 1/(1 + exp(−a)) over a (increasing), within [0, 1].

    Beyond ±700 the bounds are those of the clamped argument where that stays a bound (σ is
    increasing) and 0 or 1 where it does not, so ``exp`` never overflows.
    """
    c = _SIGMOID_CLAMP
    lo = np.where(a.lo < -c, 0.0, _sigmoid_lower(np.clip(a.lo, -c, c)))
    hi = np.where(a.hi > c, 1.0, _sigmoid_upper(np.clip(a.hi, -c, c)))
    return Interval(np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0))


def tanh_slope(t: Interval) -> Interval:
    """The range of tanh' = 1 − t² = (1 − t)(1 + t) for t in t ⊂ [−1, 1] (t an enclosure of tanh).

    1 − t² is largest (1) at t = 0 and decreases with |t|: the range is spanned by the endpoints,
    and by 1 when 0 ∈ t. The factored form loses no accuracy near |t| = 1.
    """
    def lower(x):
        return np.maximum(down(down(1.0 - x) * down(1.0 + x)), 0.0)

    def upper(x):
        return up(up(1.0 - x) * up(1.0 + x))

    contains_zero = (t.lo <= 0.0) & (t.hi >= 0.0)
    hi = np.where(contains_zero, 1.0, np.maximum(upper(t.lo), upper(t.hi)))
    return Interval(np.minimum(lower(t.lo), lower(t.hi)), np.minimum(hi, 1.0))


def sigmoid_slope(s: Interval) -> Interval:
    """The range of σ' = s(1 − s) for s in s ⊂ [0, 1] (s an enclosure of σ).

    s(1 − s) is largest (1/4) at s = 1/2 and decreases away from it: the range is spanned by the
    endpoints, and by 1/4 when 1/2 ∈ s.
    """
    def lower(x):
        return np.maximum(down(x * down(1.0 - x)), 0.0)

    def upper(x):
        return up(x * up(1.0 - x))

    contains_half = (s.lo <= 0.5) & (s.hi >= 0.5)
    hi = np.where(contains_half, 0.25, np.maximum(upper(s.lo), upper(s.hi)))
    return Interval(np.minimum(lower(s.lo), lower(s.hi)), np.minimum(hi, 0.25))


# -- midpoint–radius form and matrix products --------------------------------------------------------

def _up_nonnegative(x):
    """An upper bound of any exact non-negative value that rounds to x ≥ 0: x·(1 + 2^-52) is at least
    succ(x) for normal x, and + 2^-1074 covers subnormal x (two passes instead of `up`'s four)."""
    return x * _ONE_PLUS_2U + _TINY


def midrad(a: Interval) -> tuple[np.ndarray, np.ndarray]:
    """(m, r) with [a.lo, a.hi] ⊂ [m − r, m + r] (m a float near the centre, r rounded up).

    The computed distance d = fl(hi − m) ≥ 0 is exact when subnormal and otherwise ≥ (1 − u)·d*, so the
    exact d* ≤ d·(1 + 2u), rounded up once more.
    """
    m = 0.5 * a.lo + 0.5 * a.hi
    return m, _up_nonnegative(np.maximum(a.hi - m, m - a.lo) * _ONE_PLUS_2U)


def from_midrad(m, r) -> Interval:
    """The interval [m − r, m + r], rounded outward."""
    return Interval(down(m - r), up(m + r))


def _gamma(q: int) -> float:
    """An upper bound of γ_q = q·u/(1 − q·u)."""
    return float(up(up(q * _U) / down(1.0 - q * _U)))


def matmul_midrad(a_mid, a_rad, x_mid, x_rad) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure (c, r) of A·X for A ∈ ⟨a_mid, a_rad⟩ [..., p, q], X ∈ ⟨x_mid, x_rad⟩ [..., q, s].

    Exact: A·X ⊂ ⟨a_mid·x_mid, |a_mid|·x_rad + a_rad·(|x_mid| + x_rad)⟩ (Rump, BIT 39, 1999). With
    c = fl(a_mid·x_mid) the radius must also cover |c − a_mid·x_mid| ≤ γ_q·|a_mid|·|x_mid| + q·η, so
    the exact radius needed is R* = |a_mid|·(x_rad + γ_q|x_mid|) + a_rad·(|x_mid| + x_rad) + q·η.
    It is computed in plain round-to-nearest from non-negative terms and scaled once:
    v₁ = fl(x_rad + fl(γ_q·max(|x_mid|, 2^-960))) ≥ (1 − u)²(x_rad + γ_q|x_mid|) (the floor keeps the
    product out of the subnormal range), v₂ = fl(|x_mid| + x_rad) ≥ (1 − u)(|x_mid| + x_rad),
    S_i = fl(·@v_i) ≥ (1 − γ_q)(exact product) − q·η, and r = fl(fl(fl(S₁ + S₂) + 3q·η)·F) ≥
    (1 − u)³F(S₁ + S₂ + 3qη) ≥ (1 − u)⁵(1 − γ_q)·F·R* ≥ R* for F = 1 + 2γ_{q+5} ≥ 1/(1 − γ_{q+5}).
    ``a_rad`` / ``x_rad`` may be None (a point matrix). Shapes broadcast as in ``np.matmul``.
    """
    q = a_mid.shape[-1]
    abs_x = np.abs(x_mid)
    v1 = _gamma(q) * np.maximum(abs_x, 2.0 ** -960)
    if x_rad is not None:
        v1 = x_rad + v1
    total = np.matmul(np.abs(a_mid), v1)
    if a_rad is not None:
        total = total + np.matmul(a_rad, abs_x if x_rad is None else abs_x + x_rad)
    factor = float(up(1.0 + 2.0 * _gamma(q + 5)))
    return np.matmul(a_mid, x_mid), (total + 3 * q * _ETA) * factor


def matvec_midrad(a_mid, a_rad, x_mid, x_rad) -> tuple[np.ndarray, np.ndarray]:
    """`matmul_midrad` for a vector X [..., q]: the enclosure (c, r) of A·X, shapes [..., p]."""
    c, r = matmul_midrad(a_mid, a_rad, x_mid[..., None], None if x_rad is None else x_rad[..., None])
    return c[..., 0], r[..., 0]


def vecmat(x: Interval, a) -> Interval:
    """x @ a for an interval row vector x [..., q] and a float matrix a [q, p] (row convention)."""
    x_mid, x_rad = midrad(x)
    return from_midrad(*matmul_midrad(x_mid, x_rad, a, None))
