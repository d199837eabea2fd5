"""Stubble: how deep the stubble hairs are against the skin around them.

Hairs are thin dark lines, 1-3 px wide in a phone macro photo, so blur
spreads them: their darkest pixel is far lighter than the hair's core. The
darkening integrated across a line is blur-proof (it equals width x core
darkening in linear light), so the core follows once the width is known.
The width comes from a fit of the hairs' pooled cross-section by a line of
width w blurred by the photo's blur, which is measured on the rims of
isolated dots. Where the hairs are not clearly wider than the blur, width and
darkness cannot be told apart, and no depth is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from ..color import SRGB8_TO_LINEAR, luminance_to_lightness
from . import _stubble_kernels as K

__all__ = ["Stubble", "measure_stubble", "MIN_HAIRS", "MIN_WIDTH_BLURS", "MIN_PX_PER_MM"]

#: Fewest measured hair segments for a stubble depth.
MIN_HAIRS = 12
#: Hairs narrower than this many blur sigmas leave their depth unmeasurable.
MIN_WIDTH_BLURS = 1.5
#: Below this scale a typical hair (0.07 mm) is under 1.1 px wide: its depth is not measured.
MIN_PX_PER_MM = 16.0
_PIXEL_BUDGET = 600_000  # pixels searched for hairs (tiles spread over larger photos)
_TILE = 384
_HAIR_WIDTH_MM = 0.07  # typical stubble hair, sets the ridge filter's scale
_MIN_LENGTH_MM = 0.4
_MIN_ELONGATION = 4.0
_RIDGE_INTEGRAL = 0.2  # faintest line found: relative darkening x width, px
_MAX_DOTS_FOR_BLUR = 160  # in all tiles together
_MAX_HAIRS = 240  # in all tiles together
_BIN_PX = 0.1  # bin width of the pooled cross-section, px


@dataclass(frozen=True, slots=True)
class Stubble:
    """Stubble-hair depth over the hairs found.

    Attributes
    ----------
    depth : float or None
        Median over hair segments of (L*skin - L*core) / L*skin; None when
        fewer than :data:`MIN_HAIRS` segments were measured or the hairs are
        too thin for their depth to be measured (see ``reason``).
    n_hairs : int
        Hair segments measured (found, when the search stopped before measuring).
    width_mm : float or None
        Hair width fitted to the pooled cross-sections.
    blur_px : float or None
        Edge spread (Gaussian sigma, px) measured on dot rims and used in the fits.
    reason : str or None
        Why ``depth`` is None.
    """

    depth: float | None
    n_hairs: int
    width_mm: float | None
    blur_px: float | None
    reason: str | None = None


def _tiles(h, w, budget, tile):
    """Tiles (y0, y1, x0, x1) of about ``budget`` pixels in all, spread evenly over the photo."""
    if h * w <= 1.5 * budget:
        return [(0, h, 0, w)]
    th, tw = min(tile, h), min(tile, w)
    n = max(1, int(budget // (th * tw)))
    rows = max(1, min(int(round(math.sqrt(n * h / w))), n))
    cols = max(1, n // rows)
    ys = np.linspace(0, h - th, rows + 2)[1:-1] if rows > 1 else [(h - th) / 2]
    xs = np.linspace(0, w - tw, cols + 2)[1:-1] if cols > 1 else [(w - tw) / 2]
    return [(int(y), int(y) + th, int(x), int(x) + tw) for y in ys for x in xs]


def _components(mask, min_len, min_elong):
    """Labels of ridge pixels, and the straight, long components' axes."""
    n, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    yy, xx = np.nonzero(labels)
    lab = labels[yy, xx]
    cnt = np.bincount(lab, minlength=n).astype(float)
    cnt[0] = np.inf
    mx = np.bincount(lab, xx, n) / cnt
    my = np.bincount(lab, yy, n) / cnt
    sxx = np.bincount(lab, xx * xx, n) / cnt - mx**2
    syy = np.bincount(lab, yy * yy, n) / cnt - my**2
    sxy = np.bincount(lab, xx * yy, n) / cnt - mx * my
    half, dif = (sxx + syy) / 2, np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    l1, l2 = half + dif, np.maximum(half - dif, 1 / 12)
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    length = np.sqrt(12 * l1)
    keep = (length >= min_len) & (np.sqrt(l1 / l2) >= min_elong)
    keep[0] = False
    ids = np.flatnonzero(keep)
    return labels, ids, mx[ids], my[ids], np.cos(theta[ids]), np.sin(theta[ids]), length[ids] / 2


def measure_stubble(rgb, dot_x, dot_y, dot_diameter_px, px_per_mm, *, valid=None,
                    blur_px=None, budget=_PIXEL_BUDGET) -> Stubble:
    """Find stubble hairs among the dots and measure their depth.

    Parameters
    ----------
    rgb : numpy.ndarray
        The photo, RGB uint8 (H, W, 3).
    dot_x, dot_y, dot_diameter_px : array_like
        The detected dots (px): discs around them are left out of the search.
    px_per_mm : float
    valid : callable, optional
        ``valid(x, y) -> bool array``: whether pixel positions lie in the
        part of the photo to judge (e.g. the treated region); hairs whose
        centre is outside are not used.
    blur_px : float, optional
        Edge spread (Gaussian sigma, px) of marks in the photo, optics and
        pixel sampling together; None measures it on the rims of isolated dots.
    budget : int
        About how many pixels to search: larger photos are searched in tiles
        spread evenly over the frame.

    Returns
    -------
    Stubble

    Notes
    -----
    Hair pixels are ridges of the luminance (linear light): the larger
    Hessian eigenvalue, at a scale of about half a hair's width, above a
    floor relative to the local skin and the smaller one under 0.4 of it.
    Discs 2 px wider than each detected dot are masked. Connected ridges at
    least 0.4 mm long and 4x longer than wide are hair segments; each
    segment's cross-section (pixels within a few blur widths of its axis,
    its ends and other marks left out) gives its skin and its darkening
    integrated across; one width is fitted to the cross-sections pooled over
    all segments, and each segment's core darkening is its integral over that
    width. The blur is the median edge spread of isolated dots' rims. See
    docs/metrics.md for the limits and the accuracy measured.
    """
    ppm = float(px_per_mm)
    if ppm < MIN_PX_PER_MM:
        return Stubble(None, 0, None, None, f"below {MIN_PX_PER_MM:g} px/mm stubble hairs are "
                       "too thin to measure their depth")
    h, w = rgb.shape[:2]
    dx = np.asarray(dot_x, float)
    dy = np.asarray(dot_y, float)
    dr = np.asarray(dot_diameter_px, float) / 2
    sig_h = float(np.clip(0.5 * _HAIR_WIDTH_MM * ppm, 1.0, 3.0))
    min_len = max(8.0, _MIN_LENGTH_MM * ppm)
    tiles = _tiles(h, w, budget, _TILE)
    rows = []
    for y0, y1, x0, x1 in tiles:
        lum = K.luminance(np.ascontiguousarray(rgb[y0:y1, x0:x1]), SRGB8_TO_LINEAR)
        ys = cv2.GaussianBlur(lum, (0, 0), sig_h)
        k = int(2 * round(max(15, 0.75 * ppm)) + 1)
        level = cv2.blur(lum, (k, k))
        # A line of integrated relative darkening m peaks at m / (sqrt(2 pi) s_t^3).
        st = math.sqrt(sig_h**2 + 1.0)
        thresh = _RIDGE_INTEGRAL / (math.sqrt(2 * math.pi) * st**3)
        ridge = K.ridge_mask(ys, level, np.float32(thresh), np.float32(0.4))
        inside = (dx >= x0 - 3 * dr - 4) & (dx < x1 + 3 * dr + 4) & (dy >= y0 - 3 * dr - 4) & (
            dy < y1 + 3 * dr + 4)
        tx, ty, tr = dx[inside] - x0, dy[inside] - y0, dr[inside]
        blocked = K.paint_discs(np.zeros(lum.shape, np.uint8), tx, ty, tr + 2.0)
        ridge[blocked != 0] = 0
        labels, ids, cx, cy, ux, uy, hl = _components(ridge, min_len, _MIN_ELONGATION)
        if valid is not None and ids.size:
            ok = np.asarray(valid(cx + x0, cy + y0), bool)
            ids, cx, cy, ux, uy, hl = ids[ok], cx[ok], cy[ok], ux[ok], uy[ok], hl[ok]
        cap = max(MIN_HAIRS, _MAX_HAIRS // len(tiles))
        if ids.size > cap:  # plenty for a median; spread over the tile
            pick = np.linspace(0, ids.size - 1, cap).astype(int)
            ids, cx, cy, ux, uy, hl = ids[pick], cx[pick], cy[pick], ux[pick], uy[pick], hl[pick]
        rows.append((lum, ridge, blocked, (tx, ty, tr), labels, (ids, cx, cy, ux, uy, hl)))
    n_found = sum(r[5][0].size for r in rows)
    if n_found < MIN_HAIRS:  # no stubble: the blur need not be measured
        return Stubble(None, n_found, None, None, f"fewer than {MIN_HAIRS} stubble hairs found")
    if blur_px is not None:
        s = float(blur_px)
    else:
        s_all = np.concatenate([_dot_spreads(r[0], r[1], *r[3], _MAX_DOTS_FOR_BLUR // len(rows))
                                for r in rows])
        s_all = s_all[np.isfinite(s_all)]
        if s_all.size < 5:
            return Stubble(None, n_found, None, None,
                           "too few isolated dots to measure the photo's blur")
        s = float(np.median(s_all))
    reach = 3.0 * s + 0.5 * _HAIR_WIDTH_MM * ppm + 3.5
    infos, dists, darks, owners = [], [], [], []
    for lum, _, blocked, _, labels, (ids, cx, cy, ux, uy, hl) in rows:
        if ids.size == 0:
            continue
        info, dist, dark, owner = K.cross_sections(lum, labels, blocked, ids.astype(np.int32),
                                                   cx, cy, ux, uy, hl, reach, 2.0 + 2.0 * s)
        owners.append(owner + sum(len(x) for x in infos))
        infos.append(info)
        dists.append(dist)
        darks.append(dark)
    if not infos:
        return Stubble(None, 0, None, s, f"fewer than {MIN_HAIRS} stubble hairs found")
    info = np.concatenate(infos)
    S, integral = info[:, 0], info[:, 1]
    # A step edge (skin of two levels) is not a hair; neither is a lighter line.
    good = (np.isfinite(info).all(1) & (S > 0) & (integral > 0)
            & (np.abs(info[:, 2] - info[:, 3]) <= 0.25 * integral))
    n = int(good.sum())
    if n < MIN_HAIRS:
        return Stubble(None, n, None, s, f"fewer than {MIN_HAIRS} stubble hairs found")
    # One width for all hairs, from their pooled cross-sections (each scaled by its own
    # integral): per-hair fits of lines about as thin as the blur are noise-driven.
    owner = np.concatenate(owners)
    dist, dark = np.concatenate(dists), np.concatenate(darks)
    keep = good[owner]
    dist, dark = dist[keep], dark[keep] / integral[owner[keep]]
    # Per bin of distance the median over pixels (hairs), not the mean: a neighbouring hair
    # in a minority of cross-sections must not widen the profile.
    bins = np.round(dist / _BIN_PX).astype(np.int64)
    bins -= bins.min()
    order = np.lexsort((dark, bins))
    cnt = np.bincount(bins)
    has = np.flatnonzero(cnt > 0)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])[has]
    med = dark[order][start + cnt[has] // 2]
    centres = (has + np.round(dist.min() / _BIN_PX)) * _BIN_PX
    cnt = cnt.astype(float)
    width = float(K.fit_width(centres, med, cnt[has], s, 2 * reach - 6.0))
    width_mm = width / ppm
    if width < MIN_WIDTH_BLURS * s:
        return Stubble(None, n, width_mm, s,
                       f"stubble hairs ({width:.1f} px wide) too thin for the blur "
                       f"({s:.2f} px) to tell their depth")
    S, A = S[good], np.minimum(integral[good] / width, 0.999 * S[good])
    Ls = luminance_to_lightness(S)
    depth = (Ls - luminance_to_lightness(S - A)) / Ls
    return Stubble(float(np.median(depth)), n, width_mm, s)


def _dot_spreads(lum, ridge, tx, ty, tr, cap):
    """Edge spreads (px) of up to ``cap`` of a tile's isolated dots, at least 4 px wide."""
    if tx.size < 2:
        return np.empty(0)
    # Isolated: no other dot's rim within 6 px of this one's.
    dist, idx = cKDTree(np.stack([tx, ty], 1)).query(np.stack([tx, ty], 1), k=2)
    gap = dist[:, 1] - tr - tr[idx[:, 1]]
    sel = np.flatnonzero((gap >= 6.0) & (tr >= 2.0))
    if sel.size > cap:
        sel = sel[np.linspace(0, sel.size - 1, cap).astype(int)]
    out = K.edge_spread(lum, ridge, tx[sel], ty[sel], tr[sel], 3.0)
    return out[:, 0]
