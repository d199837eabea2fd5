"""Numba kernels on the region grid: each against its pure-Python self and a reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from smpqa.metrics import _grid_kernels as K
from smpqa.metrics._util import distance_transform


@pytest.mark.parametrize("seed", range(4))
def test_squared_edt_matches_py_func_and_scipy(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = rng.integers(1, 24, 2)
        mask = rng.random((h, w)) > rng.choice([0.02, 0.2, 0.5, 0.9])
        got = K.squared_edt(mask)
        np.testing.assert_array_equal(got, K.squared_edt.py_func(mask))
        if not mask.all():
            np.testing.assert_array_equal(np.sqrt(got), ndimage.distance_transform_edt(mask))


def test_distance_transform_equals_scipy_bitwise():
    rng = np.random.default_rng(7)
    for mask in (rng.random((120, 170)) > 0.01, np.pad(np.ones((40, 60), bool), 1),
                 np.ones((5, 6), bool), np.zeros((3, 4), bool), np.ones((0, 3), bool)):
        np.testing.assert_array_equal(distance_transform(mask),
                                      ndimage.distance_transform_edt(mask))


@pytest.mark.parametrize("kind", ["uniform", "clustered", "duplicates", "line", "lone"])
def test_nearest_other_matches_py_func_and_kdtree(kind):
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(3)
    for n in (2, 3, 17, 150):
        if kind == "uniform":
            x, y = rng.uniform(0, 100, n), rng.uniform(0, 60, n)
        elif kind == "clustered":
            c = rng.uniform(0, 1000, (3, 2))
            k = rng.integers(0, 3, n)
            x, y = c[k, 0] + rng.normal(0, 1, n), c[k, 1] + rng.normal(0, 1, n)
        elif kind == "duplicates":
            x, y = np.round(rng.uniform(0, 5, n)), np.round(rng.uniform(0, 5, n))
        elif kind == "line":
            x, y = rng.uniform(0, 1e4, n), np.full(n, 3.0)
        else:
            x, y = np.array([1.0]), np.array([2.0])
        got = K.nearest_other(x, y)
        np.testing.assert_array_equal(got, K.nearest_other.py_func(x, y))
        pts = np.stack([x, y], 1)
        want = cKDTree(pts).query(pts, k=2)[0][:, 1] if x.size > 1 else np.array([np.inf])
        np.testing.assert_array_equal(got, want)


def test_nearest_other_is_compiled_once_for_both_callers(fresh_python):
    # numba compiles a kernel anew for each argument type, writability included: the
    # spacing (DotTable columns, read-only) and the uniformity (fresh, writable arrays) once
    # compiled it twice. In a fresh process, to count.
    code = (
        "import numpy as np\n"
        "from smpqa.metrics import _grid_kernels as K\n"
        "from smpqa.metrics.uniformity import measure_uniformity\n"
        "from smpqa.region import median_spacing_mm\n"
        "from smpqa.region import Grid\n"
        "x = np.arange(0.0, 400.0, 7.0); x.flags.writeable = False\n"
        "median_spacing_mm(x, x[::-1], 20.0)\n"
        "median_spacing_mm([0, 20, 40], [0, 0, 0], 20.0)\n"
        "g = Grid.for_image((400, 400), 20.0)\n"
        "measure_uniformity(x, x, np.full(x.size, 4.0), g, np.ones(g.shape, bool))\n"
        "print(len(K.nearest_other.signatures))\n"
    )
    assert fresh_python(code) == ["1"]
