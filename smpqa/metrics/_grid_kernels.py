"""Numba kernels on the region grid (smpqa.region.Grid): arrays in, arrays out."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["squared_edt"]


@njit(cache=True)
def squared_edt(mask):
    """Squared Euclidean distance (cells, int64) from each cell to the nearest zero of ``mask``.

    Meijster, Roerdink and Hesselink's two-pass algorithm in exact integer
    arithmetic, so that ``sqrt`` of the result equals
    ``scipy.ndimage.distance_transform_edt(mask)`` to the last bit. Cells
    beyond the array are not zeros; with no zero at all every value is at
    least ``(rows + columns) ** 2`` (scipy is not matched there).

    Parameters
    ----------
    mask : (rows, columns) bool or integer array
        Non-zero cells are "inside".

    Returns
    -------
    numpy.ndarray of int64, (rows, columns)
    """
    h, w = mask.shape
    inf = h + w
    # Phase 1: distance to the nearest zero within each column.
    g = np.empty((h, w), np.int64)  # row by row, so that memory is read in order
    for x in range(w):
        g[0, x] = inf if mask[0, x] else 0
    for y in range(1, h):
        for x in range(w):
            g[y, x] = min(g[y - 1, x] + 1, inf) if mask[y, x] else 0
    for y in range(h - 2, -1, -1):
        for x in range(w):
            if g[y + 1, x] < g[y, x]:
                g[y, x] = g[y + 1, x] + 1
    # Phase 2: lower envelope of the parabolas (x - i)^2 + g(i)^2 along each row.
    out = np.empty((h, w), np.int64)
    s = np.empty(w, np.int64)
    t = np.empty(w, np.int64)
    for y in range(h):
        row = g[y]
        q = 0
        s[0] = 0
        t[0] = 0
        for u in range(1, w):
            gu2 = row[u] * row[u]
            while q >= 0:
                d_old = t[q] - s[q]
                d_new = t[q] - u
                if d_old * d_old + row[s[q]] * row[s[q]] <= d_new * d_new + gu2:
                    break
                q -= 1
            if q < 0:
                q = 0
                s[0] = u
            else:
                i = s[q]
                # First column where u's parabola is below i's: 1 + floor of their crossing.
                num = u * u - i * i + gu2 - row[i] * row[i]
                sep = num // (2 * (u - i))
                wx = 1 + sep
                if wx < w:
                    q += 1
                    s[q] = u
                    t[q] = wx
        for u in range(w - 1, -1, -1):
            d = u - s[q]
            out[y, u] = d * d + row[s[q]] * row[s[q]]
            if u == t[q]:
                q -= 1
    return out
