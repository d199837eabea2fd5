"""Stubble hairs are not dots: the line-excess kernel, and detect_dots among hairs."""

import numpy as np
import pytest

from smpqa import synth
from smpqa.color import SRGB8_TO_LINEAR
from smpqa.detect import _hair, detect_dots
from smpqa.match import match_dots

_SKIN = 0.4  # linear luminance of the drawn skin


def _draw(shape, discs=(), lines=(), dark=0.7, blur=0.7):
    """Linear luminance of skin with dark discs (x, y, r) and lines (x0, y0, x1, y1, w)."""
    import cv2

    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    T = np.ones(shape)
    for x, y, r in discs:
        T *= np.where((xx - x) ** 2 + (yy - y) ** 2 <= r * r, 1 - dark, 1.0)
    for x0, y0, x1, y1, w in lines:
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        d = np.hypot(xx - x0 - t * dx, yy - y0 - t * dy)
        T *= np.where(d <= w / 2, 1 - dark, 1.0)
    g = cv2.GaussianBlur((_SKIN * T).astype(np.float32), (0, 0), blur)
    return g


def _excess(g, x, y):
    f = _hair.line_excess(g, np.array([_SKIN]), np.array([float(x)]), np.array([float(y)]), 20.0,
                          np.inf)
    return f[0]


def test_a_disc_has_its_area_and_a_line_none():
    disc = _draw((40, 40), discs=[(20, 20, 3.0)])
    area, inr = _excess(disc, 20, 20)
    assert area == pytest.approx(np.pi * 3.0**2, rel=0.3)
    assert inr == pytest.approx(3.0, abs=0.6)
    line = _draw((40, 40), lines=[(2, 5, 37, 33, 1.5)])
    x, y = 2 + 35 * 0.5, 5 + 28 * 0.5
    area, inr = _excess(line, x, y)
    assert abs(area) < 3.0 and inr < 1.5


def test_crossing_hairs_have_no_excess_but_a_dot_under_a_hair_keeps_its_own():
    cross = _draw((40, 40), lines=[(2, 8, 38, 30, 1.5), (4, 30, 36, 10, 1.5)])
    # where the two lines cross: solve on the grid for the darkest pixel
    yy, xx = np.unravel_index(np.argmin(cross), cross.shape)
    assert _excess(cross, xx, yy)[0] < 3.0
    dot = _draw((40, 40), discs=[(20, 20, 3.0)], lines=[(2, 12, 38, 28, 1.5)])
    area, inr = _excess(dot, 20, 20)
    assert area > 0.5 * np.pi * 3.0**2 and inr > 2.0


def test_line_excess_matches_python():
    photo = synth.render(synth.preset("good_stubble", width_px=96, height_px=72, seed=2))
    g = (SRGB8_TO_LINEAR[photo.image] @ np.array([0.2126, 0.7152, 0.0722])).astype(np.float32)
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(0, 95, 40), [0.0, 95.0, -3.0, 50.2]])
    ys = np.concatenate([rng.uniform(0, 71, 40), [0.0, 71.0, 10.0, 80.0]])
    skin = np.full(xs.size, float(np.percentile(g, 75)))
    skin[3] = np.nan
    for wide in (np.inf, 1.5):
        a = _hair.line_excess(g, skin, xs, ys, 12.0, wide)
        b = _hair.line_excess.py_func(g, skin, xs, ys, 12.0, wide)
        assert np.allclose(a, b, equal_nan=True)
        assert np.isfinite(a[:40, 0]).sum() >= 5  # some random points are darker than skin
        assert np.isnan(a[-2:]).all()  # outside the image
    assert np.isnan(a[a[:, 1] > 1.5, 0]).all()  # too wide to weigh


@pytest.mark.parametrize("px_per_mm", [20.0, 30.0, 40.0])
def test_bare_stubble_gives_almost_no_dots(px_per_mm):
    counts = []
    for seed in range(4):
        scene = synth.preset("good_stubble", width_px=200, height_px=150, seed=seed,
                             px_per_mm=px_per_mm, density_per_cm2=0.0)
        counts.append(len(detect_dots(synth.render(scene).image, px_per_mm=px_per_mm)))
    assert max(counts) <= 5, counts


@pytest.mark.parametrize("px_per_mm", [20.0, 30.0])
def test_dots_under_a_hair_are_found(px_per_mm):
    scene = synth.preset("good_stubble", width_px=500, height_px=400, seed=4, px_per_mm=px_per_mm)
    photo = synth.render(scene)
    bare = synth.render(scene.replace(clutter={"hair_density_per_cm2": 0.0})).image
    hair = np.abs(photo.image.astype(int) - bare.astype(int)).sum(2) > 30
    t = photo.dots
    dots = detect_dots(photo.image, px_per_mm=px_per_mm)
    score = match_dots(dots["x"], dots["y"], t["x"], t["y"], t["diameter_px"],
                       shape=photo.image.shape[:2], border_px=px_per_mm)
    found = np.zeros(t["x"].size, bool)
    found[score.pairs[:, 1]] = True
    from scipy.ndimage import distance_transform_edt

    to_hair = distance_transform_edt(~hair)
    xi = np.clip(np.round(t["x"]).astype(int), 0, hair.shape[1] - 1)
    yi = np.clip(np.round(t["y"]).astype(int), 0, hair.shape[0] - 1)
    inside = ((t["x"] > px_per_mm) & (t["y"] > px_per_mm) & (t["x"] < hair.shape[1] - px_per_mm)
              & (t["y"] < hair.shape[0] - px_per_mm))
    crossed = inside & (to_hair[yi, xi] <= t["diameter_px"] / 2)  # a hair touches the core
    assert crossed.sum() >= 20
    assert found[crossed].mean() >= 0.9


def test_at_low_scale_a_dot_under_a_hair_outweighs_crossing_hairs():
    # 12 px/mm: hairs 0.84 px wide, the smallest expected dot 1.8 px (area 2.5 px²).
    area_lo = np.pi * 1.8**2 / 4
    hair = (2, 10, 28, 20, 0.9)
    dot = _draw((30, 30), discs=[(15, 15, 2.2)], lines=[hair], dark=0.75)
    assert _excess(dot, 15, 15)[0] >= 3 * area_lo  # kept though stretched by the hair
    cross = _draw((30, 30), lines=[hair, (4, 26, 26, 4, 0.9)], dark=0.75)
    yy, xx = np.unravel_index(np.argmin(cross), cross.shape)
    assert _excess(cross, xx, yy)[0] < 0.8 * area_lo
    end = _draw((30, 30), lines=[(2, 10, 15, 15, 0.9)], dark=0.75)
    assert _excess(end, 15, 15)[0] < 0.8 * area_lo


@pytest.mark.parametrize("x", [21.0, 21.4, 21.49, 22.0])
def test_a_seed_beside_a_hair_below_half_its_peak_is_weighed(x):
    # A centre on the flank of a hair, darkened by under half the darkest of its 3 x 3 pixels:
    # its runs start below the level. Extrapolating them gave -1e8 px, a NaN excess, and NaN
    # counted as "not hair".
    g = _draw((30, 30), lines=[(20, 2, 20, 28, 0.9)], dark=0.75)
    area, inr = _excess(g, x, 15)
    assert inr == 0.0
    assert np.isfinite(area) and area < 0.8 * np.pi * 1.8**2 / 4
    a = _hair.line_excess.py_func(g, np.array([_SKIN]), np.array([x]), np.array([15.0]), 20.0,
                                  np.inf)
    assert np.allclose(a[0], [area, inr])
