"""The per-dot measures: hand-computed values, and bad columns refused rather than broadcast."""

import numpy as np
import pytest

from smpqa.errors import CalibrationError
from smpqa.metrics.blowout import HALO_LIMIT, measure_blowout
from smpqa.metrics.colour import measure_colour
from smpqa.metrics.darkness import measure_darkness
from smpqa.metrics.size import measure_size
from smpqa.region import Grid, median_spacing_mm


def test_size_by_hand():
    s = measure_size([0.2, 0.3, 0.4, 1.0, np.nan])  # NaN: not measured, left out
    assert s.median_diameter_mm == pytest.approx(0.35)
    # MAD = median(|d - 0.35|) = median(0.15, 0.05, 0.05, 0.65) = 0.1
    assert s.robust_cv_diameter == pytest.approx(1.4826 * 0.1 / 0.35)
    assert s.oversized_share == 0.25  # 1.0 > 2 x 0.35
    assert measure_size([0.0, 0.0]).robust_cv_diameter is None  # no spread relative to 0


def test_blowout_by_hand():
    b = measure_blowout([HALO_LIMIT, 0.0, np.nan, 0.01], [False, False, True, False])
    assert (b.blowout_share, b.halo_share, b.merged_share) == (0.5, 0.25, 0.25)
    assert b.median_halo_ratio == pytest.approx(0.01)  # of the measured ones


@pytest.mark.parametrize("call,msg", [
    (lambda: measure_blowout([0.1, 0.2], [True]), "halo_ratio has 2 dots, merged 1"),
    (lambda: measure_darkness([0.3, 0.2], [10.0]), "depth has 2 dots, delta_L 1"),
    (lambda: measure_colour(np.zeros((3, 3)), np.zeros((2, 3)), np.ones(3)),
     "skin_lab has 3 dots, core_lab 2, area_px 3"),
    (lambda: measure_colour(np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3)),
     r"skin_lab must be an \(n, 3\) array"),
    (lambda: measure_size([[0.3, 0.3]]), "diameter_mm must be a 1-d array"),
    (lambda: measure_size([-0.3, 0.3]), "negative diameters"),
])
def test_bad_columns_are_refused(call, msg):
    # A short column was broadcast over the rest: a share computed over the wrong dots.
    with pytest.raises(ValueError, match=msg):
        call()


def test_no_dots_give_no_values():
    assert measure_size([]).median_diameter_mm is None
    assert measure_blowout([], []).blowout_share is None
    assert measure_darkness([], []).depth is None
    assert measure_colour([], [], []).cast_delta_e is None


def test_region_helpers_check_the_scale():
    assert median_spacing_mm([0, 20, 40], [0, 0, 0], 20) == 1.0  # 20 px apart at 20 px/mm
    with pytest.raises(CalibrationError, match="px_per_mm"):
        median_spacing_mm([0, 10], [0, 1], 0)  # was a ZeroDivisionError
    with pytest.raises(CalibrationError, match="px_per_mm"):
        Grid.for_image((100, 100), -5)  # was a grid of negative millimetres
    with pytest.raises(ValueError, match="cell_mm"):
        Grid.for_image((100, 100), 20, cell_mm=0)
