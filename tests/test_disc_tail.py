"""The blurred disc's edge in a dot's near ring: the table, and the size model that uses it."""

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from smpqa.detect import _disc_tail
from smpqa.detect import _kernels as K

TAB = _disc_tail.table()
ALPHA, BETA = _disc_tail._grid()


def _render(r, sb, cx, cy, half=12, ss=8):
    """A unit disc blurred by sb px, as pixels see it (each the mean over its area)."""
    n = (2 * half + 1) * ss
    f = (np.arange(n) + 0.5) / ss - (half + 0.5)  # sample positions; pixel centres at integers
    X, Y = np.meshgrid(f, f)
    disc = ((X - cx) ** 2 + (Y - cy) ** 2 < r * r).astype(float)
    disc = gaussian_filter(disc, sb * ss, mode="constant", truncate=6)
    return disc.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3)), half


def _near_measures(img, half, cx, cy, rg, rr):
    """I_near, P_near and P2_near read off pixels as K.measure reads them."""
    k = np.arange(-half, half + 1)
    X, Y = np.meshgrid(k, k)
    d2 = (X - cx) ** 2 + (Y - cy) ** 2
    disc = d2 <= rr * rr
    off = img[disc & (d2 >= rg * rg)].mean()
    out = [(img[disc] - off).sum()]
    wx, wy = K._gauss_sums(cx % 1, 1.0), K._gauss_sums(cy % 1, 1.0)
    for j, s in enumerate((1.0, 2.0)):
        weight = np.exp(-0.5 * d2 / s**2)
        full = wx[j] * wy[j]
        out.append(((img - off) * weight)[disc].sum() / full)
    return out


def test_the_table_is_its_quadrature():
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, ALPHA.size, 25), rng.integers(0, BETA.size, 25)
    assert TAB.shape == (ALPHA.size, BETA.size) and not TAB.flags.writeable
    assert np.allclose(TAB[i, j], _disc_tail.tabulate(ALPHA[i], BETA[j]), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("r,sb", [(1.5, 0.7), (3.0, 1.0), (8.0, 0.5)])
def test_tabulate_is_the_darkening_beyond_a_circle(r, sb):
    """Against a disc drawn on a fine grid and blurred: what lies past r + 1 and r + 3 px."""
    ss, half = 16, 12
    f = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    rho = np.hypot(*np.meshgrid(f, f))
    img = gaussian_filter((rho < r).astype(float), sb * ss, mode="constant", truncate=6)
    for gap in (1.0, 3.0):
        beyond = img[rho >= r + gap].sum() / ss**2
        model = _disc_tail.tabulate(r / sb, gap / sb) * sb * sb
        # (within 2 %: the drawn disc's edge is quantised to 1/16 px)
        assert model == pytest.approx(beyond, rel=0.02, abs=1e-5 * math.pi * r * r)


def test_beyond_interpolates_the_table():
    assert K._beyond(ALPHA[7], BETA[13], TAB) == pytest.approx(TAB[7, 13], rel=1e-12)
    # Between the grid's points, within 1 % of the quadrature itself (a tail that is at most
    # a few percent of a dot's integral: 1e-4 of it).
    for a, b in [(1.37, 0.42), (5.1, -1.33), (17.6, 2.05), (0.6, 3.9)]:
        exact = float(_disc_tail.tabulate(a, b))
        assert K._beyond(a, b, TAB) == pytest.approx(exact, rel=0.012, abs=1e-6)
        assert K._beyond.py_func(a, b, TAB) == K._beyond(a, b, TAB)
    # Past the largest disc it grows as a straight edge does; far past the circle, nothing.
    big = float(_disc_tail.tabulate(50.0, 0.5))
    assert K._beyond(50.0, 0.5, TAB) == pytest.approx(big, rel=5e-3)
    assert K._beyond(3.0, _disc_tail.BETA_MAX, TAB) == 0.0


@pytest.mark.parametrize("r", [1.5, 2.5, 4.0, 8.0])
@pytest.mark.parametrize("sb", [0.5, 0.7, 1.0])
def test_near_model_is_what_pixels_read(r, sb):
    """The model's I_near / (pi P_near) and peak ratio, against a rendered dot's pixels."""
    cx, cy = 0.3, -0.2
    img, half = _render(r, sb, cx, cy)
    rg, rr = r + 1.8, r + 4.84  # a half-peak radius 0.3 px past r, the ring 1.5 px further
    i_obs, p1_obs, p2_obs = _near_measures(img, half, cx, cy, rg, rr)
    s0 = sb * sb + 1 / 12
    i, p1, p2 = K._near_model(r * r, s0, 1.0, 4.0, rg, rr, TAB)
    assert (i_obs / (math.pi * p1_obs)) / (i / p1) == pytest.approx(1.0, abs=0.005)
    assert (p2_obs / p1_obs) / (p2 / p1) == pytest.approx(1.0, abs=0.003)
    if sb == 1.0 and r <= 2.5:  # where the ring holds 2.5-4 % of the dot: without it, off
        i0, p10, _ = K._near_model(r * r, s0, 1.0, 4.0, np.inf, np.inf, TAB)
        assert (i_obs / (math.pi * p1_obs)) / (i0 / p10) < 0.98


def test_solve_near_radius_inverts_the_near_model():
    s0, v1, v2 = 0.7**2 + 1 / 12, 1.0, 4.0
    r = np.array([0.8, 1.5, 3.0, 6.0, 20.0, 45.0])  # 45 px: past the table's largest disc
    rings = np.stack([r + 1.8, r + 4.84], axis=1)
    q = np.array([(lambda i, p1, _: i / p1)(*K._near_model(x * x, s0, v1, v2, a, b, TAB))
                  for x, (a, b) in zip(r, rings)])
    assert np.allclose(K.solve_near_radius(q, s0, v1, v2, rings, TAB), r, rtol=1e-7)
    assert np.allclose(K.solve_near_radius.py_func(q, s0, v1, v2, rings, TAB), r, rtol=1e-7)
    # Without a ring it is the plain model's root; at or below its least, unresolved.
    none = np.full_like(rings, np.inf)
    assert np.allclose(K.solve_near_radius(q, s0, v1, v2, none, TAB),
                       K.solve_radius(q, np.array([s0 + v1])), rtol=1e-12)
    low = np.array([2 * (s0 + v1), 0.0, np.nan])
    assert (K.solve_near_radius(low, s0, v1, v2, rings[:3], TAB) == 0).all()
