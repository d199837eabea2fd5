"""measure_uniformity: hand-computed lattices, Poisson patterns, the simulator, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from smpqa import synth
from smpqa.metrics.uniformity import METRIC_NAMES, Uniformity, measure_uniformity
from smpqa.region import Grid, treated_region

PPM = 20.0  # px per mm; grid cells are 5 px = 0.25 mm


def _px(mm):
    """Pixel coordinate of a scalp position in mm (pixel centres at integers)."""
    return np.asarray(mm, float) * PPM - 0.5


def _grid(w_mm, h_mm):
    return Grid.for_image((round(h_mm * PPM), round(w_mm * PPM)), PPM)


def _lattice_mm(w_mm, h_mm, spacing_mm=1.0):
    """A square lattice with a dot in the middle of every spacing x spacing square."""
    xs, ys = np.meshgrid(np.arange(spacing_mm / 2, w_mm, spacing_mm),
                         np.arange(spacing_mm / 2, h_mm, spacing_mm))
    return xs.ravel(), ys.ravel()


def _rect(grid, x0_mm, y0_mm, x1_mm, y1_mm):
    """Interior mask of the cells inside a rectangle (mm, on cell boundaries)."""
    m = np.zeros(grid.shape, bool)
    c = grid.cell_mm
    m[round(y0_mm / c):round(y1_mm / c), round(x0_mm / c):round(x1_mm / c)] = True
    return m


def _measure(x_mm, y_mm, grid, interior, diameter_mm=0.3, **kw):
    d = np.full(np.size(x_mm), diameter_mm * PPM)
    return measure_uniformity(_px(x_mm), _px(y_mm), d, grid, interior, **kw)


def _brute_force_radius_mm(x_mm, y_mm, interior, grid, w_mm, h_mm, around, step_mm=0.01):
    """Largest empty radius by dense sampling of interior centres near ``around`` (mm)."""
    (ax, ay), half = around, 6.0
    cx, cy = np.meshgrid(np.arange(max(ax - half, 0), min(ax + half, w_mm), step_mm),
                         np.arange(max(ay - half, 0), min(ay + half, h_mm), step_mm))
    cx, cy = cx.ravel(), cy.ravel()
    ok = interior[grid.cell_of(_px(cx), _px(cy))]
    cx, cy = cx[ok], cy[ok]
    d = cKDTree(np.column_stack([x_mm, y_mm])).query(np.column_stack([cx, cy]))[0]
    border = np.minimum(np.minimum(cx, w_mm - cx), np.minimum(cy, h_mm - cy))
    return float(np.minimum(d, border).max())


def _poisson(seed, w_px=2000, h_px=1500, density_per_cm2=90.0):
    rng = np.random.default_rng(seed)
    n = rng.poisson(density_per_cm2 * w_px * h_px / PPM**2 / 100)
    return rng.uniform(-0.5, w_px - 0.5, n), rng.uniform(-0.5, h_px - 0.5, n)


# --- hand-computed cases ------------------------------------------------------------------------

def test_square_lattice_hand_computed():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    u = _measure(x, y, grid, _rect(grid, 1, 1, 59, 44))
    assert u.reason is None
    # Every 5 mm tile holds exactly 25 dots of equal size.
    assert u.n_tiles == 11 * 8
    assert u.tile_vmr == pytest.approx(0.0, abs=1e-12)
    assert u.coverage_cv == pytest.approx(0.0, abs=1e-9)
    # Mean NN distance = spacing, lambda = 1/spacing², so R = 1 / (0.5 / 1) = 2.
    assert u.clark_evans_r == pytest.approx(2.0, abs=1e-9)
    assert u.density_per_cm2 == pytest.approx(100.0)
    assert u.interior_area_cm2 == pytest.approx(58 * 43 / 100)
    assert u.n_dots == 58 * 43
    # The largest hole is a square's centre: diameter sqrt(2) spacings.
    assert u.empty_circle_ratio == pytest.approx(math.sqrt(2), abs=0.01)
    assert u.cluster_share == 0.0


@pytest.mark.parametrize("centre_mm", [(30.0, 22.0), (30.5, 22.5), (29.8, 21.3)])
def test_lattice_with_punched_hole(centre_mm):
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    keep = np.hypot(x - centre_mm[0], y - centre_mm[1]) >= 4.0
    x, y = x[keep], y[keep]
    interior = _rect(grid, 1, 1, 59, 44)
    u = _measure(x, y, grid, interior)
    # A hole 8 mm across in a 1 mm lattice; the nearest remaining dots sit just beyond it.
    assert 8.0 <= u.empty_circle_ratio <= 9.0
    expected = 2 * _brute_force_radius_mm(x, y, interior, grid, 60, 45, centre_mm)
    # Away from edges the centre is a Voronoi vertex and comes out exact.
    assert u.empty_circle_ratio == pytest.approx(expected, abs=0.03)


def test_circle_stays_inside_the_interior():
    # The sparse hairline band and the margins beyond the interior are not gaps in the work:
    # the circle must lie inside the interior, so a hole cut in half by its edge counts half.
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    keep = np.hypot(x - 30.0, y - 22.0) >= 3.0
    x, y = x[keep], y[keep]
    interior = _rect(grid, 1, 1, 30, 44)  # the hole's centre lies on the interior's edge
    u = _measure(x, y, grid, interior)
    cx, cy = np.meshgrid(np.arange(24, 30, 0.01), np.arange(16, 28, 0.01))
    cx, cy = cx.ravel(), cy.ravel()
    d = cKDTree(np.column_stack([x, y])).query(np.column_stack([cx, cy]))[0]
    expected = 2 * float(np.minimum(d, 30 - cx).max())
    # Cells are 0.25 mm: the interior's edge is known to half a cell.
    assert u.empty_circle_ratio == pytest.approx(expected, abs=2 * 0.5 * grid.cell_mm)
    assert u.empty_circle_ratio < 5.0


def test_photo_border_bounds_the_circle():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    keep = x > 6.0  # bare strip 6.5 mm wide along the photo's left border
    u = _measure(x[keep], y[keep], grid, np.ones(grid.shape, bool))
    # The circle fits between the border and the first column of dots at 6.5 mm.
    assert u.empty_circle_ratio == pytest.approx(6.5, abs=0.15)


def test_only_interior_dots_count():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    extra = np.random.default_rng(0).uniform([35, 1], [59, 44], (3000, 2))
    x, y = np.concatenate([x, extra[:, 0]]), np.concatenate([y, extra[:, 1]])
    u = _measure(x, y, grid, _rect(grid, 1, 1, 31, 44))
    assert u.density_per_cm2 == pytest.approx(100.0)
    assert u.tile_vmr == pytest.approx(0.0, abs=1e-12)


def test_dense_cluster_is_found():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    rng = np.random.default_rng(3)
    r, th = 3.0 * np.sqrt(rng.random(300)), rng.uniform(0, 2 * np.pi, 300)
    cx, cy = 30 + r * np.cos(th), 22 + r * np.sin(th)  # ~10 extra dots per mm²
    u = _measure(np.concatenate([x, cx]), np.concatenate([y, cy]), grid,
                 _rect(grid, 1, 1, 59, 44))
    share = 300 / (u.n_dots)
    assert 0.5 * share < u.cluster_share < 2.0 * share


# --- Poisson (uniform random) patterns ----------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_poisson_pattern(seed):
    x, y = _poisson(seed)
    grid = Grid.for_image((1500, 2000), PPM)
    u = measure_uniformity(x, y, np.full(x.size, 6.0), grid, np.ones(grid.shape, bool))
    assert 0.7 <= u.tile_vmr <= 1.4
    assert u.clark_evans_r == pytest.approx(1.0, abs=0.1)
    assert u.density_per_cm2 == pytest.approx(x.size / 75.0)
    # "On a 100 x 75 mm photo a random pattern's largest hole is about 8 NN distances across."
    assert 6.0 <= u.empty_circle_ratio <= 10.0
    assert u.cluster_share < 0.01


def test_clark_evans_edge_correction_on_small_window():
    # Dots only inside a 25 x 20 mm window: without a correction, dots near its edge miss
    # neighbours and R comes out well above 1.
    rs = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = rng.poisson(0.9 * 25 * 20)
        x, y = rng.uniform(5, 30, n), rng.uniform(5, 25, n)
        grid = _grid(40, 30)
        rs.append(_measure(x, y, grid, _rect(grid, 5, 5, 30, 25)).clark_evans_r)
    assert np.mean(rs) == pytest.approx(1.0, abs=0.06)


# --- the simulator ------------------------------------------------------------------------------

def _sim(name, seed=1, w=1600, h=1200, **overrides):
    photo = synth.render(synth.preset(name, width_px=w, height_px=h, seed=seed, **overrides))
    grid = Grid.for_image(photo.image.shape[:2], photo.scene.px_per_mm)
    return photo, grid


@pytest.fixture(scope="module")
def sims():
    out = {}
    for name in ("good_medium", "patchy"):
        photo, grid = _sim(name)
        d = photo.dots
        u = measure_uniformity(d["x"], d["y"], d["diameter_px"], grid, np.ones(grid.shape, bool))
        out[name] = (photo, grid, u)
    return out


def test_good_work_is_even(sims):
    photo, grid, u = sims["good_medium"]
    assert u.reason is None
    assert u.tile_vmr < 1.0
    assert u.empty_circle_ratio < 5.0
    assert u.clark_evans_r > 1.2
    assert u.cluster_share < 0.01
    assert u.density_per_cm2 == pytest.approx(photo.truth["density_per_cm2"], rel=0.05)


def test_good_work_on_treated_region(sims):
    photo, grid, _ = sims["good_medium"]
    d = photo.dots
    interior = treated_region(grid, d["x"], d["y"], spacing_mm=1.1)
    u = measure_uniformity(d["x"], d["y"], d["diameter_px"], grid, interior)
    assert u.density_per_cm2 == pytest.approx(photo.truth["density_per_cm2"], rel=0.05)
    assert u.tile_vmr < 1.0


def test_patchy_work_is_patchy(sims):
    good, patchy = sims["good_medium"][2], sims["patchy"][2]
    assert patchy.tile_vmr > 2.0
    assert patchy.coverage_cv > good.coverage_cv
    assert patchy.empty_circle_ratio > 10.0


def test_over_worked_clusters_are_found():
    photo, grid = _sim("good_medium", clusters=6)
    d = photo.dots
    u = measure_uniformity(d["x"], d["y"], d["diameter_px"], grid, np.ones(grid.shape, bool))
    true_share = np.mean(d["kind"] == "cluster")
    assert true_share > 0.03
    assert u.cluster_share == pytest.approx(true_share, rel=0.5)


def test_tile_vmr_grows_with_patchiness():
    levels = [0.0, 0.3, 0.6, 0.9, 1.2]
    vmr = []
    for p in levels:
        vals = []
        for seed in (0, 1):
            photo, grid = _sim("good_medium", seed=seed, patchiness=p, clusters=0)
            d = photo.dots
            u = measure_uniformity(d["x"], d["y"], d["diameter_px"], grid,
                                   np.ones(grid.shape, bool))
            vals.append(u.tile_vmr)
        vmr.append(np.mean(vals))
    assert np.all(np.diff(vmr) > 0), vmr
    assert vmr[0] < 1.0 < 2.0 < vmr[-1]


# --- too little to judge, bad input -------------------------------------------------------------

def _assert_all_none(u: Uniformity, word):
    assert all(v is None for v in u.metrics().values())
    assert u.reason and word in u.reason
    json.dumps(u.to_dict())


def test_too_small_interior():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    u = _measure(x, y, grid, _rect(grid, 10, 10, 19, 19))  # one full 5 mm tile
    _assert_all_none(u, "tiles")
    assert u.n_tiles == 1


def test_empty_dot_list():
    grid = _grid(60, 45)
    u = measure_uniformity([], [], [], grid, np.ones(grid.shape, bool))
    _assert_all_none(u, "dots")
    assert u.n_dots == 0
    assert u.interior_area_cm2 == pytest.approx(27.0)


def test_too_few_dots():
    grid = _grid(60, 45)
    _assert_all_none(_measure([10, 20, 30], [10, 20, 30], grid, np.ones(grid.shape, bool)),
                     "dots")


def test_empty_interior():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    _assert_all_none(_measure(x, y, grid, np.zeros(grid.shape, bool)), "empty")


def test_results_are_json_safe():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    u = _measure(x, y, grid, np.ones(grid.shape, bool))
    assert tuple(u.metrics()) == METRIC_NAMES
    back = json.loads(json.dumps(u.to_dict()))
    assert back["tile_vmr"] == u.tile_vmr and back["reason"] is None
    assert all(type(v) is float for v in u.metrics().values())


def test_dots_outside_photo_and_nan_are_ignored():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    mask = _rect(grid, 1, 1, 59, 44)
    ref = _measure(x, y, grid, mask)
    xo = np.concatenate([x, [-5.0, 70.0, np.nan, 10.0]])
    yo = np.concatenate([y, [10.0, 10.0, 10.0, np.inf]])
    assert _measure(xo, yo, grid, mask) == ref


def test_bad_input_raises():
    grid = _grid(60, 45)
    ok = np.ones(grid.shape, bool)
    with pytest.raises(ValueError, match="shape"):
        measure_uniformity([1.0], [1.0], [1.0], grid, ok[:-1])
    with pytest.raises(ValueError, match="length"):
        measure_uniformity([1.0, 2.0], [1.0], [1.0], grid, ok)
    with pytest.raises(ValueError, match="tile_mm"):
        measure_uniformity([1.0], [1.0], [1.0], grid, ok, tile_mm=0)


def test_tile_size_rounds_to_cells():
    grid = _grid(60, 45)
    x, y = _lattice_mm(60, 45)
    u = _measure(x, y, grid, np.ones(grid.shape, bool), tile_mm=4.1)
    assert u.tile_mm == pytest.approx(4.0)
    assert u.n_tiles == 15 * 11
