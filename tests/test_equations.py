"""The reduced fixed-point equations of each cell against the cells' own update equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import fsolve

from fixedpoints import RNN
from fixedpoints.equations import EQUATIONS, equation_for, lstm_cell_at_rest, map_equation
from fixedpoints.finder import x64_scope
from fixedpoints.models import STEP_FUNCTIONS


def random_params(rnn_type, n_hidden=5, n_inputs=2, scale=1.5, seed=0):
    rnn = RNN.init(rnn_type, n_inputs, n_hidden, 2, seed=seed)
    rng = np.random.default_rng(seed)
    return {k: np.asarray(v, np.float64) + (scale * rng.normal(size=v.shape) / np.sqrt(n_hidden)
                                             if k.startswith("w_h") else 0.0)
            for k, v in rnn.params.items()}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.mark.parametrize("rnn_type", ["tanh", "gru"])
def test_residual_is_the_map_residual_up_to_a_positive_gate(rnn_type):
    # tanh: R = F − h exactly; GRU: F(h) − h = (1 − z) ∘ R(h), z the update gate (numpy, float64)
    params = random_params(rnn_type)
    rng = np.random.default_rng(1)
    with x64_scope():
        for _ in range(20):
            h, u = rng.uniform(-1, 1, 5), rng.normal(size=2)
            R = np.asarray(EQUATIONS[rnn_type].residual(params, jnp.asarray(h), jnp.asarray(u)))
            F = np.asarray(STEP_FUNCTIONS[rnn_type](params, jnp.asarray(h), jnp.asarray(u)))
            gate = 1.0 if rnn_type == "tanh" else 1 - sigmoid(u @ params["w_iz"] + h @ params["w_hz"] + params["b_z"])
            np.testing.assert_allclose(F - h, gate * R, rtol=1e-12, atol=1e-14)


def test_lstm_cell_at_rest_solves_the_cell_update_and_lift_is_a_fixed_point():
    params = random_params("lstm", scale=3.0)
    n = 5
    step = STEP_FUNCTIONS["lstm"]
    rng = np.random.default_rng(2)
    with x64_scope():
        residual = jax.jit(EQUATIONS["lstm"].residual)
        jac = jax.jit(jax.jacfwd(EQUATIONS["lstm"].residual, argnums=1))
        roots = []
        for _ in range(30):
            h0 = rng.uniform(-1, 1, n)
            u = np.zeros(2)
            h, info, ok, _ = fsolve(lambda y, u=u: np.asarray(residual(params, y, u)), h0,
                                    fprime=lambda y, u=u: np.asarray(jac(params, y, u)), full_output=True, xtol=1e-14)
            if ok == 1:
                roots.append(h)
        assert roots, "no root of the reduced LSTM equation found"
        for h in roots:
            c = np.asarray(lstm_cell_at_rest(params, jnp.asarray(h), jnp.zeros(2)))
            x = np.asarray(EQUATIONS["lstm"].lift(params, jnp.asarray(h), jnp.zeros(2)))
            np.testing.assert_array_equal(x[:n], h)
            np.testing.assert_array_equal(x[n:], c)
            x_next = np.asarray(step(params, jnp.asarray(x), jnp.zeros(2)))
            np.testing.assert_allclose(x_next, x, atol=1e-11)
            np.testing.assert_array_equal(EQUATIONS["lstm"].reduce(x), h)


def test_gru_with_a_saturated_update_gate_keeps_a_well_scaled_residual():
    # b_z = 30: 1 − z ≈ 1e-13, so F(h) − h is ~1e-13 everywhere, but R(h) = n(h) − h is not
    params = random_params("gru")
    params["b_z"] = np.full(5, 30.0)
    with x64_scope():
        h, u = jnp.full(5, 0.3), jnp.zeros(2)
        F_minus_h = np.asarray(STEP_FUNCTIONS["gru"](params, h, u) - h)
        R = np.asarray(EQUATIONS["gru"].residual(params, h, u))
        J = np.asarray(jax.jacfwd(EQUATIONS["gru"].residual, argnums=1)(params, h, u))
    assert np.max(np.abs(F_minus_h)) < 1e-11
    assert np.max(np.abs(R)) > 1e-2
    assert np.linalg.svd(J, compute_uv=False)[-1] > 1e-2


def test_map_equation_of_a_callable_is_the_map_residual():
    step = STEP_FUNCTIONS["tanh"]
    params = random_params("tanh")
    eq = map_equation(step)
    assert eq == map_equation(step) and hash(eq) == hash(map_equation(step))   # usable as a static jit argument
    h, u = jnp.linspace(-0.5, 0.5, 5), jnp.zeros(2)
    np.testing.assert_array_equal(eq.residual(params, h, u), step(params, h, u) - h)
    assert not eq.reduced and eq.lift(params, h, u) is h and eq.reduce(h) is h


def test_equation_for_checks_the_type():
    assert equation_for("GRU") is EQUATIONS["gru"]
    with pytest.raises(ValueError, match="unknown rnn_type"):
        equation_for("rnn")
