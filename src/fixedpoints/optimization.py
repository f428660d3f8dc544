"""Minimising q(x) = ½‖F(x, u) − x‖² from many starts with Adam, in one compiled loop.

Sussillo & Barak (2013); the learning-rate and clipping rules of Golub & Sussillo (2018),
"FixedPointFinder", JOSS 3(31):1003.

The starts are arranged as G groups of g (``joint``: G = 1 group of all n starts minimising the mean
of their q with one Adam state and learning rate; ``sequential``: n groups of one, each with its own
Adam state, learning rate, clipping history and stop, so a start gives what it gives alone). Every
start carries its own stop: q < tol_q, |Δq| < tol_dq·lr, a non-finite q, or a *stall*: at the end of
each window of ``stall_window`` of its steps, q did not at least halve over the window, or falling at
that rate it would not reach tol_q before ``max_iters`` (a start that drifted into a saturated region,
or sits at a slow point whose q has a positive minimum, stops there instead of running to
``max_iters``; Newton polishes what the optimiser leaves close to a root). Stopped starts keep their
state; the loop ends when all have stopped.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from typing import NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax


def q_single(step: Callable, params, x, u):
    """q(x) = ½‖F(x, u) − x‖² and F(x, u) for one state x [d] and input u [m]."""
    F = step(params, x, u)
    return 0.5 * jnp.sum((F - x) ** 2), F


@partial(jax.jit, static_argnums=0)
def evaluate(step: Callable, params, x_nxd, u_nxm):
    """(F [n, d], q [n]) at every state."""
    q, F = jax.vmap(partial(q_single, step), (None, 0, 0))(params, x_nxd, u_nxm)
    return F, q


class GroupState(NamedTuple):
    """Optimiser state of G groups of g starts (joint: G=1, g=n; sequential: G=n, g=1)."""

    x: jax.Array            # [G, g, d]
    adam: optax.ScaleByAdamState
    lr: jax.Array           # [G]
    obj_hist: jax.Array     # [G, lr_patience + 1], newest last (NaN before it is filled)
    since_change: jax.Array  # [G] steps since the last change of lr
    norm_hist: jax.Array    # [G, clip_window] last gradient norms, oldest first (NaN before filled)
    norm_sorted: jax.Array  # [G, clip_window] the same norms in ascending order (+inf before filled)
    q: jax.Array            # [G, g] q at the newest evaluated point
    dq: jax.Array           # [G, g] |Δq| of the newest step
    q_ref: jax.Array        # [G, g] q at the start of the current stall window
    n_iters: jax.Array      # [G, g] optimiser steps taken
    done: jax.Array         # [G, g] stopped


class Hyper(NamedTuple):
    """The traced scalars of the loop (changing them does not recompile)."""

    tol_q: jax.Array
    tol_dq: jax.Array
    lr_factor: jax.Array
    lr_cooldown: jax.Array
    clip_percentile: jax.Array
    stall_window: jax.Array
    max_iters: jax.Array


@partial(jax.jit, static_argnums=(3, 4))
def init_state(x_Gxgxd, done_Gxg, lr_init, patience: int, window: int) -> GroupState:
    """The state before the first step: every start at its x, Adam moments zero, histories empty."""
    G, g, _ = x_Gxgxd.shape
    dtype = x_Gxgxd.dtype
    nan = jnp.full((G,), jnp.nan, dtype)
    return GroupState(
        x=x_Gxgxd, adam=jax.vmap(optax.scale_by_adam().init)(x_Gxgxd), lr=jnp.full((G,), lr_init, dtype),
        obj_hist=jnp.broadcast_to(nan[:, None], (G, patience + 1)), since_change=jnp.zeros(G, jnp.int32),
        norm_hist=jnp.broadcast_to(nan[:, None], (G, window)),
        norm_sorted=jnp.full((G, window), jnp.inf, dtype), q=jnp.full((G, g), jnp.nan, dtype),
        dq=jnp.full((G, g), jnp.nan, dtype), q_ref=jnp.full((G, g), jnp.inf, dtype),
        n_iters=jnp.zeros((G, g), jnp.int32), done=done_Gxg)


SMALL_STATE = 64
"""States of up to this many dimensions are cheap to pad: batches of them are at least 256 rows (`bucket`)."""


def bucket(n: int, d: int = 1) -> int:
    """Padded batch size, a power of two (at least 256 for states of up to `SMALL_STATE` dimensions, where
    the padding costs little), so that few shapes are ever compiled."""
    return max(256 if d <= SMALL_STATE else 8, 1 << (int(n) - 1).bit_length())


def slide_sorted_window(sorted_w, oldest, newest):
    """Replace ``oldest`` by ``newest`` in the ascending window ``sorted_w`` [W] (+inf marks empty
    slots, NaN ``oldest`` an empty one): two O(W) shifts instead of a sort at every step."""
    W = sorted_w.shape[0]
    idx = jnp.arange(W)
    remove_at = jnp.where(jnp.isnan(oldest), W - 1, jnp.argmax(sorted_w == oldest))
    padded = jnp.concatenate([sorted_w, jnp.full((1,), jnp.inf, sorted_w.dtype)])
    removed = jnp.where(idx >= remove_at, padded[idx + 1], sorted_w)
    insert_at = jnp.sum(removed < newest)
    return jnp.where(idx < insert_at, removed, jnp.where(idx == insert_at, newest, jnp.roll(removed, 1)))


def sorted_percentile(sorted_w, percentile):
    """``np.percentile`` (linear interpolation) of the finite entries of an ascending array."""
    n_valid = jnp.sum(jnp.isfinite(sorted_w))
    position = percentile / 100.0 * jnp.maximum(n_valid - 1, 0).astype(sorted_w.dtype)
    low = jnp.floor(position).astype(jnp.int32)
    high = jnp.minimum(low + 1, jnp.maximum(n_valid - 1, 0))
    weight = position - low
    upper = jnp.where(weight > 0, sorted_w[high], sorted_w[low])
    return sorted_w[low] + weight * (upper - sorted_w[low])


def adapt_learning_rate(lr, obj_hist, since_change, obj, lr_factor, lr_cooldown, running=True):
    """Two-way adaptive learning rate (Golub & Sussillo 2018) → (lr, obj_hist, since_change).

    ``obj_hist`` [P+1] holds the last objectives (newest last; P = lr_patience), ``obj`` is appended.
    Once at least max(P, ``lr_cooldown``) steps passed since the last change: lr ← lr·lr_factor when
    ``obj`` is worse than each of the P before it; lr ← lr / lr_factor when the objective fell at each
    of the last P steps; the step counter restarts after a change.
    """
    obj_hist = jnp.concatenate([obj_hist[1:], jnp.reshape(obj, (1,)).astype(obj_hist.dtype)])
    since = since_change + 1
    ready = (since >= obj_hist.shape[0] - 1) & (since >= lr_cooldown) & running
    worse = obj > jnp.max(obj_hist[:-1])
    falling = jnp.all(jnp.diff(obj_hist) < 0)
    lr = jnp.where(ready & worse, lr * lr_factor, jnp.where(ready & falling, lr / lr_factor, lr))
    return lr, obj_hist, jnp.where(ready & (worse | falling), 0, since)


def stalled(q, q_ref, n_iters, window, tol_q, max_iters):
    """Whether a start has stalled, judged at the end of each ``window`` of its steps from q_ref (its q at
    the window's start) and q: q did not at least halve over the window, or (tol_q > 0) falling at that
    geometric rate, log(q_ref / q) / window per step, it would not get below ``tol_q`` before ``max_iters``."""
    at_end = (window > 0) & (n_iters > 0) & (jnp.mod(n_iters, jnp.maximum(window, 1)) == 0)
    rate = jnp.log(q_ref / q) / jnp.maximum(window, 1)
    slow = rate < jnp.log(2.0) / jnp.maximum(window, 1)
    needed = jnp.log(q / jnp.maximum(tol_q, jnp.finfo(q.dtype).tiny)) / jnp.where(rate > 0, rate, 1.0)
    return at_end & (slow | ((tol_q > 0) & (needed > max_iters - n_iters)))


def _group_step(step, adam_eps, adaptive_clip, st: GroupState, u_gxm, params, hyper: Hyper) -> GroupState:
    """One Adam step on a group's objective mean_i q(x_i); stopped starts stay where they are."""

    def objective(x_gxd):
        q_g, _ = jax.vmap(partial(q_single, step), (None, 0, 0))(params, x_gxd, u_gxm)
        return jnp.mean(q_g), q_g

    (obj, q), grad = jax.value_and_grad(objective, has_aux=True)(st.x)
    dq = jnp.abs(q - st.q)
    stall = stalled(q, st.q_ref, st.n_iters, hyper.stall_window, hyper.tol_q, hyper.max_iters)
    new_window = (st.n_iters == 0) | (jnp.mod(st.n_iters, jnp.maximum(hyper.stall_window, 1)) == 0)
    q_ref = jnp.where(new_window, q, st.q_ref)
    stop = (q < hyper.tol_q) | (dq < hyper.tol_dq * st.lr) | ~jnp.isfinite(q) | stall
    done = st.done | stop
    active = ~done
    grad = jnp.where(active[:, None], grad, 0.0)
    norm = jnp.sqrt(jnp.sum(grad ** 2))
    norm = jnp.where(jnp.isfinite(norm), norm, 0.0)
    norm_hist = jnp.concatenate([st.norm_hist[1:], norm[None]])
    norm_sorted = slide_sorted_window(st.norm_sorted, st.norm_hist[0], norm)
    if adaptive_clip:
        clip = sorted_percentile(norm_sorted, hyper.clip_percentile)
        grad = grad * jnp.where(norm > clip, clip / jnp.maximum(norm, 1e-30), 1.0)
    updates, adam = optax.scale_by_adam(eps=adam_eps).update(grad, st.adam)
    x = jnp.where(active[:, None], st.x - st.lr * updates, st.x)
    lr, obj_hist, since = adapt_learning_rate(st.lr, st.obj_hist, st.since_change, obj, hyper.lr_factor,
                                              hyper.lr_cooldown, jnp.any(active))
    keep = lambda old, new: jnp.where(st.done, old, new)  # noqa: E731  (a stopped start's record is final)
    return GroupState(x=x, adam=adam, lr=lr, obj_hist=obj_hist, since_change=since, norm_hist=norm_hist,
                      norm_sorted=norm_sorted, q=keep(st.q, q), dq=keep(st.dq, dq), q_ref=keep(st.q_ref, q_ref),
                      n_iters=st.n_iters + active.astype(jnp.int32), done=done)


@partial(jax.jit, static_argnums=(0, 1, 2))
def run_chunk(step, adam_eps: float, adaptive_clip: bool, st: GroupState, u_Gxgxm, params, hyper: Hyper, it,
              it_end):
    """Run optimiser steps until ``it_end`` or until every start has stopped: one ``lax.while_loop``."""
    batched_step = jax.vmap(partial(_group_step, step, adam_eps, adaptive_clip), (0, 0, None, None))

    def cond(carry):
        i, s = carry
        return (i < it_end) & ~jnp.all(s.done)

    def body(carry):
        i, s = carry
        return i + 1, batched_step(s, u_Gxgxm, params, hyper)

    return jax.lax.while_loop(cond, body, (it, st))


class OptimizeResult(NamedTuple):
    """The optimiser's result for every start: x [n, d], dq [n] (the last |Δq|), n_iters [n]; ``lr_final``
    ([1] joint, [n] sequential); ``iterations`` the loop's steps; ``all_stopped`` whether every start
    met a stop before ``max_iters``."""

    x: np.ndarray
    dq: np.ndarray
    n_iters: np.ndarray
    lr_final: np.ndarray
    iterations: int
    all_stopped: bool


def optimize(step: Callable, params, x0_nxd: np.ndarray, u_nxm: np.ndarray, *, method: str, n_pad: int,
             lr_init: float, lr_patience: int, clip_window: int, adam_eps: float, adaptive_clip: bool, hyper: Hyper,
             max_iters: int, chunk: int, verbose: bool, dtype) -> OptimizeResult:
    """Adam from every start (padded to ``n_pad`` rows that start stopped), in compiled chunks of
    ``chunk`` steps with a progress line on stderr after each when ``verbose``."""
    n, d = x0_nxd.shape
    pad = lambda a: np.concatenate([a, np.repeat(a[:1], n_pad - n, axis=0)])  # noqa: E731
    G, g = (1, n_pad) if method == "joint" else (n_pad, 1)
    # built on the host and put on the device as they are: converting or reshaping a JAX array outside a
    # compiled function compiles a small program for it (each costs its tracing and lowering in every job)
    x = jax.device_put(pad(x0_nxd).astype(dtype).reshape(G, g, d))
    u = jax.device_put(pad(u_nxm).astype(dtype).reshape(G, g, -1))
    done = jax.device_put((np.arange(n_pad) >= n).reshape(G, g))
    st = init_state(x, done, jnp.asarray(lr_init, dtype), int(lr_patience), int(clip_window))
    i, start = 0, time.perf_counter()
    while True:
        it_end = np.int32(min(i + chunk, max_iters))
        it, st = run_chunk(step, adam_eps, adaptive_clip, st, u, params, hyper, np.int32(i), it_end)
        i = int(it)
        all_done = bool(np.all(np.asarray(st.done)))
        if verbose:
            q, dq = np.asarray(st.q).reshape(-1)[:n], np.asarray(st.dq).reshape(-1)[:n]
            lr = np.asarray(st.lr)[: n if G > 1 else 1]
            dq = dq[np.isfinite(dq)] if np.any(np.isfinite(dq)) else np.zeros(1)
            stopped = int(np.sum(np.asarray(st.done))) - (n_pad - n)
            print(f"  iter {i:5d}: q = {np.mean(q):.2e} +/- {np.std(q):.2e}, dq = {np.mean(dq):.2e} +/- "
                  f"{np.std(dq):.2e}, lr = {np.mean(lr):.2e}, stopped {stopped}/{n}, "
                  f"{(time.perf_counter() - start) / max(i, 1):.2e} s/iter", file=sys.stderr, flush=True)
        if all_done or i >= max_iters:
            break
    return OptimizeResult(x=np.asarray(st.x).reshape(n_pad, d)[:n], dq=np.asarray(st.dq).reshape(-1)[:n],
                          n_iters=np.asarray(st.n_iters).reshape(-1)[:n],
                          lr_final=np.asarray(st.lr)[: n if G > 1 else 1],
                          iterations=i, all_stopped=all_done)
