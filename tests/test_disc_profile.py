"""The blurred disc's profile (``_disc_profile``) and the blur fit built on it (``blur_ssr``)."""

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from smpqa.detect import _disc_profile
from smpqa.detect import _kernels as K
from smpqa.detect.pipeline import _neighbours

TAB = _disc_profile.table()
ALPHA, BETA = _disc_profile._grid()


def test_the_table_is_its_tabulation():
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, ALPHA.size, 40), rng.integers(0, BETA.size, 40)
    assert TAB.shape == (ALPHA.size, BETA.size) and not TAB.flags.writeable
    assert np.allclose(TAB[i, j], _disc_profile.tabulate(ALPHA[i], BETA[j]), atol=1e-7)


@pytest.mark.parametrize("r,sb", [(1.5, 0.7), (3.0, 1.0), (8.0, 0.5)])
def test_tabulate_is_a_blurred_disc(r, sb):
    """Against a disc drawn on a fine grid and blurred, at points across its edge."""
    ss, half = 16, 12
    f = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    img = gaussian_filter((np.hypot(*np.meshgrid(f, f)) < r).astype(float), sb * ss,
                          mode="constant", truncate=6)
    mid = (half + 0.5) * ss  # the row through the centre, between two samples
    for rho in (0.0, r - 1.0, r, r + 0.5, r + 2.0):
        col = int(round((rho + half + 0.5) * ss - 0.5))
        drawn = 0.5 * (img[int(mid) - 1, col] + img[int(mid), col])
        exact = float(_disc_profile.tabulate(r / sb, (abs(f[col]) - r) / sb))
        # (within 0.02: the drawn disc's edge is quantised to 1/16 px)
        assert exact == pytest.approx(drawn, abs=0.02)


def test_profile_interpolates_the_table():
    assert K._profile(ALPHA[7], BETA[13], TAB) == pytest.approx(TAB[7, 13], rel=1e-6)
    for a, b in [(1.37, 0.42), (5.1, -1.33), (17.6, 2.05), (0.6, 3.9), (3.0, -2.9)]:
        exact = float(_disc_profile.tabulate(a, b))
        assert K._profile(a, b, TAB) == pytest.approx(exact, abs=2e-3)
        assert K._profile.py_func(a, b, TAB) == K._profile(a, b, TAB)
    assert K._profile(3.0, _disc_profile.BETA_MAX + 0.1, TAB) == 0.0  # far past the edge
    assert K._profile(30.0, -25.0, TAB) == pytest.approx(1.0, abs=1e-9)  # deep inside


def _dot_pixels(r, s, level=0.5, depth=0.3, cx=0.3, cy=-0.2, R=6.5):
    """A dot's pixels within R, drawn from the profile itself: luminance and distances."""
    k = np.arange(-7, 8)
    X, Y = np.meshgrid(k, k)
    rho = np.hypot(X - cx, Y - cy)
    inside = rho <= R
    lum = level - depth * _disc_profile.tabulate(r / s, (rho - r) / s)
    return lum[inside], rho[inside]


def test_disc_misfit_is_least_at_the_drawn_disc():
    v, rho = _dot_pixels(1.6, 0.8)
    v = v - v.mean()
    at = K._disc_misfit(v, rho, v.size, 1.6, 0.8, TAB)
    assert at < 1e-6 * (v**2).sum()
    for r, s in [(1.3, 0.8), (1.9, 0.8), (1.6, 0.6), (1.6, 1.0)]:
        assert K._disc_misfit(v, rho, v.size, r, s, TAB) > 20 * at
    assert K._disc_misfit.py_func(v, rho, v.size, 1.9, 0.8, TAB) == pytest.approx(
        K._disc_misfit(v, rho, v.size, 1.9, 0.8, TAB), rel=1e-12)
    # A lighter disc is no dot: the misfit of no disc at all (the pixels' spread).
    assert K._disc_misfit(-v, rho, v.size, 1.6, 0.8, TAB) == pytest.approx((v**2).sum())
    f, r = K._least_misfit(v, rho, v.size, 0.8, 0.2, 6.0, K._GOLDEN_ITERS, TAB)
    assert r == pytest.approx(1.6, abs=0.02) and f < 1e-4 * (v**2).sum()


def _drawn_dots(s_true, seed=5):
    """Dots of radii 1-4 px on a 16 px grid, drawn blurred by ``s_true`` (all spread included).

    Returns the luminance, the seeds (integers), the centres and the radii.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[10:90:16, 10:90:16]
    xs, ys = xs.ravel(), ys.ravel()
    cx, cy = xs + rng.uniform(-0.4, 0.4, xs.size), ys + rng.uniform(-0.4, 0.4, xs.size)
    radii = rng.uniform(1.0, 4.0, xs.size)
    Y, X = np.mgrid[0:100, 0:100]
    g = np.full((100, 100), 0.4)
    for x, y, r in zip(cx, cy, radii):
        g -= 0.25 * _disc_profile.tabulate(r / s_true, (np.hypot(X - x, Y - y) - r) / s_true)
    g = (g + rng.normal(0, 0.002, g.shape)).astype(np.float32)
    return g, xs, ys, cx, cy, radii


def test_blur_ssr_finds_the_blur_the_dots_were_drawn_with():
    s_true = 0.75
    g, xs, ys, cx, cy, radii = _drawn_dots(s_true)
    ptr, idx = _neighbours(xs, ys, np.full(xs.size, 20.0))
    s = np.arange(0.45, 1.1, 0.05)
    args = (g, cx, cy, np.arange(xs.size), radii + 4.5, xs, ys, ptr, idx, s, TAB)
    res = K.blur_ssr(*args)
    assert res.shape == (xs.size, s.size) and np.isfinite(res).all()
    assert s[np.argmin(res.sum(axis=0))] == pytest.approx(s_true)
    assert np.median(s[np.argmin(res, axis=1)]) == pytest.approx(s_true)
    assert np.allclose(K.blur_ssr.py_func(*args), res, rtol=1e-9, atol=1e-15)
    # A dot cut by the frame to 3 pixels (fewer than 6): NaN.
    cut = K.blur_ssr(g, np.array([-3.8]), np.array([50.0]), np.array([0]), np.array([4.0]),
                     np.array([0]), np.array([50]), np.zeros(2, np.int64),
                     np.zeros(0, np.int64), s, TAB)
    assert np.isnan(cut).all()


def test_vertex_of_the_blur_fit_finds_a_parabolas_least():
    from smpqa.detect.pipeline import _vertex

    x = np.arange(0.0, 2.41, 0.3)
    assert _vertex(x, (x - 0.77) ** 2) == pytest.approx(0.77)
    assert _vertex(x, (x - 0.05) ** 2 + 1) == pytest.approx(0.15)  # half a step from x[1]
    assert _vertex(x, -((x - 1.0) ** 2)) == pytest.approx(x[-1])  # no least inside: the least
    assert _vertex(x, -(x**2)) == pytest.approx(2.4)  # falling faster at the end: the end


def test_the_blur_fit_reads_the_drawn_blur_and_skips_cut_dots():
    """``_blur_from_profiles`` over drawn dots, one of them cut by the frame to 3 pixels."""
    from smpqa.detect import _kernels
    from smpqa.detect.pipeline import _SIGMA_AA2, _blur_from_profiles

    s_true = 0.75
    g, xs, ys, cx, cy, radii = _drawn_dots(s_true, seed=6)
    xs, ys = np.append(xs, 0), np.append(ys, 50)
    cx, cy, radii = np.append(cx, -3.8), np.append(cy, 50.0), np.append(radii, 1.0)
    m = np.zeros((xs.size, _kernels.M_COLS))
    m[:, _kernels.M_X], m[:, _kernels.M_Y] = cx, cy
    ptr, idx = _neighbours(xs, ys, np.full(xs.size, 20.0))
    good = np.ones(xs.size, bool)
    sb2 = _blur_from_profiles(g, m, xs, ys, np.where(radii > 1.0, radii + 4.5, 4.0), good,
                              ptr, idx)
    assert math.sqrt(sb2 + _SIGMA_AA2) == pytest.approx(s_true, abs=0.02)
    assert _blur_from_profiles(g, m, xs, ys, radii + 4.5, good & (np.arange(xs.size) < 4),
                               ptr, idx) is None  # fewer than 5 dots
