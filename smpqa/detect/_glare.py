"""White glare on the scalp, found by the skin's colour and taken out of the photo.

Glare (light reflected off the skin's surface: a flash, an oily scalp) is
white. It is laid over the skin's own, diffuse light: a pixel under glare of
strength a shows ``(1 - a) x diffuse + a`` in each linear channel, and its
relative contrast shrinks by the diffuse share of its light. Glare leaves the
skin's *chroma* alone, up to that same factor: red minus blue, ``C = R - B``,
is ``(1 - a) x`` the diffuse skin's. So the skin's diffuse luminance is
``C / chroma``, with ``chroma`` the photo's median ratio of red-minus-blue to
luminance on skin, and the glare is the rest of the luminance ``Y``: its share
of the light is ``1 - C / (chroma x Y)``.

A dot's pigment is not glare, though a grey pigment lowers ``C`` just as glare
does: only pixels at least ``_SKIN_CUT`` x as bright as the block skin level
(the detector's step 2) count, and the glare estimate is their normalised
Gaussian average. Where it is over ``max(z x eps, _FLOOR)`` of the local
light (``eps``: the estimate's own scatter over the photo), the excess is
subtracted from all three channels. A photo with no such place is returned
unchanged.

The sums are made over cells of ``_CELL`` x ``_CELL`` px (every other pixel
in both directions), smoothed on that coarse grid and interpolated back:
glare is smooth at that scale. A first look on cells of ``_FIRST_CELL`` px
decides whether there is glare at all (its sums are the finer cells', pooled),
so that a photo without it costs one light pass over its pixels; the finer
cells follow a glare's steep edge better (on dark skin, F1 0.980 -> 0.987
under glare).

Conventions as in ``_kernels``: images are indexed [row, column]; positions
are (x = column, y = row) with pixel centres at integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numba import njit, prange

from ._kernels import _WB, _WG, _WR, tile_lerp  # Rec. 709 luminance weights

__all__ = ["Glare", "find_glare", "glare_sums", "sample_coarse", "subtract_glare"]

_CELL = 4  # px per side of the coarse grid's cells
_FIRST_CELL = 8  # ... of the first look's, which only decides whether there is glare
_SIGMA = 4.0  # px: the Gaussian that averages the glare estimate (JPEG's chroma is coarse)
_SKIN_CUT = 0.8  # a pixel this bright relative to the block skin level is skin, not pigment
_FLOOR = 0.15  # glare under this share of the local light is left: it dims a dot by < 15 %
_MIN_CHROMA = 0.05  # skin whose red-minus-blue is under this share of its luminance: no test


@dataclass(frozen=True, slots=True)
class Glare:
    """Glare found in a photo: the photo without it, and how sure the estimate is.

    Attributes
    ----------
    rgb : (H, W, 3) uint8
        The photo with the glare over ``max(z x eps, _FLOOR)`` of the local
        light subtracted (a new array).
    removed : (Hc, Wc) float32
        Glare subtracted, as a share of the local light, on the coarse grid.
    eps : float
        Robust scatter of the glare estimate (share of the local light) over
        the photo's skin.
    fraction : float
        Share of the photo's area (coarse cells) it was taken out of.
    left : (Hc, Wc) float32
        Glare left in the corrected photo where glare was taken out (linear
        light, the same in each channel; 0 elsewhere), on the coarse grid.
    """

    rgb: np.ndarray
    removed: np.ndarray
    eps: float
    fraction: float
    left: np.ndarray

    def tiles(self, block):
        """Which ``block`` px tiles of the photo hold a pixel it changed: (nby, nbx) bool."""
        H, W = self.rgb.shape[:2]
        out = np.zeros((-(-H // block), -(-W // block)), bool)
        # A pixel reads the cells whose centres bracket it: at most one cell from a changed one.
        near = cv2.dilate((self.removed > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        rows, cols = np.nonzero(near)
        for ends in ((0, 0), (0, 1), (1, 0), (1, 1)):  # a cell's first and last pixel
            y = np.minimum((rows + ends[0]) * _CELL - ends[0], H - 1) // block
            x = np.minimum((cols + ends[1]) * _CELL - ends[1], W - 1) // block
            out[y, x] = True
        return out

    def left_at(self, x, y):
        """The glare left at (x, y), linear light: what colours measured there still hold."""
        return _at(self.left, x, y)

    def gain(self, x, y):
        """How many times the glare had shrunk the relative contrast at (x, y): >= 1."""
        share = _at(self.removed, x, y)
        return 1.0 / np.maximum(1.0 - share, 1e-3)


@njit(cache=True, parallel=True)
def glare_sums(rgb, lut, bg, block, cut, cell):
    """Per ``cell`` x ``cell`` tile: the count of skin pixels and their luminance and R - B sums.

    Every other pixel in both directions is read. A pixel is skin when its
    linear luminance is at least ``cut`` x the block skin level ``bg``
    (tiles of ``block`` px, bilinear between tile centres as in ``darkening``).

    Returns
    -------
    (3, Hc, Wc) float32
        Count, sum of luminance, sum of red minus blue (linear), with
        ``Hc = ceil(H / cell)`` and ``Wc = ceil(W / cell)``.
    """
    H, W = rgb.shape[0], rgb.shape[1]
    nby, nbx = bg.shape
    hc, wc = (H + cell - 1) // cell, (W + cell - 1) // cell
    nx = (W + 1) // 2  # the columns read: 0, 2, 4, ...
    x0 = np.empty(nx, np.int64)  # the horizontal interpolation is the same on every row
    x1 = np.empty(nx, np.int64)
    wx = np.empty(nx)
    for j in range(nx):
        x0[j], x1[j], wx[j] = tile_lerp(2 * j, block, nbx)
    lr, lg, lb = _WR * lut, _WG * lut, _WB * lut
    out = np.zeros((3, hc, wc), np.float32)
    for cy in prange(hc):
        top = np.empty(nx)
        bottom = np.empty(nx)
        row0 = -1
        acc = np.zeros((3, wc))
        for y in range(cy * cell, min((cy + 1) * cell, H), 2):
            by0, by1, wy = tile_lerp(y, block, nby)
            if by0 != row0:  # the two block rows, interpolated along x, once per block row
                row0 = by0
                for j in range(nx):
                    top[j] = (1 - wx[j]) * bg[by0, x0[j]] + wx[j] * bg[by0, x1[j]]
                    bottom[j] = (1 - wx[j]) * bg[by1, x0[j]] + wx[j] * bg[by1, x1[j]]
            for j in range(nx):
                x = 2 * j
                r, b = rgb[y, x, 0], rgb[y, x, 2]
                lum = lr[r] + lg[rgb[y, x, 1]] + lb[b]
                if lum >= cut * (top[j] + wy * (bottom[j] - top[j])):
                    cx = x // cell
                    acc[0, cx] += 1.0
                    acc[1, cx] += lum
                    acc[2, cx] += lut[r] - lut[b]
        for k in range(3):
            for cx in range(wc):
                out[k, cy, cx] = acc[k, cx]
    return out


@njit(cache=True, inline="always")
def _coarse_at(a, cell, x, y):
    """The coarse map ``a`` at pixel (x, y), bilinear between cell centres."""
    y0, y1, wy = tile_lerp(y, cell, a.shape[0])
    x0, x1, wx = tile_lerp(x, cell, a.shape[1])
    top = (1 - wx) * a[y0, x0] + wx * a[y0, x1]
    bottom = (1 - wx) * a[y1, x0] + wx * a[y1, x1]
    return top + wy * (bottom - top)


@njit(cache=True)
def sample_coarse(a, cell, xs, ys):
    """The coarse map ``a`` at pixel positions (xs, ys), as ``subtract_glare`` reads it."""
    out = np.empty(xs.size)
    for i in range(xs.size):
        out[i] = _coarse_at(a, cell, xs[i], ys[i])
    return out


@njit(cache=True, inline="always")
def _encode(lut, v):
    """The 8-bit code whose linear value (``lut``, increasing) is nearest ``v``."""
    lo, hi = 0, lut.size - 1
    if v <= lut[lo]:
        return lo
    if v >= lut[hi]:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if lut[mid] <= v:
            lo = mid
        else:
            hi = mid
    return lo if v - lut[lo] <= lut[hi] - v else hi


@njit(cache=True, parallel=True)
def subtract_glare(out, lut, glare, cell):
    """Take the glare (linear light, the same in each channel) out of ``out``, in place.

    ``out`` holds a copy of the photo; the glare is on the coarse grid of
    ``cell`` px, interpolated between cell centres, and each code it falls on
    is re-encoded to 8 bits. Pixels where it is not positive keep their codes:
    only the rows and columns within a cell of the coarse cells with glare are
    visited (copying the photo is NumPy's job, several times faster).
    """
    H, W = out.shape[0], out.shape[1]
    hc, wc = glare.shape
    lo = np.full(hc, wc, np.int64)  # each coarse row's first and last cell with glare
    hi = np.full(hc, -1, np.int64)
    for c in range(hc):
        for k in range(wc):
            if glare[c, k] > 0:
                lo[c] = min(lo[c], k)
                hi[c] = k
    for y in prange(H):
        y0, y1, _ = tile_lerp(y, cell, hc)
        a0, a1 = min(lo[y0], lo[y1]), max(hi[y0], hi[y1])
        if a1 < a0:
            continue
        # A pixel reads the cells whose centres bracket it: at most one cell away.
        for x in range(max((a0 - 1) * cell, 0), min((a1 + 2) * cell, W)):
            a = _coarse_at(glare, cell, x, y)
            if a > 0:
                for c in range(3):
                    out[y, x, c] = _encode(lut, lut[out[y, x, c]] - a)


def _sample(where):
    """Flat indices of an even sample of at most ~65,000 of the cells where ``where`` holds."""
    i = np.flatnonzero(where)
    return i[:: max(1, i.size // 65536)]


def _at(a, x, y):
    """Coarse map ``a`` at pixel positions x, y (array-likes of one shape)."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    return sample_coarse(a, _CELL, x.ravel(), y.ravel()).reshape(x.shape)


def find_glare(rgb, lut, bg, block, z, min_area):
    """The photo without its white glare, or None when it has none worth taking out.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo (sRGB).
    lut : (256,) float32
        sRGB code -> linear light.
    bg : (nby, nbx) float32
        Block skin level (linear luminance) per ``block`` x ``block`` tile.
    block : int
        The tiles' side, px.
    z : float
        Glare is taken out where it exceeds ``z`` x its estimate's scatter
        (and ``_FLOOR`` of the local light).
    min_area : float
        Patches of glare smaller than this (px²) are left: the pale rim of a
        large grey dot can look like a small one.

    Returns
    -------
    Glare or None
        None also when the skin has too little colour to tell glare by (a grey
        photo), or too few skin pixels.
    """
    sums = glare_sums(rgb, lut, bg, block, _SKIN_CUT, _CELL)
    for cell, s in ((_FIRST_CELL, _pooled(sums, _FIRST_CELL // _CELL)), (_CELL, sums)):
        found = _estimate(s, z, min_area, cell)
        if found is None:
            return None
    removed, light, eps, floor = found
    out = rgb.copy()
    subtract_glare(out, lut, (removed * light).astype(np.float32), _CELL)
    out.flags.writeable = False  # as the photo it stands for: one compiled kernel for both
    left = np.where(removed > 0, floor * light, 0.0).astype(np.float32)
    return Glare(out, removed, eps, float(np.mean(removed > 0)), left)


def _pooled(sums, k):
    """``glare_sums``'s cells pooled k x k: the sums over cells k times as large."""
    _, h, w = sums.shape
    if h % k or w % k:  # the edge cells lie partly outside the photo
        sums = np.pad(sums, ((0, 0), (0, -h % k), (0, -w % k)))
    # (Strided sums: NumPy's reduction over axes of a 5-d view is several times slower.)
    return sum(sums[:, i::k, j::k] for i in range(k) for j in range(k))


def _estimate(sums, z, min_area, cell):
    """The glare over ``cell`` px cells: (removed, light, eps, floor), or None (see find_glare).

    ``sums`` is ``glare_sums``'s output on those cells. ``removed`` is the share of the light
    to take out; ``light`` the skin's luminance per cell; ``floor`` the share left in the
    photo where glare is taken out.
    """
    n, ysum, csum = sums
    full = n >= 0.5 * np.max(n)  # cells that are mostly skin
    use = full & (csum > 0)
    if use.sum() < 16:
        return None
    # The skin's red - blue per unit of luminance: glare lowers it, so the median over cells.
    i = _sample(use)
    chroma = float(np.median(csum.ravel()[i] / ysum.ravel()[i]))
    if not chroma >= _MIN_CHROMA:
        return None
    s = math.sqrt(max(_SIGMA**2 - cell**2 / 12, 0.0)) / cell  # the cells average too
    gn, gy, gc = (cv2.GaussianBlur(a, (0, 0), s) if s > 0 else a for a in (n, ysum, csum))
    ok = gn > 0.05 * np.max(gn)
    # Glare over all the light, 1 - diffuse / all (0 where there is no skin to tell by).
    share = np.where(ok, 1.0 - gc / (chroma * np.where(ok, gy, 1.0)), 0.0).astype(np.float32)
    vals = share.ravel()[_sample(ok & full)]
    med = float(np.median(vals))
    eps = 1.4826 * float(np.median(np.abs(vals - med)))
    floor = max(z * eps, _FLOOR)
    removed = np.maximum(share - med - floor, 0.0).astype(np.float32)
    _, label, stats, _ = cv2.connectedComponentsWithStats((removed > 0).astype(np.uint8),
                                                         connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] * cell**2 < min_area
    small[0] = False  # the background label
    if small.any():
        removed[small[label]] = 0.0
    if not removed.max() > 0:
        return None
    # The coarse map holds luminance per skin sample; the glare's light is share x that.
    light = np.where(ok, gy / np.maximum(gn, 1e-12), 0.0)
    return removed, light, eps, floor
