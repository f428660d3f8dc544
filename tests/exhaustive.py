"""An exhaustive float64 search for the fixed points of the built-in cells, independent of the finder.

The fixed-point equation of each cell is written out here in numpy from the cell equations of
`fixedpoints.models` (not from the finder's code): tanh h = tanh(W h + b); GRU h = n(h) (the update
gate factors out of F(h) − h = (1 − z)(n(h) − h)); LSTM h = o·tanh(c) with c = i·g/(1 − f) (the cell
state at rest). Its roots are searched with scipy's hybrid root finder (`fsolve`, MINPACK) and the
analytic Jacobian, from many starts: half uniform in the box (−1, 1)^k that holds every fixed point of
these cells, half trajectory states plus noise. Used by the tests and by bench/finder_recall.py.
"""

import numpy as np
from scipy.optimize import fsolve


def sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def reduced_equation(rnn_type, p):
    """(R(h), ∂R/∂h) of the cell's fixed-point equation at u = 0, in numpy float64, from the cell equations."""
    if rnn_type == "tanh":
        def residual(h):
            return np.tanh(h @ p["w_hh"] + p["b_h"]) - h

        def jacobian(h):
            n = np.tanh(h @ p["w_hh"] + p["b_h"])
            return p["w_hh"].T * (1 - n ** 2)[:, None] - np.eye(len(h))
    elif rnn_type == "gru":
        def parts(h):
            r = sigmoid(h @ p["w_hr"] + p["b_r"])
            n = np.tanh((r * h) @ p["w_hn"] + p["b_n"])
            return r, n

        def residual(h):
            return parts(h)[1] - h

        def jacobian(h):
            r, n = parts(h)
            dr = p["w_hr"].T * (r * (1 - r))[:, None]                   # ∂r/∂h [k, k]
            da = p["w_hn"].T @ (np.diag(r) + np.diag(h) @ dr)           # ∂(r∘h)W/∂h
            return (1 - n ** 2)[:, None] * da - np.eye(len(h))
    else:
        def gates(h):
            a = {g: h @ p[f"w_h{g}"] + p[f"b_{g}"] for g in "ifgo"}
            return sigmoid(a["i"]), sigmoid(-a["f"]), np.tanh(a["g"]), sigmoid(a["o"])

        def residual(h):
            i, one_minus_f, g, o = gates(h)
            return o * np.tanh(i * g / one_minus_f) - h

        def jacobian(h):
            i, one_minus_f, g, o = gates(h)
            f = 1 - one_minus_f
            c = i * g / one_minus_f
            di = p["w_hi"].T * (i * (1 - i))[:, None]
            df = p["w_hf"].T * (f * one_minus_f)[:, None]
            dg = p["w_hg"].T * (1 - g ** 2)[:, None]
            do = p["w_ho"].T * (o * (1 - o))[:, None]
            dc = (g[:, None] * di + i[:, None] * dg) / one_minus_f[:, None] + (c / one_minus_f)[:, None] * df
            return do * np.tanh(c)[:, None] + (o * (1 - np.tanh(c) ** 2))[:, None] * dc - np.eye(len(h))
    return residual, jacobian


def full_jacobian(rnn_type, p, h):
    """∂F/∂x of the full map at the fixed point whose reduced variable is h (u = 0), from the cell equations:
    tanh and GRU J = I + D ∂R/∂h (D = 1 for tanh, diag(1 − z) for the GRU, since n(h) = h there); the LSTM
    on its state (h, c) with c = i·g/(1 − f)."""
    residual, jacobian = reduced_equation(rnn_type, p)
    k = len(h)
    if rnn_type == "tanh":
        return np.eye(k) + jacobian(h)
    if rnn_type == "gru":
        z = sigmoid(h @ p["w_hz"] + p["b_z"])
        return np.eye(k) + (1 - z)[:, None] * jacobian(h)
    a = {g: h @ p[f"w_h{g}"] + p[f"b_{g}"] for g in "ifgo"}
    i, f, g, o = sigmoid(a["i"]), sigmoid(a["f"]), np.tanh(a["g"]), sigmoid(a["o"])
    c = i * g * (1 + np.exp(a["f"]))                                # i·g / (1 − f)
    dc_dh = (c[:, None] * p["w_hf"].T * (f * (1 - f))[:, None] + g[:, None] * p["w_hi"].T * (i * (1 - i))[:, None]
             + i[:, None] * p["w_hg"].T * (1 - g ** 2)[:, None])   # ∂c'/∂h at rest (c' = c)
    dh_dh = np.tanh(c)[:, None] * p["w_ho"].T * (o * (1 - o))[:, None] + (o * (1 - np.tanh(c) ** 2))[:, None] * dc_dh
    dh_dc = np.diag(o * (1 - np.tanh(c) ** 2) * f)
    return np.block([[dh_dh, dh_dc], [dc_dh, np.diag(f)]])


def exhaustive_search(rnn_type, params, hiddens, n_starts, seed=0):
    """Isolated roots [r, k] and non-isolated roots [s, k] (σ_min(∂R/∂h) < 1e-3) of the reduced equation at
    u = 0 in float64: fsolve from ``n_starts`` starts (half in (−1, 1)^k, half ``hiddens`` states + N(0, 0.2²)),
    roots with ‖R‖ < 1e-10 kept once (1e-7 apart)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    k = p["w_out"].shape[0]
    residual, jacobian = reduced_equation(rnn_type, p)
    rng = np.random.default_rng(seed)
    states = hiddens.reshape(-1, hiddens.shape[-1])[:, :k]
    starts = np.concatenate([rng.uniform(-1, 1, (n_starts // 2, k)),
                             states[rng.integers(len(states), size=n_starts - n_starts // 2)]
                             + 0.2 * rng.normal(size=(n_starts - n_starts // 2, k))])
    roots, degenerate = [], []
    np_errors = np.seterr(over="ignore", divide="ignore", invalid="ignore")   # saturated gates on the way
    for y0 in starts:
        y, _, ok, _ = fsolve(residual, y0, fprime=jacobian, full_output=True, xtol=1e-13)
        seen = any(np.linalg.norm(y - r) < 1e-7 for r in roots + degenerate)
        if ok != 1 or np.linalg.norm(residual(y)) > 1e-10 or seen:
            continue
        sigma = np.linalg.svd(jacobian(y), compute_uv=False)[-1]
        (roots if sigma >= 1e-3 else degenerate).append(y)
    np.seterr(**np_errors)
    return np.array(roots).reshape(-1, k), np.array(degenerate).reshape(-1, k)
