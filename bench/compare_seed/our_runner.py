"""The same pipeline as seed_runner.py, with this project's library (run with the project's venv).

FlipFlopData(n_bits, 64, 0.5, seed) → 512/128/128 trials; RNN.init(``--rnn-type``, seed), its
recurrent weights times ``--recurrent-scale`` → train with the seed's settings (batches of 128,
min_loss 1e-4, ``--learning-rate``, ``--max-epochs``) → hidden trajectories of the test trials →
FixedPointFinder with the seed's settings at u = 0 from ``--n-inits`` starts.

    python our_runner.py --n-bits 3 --n-hidden 4 --seed 0 --out ours.npz

Writes ``--out`` (.npz): timings ``train_s``, ``find_s``, ``run_s`` (data + model + training +
trajectories + search, in this process), ``epochs``, ``final_loss``, ``converged``; the trained
parameters (seed_settings.param_names), ``test_inputs`` [b,t,m] and ``hiddens`` [b,t,d] (the network
file seed_runner.py's ``--network`` reads); the unique fixed points ``xstar`` [n,d], ``qstar``,
``is_stable``, ``n_unstable`` [n] and ``n_starts`` (the finder's starts, its own extra starts
included); its slow and marginal points ``slow_xstar`` [s,d], ``slow_qstar``, ``slow_marginal`` [s];
``plain_xstar``, ``plain_is_stable``, ``plain_n_unstable``, ``plain_find_s``: the same search without
the completeness starts (``do_completeness_starts=False``: only the sampled starts, as the seed's
finder), run after the timed pipeline (empty and NaN with ``--skip-plain``); and ``data_sha256`` /
``init_sha256``, digests of the data and initial weights that the driver compares with the seed
runner's.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np

from fixedpoints import RNN, FixedPointFinder, FlipFlopData, train

from seed_settings import SEED_FINDER_SETTINGS, SEED_SEARCH_SETTINGS, digest, param_names, run_parser


def main(argv=None) -> int:
    parser = run_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--skip-plain", action="store_true", help="no second search without completeness starts")
    args = parser.parse_args(argv)
    names = param_names(args.rnn_type)
    search = {**SEED_SEARCH_SETTINGS, "n_inits": args.n_inits}

    start = time.perf_counter()
    gen = FlipFlopData(n_bits=args.n_bits, n_time=64, p=0.5, random_seed=args.seed)
    train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
    rnn = RNN.init(args.rnn_type, args.n_bits, args.n_hidden, args.n_bits, seed=args.seed)
    if args.recurrent_scale != 1.0:
        rnn = RNN(args.rnn_type, {k: v * args.recurrent_scale if k.startswith("w_h") else v
                                  for k, v in rnn.params.items()})
    init_sha = digest(rnn.params[k] for k in names)
    t0 = time.perf_counter()
    rnn, history = train(rnn, train_data, valid_data, learning_rate=args.learning_rate, batch_size=128,
                         max_epochs=args.max_epochs, min_loss=1e-4, seed=args.seed, verbose=False)
    train_s = time.perf_counter() - t0
    print(f"[ours] trained {history.epochs} epochs in {train_s:.1f} s, final loss {history.final_train_loss:.3e}",
          file=sys.stderr, flush=True)
    _, hiddens = rnn(test_data["inputs"])
    hiddens = np.asarray(hiddens)
    t1 = time.perf_counter()
    finder = FixedPointFinder(rnn, verbose=False, **SEED_FINDER_SETTINGS)
    unique, all_fps = finder.find_fixed_points(state_traj=hiddens, inputs=np.zeros((1, args.n_bits), np.float32),
                                               **search)
    find_s = time.perf_counter() - t1
    run_s = time.perf_counter() - start
    print(f"[ours] {unique.n} fixed points ({int(np.sum(unique.is_stable))} stable) in {find_s:.1f} s",
          file=sys.stderr, flush=True)
    # the same search without this project's completeness starts: only the sampled starts, as the seed's finder
    plain, plain_find_s = unique[:0], float("nan")
    if not args.skip_plain:
        t2 = time.perf_counter()
        plain, _ = FixedPointFinder(rnn, verbose=False, do_completeness_starts=False, **SEED_FINDER_SETTINGS
                                    ).find_fixed_points(state_traj=hiddens,
                                                        inputs=np.zeros((1, args.n_bits), np.float32), **search)
        plain_find_s = time.perf_counter() - t2
    data_sha = digest([d[k] for d in (train_data, valid_data, test_data) for k in ("inputs", "targets")])
    slow = finder.slow_fps
    np.savez(args.out, train_s=train_s, find_s=find_s, run_s=run_s, epochs=history.epochs,
             final_loss=history.final_train_loss, converged=history.converged,
             **{k: np.asarray(rnn.params[k], np.float32) for k in names},
             test_inputs=test_data["inputs"], hiddens=hiddens.astype(np.float32),
             xstar=np.asarray(unique.xstar, np.float32), qstar=np.asarray(unique.qstar, np.float32),
             is_stable=np.asarray(unique.is_stable, bool), n_unstable=np.asarray(unique.n_unstable, np.int64),
             slow_xstar=np.asarray(slow.xstar, np.float32), slow_qstar=np.asarray(slow.qstar, np.float32),
             slow_marginal=np.asarray(slow.is_marginal, bool),
             n_starts=all_fps.n, plain_find_s=plain_find_s, plain_xstar=np.asarray(plain.xstar, np.float32),
             plain_is_stable=np.asarray(plain.is_stable, bool),
             plain_n_unstable=np.asarray(plain.n_unstable, np.int64), data_sha256=data_sha, init_sha256=init_sha,
             backend=jax.default_backend())
    return 0


if __name__ == "__main__":
    sys.exit(main())
