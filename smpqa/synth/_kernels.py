"""Numba kernels of the simulator: arrays in, arrays out (or updated in place)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["stamp_capsules", "composite"]


@njit(cache=True)
def stamp_capsules(T, x0, y0, x1, y1, radius, soft, alpha, halo_amp, halo_width):
    """Multiply the transmittance map ``T`` (H, W) by ``1 - opacity`` of each shape.

    A shape is a capsule: the set of points within ``radius`` of the segment
    (x0, y0)–(x1, y1) (a disc when both ends coincide), with an edge ramp
    ``soft`` pixels wide (1 px gives area anti-aliasing) and peak opacity
    ``alpha``. An optional halo adds opacity ``alpha * halo_amp`` that decays
    as a half-Gaussian of width ``halo_width`` px outside the edge.
    Coordinates are pixel units with pixel centres at integers.
    """
    H, W = T.shape
    for i in range(x0.shape[0]):
        r = radius[i]
        s = max(soft[i], 1e-3)
        ha = halo_amp[i]
        hw = max(halo_width[i], 1e-3)
        ext = r + s + 1.0
        if ha > 0.0:
            ext += 3.5 * hw
        xa, ya, xb, yb = x0[i], y0[i], x1[i], y1[i]
        c0 = max(int(math.floor(min(xa, xb) - ext)), 0)
        c1 = min(int(math.ceil(max(xa, xb) + ext)), W - 1)
        r0 = max(int(math.floor(min(ya, yb) - ext)), 0)
        r1 = min(int(math.ceil(max(ya, yb) + ext)), H - 1)
        dx = xb - xa
        dy = yb - ya
        L2 = dx * dx + dy * dy
        a = alpha[i]
        for yy in range(r0, r1 + 1):
            for xx in range(c0, c1 + 1):
                t = 0.0
                if L2 > 0.0:
                    t = ((xx - xa) * dx + (yy - ya) * dy) / L2
                    t = min(max(t, 0.0), 1.0)
                ex = xx - (xa + t * dx)
                ey = yy - (ya + t * dy)
                d = math.sqrt(ex * ex + ey * ey)
                cov = min(max((r - d) / s + 0.5, 0.0), 1.0)
                op = a * cov
                if ha > 0.0:
                    z = max(d - r, 0.0) / hw
                    oh = a * ha * math.exp(-0.5 * z * z)
                    op = 1.0 - (1.0 - op) * (1.0 - oh)
                T[yy, xx] *= 1.0 - op


@njit(cache=True)
def composite(img, T, color):
    """In place: ``img = img * T + color * (1 - T)`` for an (H, W, 3) image."""
    H, W = T.shape
    for y in range(H):
        for x in range(W):
            t = T[y, x]
            if t < 1.0:
                for c in range(3):
                    img[y, x, c] = img[y, x, c] * t + color[c] * (1.0 - t)
    return img


def new_transmittance(height: int, width: int) -> np.ndarray:
    """An all-clear transmittance map."""
    return np.ones((height, width), dtype=np.float32)
