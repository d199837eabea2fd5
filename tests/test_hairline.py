"""Hairline metric against the simulator's true dot positions (not detections)."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from smpqa import synth
from smpqa.metrics.hairline import SIDES, Hairline, measure_hairline
from smpqa.region import Grid, treated_region

W_PX, H_PX = 1600, 1200  # 80 x 60 mm at 20 px/mm


@functools.cache
def _photo(name="good_light", seed=0, **hairline):
    scene = synth.preset(name, width_px=W_PX, height_px=H_PX, seed=seed,
                         **({"hairline": hairline} if hairline else {}))
    return synth.render(scene)


def _grid(photo):
    return Grid.for_image(photo.image.shape[:2], photo.scene.px_per_mm)


def _measure(photo, view=None):
    """The hairline of a photo's true dots, and the treated mask it was measured with."""
    x, y = photo.dots["x"], photo.dots["y"]
    grid = _grid(photo)
    treated = treated_region(grid, x, y, spacing_mm=1.1)
    return measure_hairline(x, y, grid, treated, view=view), treated


def _hairline(name="good_light", seed=0, view=None, **hairline):
    return _measure(_photo(name, seed, **hairline), view)[0]


# --- where the edge is --------------------------------------------------------------------------

@pytest.mark.parametrize("side", SIDES)
def test_side_found_on_every_side(side):
    for seed in (0, 1):
        hl = _hairline(seed=seed, side=side, width_mm=3.0)
        assert hl.found and hl.reason is None
        assert hl.side == side


@pytest.mark.parametrize("tilt", [-10.0, 10.0, 15.0])
def test_tilted_edge_found_and_measured_across(tilt):
    photo = _photo(seed=1, side="top", width_mm=7.0, tilt_deg=tilt)
    hl, _ = _measure(photo)
    assert hl.found and hl.side == "top"
    assert hl.tilt_deg == pytest.approx(tilt, abs=2.0)
    # Measured normal to the edge: a 15° tilt would add only 3.5 % if measured along v,
    # but the bands must not smear the edge either.
    assert abs(hl.width_mm - 7.0) <= 0.2 * 7.0


@pytest.mark.parametrize("name", ["good_medium", "patchy"])
def test_no_edge_without_hairline(name):
    for seed in (0, 1, 2):
        hl = _hairline(name, seed)
        assert not hl.found
        assert hl.side is None and hl.width_mm is None and hl.band is None
        assert "no hairline edge" in hl.reason
        assert all(v is None for v in hl.metrics().values())


def test_no_edge_without_dots():
    grid = Grid.for_image((H_PX, W_PX), 20.0)
    hl = measure_hairline([], [], grid, np.zeros(grid.shape, bool), view="front")
    assert not hl.found and hl.reason
    assert hl.contour_px.shape == (0, 2) and hl.n_dots_used == 0
    json.dumps(hl.to_dict())


# --- width --------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [0.5, 3.0, 7.0, 10.0])
def test_width_recovered(width):
    for seed in (0, 1):
        hl = _hairline(seed=seed, side="top", width_mm=width)
        assert hl.found
        if width < 2:
            assert hl.width_mm < 2.0  # a wall reads as a wall
        assert abs(hl.width_mm - width) <= max(0.2 * width, 1.0), (seed, hl.width_mm)


def test_width_increases_with_true_width():
    widths = [0.5, 2.0, 4.0, 7.0, 10.0]
    measured = [_hairline(seed=0, side="top", width_mm=w).width_mm for w in widths]
    assert np.all(np.diff(measured) > 0), measured


def test_hard_hairline_preset_is_a_wall():
    hl = _hairline("hard_hairline", seed=2)
    assert hl.found and hl.side == "top"
    assert hl.width_mm < 2.0


# --- irregularity -------------------------------------------------------------------------------

def test_straight_edge_reads_at_its_floor():
    for seed in (0, 1, 2):
        hl = _hairline(seed=seed, side="top", width_mm=3.0, irregularity_mm=0.0)
        assert hl.irregularity_floor_mm > 0
        assert hl.irregularity_mm / hl.irregularity_floor_mm < 1.5, seed


def test_wiggly_edge_reads_above_its_floor():
    for seed in (0, 1, 2):
        hl = _hairline(seed=seed, side="top", width_mm=3.0, irregularity_mm=2.0)
        assert hl.irregularity_mm > 2.0 * hl.irregularity_floor_mm, seed
        assert hl.irregularity_mm == pytest.approx(2.0, abs=0.5), seed


def _true_band_irregularity(photo, hl):
    """RMS about a quadratic of the true 50 % line averaged over each fitted band (top edge)."""
    curve = np.asarray(photo.truth["hairline"]["curve_px"]) / photo.scene.px_per_mm
    xs = hl.contour_px[:, 0] / photo.scene.px_per_mm
    half = (xs[1] - xs[0]) / 2
    ys = np.array([curve[np.abs(curve[:, 0] - x) < half, 1].mean() for x in xs])
    r = ys - np.polynomial.Polynomial.fit(xs, ys, 2)(xs)
    return math.sqrt(np.sum(r * r) / (xs.size - 3))


def test_irregularity_is_true_wiggle_plus_floor_in_quadrature():
    # The simulator's irregularity_mm is the wiggle's RMS about zero; part of it is slow
    # enough to be the edge's course (seed 6 keeps only ~1 mm of 2 about a quadratic).
    # What is measured is the band-scale wiggle, with the sampling noise on top.
    for seed in (0, 3, 6):
        photo = _photo(seed=seed, side="top", width_mm=3.0, irregularity_mm=2.0)
        hl, _ = _measure(photo)
        expected = math.hypot(_true_band_irregularity(photo, hl), hl.irregularity_floor_mm)
        assert hl.irregularity_mm == pytest.approx(expected, abs=0.4), seed


def test_measurement_is_deterministic():
    photo = _photo(seed=0, side="top", width_mm=3.0)
    a, b = _measure(photo)[0], _measure(photo)[0]
    assert a.metrics() == b.metrics()


# --- asymmetry ----------------------------------------------------------------------------------

def test_asymmetry_of_lopsided_hairline():
    for seed in (0, 1, 2):
        photo = _photo("asymmetric_hairline", seed)
        hl, _ = _measure(photo, view="front")
        truth = photo.truth["hairline"]["asymmetry_mm"]
        assert truth == pytest.approx(8.0)
        assert abs(hl.asymmetry_mm - truth) <= 1.5, (seed, hl.asymmetry_mm)


def test_symmetric_hairline_has_no_asymmetry():
    for seed in (0, 1, 2):
        hl = _hairline("good_light", seed, view="front")
        assert abs(hl.asymmetry_mm) <= 2.0, seed


def test_asymmetry_only_in_front_view():
    hl = _hairline("asymmetric_hairline", 0)
    assert hl.found and hl.asymmetry_mm is None
    assert hl.metrics()["asymmetry_mm"] is None


# --- band mask and contour ----------------------------------------------------------------------

@pytest.mark.parametrize("width", [3.0, 7.0, 10.0])
def test_band_mask_spans_the_fall_off(width):
    photo = _photo(seed=0, side="top", width_mm=width)
    hl, treated = _measure(photo)
    grid = _grid(photo)
    assert hl.band.shape == grid.shape and hl.band.any()
    assert not np.any(hl.band & ~treated)
    # Across the edge (rows, for a top edge) the band is as thick as the fall-off,
    # less the part of its outer tail that lies outside the treated region.
    cols = hl.band.any(axis=0)
    thickness = np.median(hl.band[:, cols].sum(axis=0)) * grid.cell_mm
    assert 0.6 * hl.width_mm <= thickness <= 1.2 * hl.width_mm + grid.cell_mm


def test_contour_follows_the_true_edge():
    photo = _photo(seed=1, side="left", width_mm=7.0, tilt_deg=8.0)
    hl, _ = _measure(photo)
    curve = np.asarray(photo.truth["hairline"]["curve_px"])
    # Distance from each fitted point to the true 50 % line, in mm.
    d = np.min(np.hypot(hl.contour_px[:, None, 0] - curve[None, :, 0],
                        hl.contour_px[:, None, 1] - curve[None, :, 1]), axis=1)
    assert np.median(d) / photo.scene.px_per_mm < 1.0


# --- API ----------------------------------------------------------------------------------------

def test_result_is_json_safe_and_complete():
    hl = _hairline("asymmetric_hairline", 0, view="front")
    assert isinstance(hl, Hairline)
    d = json.loads(json.dumps(hl.to_dict()))
    assert "band" not in d and d["found"] is True and d["side"] == "top"
    assert len(d["contour_px"]) == hl.contour_px.shape[0] >= 3
    m = hl.metrics()
    assert set(m) == {"width_mm", "irregularity_mm", "irregularity_floor_mm",
                      "irregularity_ratio", "asymmetry_mm"}
    assert all(math.isfinite(v) for v in m.values())
    assert m["irregularity_ratio"] == pytest.approx(m["irregularity_mm"]
                                                   / m["irregularity_floor_mm"])
    assert hl.n_dots_used > 100
    with pytest.raises(AttributeError):
        hl.width_mm = 1.0  # frozen


def test_bad_arguments():
    grid = Grid.for_image((H_PX, W_PX), 20.0)
    ok = np.zeros(grid.shape, bool)
    with pytest.raises(ValueError, match="view"):
        measure_hairline([1.0], [1.0], grid, ok, view="side")
    with pytest.raises(ValueError, match="shape"):
        measure_hairline([1.0], [1.0], grid, np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="band_mm"):
        measure_hairline([1.0], [1.0], grid, ok, band_mm=0.0)


def test_fft_length_is_the_smallest_5_smooth_number_reaching_n():
    from smpqa.metrics.hairline import _fast_len

    def smooth(k):
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        return k == 1

    for n in [*range(1, 600), 10007, 65537]:
        f = _fast_len(n)
        assert f >= n and smooth(f) and not any(smooth(k) for k in range(n, f))
