"""Index counts of the idealised N-bit layout and the census of a found set."""

import itertools

import numpy as np
import pytest

from fixedpoints.topology import census_text, index_census, n_bit_index_counts


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 5])
def test_ideal_counts_are_the_faces_of_the_hypercube(n_bits):
    # a face of {-1,+1}^N is a vector in {-1, 0, +1}^N; its dimension (the saddle index) is the number of zeros
    faces = np.array(list(itertools.product((-1, 0, 1), repeat=n_bits)))
    by_index = np.bincount(np.sum(faces == 0, axis=1), minlength=n_bits + 1)
    np.testing.assert_array_equal(n_bit_index_counts(n_bits), by_index)
    assert n_bit_index_counts(n_bits).sum() == 3 ** n_bits


def test_census_counts_each_index():
    np.testing.assert_array_equal(index_census([0, 0, 1, 3, 1, 0]), [3, 2, 0, 1])
    np.testing.assert_array_equal(index_census([0, 1], n_max=3), [1, 1, 0, 0])
    assert index_census([]).size == 0
    assert census_text([0, 0, 1]) == "index 0: 2, index 1: 1"
    assert census_text([0, 1, 1, 2], n_bits=2) == "index 0: 1/4, index 1: 2/4, index 2: 1/1"


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_bits"):
        n_bit_index_counts(0)
    with pytest.raises(ValueError, match="non-negative"):
        index_census([-1])
