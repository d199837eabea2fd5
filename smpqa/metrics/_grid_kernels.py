"""Numba kernels on the region grid (smpqa.region.Grid): arrays in, arrays out."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["squared_edt", "nearest_other"]


@njit(cache=True)
def squared_edt(mask):
    """Squared Euclidean distance (cells, int32) from each cell to the nearest zero of ``mask``.

    Meijster, Roerdink and Hesselink's two-pass algorithm in exact integer
    arithmetic, so that ``sqrt`` of the result equals
    ``scipy.ndimage.distance_transform_edt(mask)`` to the last bit. Cells
    beyond the array are not zeros; with no zero at all every value is at
    least ``(rows + columns) ** 2`` (scipy is not matched there).

    Parameters
    ----------
    mask : (rows, columns) bool or integer array
        Non-zero cells are "inside"; rows + columns must stay below 46341 (int32
        squares).

    Returns
    -------
    numpy.ndarray of int32, (rows, columns)
    """
    h, w = mask.shape
    inf = h + w
    # Phase 1: distance to the nearest zero within each column.
    g = np.empty((h, w), np.int32)  # row by row, so that memory is read in order
    for x in range(w):
        g[0, x] = inf if mask[0, x] else 0
    for y in range(1, h):
        for x in range(w):
            g[y, x] = min(g[y - 1, x] + 1, inf) if mask[y, x] else 0
    for y in range(h - 2, -1, -1):
        for x in range(w):
            if g[y + 1, x] < g[y, x]:
                g[y, x] = g[y + 1, x] + 1
    # Phase 2: lower envelope of the parabolas (x - i)^2 + g(i)^2 along each row, written
    # over g row by row (fewer large arrays: fresh pages cost as much as the arithmetic).
    row = np.empty(w, np.int32)
    s = np.empty(w, np.int32)
    t = np.empty(w, np.int32)
    for y in range(h):
        row[:] = g[y]
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
            g[y, u] = d * d + row[s[q]] * row[s[q]]
            if u == t[q]:
                q -= 1
    return g


@njit(cache=True)
def nearest_other(x, y):
    """Distance from each point to the nearest other point (inf for a lone point).

    The points are sorted into square buckets of about one typical spacing;
    each point's search grows ring by ring until no bucket farther out can
    hold a closer point, so the answer is exact: the same distances as
    ``cKDTree.query(pts, k=2)[0][:, 1]``, several times faster.

    Parameters
    ----------
    x, y : (N,) float64 arrays
        Finite coordinates.

    Returns
    -------
    numpy.ndarray of float64, (N,)
    """
    n = x.shape[0]
    out = np.full(n, np.inf)
    if n < 2:
        return out
    x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
    span = max(x1 - x0, y1 - y0, 1e-9)
    area = max((x1 - x0) * (y1 - y0), span * span / n)
    cell = max(np.sqrt(area / n), span / 4096.0)
    nx = int((x1 - x0) / cell) + 1
    ny = int((y1 - y0) / cell) + 1
    bx = np.empty(n, np.int64)
    by = np.empty(n, np.int64)
    start = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        bx[i] = min(int((x[i] - x0) / cell), nx - 1)
        by[i] = min(int((y[i] - y0) / cell), ny - 1)
        start[by[i] * nx + bx[i] + 1] += 1
    for b in range(nx * ny):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        b = by[i] * nx + bx[i]
        order[fill[b]] = i
        fill[b] += 1
    # A point r + 1 rings out lies at least r cells away (less a hair for round-off).
    reach = cell * (1.0 - 1e-9)
    for i in range(n):
        best = np.inf
        r = 0
        while True:
            for cy in range(max(by[i] - r, 0), min(by[i] + r, ny - 1) + 1):
                edge_row = cy == by[i] - r or cy == by[i] + r
                step = 1 if edge_row else 2 * r
                cx = bx[i] - r
                while cx <= bx[i] + r:
                    if 0 <= cx < nx:
                        b = cy * nx + cx
                        for p in range(start[b], start[b + 1]):
                            j = order[p]
                            if j != i:
                                dx = x[j] - x[i]
                                dy = y[j] - y[i]
                                d2 = dx * dx + dy * dy
                                if d2 < best:
                                    best = d2
                    cx += step
            bound = r * reach
            if bound * bound >= best or (r >= nx and r >= ny):
                break
            r += 1
        out[i] = np.sqrt(best)
    return out
