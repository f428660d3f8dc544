"""Cells against their equations, the seed's initialisation recipe, and the call contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fixedpoints import RNN
from fixedpoints.models import params_from_arrays

RNN_TYPES = ["tanh", "gru", "lstm"]


def seed_recipe(rnn_type, seed, m, n, o):
    """The seed tutorial's FlipFlopRNN initialisation, written out independently, one eager draw per weight;
    for the LSTM (not in the seed) the recipe of `init_params`' docstring: the same scales, gate weights
    from ``split(k1, 8)``, forget-gate bias 1."""
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(seed), 4)
    out = {"w_out": jax.random.normal(k3, (n, o)) * 0.1, "b_out": np.zeros(o),
           "h0": np.zeros(2 * n if rnn_type == "lstm" else n)}
    if rnn_type == "lstm":
        gate_keys = jax.random.split(k1, 8)
        for j, g in enumerate("ifgo"):
            out[f"w_i{g}"] = jax.random.normal(gate_keys[2 * j], (m, n)) * 0.1
            out[f"w_h{g}"] = jax.random.normal(gate_keys[2 * j + 1], (n, n)) * 0.5
            out[f"b_{g}"] = np.ones(n) if g == "f" else np.zeros(n)
    elif rnn_type == "tanh":
        out.update(w_ih=jax.random.normal(k1, (m, n)) * 0.1, w_hh=jax.random.normal(k2, (n, n)) * 0.5,
                   b_h=np.zeros(n))
    else:
        k5, k6, k7, k8 = jax.random.split(k4, 4)
        out.update(w_ir=jax.random.normal(k1, (m, n)) * 0.1, w_hr=jax.random.normal(k2, (n, n)) * 0.5,
                   w_iz=jax.random.normal(k3, (m, n)) * 0.1, w_hz=jax.random.normal(k4, (n, n)) * 0.5,
                   w_in=jax.random.normal(k5, (m, n)) * 0.1, w_hn=jax.random.normal(k6, (n, n)) * 0.5,
                   b_r=np.zeros(n), b_z=np.zeros(n), b_n=np.zeros(n))
    return out


def assert_init_is_recipe(rnn_type, seed, sizes):
    rnn = RNN.init(rnn_type, *sizes, seed=seed)
    expected = seed_recipe(rnn_type, seed, *sizes)
    assert set(rnn.params) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(np.asarray(rnn.params[name]), np.asarray(value, np.float32), err_msg=name)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
@pytest.mark.parametrize("seed,sizes", [(0, (3, 4, 3)), (42, (3, 4, 3)), (123, (2, 3, 2)), (7, (4, 6, 4)),
                                        (9, (3, 128, 3)), (5, (1, 1, 1)), (11, (5, 17, 2))])
def test_init_reproduces_seed_weights(rnn_type, seed, sizes):
    """Bit for bit the eager draws, whatever the sizes (the compiled initialisation draws all weights at once)."""
    assert_init_is_recipe(rnn_type, seed, sizes)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_init_reproduces_seed_weights_with_the_older_threefry(rnn_type):
    """With ``jax_threefry_partitionable`` off a draw's entries depend on its size: still the eager draws."""
    previous = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", False)
    try:
        assert_init_is_recipe(rnn_type, 3, (3, 5, 2))
    finally:
        jax.config.update("jax_threefry_partitionable", previous)


def numpy_step(rnn_type, p, h, u):
    """Independent NumPy transcription of the DESIGN.md equations."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}

    def sig(a):
        return 1 / (1 + np.exp(-a))

    if rnn_type == "tanh":
        return np.tanh(u @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])
    if rnn_type == "gru":
        r = sig(u @ p["w_ir"] + h @ p["w_hr"] + p["b_r"])
        z = sig(u @ p["w_iz"] + h @ p["w_hz"] + p["b_z"])
        cand = np.tanh(u @ p["w_in"] + (r * h) @ p["w_hn"] + p["b_n"])
        return (1 - z) * cand + z * h
    n = p["w_hi"].shape[0]
    hh, c = h[:, :n], h[:, n:]
    g = {k: u @ p[f"w_i{k}"] + hh @ p[f"w_h{k}"] + p[f"b_{k}"] for k in "ifgo"}
    c2 = sig(g["f"]) * c + sig(g["i"]) * np.tanh(g["g"])
    return np.concatenate([sig(g["o"]) * np.tanh(c2), c2], axis=1)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_sequence_run_matches_step_equations_and_single_step_contract(rnn_type):
    rnn = RNN.init(rnn_type, n_inputs=2, n_hidden=5, n_outputs=2, seed=1)
    rng = np.random.RandomState(0)
    inputs = rng.choice([-1.0, 0.0, 1.0], size=(6, 9, 2)).astype(np.float32)
    outputs, states = rnn(inputs)
    d = rnn.state_size
    assert d == (10 if rnn_type == "lstm" else 5)
    assert outputs.shape == (6, 9, 2) and states.shape == (6, 9, d)
    h = np.zeros((6, d))
    for t in range(9):
        h = numpy_step(rnn_type, rnn.params, h, inputs[:, t].astype(np.float64))
        np.testing.assert_allclose(states[:, t], h, rtol=2e-5, atol=2e-6)
    y = h[:, :5] @ np.asarray(rnn.params["w_out"]) + np.asarray(rnn.params["b_out"])
    np.testing.assert_allclose(outputs[:, -1], y, rtol=2e-5, atol=2e-6)
    # the finder's contract: one step from a given state
    out1, h_next = rnn(inputs[:, :1], hidden=np.asarray(states[:, 3]))
    assert out1.shape == (6, 1, 2) and h_next.shape == (6, d)
    np.testing.assert_allclose(h_next, numpy_step(rnn_type, rnn.params, np.asarray(states[:, 3], np.float64),
                                                  inputs[:, 0].astype(np.float64)), rtol=2e-5, atol=2e-6)


def test_rnn_is_a_pytree_usable_under_jit():
    rnn = RNN.init("gru", 3, 4, 3, seed=0)
    leaves, treedef = jax.tree_util.tree_flatten(rnn)
    again = jax.tree_util.tree_unflatten(treedef, leaves)
    assert again.rnn_type == "gru"
    step = jax.jit(lambda net, h, u: net.step(h, u))
    np.testing.assert_allclose(step(rnn, jnp.ones(4) * 0.1, jnp.zeros(3)), rnn.step(jnp.ones(4) * 0.1, jnp.zeros(3)),
                               rtol=1e-6)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="'rnnx'"):
        RNN.init("rnnx", 3, 4, 3)
    with pytest.raises(ValueError, match="n_hidden"):
        RNN.init("tanh", 3, 0, 3)
    rnn = RNN.init("tanh", 3, 4, 3)
    with pytest.raises(ValueError, match=r"\[batch, time, 3\]"):
        rnn(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"hidden must have shape \[2, 4\]"):
        rnn(np.zeros((2, 1, 3)), hidden=np.zeros((2, 5)))
    arrays = {k: np.asarray(v) for k, v in rnn.params.items()}
    arrays["w_hh"] = np.zeros((4, 5))
    with pytest.raises(ValueError, match="'w_hh' has shape"):
        params_from_arrays("tanh", arrays)


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("w_hh"), r"^RNN\('tanh'\): missing parameter 'w_hh' for rnn_type 'tanh'$"),
    (lambda p: p.update(w_hr=np.zeros((4, 4))), r"^RNN\('tanh'\): unknown parameter\(s\) \['w_hr'\]"),
    (lambda p: p.update(b_h=np.zeros(5)), r"^RNN\('tanh'\): parameter 'b_h' has shape \(5,\), expected \(4,\)$"),
    (lambda p: p.update(w_out=np.full((4, 3), np.nan)), r"^RNN\('tanh'\): parameter 'w_out' contains NaN"),
])
def test_a_network_from_given_weights_is_checked_against_the_cell(change, message):
    params = {k: np.asarray(v) for k, v in RNN.init("tanh", 3, 4, 3).params.items()}
    change(params)
    with pytest.raises(ValueError, match=message):
        RNN("tanh", params)


def test_a_network_from_given_weights_keeps_them_as_float32_and_defaults_h0():
    params = {k: np.asarray(v, np.float64) for k, v in RNN.init("gru", 2, 3, 2, seed=1).params.items()
              if k != "h0"}
    rnn = RNN("gru", params)
    assert rnn.params["h0"].shape == (3,) and not np.any(rnn.params["h0"])
    assert all(v.dtype == np.float32 for v in rnn.params.values())
    np.testing.assert_array_equal(rnn.params["w_hn"], params["w_hn"].astype(np.float32))
