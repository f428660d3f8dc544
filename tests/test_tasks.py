"""FlipFlopData against a literal implementation of the seed tutorial's definition."""

import numpy as np
import pytest

from fixedpoints import FlipFlopData
from fixedpoints.tasks import hold_last_pulse


def literal_flipflop(rng, n_trials, n_time, n_bits, p):
    """The seed's recipe, step by step: pulses, a pulse at t=0, random signs, then per trial and
    bit a target that holds the sign of the latest pulse."""
    pulses = rng.binomial(1, p, [n_trials, n_time, n_bits])
    pulses[:, 0, :] = 1
    signs = 2 * rng.binomial(1, 0.5, [n_trials, n_time, n_bits]) - 1
    inputs = pulses * signs
    targets = np.zeros([n_trials, n_time, n_bits])
    for trial in range(n_trials):
        for bit in range(n_bits):
            current = 0.0
            for t in range(n_time):
                if inputs[trial, t, bit] != 0:
                    current = inputs[trial, t, bit]
                targets[trial, t, bit] = current
    return inputs.astype(np.float32), targets.astype(np.float32)


@pytest.mark.parametrize("seed,n_bits,n_time,p", [(0, 2, 64, 0.5), (42, 3, 64, 0.5), (7, 4, 17, 0.1),
                                                   (3, 1, 5, 0.9), (11, 5, 32, 0.0)])
def test_generator_matches_seed_definition_over_successive_calls(seed, n_bits, n_time, p):
    gen = FlipFlopData(n_bits=n_bits, n_time=n_time, p=p, random_seed=seed)
    reference_rng = np.random.RandomState(seed)
    for n_trials in (50, 13, 7):  # train, valid, test from one generator
        data = gen.generate_data(n_trials)
        inputs, targets = literal_flipflop(reference_rng, n_trials, n_time, n_bits, p)
        assert data["inputs"].dtype == np.float32 and data["targets"].dtype == np.float32
        assert data["inputs"].shape == (n_trials, n_time, n_bits)
        np.testing.assert_array_equal(data["inputs"], inputs)
        np.testing.assert_array_equal(data["targets"], targets)


def test_targets_hold_sign_of_latest_pulse_and_zero_before_first():
    inputs = np.array([[[0], [1], [0], [-1], [0], [0], [1]]], np.float32)
    np.testing.assert_array_equal(hold_last_pulse(inputs)[0, :, 0], [0, 1, 1, -1, -1, -1, 1])


@pytest.mark.parametrize("kwargs,needle", [({"n_bits": 0}, "n_bits"), ({"n_time": 2.5}, "n_time"),
                                           ({"p": 1.5}, "p must")])
def test_bad_arguments_name_the_value(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        FlipFlopData(**kwargs)
    with pytest.raises(ValueError, match="n_trials"):
        FlipFlopData().generate_data(0)
