"""Recurrent cells as pure functions over parameter pytrees, and the `RNN` wrapper.

Row-vector convention (as in the seed tutorial): a state is ``h[d]`` or ``h_bxd``,
an input ``u[m]`` or ``u_bxm``, and weights multiply from the right.

* tanh:  h' = tanh(u @ w_ih + h @ w_hh + b_h)
* gru:   r = σ(u @ w_ir + h @ w_hr + b_r),  z = σ(u @ w_iz + h @ w_hz + b_z),
         n = tanh(u @ w_in + (r * h) @ w_hn + b_n),  h' = (1 − z) * n + z * h
* lstm:  i, f, o = σ(u @ w_i? + h @ w_h? + b_?),  g = tanh(u @ w_ig + h @ w_hg + b_g),
         c' = f * c + i * g,  h' = o * tanh(c');  the state is concat(h, c) (size 2·n_hidden)

Readout for all: ``y = h @ w_out + b_out`` (for the LSTM, ``h`` is the first half of the state).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .io import (INPUT_WEIGHT, RNN_TYPES, check_param_arrays, check_rnn_type,  # noqa: F401 (public here too)
                 parameter_shapes, state_size)

FAST_COMPILE = {"xla_llvm_disable_expensive_passes": True}
"""XLA options for the project's compiled programs: skipping LLVM's expensive optimisation passes
cuts compile time by about a third on these small programs and changes no result (see bench/)."""

Params = dict[str, jax.Array]


def tanh_step(params: Mapping[str, jax.Array], h: jax.Array, u: jax.Array) -> jax.Array:
    """One vanilla RNN step, h' = tanh(u @ w_ih + h @ w_hh + b_h); shapes [..., d], [..., m]."""
    return jnp.tanh(u @ params["w_ih"] + h @ params["w_hh"] + params["b_h"])


def gru_step(params: Mapping[str, jax.Array], h: jax.Array, u: jax.Array) -> jax.Array:
    """One GRU step (Cho et al. 2014, the reset gate applied before w_hn); shapes [..., d], [..., m]."""
    r = jax.nn.sigmoid(u @ params["w_ir"] + h @ params["w_hr"] + params["b_r"])
    z = jax.nn.sigmoid(u @ params["w_iz"] + h @ params["w_hz"] + params["b_z"])
    n = jnp.tanh(u @ params["w_in"] + (r * h) @ params["w_hn"] + params["b_n"])
    return (1.0 - z) * n + z * h


def lstm_step(params: Mapping[str, jax.Array], state: jax.Array, u: jax.Array) -> jax.Array:
    """One LSTM step on the joint state ``concat(h, c)`` [..., 2n]; returns ``concat(h', c')``."""
    n_hidden = params["w_hi"].shape[0]
    h, c = state[..., :n_hidden], state[..., n_hidden:]

    def gate(name: str) -> jax.Array:
        return u @ params[f"w_i{name}"] + h @ params[f"w_h{name}"] + params[f"b_{name}"]

    i, f, o = jax.nn.sigmoid(gate("i")), jax.nn.sigmoid(gate("f")), jax.nn.sigmoid(gate("o"))
    c_next = f * c + i * jnp.tanh(gate("g"))
    return jnp.concatenate([o * jnp.tanh(c_next), c_next], axis=-1)


STEP_FUNCTIONS: dict[str, Callable] = {"tanh": tanh_step, "gru": gru_step, "lstm": lstm_step}


def readout(params: Mapping[str, jax.Array], state: jax.Array) -> jax.Array:
    """y = h @ w_out + b_out, with ``h`` the first ``n_hidden`` entries of the state [..., d]."""
    n_hidden = params["w_out"].shape[0]
    return state[..., :n_hidden] @ params["w_out"] + params["b_out"]


def _standard_normals(keys: Sequence[jax.Array], shapes: Sequence[tuple]) -> list[jax.Array]:
    """N(0, 1) draws ``jax.random.normal(keys[i], shapes[i])``, bit for bit, fenced off so that XLA cannot
    fuse them with the scaling that follows.

    Fused, the scaling rounds differently from the seed's eager ``normal(k, shape) * scale``; fenced, the
    compiled initialisation gives the eager numbers bit for bit (checked by the tests). The draws are one
    vmapped draw [len(keys), L] of the largest size L, cut and reshaped: with JAX's default partitionable
    threefry, entry j of a draw depends on its key and j alone, so the first entries of a longer draw are
    the shorter draw. One threefry in the program instead of one per weight: a cold initialisation takes
    0.6 instead of 1.1 s for an 8-unit GRU (bench/init_bench.py). Without partitionable threefry the entries
    depend on the draw's size, so each key is drawn apart.
    """
    if not jax.config.jax_threefry_partitionable:
        return [jax.lax.optimization_barrier(jax.random.normal(k, shape)) for k, shape in zip(keys, shapes)]
    sizes = [math.prod(shape) for shape in shapes]
    flat_kxl = jax.lax.optimization_barrier(jax.vmap(lambda k: jax.random.normal(k, (max(sizes),)))(jnp.stack(keys)))
    return [flat_kxl[i, :size].reshape(shape) for i, (size, shape) in enumerate(zip(sizes, shapes))]


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4), compiler_options=FAST_COMPILE)
def init_params(rnn_type: str, key: jax.Array, n_inputs: int, n_hidden: int, n_outputs: int) -> Params:
    """Initial parameters; for tanh and GRU exactly the seed tutorial's ``FlipFlopRNN`` recipe.

    ``k1..k4 = split(key, 4)``; input weights N(0, 0.1²), recurrent weights N(0, 0.5²), biases 0,
    ``w_out = 0.1·N(0,1)`` drawn from k3, ``h0 = 0``. The GRU draws its candidate weights from
    ``k5, k6 = split(k4, 4)[:2]``. The LSTM (not in the seed) uses the same scales with one key per
    weight and a forget-gate bias of 1. One compiled program (eager, every draw would compile apart).
    """
    rnn_type = check_rnn_type(rnn_type)
    m, n = n_inputs, n_hidden
    k1, k2, k3, k4 = jax.random.split(key, 4)
    if rnn_type == "tanh":
        keys = {"w_ih": k1, "w_hh": k2}
        biases = {"b_h": 0.0}
    elif rnn_type == "gru":
        k5, k6, _, _ = jax.random.split(k4, 4)
        keys = {"w_ir": k1, "w_hr": k2, "w_iz": k3, "w_hz": k4, "w_in": k5, "w_hn": k6}
        biases = {"b_r": 0.0, "b_z": 0.0, "b_n": 0.0}
    else:
        keys = dict(zip((f"w_{side}{g}" for g in "ifgo" for side in "ih"), jax.random.split(k1, 8)))
        biases = {f"b_{g}": 1.0 if g == "f" else 0.0 for g in "ifgo"}
    # input weights w_i* [m, n] at scale 0.1, recurrent weights w_h* [n, n] at 0.5; w_out from k3
    shapes = [(m, n) if name.startswith("w_i") else (n, n) for name in keys]
    *weights, w_out = _standard_normals([*keys.values(), k3], [*shapes, (n, n_outputs)])
    params = {name: w * (0.1 if name.startswith("w_i") else 0.5) for name, w in zip(keys, weights)}
    params.update({name: jnp.full(n, value) for name, value in biases.items()})
    params["w_out"] = w_out * 0.1
    params["b_out"] = jnp.zeros(n_outputs)
    params["h0"] = jnp.zeros(state_size(rnn_type, n))
    return {name: jnp.asarray(value, jnp.float32) for name, value in params.items()}


def run_rnn(rnn_type: str, params: Mapping[str, jax.Array], inputs_bxtxm: jax.Array,
            h0_bxd: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Run a cell over time with ``lax.scan``: ([b,t,m], [b,d]) → (outputs [b,t,out], states [b,t,d])."""
    step = STEP_FUNCTIONS[rnn_type]

    def scan_step(h_bxd, u_bxm):
        h_next = step(params, h_bxd, u_bxm)
        return h_next, (readout(params, h_next), h_next)

    _, (outputs_txbxo, states_txbxd) = jax.lax.scan(scan_step, h0_bxd, jnp.swapaxes(inputs_bxtxm, 0, 1))
    return jnp.swapaxes(outputs_txbxo, 0, 1), jnp.swapaxes(states_txbxd, 0, 1)


_run_rnn_jit = jax.jit(run_rnn, static_argnums=0, compiler_options=FAST_COMPILE)


@jax.tree_util.register_pytree_node_class
class RNN:
    """A recurrent network: ``rnn_type`` plus a parameter dict (a JAX pytree).

    ``RNN(rnn_type, params)`` builds one from given weights (your own network), checked against the
    cell: ``params`` must hold exactly the names of `parameter_shapes` (``h0`` may be left out: zeros),
    with consistent shapes and finite values — tanh: ``w_ih`` [m, n], ``w_hh`` [n, n], ``b_h`` [n];
    GRU: ``w_ir, w_iz, w_in`` [m, n], ``w_hr, w_hz, w_hn`` [n, n], ``b_r, b_z, b_n`` [n]; LSTM:
    ``w_ii, w_if, w_ig, w_io`` [m, n], ``w_hi, w_hf, w_hg, w_ho`` [n, n], ``b_i, b_f, b_g, b_o`` [n]; and for
    all ``w_out`` [n, out], ``b_out`` [out]. Anything else raises one ValueError naming the parameter.
    The weights are stored as float32. `RNN.init` draws fresh weights.

    ``rnn(inputs[b,t,m], hidden[b,d]=None)`` follows the seed's contract: for ``t > 1`` it returns
    (outputs [b,t,out], states [b,t,d]); for ``t == 1`` it returns (outputs [b,1,out], h_next [b,d]),
    which is what a fixed-point finder calls.
    """

    def __init__(self, rnn_type: str, params: Mapping[str, jax.Array]):
        self.rnn_type = check_rnn_type(rnn_type)
        self.params = params_from_arrays(self.rnn_type, params, source=f"RNN({self.rnn_type!r})")

    @classmethod
    def init(cls, rnn_type: str, n_inputs: int, n_hidden: int, n_outputs: int, seed: int = 0) -> RNN:
        """A freshly initialised network; the weights depend only on (rnn_type, sizes, seed)."""
        rnn_type = check_rnn_type(rnn_type)
        for name, value in (("n_inputs", n_inputs), ("n_hidden", n_hidden), ("n_outputs", n_outputs)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        key = jax.random.PRNGKey(int(seed))
        return cls(rnn_type, init_params(rnn_type, key, int(n_inputs), int(n_hidden), int(n_outputs)))

    # -- sizes --------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return int(self._input_weight().shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.params["w_out"].shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.params["w_out"].shape[1])

    @property
    def state_size(self) -> int:
        return state_size(self.rnn_type, self.n_hidden)

    def _input_weight(self) -> jax.Array:
        return self.params[INPUT_WEIGHT[self.rnn_type]]

    # -- dynamics -----------------------------------------------------------------------------
    def step(self, h: jax.Array, u: jax.Array) -> jax.Array:
        """F(h, u): the next state, for one state [d] or a batch [b, d]."""
        return STEP_FUNCTIONS[self.rnn_type](self.params, h, u)

    def __call__(self, inputs, hidden=None):
        inputs = jnp.asarray(inputs, jnp.float32)
        if inputs.ndim != 3 or inputs.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must have shape [batch, time, {self.n_inputs}], got {tuple(inputs.shape)}")
        batch, n_time = inputs.shape[0], inputs.shape[1]
        if hidden is None:
            h = np.broadcast_to(np.asarray(self.params["h0"]), (batch, self.state_size))   # on the host: no program
        else:
            h = jnp.asarray(hidden, jnp.float32)
            if h.shape != (batch, self.state_size):
                raise ValueError(f"hidden must have shape [{batch}, {self.state_size}], got {tuple(h.shape)}")
        outputs, states = _run_rnn_jit(self.rnn_type, self.params, inputs, h)
        if n_time == 1:
            return outputs, states[:, 0, :]
        return outputs, states

    # -- pytree -------------------------------------------------------------------------------
    def tree_flatten(self):
        names = tuple(sorted(self.params))
        return tuple(self.params[k] for k in names), (self.rnn_type, names)

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        rnn_type, names = aux
        obj = object.__new__(cls)
        obj.rnn_type, obj.params = rnn_type, dict(zip(names, leaves))
        return obj

    def __repr__(self) -> str:
        return (f"RNN(rnn_type={self.rnn_type!r}, n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, "
                f"n_outputs={self.n_outputs})")


def params_from_arrays(rnn_type: str, arrays: Mapping[str, np.ndarray], source: str = "params") -> Params:
    """`fixedpoints.io.check_param_arrays` (shapes of ``rnn_type``, finite values) as float32 JAX arrays.

    Raises ValueError naming ``source`` and the offending key when a parameter is missing,
    unknown, or of an inconsistent shape.
    """
    # device_put: jnp.asarray of a numpy array compiles a small program per shape (JAX 0.10), device_put none
    return {name: jax.device_put(value) for name, value in check_param_arrays(rnn_type, arrays, source).items()}
