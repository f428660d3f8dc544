"""Training: reaches the seed's loss target, is reproducible, compiles once, survives divergence."""

import jax
import numpy as np
import pytest

from fixedpoints import FlipFlopData, RNN, train
from fixedpoints.training import make_epoch_chunk, mse_loss


@pytest.fixture(scope="module")
def two_bit_data():
    gen = FlipFlopData(n_bits=2, n_time=64, p=0.5, random_seed=0)
    return gen.generate_data(512), gen.generate_data(128)


@pytest.fixture(scope="module")
def trained_two_bit(two_bit_data):
    train_data, valid_data = two_bit_data
    return train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, seed=0, verbose=False)


def test_two_bit_tanh_reaches_min_loss(trained_two_bit, two_bit_data):
    rnn, history = trained_two_bit
    assert history.converged and not history.diverged
    assert history.epochs == len(history.train_loss) < 1000
    assert history.train_loss[-1] < 1e-4 <= history.train_loss[:-1].min()
    # The reported validation loss is the loss of the returned network.
    valid = two_bit_data[1]
    loss = float(mse_loss("tanh", rnn.params, valid["inputs"], valid["targets"]))
    assert loss == pytest.approx(history.final_valid_loss, rel=1e-5)
    assert history.valid_epoch[-1] == history.epochs - 1


def test_same_seed_gives_identical_weights_and_chunking_does_not_matter(two_bit_data, trained_two_bit):
    train_data, valid_data = two_bit_data
    rnn, history = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, seed=0, max_epochs=30,
                         verbose=False)
    again, history_again = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, seed=0,
                                 max_epochs=30, verbose=False)
    for name in rnn.params:
        np.testing.assert_array_equal(rnn.params[name], again.params[name])
    np.testing.assert_array_equal(history.train_loss, history_again.train_loss)
    # the first 30 epochs of the long run are the same numbers as a 30-epoch run with other chunks
    other, other_history = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, seed=0,
                                 max_epochs=30, eval_every=7, verbose=False)
    np.testing.assert_array_equal(other_history.train_loss, history.train_loss)
    np.testing.assert_array_equal(trained_two_bit[1].train_loss[:30], history.train_loss)
    assert not history.converged and history.epochs == 30


def test_epoch_loss_is_mean_of_pre_update_batch_losses(two_bit_data):
    """One epoch against a plain Python loop of optax Adam steps over the same permutation."""
    import optax
    train_data, valid_data = two_bit_data
    rnn = RNN.init("tanh", 2, 3, 2, seed=3)
    _, history = train(rnn, train_data, valid_data, max_epochs=1, seed=5, verbose=False)
    perm = np.random.RandomState(5).permutation(512)
    opt = optax.adam(0.08)
    params, state = dict(rnn.params), opt.init(rnn.params)
    losses = []
    for b in range(4):
        idx = perm[b * 128:(b + 1) * 128]
        loss, grads = jax.value_and_grad(lambda p, idx=idx: mse_loss("tanh", p, train_data["inputs"][idx],
                                                                    train_data["targets"][idx]))(params)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        losses.append(float(loss))
    assert history.train_loss[0] == pytest.approx(np.mean(losses), rel=1e-5)


def test_training_step_compiles_once(two_bit_data):
    train_data, valid_data = two_bit_data
    for seed in (1, 2):
        train(RNN.init("tanh", 2, 3, 2, seed=seed), train_data, valid_data, seed=seed, max_epochs=23,
              learning_rate=0.01, verbose=False)
    assert make_epoch_chunk("tanh", 0.01, 0.0, 1e-4)._cache_size() == 1


def test_divergence_stops_with_finite_weights(two_bit_data):
    train_data, valid_data = two_bit_data
    bad = {"inputs": train_data["inputs"] * 1e30, "targets": train_data["targets"]}
    rnn, history = train(RNN.init("tanh", 2, 3, 2, seed=0), bad, valid_data, learning_rate=1e30,
                         seed=0, verbose=False)
    assert history.diverged and not history.converged
    assert not np.isfinite(history.train_loss[-1]) and history.epochs < 1000
    assert all(np.all(np.isfinite(np.asarray(v))) for v in rnn.params.values())


def test_clipping_changes_the_trajectory(two_bit_data):
    train_data, valid_data = two_bit_data
    _, plain = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, max_epochs=3, verbose=False)
    _, clipped = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, max_epochs=3, clip_norm=1e-3,
                       verbose=False)
    assert not np.array_equal(plain.train_loss, clipped.train_loss)


@pytest.mark.parametrize("kwargs,needle", [({"learning_rate": 0}, "learning_rate"),
                                           ({"batch_size": 1000}, "batch_size"),
                                           ({"max_epochs": 0}, "max_epochs"),
                                           ({"clip_norm": -1}, "clip_norm")])
def test_bad_hyperparameters_are_named(two_bit_data, kwargs, needle):
    train_data, valid_data = two_bit_data
    with pytest.raises(ValueError, match=needle):
        train(RNN.init("tanh", 2, 3, 2), train_data, valid_data, verbose=False, **kwargs)
    with pytest.raises(ValueError, match="training inputs"):
        train(RNN.init("tanh", 3, 3, 3), train_data, valid_data, verbose=False)
