"""Numba kernel that tells stubble hairs from dots. Arrays in, arrays out.

A hair is a thin dark line; where hairs cross, overlap or run side by side,
their union can survive the detector's line opening and look like a small
dot. What a dot has and a tangle of lines has not is darkening *mass*
beyond what the lines passing through carry: a line crossing a disc of
radius rho about the seed carries about (its mass per unit length) x rho
into it for each crossing of the rim, and those crossings are read on the
rim itself. The kernel measures that excess mass and, as a guard, the
seed's inscribed radius at half its darkening (dots are wide, hairs thin).

Conventions as in ``_kernels``: images are indexed [row, column]; positions
are (x = column, y = row) with pixel centres at integers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["line_excess"]

_N_DIR = 16  # rays around each seed
_RAY_STEP = 1.0  # px between samples along a ray
_RIM_STEP = 0.5  # px between samples along the rim
_RIM = 2.0  # px between the body's half-darkening edge and the rim
_BASE_Q = 0.3  # quantile of the rim's samples taken as its bare level
_CHUNK = 256  # seeds per parallel task (they share buffers)


@njit(cache=True, inline="always")  # called per sample: a call would cost more than its body
def _dark(g, inv, x, y):
    """Relative darkening ``1 - g x inv`` (inv: 1 / skin) at (x, y), bilinear; NaN outside."""
    H, W = g.shape
    if not (0.0 <= x <= W - 1 and 0.0 <= y <= H - 1):
        return np.nan
    x0 = min(int(x), max(W - 2, 0))
    y0 = min(int(y), max(H - 2, 0))
    x1 = min(x0 + 1, W - 1)
    y1 = min(y0 + 1, H - 1)
    fx = x - x0
    fy = y - y0
    v = ((1 - fy) * ((1 - fx) * g[y0, x0] + fx * g[y0, x1])
         + fy * ((1 - fx) * g[y1, x0] + fx * g[y1, x1]))
    return 1.0 - v * inv


@njit(cache=True, inline="always")
def _run(g, inv, x, y, v0, ux, uy, level, reach):
    """Distance from (x, y), darkened by ``v0``, along (ux, uy) until the darkening is < ``level``.

    Linear between the last sample above and the first below; ``reach`` when
    it never falls within ``reach``; 0 when (x, y) itself is below ``level``
    (an off-peak centre: extrapolating back from the first sample would give
    any distance, down to -1e8). Also returns whether the image edge came
    first (the distance is then the last one inside).
    """
    if not (v0 >= level):
        return 0.0, False
    prev = v0
    s = _RAY_STEP
    while s <= reach:
        v = _dark(g, inv, x + s * ux, y + s * uy)
        if v != v:
            return s - _RAY_STEP, True
        if v < level:
            return s - _RAY_STEP + _RAY_STEP * (prev - level) / max(prev - v, 1e-9), False
        prev = v
        s += _RAY_STEP
    return reach, False


@njit(cache=True, parallel=True)
def line_excess(g, skin, xs, ys, reach, wide):
    """Each seed's darkening mass beyond the lines through it, and its inscribed radius.

    For each seed, the level is half the largest darkening ``1 - g / skin`` of
    the 3 x 3 pixels around it. Rays in 16 directions run from the seed until
    the darkening falls below that level (at most ``reach`` px); rays cut by
    the image edge are left out (fewer than 8 left: a NaN row). The body's
    half-width b is the 6th-shortest run of 16 (lines through the seed make
    only a few runs long); the inscribed radius is the 2nd-shortest. A seed
    darkened by less than that level itself (a centre beside the darkest
    pixel, as on the flank of a hair) has runs of 0: body 0, rim at 2 px.

    On the rim, a circle of radius rho = b + 2 px, the darkening is sampled
    every 0.5 px; its 30 % quantile is the bare level. The excess is the
    darkening above that level summed over the pixels of the disc, less rho
    times the darkening above it integrated along the rim: a line reaching
    the seed across the rim carries about that into the disc, so for hairs,
    their crossings, ends and bundles the excess is about zero or negative,
    and for a dot it is the dot's own mass (its own blur tail lies inside
    the rim). The excess is divided by the peak above the bare level, giving
    an area in px² comparable to a dot's.

    Parameters
    ----------
    g : (H, W) float32
        Linear luminance.
    skin : (N,) float64
        Each seed's skin luminance.
    xs, ys : (N,) float64
        Seed positions (px; need not be integers).
    reach : float
        Longest ray, px.
    wide : float
        Seeds with a larger inscribed radius (px) are not weighed: their
        excess stays NaN.

    Returns
    -------
    (N, 2) float64
        Excess area (px²) and inscribed radius (px). NaN where the skin is
        unusable, the seed lies outside the image, is not darker than the
        skin, or is cut by the image edge; the excess also where the
        inscribed radius exceeds ``wide``.
    """
    H, W = g.shape
    n = xs.size
    out = np.full((n, 2), np.nan)
    cos = np.cos(2 * np.pi * np.arange(_N_DIR) / _N_DIR)
    sin = np.sin(2 * np.pi * np.arange(_N_DIR) / _N_DIR)
    n_rim = max(16, int(2 * math.pi * (reach + _RIM) / _RIM_STEP)) + 1
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        runs = np.empty(_N_DIR)  # buffers shared by a chunk of seeds
        rim = np.empty(n_rim)
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
            fx, fy = xs[i], ys[i]
            if not (skin[i] > 0 and 0 <= fx <= W - 1 and 0 <= fy <= H - 1):
                continue
            inv = 1.0 / skin[i]
            bx, by = int(round(fx)), int(round(fy))
            peak = -np.inf
            for y in range(max(by - 1, 0), min(by + 2, H)):
                for x in range(max(bx - 1, 0), min(bx + 2, W)):
                    peak = max(peak, 1.0 - g[y, x] * inv)
            if not (peak > 0):
                continue
            n_in = 0
            v0 = _dark(g, inv, fx, fy)
            for k in range(_N_DIR):
                r, edge = _run(g, inv, fx, fy, v0, cos[k], sin[k], 0.5 * peak, reach)
                if not edge:
                    runs[n_in] = r
                    n_in += 1
            if n_in < _N_DIR // 2:
                continue
            srt = runs[:n_in]
            srt.sort()
            out[i, 1] = srt[1]
            if srt[1] > wide:
                continue  # as wide as a dot: no need to weigh it
            body = srt[(n_in * 5) // 16]
            rho = body + _RIM
            n_c = max(16, int(2 * math.pi * rho / _RIM_STEP))
            n_v = 0
            cd, sd = math.cos(2 * math.pi / n_c), math.sin(2 * math.pi / n_c)
            ct, st = 1.0, 0.0
            for _ in range(n_c):
                v = _dark(g, inv, fx + rho * ct, fy + rho * st)
                ct, st = ct * cd - st * sd, st * cd + ct * sd  # the next angle, by rotation
                if v == v:
                    rim[n_v] = v
                    n_v += 1
            if n_v < n_c // 2:
                continue
            ring = rim[:n_v]
            ring.sort()
            base = ring[int(_BASE_Q * n_v)]
            lines = 0.0
            for j in range(n_v):
                lines += max(ring[j] - base, 0.0)
            lines *= 2 * math.pi * rho / n_c
            mass = 0.0
            e = int(rho) + 1
            for y in range(max(by - e, 0), min(by + e + 1, H)):
                for x in range(max(bx - e, 0), min(bx + e + 1, W)):
                    if (x - fx) ** 2 + (y - fy) ** 2 <= rho * rho:
                        mass += 1.0 - g[y, x] * inv - base
            out[i, 0] = (mass - lines * rho) / max(peak - base, 1e-6)
    return out
