"""The fixed-point equation of each cell in the form that gate saturation cannot scale away.

A fixed point of a recurrent map is a root of F(x, u) − x. For gated cells that residual carries a
factor that can be tiny without the point being anything but an ordinary, well isolated root, so
Newton, isolation tests and certificates work on an equivalent *reduced* equation R(y, u) = 0 in a
reduced variable y, and the full state is recovered as x = lift(y, u):

* tanh:  y = h,  R(h) = tanh(u @ w_ih + h @ w_hh + b_h) − h  (= F(h) − h),  lift(h) = h.
* GRU:   F(h) − h = (1 − z) ∘ (n(h) − h) with 1 − z = σ(−a_z) > 0, so the fixed points are exactly
         the roots of R(h) = n(h, u) − h, n = tanh(u @ w_in + (r ∘ h) @ w_hn + b_n),
         r = σ(u @ w_ir + h @ w_hr + b_r) — the update gate drops out;  lift(h) = h.
* LSTM:  the gates depend on (h, u) only, so c = f ∘ c + i ∘ g gives c = i ∘ g / (1 − f) with
         1 − f = σ(−a_f) > 0, and the fixed points are the roots in h of
         R(h) = o ∘ tanh(i ∘ g / σ(−a_f)) − h;  lift(h) = concat(h, i ∘ g / σ(−a_f)).
* any other map (a user's callable): R(x) = F(x, u) − x, lift(x) = x.

Each gate complement 1 − σ(a) is computed as σ(−a), which has no cancellation, so the reduced
equation keeps its accuracy where a gate saturates. Eigenvalues, stability and the saddle index
are still those of the full map's Jacobian ∂F/∂x at lift(y): the reduced equation only decides
*where* the fixed points are and whether each is isolated (∂R/∂y non-singular there).

Shapes: ``y`` [k] (k = n_hidden for every built-in cell), ``u`` [m], ``x`` [d] (d = 2·n_hidden for
the LSTM, else n_hidden). Every function is written for one point; ``vmap`` batches it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .models import STEP_FUNCTIONS


def _pre(params: Mapping[str, jax.Array], h: jax.Array, u: jax.Array, gate: str, input_key: str,
         recurrent_key: str) -> jax.Array:
    return u @ params[input_key] + h @ params[recurrent_key] + params[f"b_{gate}"]


def tanh_residual(params, h, u):
    """R(h) = tanh(u @ w_ih + h @ w_hh + b_h) − h."""
    return jnp.tanh(u @ params["w_ih"] + h @ params["w_hh"] + params["b_h"]) - h


def gru_residual(params, h, u):
    """R(h) = n(h, u) − h, the GRU's candidate state minus the state (the update gate dropped)."""
    r = jax.nn.sigmoid(_pre(params, h, u, "r", "w_ir", "w_hr"))
    n = jnp.tanh(u @ params["w_in"] + (r * h) @ params["w_hn"] + params["b_n"])
    return n - h


def lstm_cell_at_rest(params, h, u):
    """The cell state that the LSTM holds fixed for a given h: c = i ∘ g / σ(−a_f)  [n]."""
    i = jax.nn.sigmoid(_pre(params, h, u, "i", "w_ii", "w_hi"))
    g = jnp.tanh(_pre(params, h, u, "g", "w_ig", "w_hg"))
    one_minus_f = jax.nn.sigmoid(-_pre(params, h, u, "f", "w_if", "w_hf"))
    return i * g / one_minus_f


def lstm_residual(params, h, u):
    """R(h) = o ∘ tanh(c(h)) − h with c(h) = i ∘ g / (1 − f), the LSTM's cell state eliminated."""
    o = jax.nn.sigmoid(_pre(params, h, u, "o", "w_io", "w_ho"))
    return o * jnp.tanh(lstm_cell_at_rest(params, h, u)) - h


def lstm_lift(params, h, u):
    """The LSTM's full state concat(h, c(h)) [2n] of a reduced point h [n]."""
    return jnp.concatenate([h, lstm_cell_at_rest(params, h, u)])


def identity_lift(params, y, u):
    """lift(y) = y: the reduced variable is the state."""
    return y


def _n_hidden(x: jax.Array) -> int:
    return x.shape[-1] // 2


def lstm_reduce(x):
    """The reduced variable h = x[:n] of an LSTM state concat(h, c) [..., 2n]."""
    return x[..., : _n_hidden(x)]


def identity_reduce(x):
    """The reduced variable of a state whose equation is not reduced: the state itself."""
    return x


class ModelStep:
    """F(params, x[d], u[m]) of a callable with the seed's contract ``model(inputs[n,1,m], hidden[n,d]) ->
    (outputs, h_next)`` (hashable by the model's identity, so it can be a static argument of ``jit``)."""

    def __init__(self, model: Callable):
        self.model = model

    def __call__(self, params, x, u):
        _, h_next = self.model(u[None, None, :], x[None, :])
        return jnp.reshape(h_next, x.shape)

    def __hash__(self):
        return id(self.model)

    def __eq__(self, other):
        return isinstance(other, ModelStep) and other.model is self.model


@dataclasses.dataclass(frozen=True)     # hashable and compared by the function it wraps: a static jit argument
class MapResidual:
    """R(x) = F(x, u) − x for any step function F(params, x[d], u[m]) -> x'[d]."""

    step: Callable

    def __call__(self, params, x, u):
        return self.step(params, x, u) - x


@dataclasses.dataclass(frozen=True)     # hashable, for jit
class ResidualStep:
    """G(y) = y + R(params, y, u): a map whose fixed points are the roots of R and whose q = ½‖G(y) − y‖² is
    ½‖R(y)‖², the objective the finder's optimiser minimises for a reduced equation."""

    residual: Callable

    def __call__(self, params, y, u):
        return y + self.residual(params, y, u)


class FixedPointEquation(NamedTuple):
    """The fixed-point equation of one map: ``step`` F(params, x, u) -> x' (the full map);
    ``residual`` R(params, y, u) -> [k] whose roots are the fixed points; ``lift`` (params, y, u) -> x
    [d]; ``reduce`` x -> y; ``reduced`` whether R differs from F − x (a built-in gated cell)."""

    step: Callable
    residual: Callable
    lift: Callable
    reduce: Callable
    reduced: bool


EQUATIONS: dict[str, FixedPointEquation] = {
    "tanh": FixedPointEquation(STEP_FUNCTIONS["tanh"], tanh_residual, identity_lift, identity_reduce, False),
    "gru": FixedPointEquation(STEP_FUNCTIONS["gru"], gru_residual, identity_lift, identity_reduce, True),
    "lstm": FixedPointEquation(STEP_FUNCTIONS["lstm"], lstm_residual, lstm_lift, lstm_reduce, True),
}
"""The reduced fixed-point equation of each built-in cell, by ``rnn_type``."""


def map_equation(step: Callable) -> FixedPointEquation:
    """The unreduced equation F(x, u) − x = 0 of any step function F(params, x[d], u[m])."""
    return FixedPointEquation(step, MapResidual(step), identity_lift, identity_reduce, False)


def equation_for(rnn_type: str) -> FixedPointEquation:
    """The fixed-point equation of the built-in cell ``rnn_type`` (tanh, gru or lstm)."""
    from .models import check_rnn_type

    return EQUATIONS[check_rnn_type(rnn_type)]
