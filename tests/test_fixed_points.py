"""The FixedPoints container: indexing, concatenation, uniqueness, eigen-decomposition, files."""

import h5py
import numpy as np
import pytest

from fixedpoints import FileFormatError, FixedPoints
from fixedpoints.fixed_points import cluster_labels, load_fixed_points
from reliability_support import edited


def make_set(n=6, d=3, m=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return FixedPoints(x, x + 0.1, np.zeros((n, m)), x * 0.5, rng.random(n), rng.random(n) * 1e-3,
                       np.arange(n), J_xstar=rng.normal(size=(n, d, d)), dFdu=rng.normal(size=(n, d, m)),
                       cond_id=np.arange(n) % 2, tol_unique=0.05, hyperparameters={"method": "joint"})


def test_indexing_by_int_slice_mask_and_array():
    fps = make_set()
    assert len(fps) == fps.n == 6
    one = fps[2]
    assert one.n == 1 and np.array_equal(one.xstar[0], fps.xstar[2]) and one.J_xstar.shape == (1, 3, 3)
    assert np.array_equal(fps[-1].qstar, fps.qstar[-1:])
    assert fps[1:4].n == 3
    mask = fps.qstar > 0.5
    assert np.array_equal(fps[mask].qstar, fps.qstar[mask])
    assert np.array_equal(fps[np.array([4, 0])].n_iters, [4, 0])
    with pytest.raises(IndexError):
        fps[6]


def test_concatenate_keeps_common_fields():
    a, b = make_set(seed=1), make_set(n=2, seed=2)
    b.J_xstar = None
    both = FixedPoints.concatenate([a, b])
    assert both.n == 8 and both.J_xstar is None
    np.testing.assert_array_equal(both.xstar, np.concatenate([a.xstar, b.xstar]))


def test_get_unique_is_transitive_and_keeps_lowest_q():
    # a chain 0 - 0.04 - 0.08 (steps below tol 0.05) is one cluster though its ends are 0.08 apart
    x = np.array([[0.0, 0], [0.04, 0], [0.08, 0], [1.0, 0], [1.01, 0]])
    q = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    fps = FixedPoints(x, x, np.zeros((5, 1)), x, q, q, np.zeros(5, int), tol_unique=0.05)
    unique = fps.get_unique()
    assert sorted(unique.qstar.tolist()) == [1.0, 4.0]
    # brute-force check of the clustering on random points against a literal union-find
    pts = np.random.default_rng(0).random((200, 2))
    labels = cluster_labels(pts, 0.05)
    parent = list(range(200))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(200):
        for j in range(i):
            if np.linalg.norm(pts[i] - pts[j]) <= 0.05:
                parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(200)])
    for i in range(200):
        assert np.array_equal(labels == labels[i], roots == roots[i])


def test_different_inputs_are_different_points():
    x = np.zeros((2, 2))
    fps = FixedPoints(x, x, np.array([[0.0], [1.0]]), x, np.zeros(2), np.zeros(2), np.zeros(2, int))
    assert fps.get_unique().n == 2


def test_decompose_jacobians_matches_definition():
    fps = make_set(n=5, d=4)
    fps.decompose_jacobians()
    for J, lam, vec, stable, n_unstable in zip(fps.J_xstar, fps.eigval_J_xstar, fps.eigvec_J_xstar,
                                               fps.is_stable, fps.n_unstable):
        assert np.all(np.diff(np.abs(lam)) <= 1e-12)                    # sorted by |λ| descending
        np.testing.assert_allclose(J @ vec, vec * lam[None, :], atol=1e-9)  # columns are eigenvectors
        assert stable == (np.max(np.abs(np.linalg.eigvals(J))) < 1)
        assert n_unstable == np.sum(np.abs(np.linalg.eigvals(J)) > 1)


def test_save_load_round_trip(tmp_path):
    fps = make_set()
    fps.decompose_jacobians()
    fps.residual_norm, fps.newton_converged = np.sqrt(2 * fps.qstar), fps.qstar < 0.5
    all_fps = FixedPoints.concatenate([fps, make_set(seed=3)])
    hiddens = np.random.default_rng(1).normal(size=(4, 7, 3)).astype(np.float32)
    path = tmp_path / "fixed_points.h5"
    fps.save(path, all_fps=all_fps, hiddens=hiddens, attrs={"wall_s": 1.5})
    back = load_fixed_points(path)
    for name, value in fps.fields().items():
        np.testing.assert_array_equal(getattr(back["unique"], name), value, err_msg=name)
    assert back["all"].n == 12
    np.testing.assert_array_equal(back["hiddens"], hiddens)
    assert back["attrs"]["method"] == "joint" and back["attrs"]["wall_s"] == 1.5
    assert back["attrs"]["schema"] == "fixedpoints/fixed_points"
    assert FixedPoints.load(path).tol_unique == 0.05
    with h5py.File(path) as f:
        assert f["unique/eigval_J_xstar"].dtype.kind == "c" and f["unique/is_stable"].dtype == bool


def test_empty_set_round_trip(tmp_path):
    fps = make_set()[:0]
    fps.save(tmp_path / "e.h5")
    back = FixedPoints.load(tmp_path / "e.h5")
    assert back.n == 0 and back.xstar.shape == (0, 3)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileFormatError, match="missing.h5: file not found"):
        FixedPoints.load(tmp_path / "missing.h5")
    path = tmp_path / "broken.h5"
    make_set().save(path)
    with edited(path) as f:
        del f["unique/qstar"]
    with pytest.raises(FileFormatError, match=r"broken.h5: .?missing dataset /unique/qstar"):
        FixedPoints.load(path)
    with edited(path) as f:
        f.attrs["schema"] = "fixedpoints/model"
    with pytest.raises(FileFormatError, match="broken.h5: schema is 'fixedpoints/model'"):
        FixedPoints.load(path)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="qstar must have 1 dimensions and 2 rows"):
        FixedPoints(np.zeros((2, 3)), qstar=np.zeros(3))
    with pytest.raises(ValueError, match="xstar must have shape"):
        FixedPoints(np.zeros(3))


def test_clustering_with_radii_in_many_dimensions_matches_the_exact_distances():
    # many pairs well within reach (checked by the BLAS distances alone) and pairs placed exactly at
    # the threshold r_i + r_j (checked with the exact differences), against a literal union-find
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 64))
    pts = np.concatenate([c + 0.0005 * rng.normal(size=(60, 64)) for c in centres])
    radius = rng.uniform(0.005, 0.02, len(pts))
    direction = rng.normal(size=(20, 64))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    edge_radius = np.full(20, 0.3)
    edge = pts[:20] + (radius[:20] + edge_radius)[:, None] * direction
    pts, radius = np.concatenate([pts, edge]), np.concatenate([radius, edge_radius])
    labels = cluster_labels(pts, radius)
    n = len(pts)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i):
            if np.linalg.norm(pts[i] - pts[j]) <= radius[i] + radius[j]:
                parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(n)])
    for i in range(n):
        assert np.array_equal(labels == labels[i], roots == roots[i])
    assert len(set(labels[:180])) == 3          # each cloud one cluster (its points are within reach)
