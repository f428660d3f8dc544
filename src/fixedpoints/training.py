"""Training an `RNN` on a sequence task with optax Adam, compiled a chunk of epochs at a time.

Loss: mean squared error over trials, time and outputs, L = mean((y − y_target)²), as in the seed.
Each epoch shuffles the training trials with a permutation drawn from ``np.random.RandomState(seed)``
and takes ``n_train // batch_size`` mini-batches (the remainder is dropped, as in the seed). The
epoch's training loss is the mean of its mini-batch losses, each measured before its update.
Training stops at the first epoch whose loss is below ``min_loss`` (converged), at ``max_epochs``,
or at the first non-finite loss (diverged: the parameters of the last finite epoch are kept).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from typing import NamedTuple
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .models import FAST_COMPILE, RNN, run_rnn
from .settings import setting, validate, values


@dataclasses.dataclass(kw_only=True, frozen=True)
class TrainingSettings:
    """The training of one run: Adam on the mean squared error, stopped at a loss target."""

    learning_rate: float = setting(0.08, "Adam step size", gt=0)
    batch_size: int = setting(128, "trials per mini-batch (at most the number of training trials)", ge=1)
    max_epochs: int = setting(1000, "stop after this many epochs", ge=1)
    min_loss: float = setting(1e-4, "loss target: stop once an epoch's loss is below this (0: never)", ge=0)
    eval_every: int = setting(10, "epochs between validation losses and progress lines", ge=1)
    clip_norm: float = setting(0.0, "clip gradients to this global norm (0: off)", ge=0)

    def __post_init__(self):
        validate(self)


@dataclasses.dataclass
class TrainingHistory:
    """What a training run did: per-epoch training loss, periodic validation loss and flags."""

    train_loss: np.ndarray          # [epochs]
    valid_loss: np.ndarray          # [k]
    valid_epoch: np.ndarray         # [k], the epoch index (0-based) of each validation loss
    epochs: int
    converged: bool
    diverged: bool
    wall_s: float
    hyperparameters: dict

    @property
    def final_train_loss(self) -> float:
        return float(self.train_loss[-1]) if len(self.train_loss) else float("nan")

    @property
    def final_valid_loss(self) -> float:
        return float(self.valid_loss[-1]) if len(self.valid_loss) else float("nan")


class EpochCarry(NamedTuple):
    """Loop state of the compiled epoch loop."""

    params: dict
    opt_state: optax.OptState
    stopped: jax.Array      # bool: converged or diverged in an earlier epoch of this chunk


def mse_loss(rnn_type: str, params: Mapping[str, jax.Array], inputs_bxtxm: jax.Array,
             targets_bxtxo: jax.Array) -> jax.Array:
    """Mean squared error of the network's outputs, from its learned initial state ``h0``."""
    h0_bxd = jnp.broadcast_to(params["h0"], (inputs_bxtxm.shape[0], params["h0"].shape[0]))
    outputs, _ = run_rnn(rnn_type, params, inputs_bxtxm, h0_bxd)
    return jnp.mean((outputs - targets_bxtxo) ** 2)


def make_optimizer(learning_rate: float, clip_norm: float = 0.0) -> optax.GradientTransformation:
    """Adam(learning_rate), preceded by global-norm clipping at ``clip_norm`` when it is > 0."""
    adam = optax.adam(learning_rate)
    return optax.chain(optax.clip_by_global_norm(clip_norm), adam) if clip_norm > 0 else adam


@functools.lru_cache(maxsize=32)
def make_epoch_chunk(rnn_type: str, learning_rate: float, clip_norm: float, min_loss: float):
    """A jitted function running a chunk of epochs, then measuring the validation loss:
    (carry, inputs, targets, batch_idx_exbxs, n_active, valid_inputs, valid_targets) → (carry, losses_e, valid_loss).

    ``batch_idx_exbxs[e, b]`` are the trial indices of mini-batch ``b`` of epoch ``e``; only the first
    ``n_active`` epochs run (so every chunk has the same shape and compiles once). Once an epoch
    converges (loss < min_loss) or diverges (non-finite loss), later epochs of the chunk leave the
    parameters unchanged and report NaN; a diverged epoch also rolls back its own updates. Cached per
    hyperparameters, so repeated training runs reuse the compiled function.
    """
    optimizer = make_optimizer(learning_rate, clip_norm)
    loss_and_grad = jax.value_and_grad(lambda p, u, y: mse_loss(rnn_type, p, u, y))

    def batch_step(state, batch_idx_s):
        params, opt_state, inputs, targets = state
        loss, grads = loss_and_grad(params, inputs[batch_idx_s], targets[batch_idx_s])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, inputs, targets), loss

    def epoch_step(carry_and_data, epoch_and_batches):
        carry, inputs, targets, n_active = carry_and_data
        epoch, batch_idx_bxs = epoch_and_batches

        def run_epoch(c):
            (params, opt_state, _, _), losses = jax.lax.scan(
                batch_step, (c.params, c.opt_state, inputs, targets), batch_idx_bxs)
            epoch_loss = jnp.mean(losses)
            finite = jnp.isfinite(epoch_loss) & jnp.all(jnp.array(
                [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(params)]))

            def keep(new, old):
                return jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, old)

            stopped = (~finite) | (epoch_loss < min_loss)
            return EpochCarry(keep(params, c.params), keep(opt_state, c.opt_state), stopped), epoch_loss

        def skip_epoch(c):
            return c, jnp.float32(jnp.nan)

        carry, epoch_loss = jax.lax.cond(carry.stopped | (epoch >= n_active), skip_epoch, run_epoch, carry)
        return (carry, inputs, targets, n_active), epoch_loss

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def run_chunk(carry, inputs, targets, batch_idx_exbxs, n_active, valid_inputs, valid_targets):
        epochs = jnp.arange(batch_idx_exbxs.shape[0])
        (carry, *_), losses = jax.lax.scan(epoch_step, (carry, inputs, targets, n_active),
                                           (epochs, batch_idx_exbxs))
        return carry, losses, mse_loss(rnn_type, carry.params, valid_inputs, valid_targets)

    return run_chunk


def epoch_batches(rng: np.random.RandomState, n_epochs: int, n_train: int, batch_size: int) -> np.ndarray:
    """Trial indices [n_epochs, n_batches, batch_size]: one fresh permutation per epoch."""
    n_batches = n_train // batch_size
    perms = np.stack([rng.permutation(n_train) for _ in range(n_epochs)])
    return perms[:, : n_batches * batch_size].reshape(n_epochs, n_batches, batch_size).astype(np.int32)


def train(rnn: RNN, train_data: Mapping[str, np.ndarray], valid_data: Mapping[str, np.ndarray], *, seed: int = 0,
          verbose: bool = True, **settings) -> tuple[RNN, TrainingHistory]:
    """Train ``rnn`` by Adam on the MSE loss; returns the trained network and its `TrainingHistory`.

    ``train_data`` / ``valid_data``: ``{"inputs": [n,t,m], "targets": [n,t,out]}``; ``settings``: any field
    of `TrainingSettings` (learning_rate=0.08, batch_size=128, max_epochs=1000, min_loss=1e-4,
    eval_every=10, clip_norm=0.0); ``seed`` orders the mini-batches. Epochs run in compiled chunks of
    ``eval_every``; after each chunk the validation loss is computed and, if ``verbose``, one progress
    line goes to stderr. Same inputs and seed → same weights, bit for bit.
    """
    config = TrainingSettings(**settings)
    learning_rate, batch_size, max_epochs = config.learning_rate, config.batch_size, config.max_epochs
    min_loss, eval_every, clip_norm = config.min_loss, config.eval_every, config.clip_norm
    inputs = jnp.asarray(train_data["inputs"], jnp.float32)
    targets = jnp.asarray(train_data["targets"], jnp.float32)
    valid_inputs = jnp.asarray(valid_data["inputs"], jnp.float32)
    valid_targets = jnp.asarray(valid_data["targets"], jnp.float32)
    check_training_data(rnn, inputs, targets, batch_size)
    hyperparameters = {**values(config), "seed": int(seed)}
    start = time.perf_counter()
    optimizer = make_optimizer(float(learning_rate), float(clip_norm))
    run_chunk = make_epoch_chunk(rnn.rnn_type, float(learning_rate), float(clip_norm), float(min_loss))
    rng = np.random.RandomState(seed)
    carry = jax.jit(lambda p: EpochCarry(p, optimizer.init(p), jnp.bool_(False)),
                    compiler_options=FAST_COMPILE)(dict(rnn.params))
    train_losses: list[float] = []
    valid_losses: list[float] = []
    valid_epochs: list[int] = []
    converged = diverged = False
    while len(train_losses) < max_epochs and not (converged or diverged):
        n_active = min(eval_every, max_epochs - len(train_losses))
        batch_idx = jax.device_put(epoch_batches(rng, eval_every, inputs.shape[0], batch_size))
        carry, losses, valid_loss = run_chunk(carry, inputs, targets, batch_idx, n_active, valid_inputs,
                                              valid_targets)
        for loss in np.asarray(losses[:n_active], np.float64):
            train_losses.append(float(loss))
            if not np.isfinite(loss):
                diverged = True
                break
            if loss < min_loss:
                converged = True
                break
        valid_losses.append(float(valid_loss))
        valid_epochs.append(len(train_losses) - 1)
        if verbose:
            print(f"epoch {len(train_losses) - 1:5d}  train_loss {train_losses[-1]:.4e}  valid_loss "
                  f"{valid_losses[-1]:.4e}", file=sys.stderr, flush=True)
    history = TrainingHistory(
        train_loss=np.asarray(train_losses), valid_loss=np.asarray(valid_losses),
        valid_epoch=np.asarray(valid_epochs, np.int64), epochs=len(train_losses), converged=converged,
        diverged=diverged, wall_s=time.perf_counter() - start, hyperparameters=hyperparameters)
    if verbose:
        status = "converged" if converged else "DIVERGED" if diverged else "reached max_epochs"
        print(f"training {status} after {history.epochs} epochs in {history.wall_s:.2f} s", file=sys.stderr)
    return RNN(rnn.rnn_type, jax.device_get(carry.params)), history


def check_training_data(rnn: RNN, inputs, targets, batch_size: int) -> None:
    """Raise ValueError when the training arrays do not fit the network or hold fewer trials than a batch."""
    if inputs.ndim != 3 or inputs.shape[2] != rnn.n_inputs:
        raise ValueError(f"training inputs must have shape [trials, time, {rnn.n_inputs}], got {inputs.shape}")
    if targets.shape != inputs.shape[:2] + (rnn.n_outputs,):
        raise ValueError(f"training targets must have shape {inputs.shape[:2] + (rnn.n_outputs,)}, "
                         f"got {targets.shape}")
    if batch_size > inputs.shape[0]:
        raise ValueError(f"batch_size must be at most the number of training trials ({inputs.shape[0]}), "
                         f"got {batch_size!r}")
