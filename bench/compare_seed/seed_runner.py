"""The seed tutorial's pipeline, run with the seed's own library (canns 1.5.0 on BrainPy).

Runs under bench/compare_seed/.venv (made by setup_env.sh), never under the project's venv, and
imports nothing from ``fixedpoints``. Written from the tutorial's description, not copied from it:

* data: N-bit FlipFlop trials from ``np.random.RandomState(seed)`` (pulses with probability p, a
  pulse on every bit at t = 0, random signs; the target holds the sign of the latest pulse);
  512 training, 128 validation, 128 test trials of 64 steps, drawn in that order;
* model: the tutorial's ``FlipFlopRNN`` as a ``bp.DynamicalSystem``, ``--rnn-type`` tanh (h' =
  tanh(u @ w_ih + h @ w_hh + b_h)) or gru (reset gate before w_hn), y = h @ w_out + b_out, with the
  tutorial's initialisation (``k1..k4 = split(PRNGKey(seed), 4)``, input weights ~ 0.1·N(0,1),
  recurrent ~ 0.5·N(0,1) (times ``--recurrent-scale``), w_out ~ 0.1·N(0,1) from k3, zero biases
  and h0; the GRU's candidate weights from ``split(k4, 4)[:2]``) and the finder's calling contract
  ``model(inputs[n,1,m], hidden[n,d]) -> (outputs, h_next)``;
* training: BrainPy's Adam over the model's Variables, learning rate ``--learning-rate`` (the
  seed's 0.08), batches of 128 from a fresh ``np.random.permutation`` per epoch (global NumPy seed =
  seed), MSE loss, stop when the epoch's mean batch loss < 1e-4 or at ``max_epochs``; one jitted
  loss-and-gradient function;
* fixed points: ``canns.analyzer.slow_points.FixedPointFinder`` with the seed's settings
  (``--n-inits`` starts), started from the test-set hidden trajectories, at constant input u = 0;
* figures (``--figures DIR``): the tutorial's 2-D and 3-D PCA figures of the run, saved as PNG.

With ``--network FILE`` (an .npz with the project's trained parameters, ``test_inputs`` [b,t,m]
and the project's ``hiddens`` [b,t,d]) it also loads those weights into a second BrainPy model
and runs the same finder on the given trajectories, so both finders can be compared on identical
networks.

    python seed_runner.py --n-bits 3 --n-hidden 4 --seed 0 --out seed.npz [--network ours.npz]

Writes ``--out`` (.npz): timings ``train_s``, ``find_s``, ``figures_s``, ``run_s`` (data + model +
training + trajectories + search + figures, in this process), training ``epochs`` and
``final_loss``; for each search (prefix ``own_`` on its own network, ``net_`` on the given one)
``xstar`` [n,d], ``qstar`` [n], ``is_stable`` [n], ``n_unstable`` [n] (number of Jacobian
eigenvalues with |λ| > 1) and ``n_iters``; ``net_find_s`` and ``net_replay_max_abs_diff`` (given
trajectories vs this model's replay of them); ``data_sha256`` and ``init_sha256``, digests of the
data and initial weights (our_runner.py writes the same). Progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings

import numpy as np

import brainpy as bp
import brainpy.math as bm
import jax
import jax.numpy as jnp
from canns.analyzer.slow_points import FixedPointFinder

from seed_settings import SEED_FINDER_SETTINGS, SEED_SEARCH_SETTINGS, digest, param_names, run_parser


def log(message: str) -> None:
    print(f"[seed] {message}", file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------------
def flipflop_trials(rng: np.random.RandomState, n_trials: int, n_time: int, n_bits: int,
                    p: float) -> dict[str, np.ndarray]:
    """One block of FlipFlop trials: inputs in {-1, 0, +1}, targets = sign of the latest pulse."""
    size = (n_trials, n_time, n_bits)
    pulse = rng.binomial(1, p, size)
    pulse[:, 0, :] = 1
    sign = rng.binomial(1, 0.5, size) * 2 - 1
    inputs = (pulse * sign).astype(np.float32)
    targets = np.empty_like(inputs)
    held = np.zeros((n_trials, n_bits), np.float32)
    for t in range(n_time):
        held = np.where(inputs[:, t, :] != 0, inputs[:, t, :], held)
        targets[:, t, :] = held
    return {"inputs": inputs, "targets": targets}


# -- model --------------------------------------------------------------------------------------
class FlipFlopRNN(bp.DynamicalSystem):
    """The tutorial's tanh or GRU RNN as a BrainPy system, with the seed's contract for the finder."""

    def __init__(self, rnn_type: str, n_inputs: int, n_hidden: int, n_outputs: int, seed: int,
                 recurrent_scale: float = 1.0):
        super().__init__()
        self.rnn_type = rnn_type
        k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(seed), 4)
        m, n = n_inputs, n_hidden
        if rnn_type == "tanh":
            weights = {"w_ih": jax.random.normal(k1, (m, n)) * 0.1, "w_hh": jax.random.normal(k2, (n, n)) * 0.5,
                       "b_h": jnp.zeros(n)}
        else:
            k5, k6, _, _ = jax.random.split(k4, 4)
            weights = {"w_ir": jax.random.normal(k1, (m, n)) * 0.1, "w_hr": jax.random.normal(k2, (n, n)) * 0.5,
                       "w_iz": jax.random.normal(k3, (m, n)) * 0.1, "w_hz": jax.random.normal(k4, (n, n)) * 0.5,
                       "w_in": jax.random.normal(k5, (m, n)) * 0.1, "w_hn": jax.random.normal(k6, (n, n)) * 0.5,
                       "b_r": jnp.zeros(n), "b_z": jnp.zeros(n), "b_n": jnp.zeros(n)}
        weights.update(w_out=jax.random.normal(k3, (n, n_outputs)) * 0.1, b_out=jnp.zeros(n_outputs), h0=jnp.zeros(n))
        for name, value in weights.items():
            if name.startswith("w_h") and recurrent_scale != 1.0:
                value = value * recurrent_scale
            setattr(self, name, bm.Variable(value))

    def values(self) -> dict[str, jax.Array]:
        return {name: getattr(self, name).value for name in param_names(self.rnn_type)}

    def __call__(self, inputs, hidden=None):
        p = self.values()
        h = jnp.broadcast_to(p["h0"], (inputs.shape[0], p["h0"].shape[0])) if hidden is None else hidden
        if inputs.shape[1] == 1:
            h_next = CELLS[self.rnn_type](p, h, inputs[:, 0, :])
            return (h_next @ p["w_out"] + p["b_out"])[:, None, :], h_next
        outputs, hiddens = unroll(self.rnn_type, p, inputs, h)
        return outputs, hiddens


def tanh_cell(p, h, u):
    return jnp.tanh(u @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])


def gru_cell(p, h, u):
    r = jax.nn.sigmoid(u @ p["w_ir"] + h @ p["w_hr"] + p["b_r"])
    z = jax.nn.sigmoid(u @ p["w_iz"] + h @ p["w_hz"] + p["b_z"])
    n = jnp.tanh(u @ p["w_in"] + (r * h) @ p["w_hn"] + p["b_n"])
    return (1 - z) * n + z * h


CELLS = {"tanh": tanh_cell, "gru": gru_cell}


def unroll(rnn_type, p, inputs_bxtxm, h_bxd):
    """(outputs [b,t,out], hiddens [b,t,d]) over the whole sequence, by lax.scan over time."""
    def step(h, u):
        h = CELLS[rnn_type](p, h, u)
        return h, (h @ p["w_out"] + p["b_out"], h)
    _, (y, hs) = jax.lax.scan(step, h_bxd, jnp.swapaxes(inputs_bxtxm, 0, 1))
    return jnp.swapaxes(y, 0, 1), jnp.swapaxes(hs, 0, 1)


# -- training -----------------------------------------------------------------------------------
def train(model: FlipFlopRNN, train_data, valid_data, *, learning_rate=0.08, batch_size=128,
          max_epochs=1000, min_loss=1e-4) -> tuple[int, float]:
    """The tutorial's training loop on BrainPy's Adam; returns (epochs run, last epoch loss)."""
    full_names = {name.split(".")[-1]: name for name, var in model.vars().items()
                  if isinstance(var, bm.Variable)}
    train_vars = {full_names[k]: getattr(model, k) for k in param_names(model.rnn_type)}
    optimizer = bp.optimizers.Adam(lr=learning_rate, train_vars=train_vars)
    u_train, y_train = jnp.asarray(train_data["inputs"]), jnp.asarray(train_data["targets"])
    u_valid, y_valid = jnp.asarray(valid_data["inputs"]), jnp.asarray(valid_data["targets"])

    def batch_loss(p, u, y):
        h0 = jnp.broadcast_to(p["h0"], (u.shape[0], p["h0"].shape[0]))
        return jnp.mean((unroll(model.rnn_type, p, u, h0)[0] - y) ** 2)

    loss_and_grad = jax.jit(jax.value_and_grad(batch_loss))
    n_train = u_train.shape[0]
    n_batches = n_train // batch_size
    epoch_loss = float("nan")
    for epoch in range(max_epochs):
        order = np.random.permutation(n_train)
        total = 0.0
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss, grads = loss_and_grad(model.values(), u_train[idx], y_train[idx])
            optimizer.update({full_names[k]: g for k, g in grads.items()})
            total += float(loss)
        epoch_loss = total / n_batches
        if epoch % 50 == 0:
            valid = float(jnp.mean((model(u_valid)[0] - y_valid) ** 2))
            log(f"epoch {epoch:4d}  train_loss {epoch_loss:.4e}  valid_loss {valid:.4e}")
        if epoch_loss < min_loss:
            return epoch + 1, epoch_loss
    return max_epochs, epoch_loss


# -- fixed points -------------------------------------------------------------------------------
def find(model: FlipFlopRNN, hiddens: np.ndarray, n_bits: int, n_inits: int, verbose: bool) -> tuple[dict, float]:
    """canns' FixedPointFinder with the seed's settings; returns (arrays, seconds)."""
    start = time.perf_counter()
    finder = FixedPointFinder(model, verbose=verbose, super_verbose=False, **SEED_FINDER_SETTINGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # canns warns about n_inits > 1000 with joint
        unique, _ = finder.find_fixed_points(state_traj=np.asarray(hiddens, np.float32),
                                             inputs=np.zeros((1, n_bits), np.float32),
                                             **{**SEED_SEARCH_SETTINGS, "n_inits": n_inits})
    seconds = time.perf_counter() - start
    d = hiddens.shape[-1]
    if unique.n == 0:
        return dict(xstar=np.zeros((0, d), np.float32), qstar=np.zeros(0, np.float32),
                    is_stable=np.zeros(0, bool), n_unstable=np.zeros(0, np.int64),
                    n_iters=np.int64(0)), seconds, unique
    n_unstable = np.sum(np.abs(unique.eigval_J_xstar) > 1.0, axis=1).astype(np.int64)
    return dict(xstar=np.asarray(unique.xstar, np.float32), qstar=np.asarray(unique.qstar, np.float32),
                is_stable=np.asarray(unique.is_stable, bool), n_unstable=n_unstable,
                n_iters=np.int64(np.max(unique.n_iters))), seconds, unique


def draw_figures(unique, hiddens: np.ndarray, folder: str) -> None:
    """The tutorial's two figures of a run (section 4.4): fixed points and trajectories on the first two
    and three principal components, saved as PNG (canns' PlotConfig: 300 dpi) instead of shown."""
    from canns.analyzer.slow_points import plot_fixed_points_2d, plot_fixed_points_3d
    from canns.analyzer.visualization import PlotConfig
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    plot_fixed_points_2d(unique, hiddens, config=PlotConfig(
        title="FlipFlop Fixed Points (2D PCA)", xlabel="PC 1", ylabel="PC 2", figsize=(10, 8), show=False,
        save_path=os.path.join(folder, "fixed_points_2d.png")))
    plot_fixed_points_3d(unique, hiddens, config=PlotConfig(
        title="FlipFlop Fixed Points (3D PCA)", figsize=(12, 10), show=False,
        save_path=os.path.join(folder, "fixed_points_3d.png")), plot_batch_idx=list(range(30)), plot_start_time=10)
    plt.close("all")


def main(argv=None) -> int:
    parser = run_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--network", default=None, help="project-trained network and trajectories (.npz)")
    parser.add_argument("--skip-pipeline", action="store_true",
                        help="only run the finder on --network (no training of its own)")
    parser.add_argument("--verbose", action="store_true", help="let canns print its progress (to stderr)")
    parser.add_argument("--figures", default=None, metavar="DIR",
                        help="also draw the tutorial's 2-D and 3-D PCA figures of its own run into DIR (timed "
                             "as figures_s, part of run_s)")
    args = parser.parse_args(argv)
    result: dict[str, np.ndarray] = {}
    # canns prints to stdout; keep stdout clean for callers and send its chatter to stderr
    with contextlib.redirect_stdout(sys.stderr if args.verbose else open(os.devnull, "w")):
        if not args.skip_pipeline:
            start = time.perf_counter()
            np.random.seed(args.seed)
            rng = np.random.RandomState(args.seed)
            train_data, valid_data, test_data = (flipflop_trials(rng, n, 64, args.n_bits, 0.5)
                                                 for n in (512, 128, 128))
            model = FlipFlopRNN(args.rnn_type, args.n_bits, args.n_hidden, args.n_bits, args.seed, args.recurrent_scale)
            init_sha = digest(model.values()[k] for k in param_names(args.rnn_type))
            t0 = time.perf_counter()
            epochs, final_loss = train(model, train_data, valid_data, max_epochs=args.max_epochs,
                                       learning_rate=args.learning_rate)
            train_s = time.perf_counter() - t0
            log(f"trained {epochs} epochs in {train_s:.1f} s, final loss {final_loss:.3e}")
            hiddens = np.asarray(model(jnp.asarray(test_data["inputs"]))[1])
            own, find_s, own_unique = find(model, hiddens, args.n_bits, args.n_inits, args.verbose)
            t1 = time.perf_counter()
            if args.figures:
                draw_figures(own_unique, hiddens, args.figures)
            figures_s = time.perf_counter() - t1
            run_s = time.perf_counter() - start
            log(f"own network: {len(own['qstar'])} fixed points ({int(own['is_stable'].sum())} stable) "
                f"in {find_s:.1f} s")
            data_sha = digest([d[k] for d in (train_data, valid_data, test_data) for k in ("inputs", "targets")])
            result.update(train_s=train_s, find_s=find_s, figures_s=figures_s, run_s=run_s, epochs=epochs,
                          final_loss=final_loss,
                          data_sha256=data_sha, init_sha256=init_sha,
                          **{f"own_{k}": v for k, v in own.items()})
        if args.network:
            with np.load(args.network) as f:
                given = {k: f[k] for k in f.files}
            model = FlipFlopRNN(args.rnn_type, args.n_bits, args.n_hidden, args.n_bits, args.seed)
            for name in param_names(args.rnn_type):
                var = getattr(model, name)
                if given[name].shape != var.value.shape:
                    raise ValueError(f"{args.network}: {name} has shape {given[name].shape}, "
                                     f"expected {var.value.shape}")
                var.value = jnp.asarray(given[name], jnp.float32)
            replayed = np.asarray(model(jnp.asarray(given["test_inputs"]))[1])
            mismatch = float(np.max(np.abs(replayed - given["hiddens"])))
            net, net_s, _ = find(model, given["hiddens"], args.n_bits, args.n_inits, args.verbose)
            log(f"given network: {len(net['qstar'])} fixed points ({int(net['is_stable'].sum())} stable) "
                f"in {net_s:.1f} s (replayed trajectories differ by {mismatch:.1e})")
            result.update(net_find_s=net_s, net_replay_max_abs_diff=mismatch,
                          **{f"net_{k}": v for k, v in net.items()})
    from importlib.metadata import version
    result["versions"] = f"canns {version('canns')}, brainpy {version('brainpy')}, jax {jax.__version__}"
    np.savez(args.out, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
