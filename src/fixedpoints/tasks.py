"""The N-bit FlipFlop memory task (Sussillo & Barak 2013).

Each of ``n_bits`` channels receives sparse ±1 pulses; the target of a channel at time t is the
sign of its most recent pulse at or before t. Every trial starts with a pulse on every channel, so
the target is always defined.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .settings import setting, validate


@dataclasses.dataclass(kw_only=True, frozen=True)
class DataSettings:
    """The trials of one run: their length, the pulse probability and the number of trials per split."""

    n_time: int = setting(64, "time steps per trial", ge=1)
    p: float = setting(0.5, "pulse probability per step and channel", ge=0, le=1)
    n_train: int = setting(512, "training trials", ge=1)
    n_valid: int = setting(128, "validation trials", ge=1)
    n_test: int = setting(128, "test trials (their states seed the fixed-point search)", ge=1)

    def __post_init__(self):
        validate(self)


def hold_last_pulse(inputs_bxtxn: np.ndarray) -> np.ndarray:
    """Targets of the FlipFlop task: each channel holds the value of its latest non-zero input.

    ``targets[b, t, k] = inputs[b, s, k]`` with ``s = max{s' ≤ t : inputs[b, s', k] ≠ 0}``, and 0
    before the first pulse. Vectorised with a running maximum of pulse times along the time axis.
    """
    inputs_bxtxn = np.asarray(inputs_bxtxn)
    n_time = inputs_bxtxn.shape[1]
    times = np.arange(n_time).reshape(1, n_time, 1)
    pulse_time = np.where(inputs_bxtxn != 0, times, -1)
    last_pulse = np.maximum.accumulate(pulse_time, axis=1)
    held = np.take_along_axis(inputs_bxtxn, np.maximum(last_pulse, 0), axis=1)
    return np.where(last_pulse >= 0, held, 0)


class FlipFlopData:
    """Generator of FlipFlop trials; successive calls continue one ``np.random.RandomState`` stream.

    For the same arguments and the same sequence of ``generate_data`` calls it returns, bit for bit,
    the arrays of the seed tutorial's generator.
    """

    def __init__(self, n_bits: int = 3, n_time: int = 64, p: float = 0.5, random_seed: int = 0):
        for name, value in (("n_bits", n_bits), ("n_time", n_time)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.n_bits, self.n_time, self.p = int(n_bits), int(n_time), float(p)
        self.rng = np.random.RandomState(random_seed)

    def generate_data(self, n_trials: int) -> dict[str, np.ndarray]:
        """``{"inputs", "targets"}``, float32 arrays of shape [n_trials, n_time, n_bits]."""
        if int(n_trials) != n_trials or n_trials < 1:
            raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
        shape = [int(n_trials), self.n_time, self.n_bits]
        pulses = self.rng.binomial(1, self.p, shape)
        pulses[:, 0, :] = 1
        signs = 2 * self.rng.binomial(1, 0.5, shape) - 1
        inputs = pulses * signs
        return {"inputs": inputs.astype(np.float32), "targets": hold_last_pulse(inputs).astype(np.float32)}
