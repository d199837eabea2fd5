"""Numba kernels of the dot detector. Arrays in, arrays out; no knowledge of tables or files.

Conventions: images are (H, W) or (H, W, 3) arrays indexed [row, column];
positions are (x = column, y = row) with pixel centres at integers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..color import _SRGB_A, _SRGB_GAMMA, _SRGB_KNEE, _SRGB_SLOPE
from ._disc_profile import ALPHA_MAX as _PROF_AMAX
from ._disc_profile import ALPHA_STEP as _PROF_DA
from ._disc_profile import BETA_MAX as _PROF_BMAX
from ._disc_profile import BETA_MIN as _PROF_B0
from ._disc_profile import BETA_STEP as _PROF_DB
from ._disc_tail import ALPHA_STEP as _TAIL_DA
from ._disc_tail import BETA_MAX as _TAIL_BMAX
from ._disc_tail import BETA_MIN as _TAIL_B0
from ._disc_tail import BETA_STEP as _TAIL_DB

__all__ = [
    "block_percentile", "block_percentile_at", "darkening", "peaks", "saddle_same",
    "suppress_weaker", "kept_seeds", "ray_radius", "neighbours", "measure", "halo_ratio",
    "solve_radius", "solve_near_radius", "median", "blur_ssr", "twin_split",
]

_WR, _WG, _WB = 0.2126, 0.7152, 0.0722  # Rec. 709 luminance weights of linear RGB


@njit(cache=True, inline="always")
def _lum(rgb, lut, y, x):
    """Linear luminance of pixel (y, x) of an sRGB uint8 image through a 256-entry table."""
    return _WR * lut[rgb[y, x, 0]] + _WG * lut[rgb[y, x, 1]] + _WB * lut[rgb[y, x, 2]]


@njit(cache=True, inline="always")
def _kth(a, n, k):
    """The k-th smallest (0-based) of ``a[:n]``, by quickselect in place.

    Afterwards ``a[:k] <= a[k] <= a[k + 1:n]``.
    """
    lo, hi = 0, n - 1
    while lo < hi:
        p, q, r = a[lo], a[(lo + hi) // 2], a[hi]
        pivot = max(min(p, q), min(max(p, q), r))  # median of three
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


_BINS = 64  # value bins of the exact selection by counting


@njit(cache=True, inline="always")
def sort_small(a, n):
    """Sort ``a[:n]`` in place by insertion: for a few dozen values, faster than ``np.sort``."""
    for j in range(1, n):
        v = a[j]
        b = j - 1
        while b >= 0 and a[b] > v:
            a[b + 1] = a[b]
            b -= 1
        a[b + 1] = v


@njit(cache=True, inline="always")
def _bin(v, lo, scale):
    """The value's bin, clipped to the bins (a NaN must not index outside them)."""
    return min(max(int((v - lo) * scale), 0), _BINS - 1)


@njit(cache=True, inline="always")
def _kth_binned(a, n, k, count, tmp):
    """The k-th smallest (0-based) of ``a[:n]``, exactly, with few data-dependent branches.

    The values are counted into ``_BINS`` equal bins between their minimum
    and maximum (a monotone map, so the k-th value's bin is found from the
    counts); only that bin's few values are then selected among. ``count``
    (``_BINS`` ints) and ``tmp`` (n values) are scratch; ``a`` is not changed.
    A quickselect over all of ``a`` mispredicts about every other branch,
    which on a hundred to a few hundred values costs 3-5x more.
    """
    lo = a[0]
    hi = a[0]
    for t in range(1, n):
        lo = min(lo, a[t])
        hi = max(hi, a[t])
    if not hi > lo:
        return lo
    scale = _BINS / (hi - lo)
    count[:] = 0
    for t in range(n):
        count[_bin(a[t], lo, scale)] += 1
    below = 0
    b = 0
    while below + count[b] <= k:
        below += count[b]
        b += 1
    m = 0
    for t in range(n):  # the bin's values, gathered without a branch
        tmp[m] = a[t]
        m += _bin(a[t], lo, scale) == b
    return _kth(tmp, m, k - below)


@njit(cache=True)
def median(a, n):
    """Median of ``a[:n]`` (the mean of the middle two when n is even), as ``np.median``.

    ``a`` is not changed; its values must not be NaN. NaN for n = 0.
    """
    return _median(a, n, np.empty(_BINS, np.int32), np.empty(max(n, 0), a.dtype))


@njit(cache=True, inline="always")
def _median(a, n, count, tmp):
    """``median`` with the scratch of ``_kth_binned`` from the caller (``tmp``: n values)."""
    if n <= 0:
        return np.nan
    k = n // 2
    upper = _kth_binned(a, n, k, count, tmp)
    if n % 2:
        return float(upper)
    # The (k - 1)-th: the largest value below the k-th, unless k values tie with it.
    below = 0
    lower = upper
    first = True
    for t in range(n):
        if a[t] < upper:
            below += 1
            lower = a[t] if first else max(lower, a[t])
            first = False
    if below < k:
        lower = upper
    return (float(lower) + float(upper)) / 2


@njit(cache=True, inline="always")
def _median_code(codes, n, lut, count):
    """``np.median(lut[codes[:n]])`` for uint8 codes and a rising ``lut``, by counting.

    ``count`` is 256 ints of scratch; only the codes' range is cleared and
    scanned. The samples are never compared with one another (a selection
    mispredicts about every other such comparison), so this is about 5x faster
    on ~100 samples.
    """
    if n <= 0:
        return np.nan
    lo = hi = int(codes[0])  # as ints: a uint8 code of 255 plus 1 would wrap to 0
    for t in range(1, n):
        lo = min(lo, int(codes[t]))
        hi = max(hi, int(codes[t]))
    count[lo:hi + 1] = 0
    for t in range(n):
        count[codes[t]] += 1
    k = n // 2  # the k-th smallest (0-based); for even n also the (k - 1)-th
    below = 0
    lower = -1
    for v in range(lo, hi + 1):
        below += count[v]
        if lower < 0 and n % 2 == 0 and below >= k:
            lower = v
        if below > k:
            return lut[v] if n % 2 else (lut[lower] + lut[v]) / 2
    return np.nan


@njit(cache=True, parallel=True)
def block_percentile(rgb, lut, block, q):
    """The q-quantile (0-1) of the linear luminance in each block x block tile.

    Every other pixel (in both directions) is sampled in blocks of 8 px and more.
    """
    H, W = rgb.shape[0], rgb.shape[1]
    nby, nbx = (H + block - 1) // block, (W + block - 1) // block
    out = np.empty((nby, nbx), np.float32)
    for by in prange(nby):
        buf, count, tmp = _tile_scratch(block)
        for bx in range(nbx):
            out[by, bx] = _tile_quantile(rgb, lut, block, q, by, bx, buf, count, tmp)
    return out


@njit(cache=True, parallel=True)
def block_percentile_at(rgb, lut, block, q, todo, out):
    """``block_percentile``'s tiles where ``todo`` is True, written into ``out`` (nby, nbx).

    (Not called from ``block_percentile``: a cached function that calls a parallel one
    can crash when loaded from numba's cache, numba issue 8578.)
    """
    nby, nbx = out.shape
    for by in prange(nby):
        buf, count, tmp = _tile_scratch(block)
        for bx in range(nbx):
            if todo[by, bx]:
                out[by, bx] = _tile_quantile(rgb, lut, block, q, by, bx, buf, count, tmp)


@njit(cache=True, inline="always")
def _tile_scratch(block):
    """Buffers for ``_tile_quantile`` on tiles of ``block`` px."""
    step = 2 if block >= 8 else 1
    buf = np.empty(((block + 1) // step + 1) ** 2, np.float32)
    return buf, np.empty(_BINS, np.int32), np.empty(buf.size, np.float32)


@njit(cache=True, inline="always")
def _tile_quantile(rgb, lut, block, q, by, bx, buf, count, tmp):
    """The q-quantile of tile (by, bx)'s luminance, every other pixel from 8 px tiles up."""
    H, W = rgb.shape[0], rgb.shape[1]
    step = 2 if block >= 8 else 1
    n = 0
    for y in range(by * block, min((by + 1) * block, H), step):
        for x in range(bx * block, min((bx + 1) * block, W), step):
            buf[n] = _lum(rgb, lut, y, x)
            n += 1
    return _kth_binned(buf, n, min(int(q * n), n - 1), count, tmp)


@njit(cache=True, inline="always")
def tile_lerp(p, size, n):
    """Pixel ``p`` between the centres of tiles of ``size`` px (n of them) along one axis.

    Returns the two tiles' indices and the second one's weight, clamped at the ends: the
    bilinear interpolation of per-tile values (the block skin level, coarse maps).
    """
    f = (p + 0.5) / size - 0.5
    i0 = min(max(int(math.floor(f)), 0), n - 1)
    return i0, min(i0 + 1, n - 1), min(max(f - i0, 0.0), 1.0)


@njit(cache=True, inline="always")
def _reflect101(i, n):
    """Index ``i`` folded into [0, n) by mirroring about the end pixels (OpenCV's default)."""
    if n == 1:
        return 0
    while i < 0 or i >= n:
        i = -i if i < 0 else 2 * n - 2 - i
    return i


@njit(cache=True, inline="always")
def _cross_row(mid, up, down, out, erode):
    """One row of the erosion (or dilation) by the 3x3 cross; pixels beyond the ends ignored."""
    W = mid.size
    if W == 1:
        out[0] = min(min(up[0], down[0]), mid[0]) if erode else max(max(up[0], down[0]), mid[0])
        return
    if erode:
        out[0] = min(min(up[0], down[0]), min(mid[0], mid[1]))
        for x in range(1, W - 1):
            out[x] = min(min(up[x], down[x]), min(mid[x], min(mid[x - 1], mid[x + 1])))
        out[W - 1] = min(min(up[W - 1], down[W - 1]), min(mid[W - 1], mid[W - 2]))
    else:
        out[0] = max(max(up[0], down[0]), max(mid[0], mid[1]))
        for x in range(1, W - 1):
            out[x] = max(max(up[x], down[x]), max(mid[x], max(mid[x - 1], mid[x + 1])))
        out[W - 1] = max(max(up[W - 1], down[W - 1]), max(mid[W - 1], mid[W - 2]))


@njit(cache=True, parallel=True)
def darkening(rgb, lut, bg, block, kernel, open_lines, level, g, cs, line, strip=128):
    """The detector's per-pixel maps in one pass over the photo, a strip of rows at a time.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo (sRGB).
    lut : (256,) float
        sRGB code -> linear light.
    bg : (nby, nbx) float32
        Skin luminance per ``block`` x ``block`` tile, bilinearly interpolated
        between tile centres.
    kernel : (9,) float32
        Symmetric smoothing kernel, applied along rows and columns (borders
        mirrored about the end pixels, OpenCV's BORDER_REFLECT_101).
    open_lines : bool
        Open the darkening with the 3x3 cross before smoothing: lines
        narrower than 3 px (hairs) are wiped out, dots are not.
    level : float32
        Darkening an opening must remove for a pixel to count as a line.
    g : (H, W) float32, output
        Linear luminance.
    cs : (H, W) float32, output
        Relative darkening ``1 - g / skin`` (opened), smoothed by ``kernel``.
    line : float32, output
        Where the opening removed more than ``level``, the opened darkening,
        NaN elsewhere; (H, W), or (1, 1) (set to NaN) without the opening.
    strip : int
        Rows per task; each task also reads the few rows beyond its ends.

    Notes
    -----
    The same as the luminance and darkening per pixel, an erosion and a
    dilation by the cross (pixels beyond the frame ignored) and a separable
    filter with BORDER_REFLECT_101, but each strip's rows stay in cache
    between the steps instead of travelling through memory five times.
    The outputs come from the caller: NumPy asks for huge pages for large
    arrays, which halves the cost of first touching them.
    """
    if kernel.size != 9:
        raise ValueError("darkening: the smoothing kernel must have 9 taps")
    H, W = rgb.shape[0], rgb.shape[1]
    if g.shape != (H, W) or cs.shape != (H, W) or line.shape != ((H, W) if open_lines
                                                                 else (1, 1)):
        raise ValueError("darkening: the output arrays do not fit the photo")
    nby, nbx = bg.shape
    R = 4  # the smoothing kernel's half-width
    M = 2 if open_lines else 0  # rows the opening reads beyond the rows it makes
    x0 = np.empty(W, np.int64)  # the horizontal interpolation is the same on every row
    x1 = np.empty(W, np.int64)
    wx = np.empty(W)
    for x in range(W):
        x0[x], x1[x], wx[x] = tile_lerp(x, block, nbx)
    lr, lg, lb = _WR * lut, _WG * lut, _WB * lut  # luminance = lr[red] + lg[green] + lb[blue]
    if not open_lines:
        line[0, 0] = np.nan
    n_strips = (H + strip - 1) // strip
    for s in prange(n_strips):
        y0, y1 = s * strip, min((s + 1) * strip, H)
        a, b = max(y0 - R - M, 0), min(y1 + R + M, H)  # rows of darkening this strip reads
        c = np.empty((b - a, W), np.float32)
        top = np.empty(W, np.float32)
        bottom = np.empty(W, np.float32)
        row0 = -1
        spare = np.empty(W, np.float32)  # luminance of rows outside the strip
        sky = np.empty(W, np.float32)  # the skin's luminance along a row
        for y in range(a, b):
            by0, by1, wy = tile_lerp(y, block, nby)
            if by0 != row0:  # the two block rows, each interpolated along x, once per block row
                row0 = by0
                for x in range(W):
                    top[x] = (1 - wx[x]) * bg[by0, x0[x]] + wx[x] * bg[by0, x1[x]]
                    bottom[x] = (1 - wx[x]) * bg[by1, x0[x]] + wx[x] * bg[by1, x1[x]]
            lum = g[y] if y0 <= y < y1 else spare
            for x in range(W):
                lum[x] = lr[rgb[y, x, 0]] + lg[rgb[y, x, 1]] + lb[rgb[y, x, 2]]
            for x in range(W):
                sky[x] = top[x] + wy * (bottom[x] - top[x])
            cy = c[y - a]
            for x in range(W):
                cy[x] = np.float32(1.0) - lum[x] / sky[x] if sky[x] > 0 else np.float32(0.0)
        ca, cb = max(y0 - R, 0), min(y1 + R, H)  # rows the smoothing reads
        co, off = c, a  # what is smoothed: row y of it is co[y - off]
        if open_lines:
            ea, eb = max(y0 - R - 1, 0), min(y1 + R + 1, H)
            e = np.empty((eb - ea, W), np.float32)
            for y in range(ea, eb):  # erosion by the cross; beyond the frame, the pixel itself
                _cross_row(c[y - a], c[max(y - 1, 0) - a], c[min(y + 1, H - 1) - a],
                           e[y - ea], True)
            co, off = np.empty((cb - ca, W), np.float32), ca
            for y in range(ca, cb):  # ... then dilation: the opening
                _cross_row(e[y - ea], e[max(y - 1, 0) - ea], e[min(y + 1, H - 1) - ea],
                           co[y - ca], False)
            for y in range(y0, y1):
                for x in range(W):
                    o = co[y - ca, x]
                    line[y, x] = o if c[y - a, x] - o > level else np.nan
        k0, k1, k2, k3, k4 = kernel[0], kernel[1], kernel[2], kernel[3], kernel[4]
        tmp = np.empty(W + 8, np.float32)  # one row smoothed down the columns, padded
        for y in range(y0, y1):
            # Nine taps spelled out (and paired by symmetry): the compiler vectorises them.
            r0, r8 = co[_reflect101(y - 4, H) - off], co[_reflect101(y + 4, H) - off]
            r1, r7 = co[_reflect101(y - 3, H) - off], co[_reflect101(y + 3, H) - off]
            r2, r6 = co[_reflect101(y - 2, H) - off], co[_reflect101(y + 2, H) - off]
            r3, r5 = co[_reflect101(y - 1, H) - off], co[_reflect101(y + 1, H) - off]
            r4 = co[y - off]
            for x in range(W):
                tmp[x + 4] = (k0 * (r0[x] + r8[x]) + k1 * (r1[x] + r7[x]) + k2 * (r2[x] + r6[x])
                              + k3 * (r3[x] + r5[x]) + k4 * r4[x])
            for k in range(4):
                tmp[k] = tmp[_reflect101(k - 4, W) + 4]
                tmp[W + 4 + k] = tmp[_reflect101(W + k, W) + 4]
            out = cs[y]
            for x in range(W):
                out[x] = (k0 * (tmp[x] + tmp[x + 8]) + k1 * (tmp[x + 1] + tmp[x + 7])
                          + k2 * (tmp[x + 2] + tmp[x + 6]) + k3 * (tmp[x + 3] + tmp[x + 5])
                          + k4 * tmp[x + 4])


@njit(cache=True, inline="always")
def _is_peak(cs, y, x, k, thresh):
    """Is ``cs[y, x]`` >= thresh and >= every value within the (2k + 1)² square around it?"""
    v = cs[y, x]
    if not v >= thresh:
        return False
    H, W = cs.shape
    for yy in range(max(y - k, 0), min(y + k + 1, H)):
        for xx in range(max(x - k, 0), min(x + k + 1, W)):
            if cs[yy, xx] > v:
                return False
    return True


@njit(cache=True, parallel=True)
def peaks(cs, k, thresh):
    """Local maxima: pixels >= thresh and >= all others in their (2k + 1)² square.

    Returns their (x, y) in raster order. Only pixels above the threshold
    (a few percent of a photo) pay for the window test, so no full-image
    dilation is needed.
    """
    H, W = cs.shape
    count = np.zeros(H + 1, np.int64)
    # The first pass keeps each row's first _ROW_PEAKS columns; only a row with more (dense
    # stubble can have) is searched again once its place in the output is known.
    kept = np.empty((H, _ROW_PEAKS), np.int32)
    for y in prange(H):
        count[y + 1] = _row_peaks(cs, y, k, thresh, np.empty(W, np.uint8), kept[y])
    start = np.cumsum(count)
    xs = np.empty(start[H], np.int32)
    ys = np.empty(start[H], np.int32)
    for y in prange(H):
        a, b = start[y], start[y + 1]
        if b - a > _ROW_PEAKS:
            _row_peaks(cs, y, k, thresh, np.empty(W, np.uint8), xs[a:b])
        else:
            xs[a:b] = kept[y, :b - a]
        ys[a:b] = y
    return xs, ys


_ROW_PEAKS = 64  # peaks per row that the first pass of ``peaks`` keeps


@njit(cache=True, inline="always")
def _row_peaks(cs, y, k, thresh, flag, xs_out):
    """Count the peaks of row y and store the columns of the first ``xs_out.size`` in it.

    A branch-free pass first flags the pixels above the threshold and not
    below their left and right neighbours (a few in a hundred); only those
    pay for the full window test.
    """
    W = cs.shape[1]
    row = cs[y]
    if W < 3 or k < 1:
        for x in range(W):
            flag[x] = row[x] >= thresh
    else:
        flag[0] = (row[0] >= thresh) & (row[0] >= row[1])
        for x in range(1, W - 1):
            v = row[x]
            flag[x] = (v >= thresh) & (v >= row[x - 1]) & (v >= row[x + 1])
        flag[W - 1] = (row[W - 1] >= thresh) & (row[W - 1] >= row[W - 2])
    n = 0
    for x in range(W):
        if flag[x] and _is_peak(cs, y, x, k, thresh):
            if n < xs_out.size:
                xs_out[n] = x
            n += 1
    return n


@njit(cache=True, inline="always")
def _stays_above(cs, xa, ya, xb, yb, lim, from_b):
    """Does ``cs`` stay >= lim on the segment from seed a to seed b (ends excluded)?

    ``from_b`` reads the same points in the opposite order.
    """
    n = int(max(abs(xb - xa), abs(yb - ya))) + 1
    for u in range(1, n):
        s = n - u if from_b else u
        t = s / n
        x = int(round(xa + t * (xb - xa)))
        y = int(round(ya + t * (yb - ya)))
        if cs[y, x] < lim:
            return False
    return True


@njit(cache=True, parallel=True)
def saddle_same(cs, xs, ys, pi, pj, frac):
    """For each seed pair, True when ``cs`` stays >= frac x the weaker peak along the segment."""
    out = np.zeros(pi.size, np.bool_)
    for k in prange(pi.size):
        i, j = pi[k], pj[k]
        lim = frac * min(cs[ys[i], xs[i]], cs[ys[j], xs[j]])
        out[k] = _stays_above(cs, xs[i], ys[i], xs[j], ys[j], lim, False)
    return out


@njit(cache=True)
def suppress_weaker(n, pi, pj, same, strength):
    """Drop each seed that shares its dot (``same``) with a stronger neighbour.

    Not transitive on purpose: a chain of plateau seeds must not join two
    separate dots. Ties go to the lower index.
    """
    keep = np.ones(n, np.bool_)
    for k in range(pi.size):
        if not same[k]:
            continue
        a, b = pi[k], pj[k]
        if strength[a] > strength[b] or (strength[a] == strength[b] and a < b):
            keep[b] = False
        else:
            keep[a] = False
    return keep


@njit(cache=True, parallel=True)
def kept_seeds(cs, xs, ys, reach, frac, cell):
    """Which seeds share their dot with no stronger seed: ``suppress_weaker`` over all pairs.

    The same as ``saddle_same`` over every pair of seeds within ``reach`` px
    (lower index first) and ``suppress_weaker`` with ``cs`` at the seeds as
    strength, without the list of pairs: seed i looks (by a grid of ``cell``
    px) only at the seeds that would win against it, and stops at the first
    that shares its dot.
    """
    n = xs.size
    nx, ny, start, order, sx, sy = _grid(xs.astype(np.float64), ys.astype(np.float64), cell)
    strength = np.empty(n, cs.dtype)  # in the grid's order, as sx and sy
    for q in range(n):
        strength[q] = cs[ys[order[q]], xs[order[q]]]
    keep = np.ones(n, np.bool_)
    r2 = reach * reach
    for i in prange(n):
        x0, y0 = float(xs[i]), float(ys[i])
        si = cs[ys[i], xs[i]]
        cx0, cx1 = _cells(x0, reach, cell, nx)
        cy0, cy1 = _cells(y0, reach, cell, ny)
        for cy in range(cy0, cy1 + 1):
            for q in range(start[cy * nx + cx0], start[cy * nx + cx1 + 1]):
                if (sx[q] - x0) ** 2 + (sy[q] - y0) ** 2 > r2:
                    continue
                j = order[q]
                if not (strength[q] > si or (strength[q] == si and j < i)):
                    continue  # i would win (or j is i)
                # saddle_same's test: the points of the segment from the lower index to the
                # higher, here read from seed i's end (in cache, and where the weaker peak's
                # limit is passed soonest).
                lim = frac * min(si, strength[q])
                if (_stays_above(cs, xs[j], ys[j], xs[i], ys[i], lim, True) if j < i
                        else _stays_above(cs, xs[i], ys[i], xs[j], ys[j], lim, False)):
                    keep[i] = False
                    break
            if not keep[i]:
                break
    return keep


@njit(cache=True, parallel=True)
def ray_radius(cs, xs, ys, rmax):
    """Median and longest of 8 rays' distances at which ``cs`` falls to half its seed value.

    Returns an (N, 2) float32 array; a ray ends at ``rmax`` or at the image edge.
    """
    out = np.empty((xs.size, 2), np.float32)
    dxs = np.array([1, 1, 0, -1, -1, -1, 0, 1])
    dys = np.array([0, 1, 1, 1, 0, -1, -1, -1])
    for ch in prange((xs.size + _SEED_CHUNK - 1) // _SEED_CHUNK):
        rad = np.empty(8, np.float32)  # shared by a chunk of seeds
        for i in range(ch * _SEED_CHUNK, min((ch + 1) * _SEED_CHUNK, xs.size)):
            _rays(cs, xs[i], ys[i], rmax, dxs, dys, rad)
            sort_small(rad, 8)
            out[i, 0] = 0.5 * (rad[3] + rad[4])
            out[i, 1] = rad[7]
    return out


@njit(cache=True, inline="always")
def _rays(cs, x0, y0, rmax, dxs, dys, rad):
    """``ray_radius``'s eight distances from the seed (x0, y0), into ``rad``."""
    H, W = cs.shape
    half = 0.5 * cs[y0, x0]
    for k in range(8):
        step = math.sqrt(dxs[k] * dxs[k] + dys[k] * dys[k])
        prev = cs[y0, x0]
        r = rmax
        for s in range(1, int(rmax / step) + 2):
            x, y = x0 + s * dxs[k], y0 + s * dys[k]
            if x < 0 or y < 0 or x >= W or y >= H:
                r = (s - 1) * step
                break
            v = cs[y, x]
            if v < half:
                r = (s - 1 + (prev - half) / max(prev - v, 1e-9)) * step
                break
            prev = v
        rad[k] = r


@njit(cache=True)
def _grid(xs, ys, cell):
    """Bucket the points by square cells of ``cell`` px (counting sort, cells in raster order).

    Returns (nx, ny, start, order, sx, sy): the points of cell c = cy * nx + cx are
    ``order[start[c]:start[c + 1]]``, and ``sx``/``sy`` hold their coordinates in that
    order, so that a row of cells is one contiguous run of the sorted arrays.
    """
    n = xs.size
    gx = np.empty(n, np.int64)
    gy = np.empty(n, np.int64)
    nx = 1
    ny = 1
    for i in range(n):
        gx[i] = xs[i] // cell
        gy[i] = ys[i] // cell
        nx = max(nx, gx[i] + 1)
        ny = max(ny, gy[i] + 1)
    start = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        start[gy[i] * nx + gx[i] + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    sx = np.empty(n)
    sy = np.empty(n)
    for i in range(n):
        c = gy[i] * nx + gx[i]
        order[fill[c]] = i
        sx[fill[c]] = xs[i]
        sy[fill[c]] = ys[i]
        fill[c] += 1
    return nx, ny, start, order, sx, sy


@njit(cache=True, inline="always")
def _cells(v, r, cell, n):
    """The first and last cell (of n along an axis) that can hold a point within r of v."""
    # A millionth of a cell of slack: no rounding of v - r can leave a point at exactly r out.
    lo = int(math.floor((v - r) / cell - 1e-6))
    hi = int(math.floor((v + r) / cell + 1e-6))
    return max(lo, 0), min(hi, n - 1)


@njit(cache=True, inline="always")
def _near(i, xs, ys, r, cell, nx, ny, start, order, sx, sy, out):
    """How many seeds lie within r of seed i (grid buckets); written to ``out`` unless empty.

    Only the cells the disc of radius r reaches are read; each row of them is one run of
    the sorted coordinates.
    """
    k = 0
    x0, y0 = xs[i], ys[i]
    r2 = r * r
    cx0, cx1 = _cells(x0, r, cell, nx)
    cy0, cy1 = _cells(y0, r, cell, ny)
    for cy in range(cy0, cy1 + 1):
        for q in range(start[cy * nx + cx0], start[cy * nx + cx1 + 1]):
            if (sx[q] - x0) ** 2 + (sy[q] - y0) ** 2 <= r2:
                j = order[q]
                if j != i:
                    if out.size:
                        out[k] = j
                    k += 1
    return k


@njit(cache=True, parallel=True)
def neighbours(xs, ys, reach, cell, nearest_first=True):
    """CSR lists of the seeds within ``reach[i]`` px of each seed i, by a grid of ``cell`` px.

    Returns (ptr, idx): seed i's neighbours are ``idx[ptr[i]:ptr[i + 1]]`` (itself excluded),
    nearest first (ties in an unspecified order) unless ``nearest_first`` is False, when
    they come in grid order (for callers that only need the pairs).
    """
    n = xs.size
    nx, ny, start, order, sx, sy = _grid(xs, ys, cell)
    count = np.zeros(n + 1, np.int64)
    none = np.empty(0, np.int64)
    for i in prange(n):  # first count, then fill
        count[i + 1] = _near(i, xs, ys, reach[i], cell, nx, ny, start, order, sx, sy, none)
    ptr = np.cumsum(count)
    idx = np.empty(ptr[n], np.int64)
    for i in prange(n):
        seg = idx[ptr[i]:ptr[i + 1]]
        _near(i, xs, ys, reach[i], cell, nx, ny, start, order, sx, sy, seg)
        if nearest_first:  # see _owned
            _sort_by_distance(seg, xs[i], ys[i], xs, ys)
    return ptr, idx


@njit(cache=True)
def _sort_by_distance(seg, x0, y0, xs, ys):
    """Insertion-sort the seed indices ``seg`` in place by squared distance to (x0, y0)."""
    for a in range(1, seg.size):
        j = seg[a]
        dj = (xs[j] - x0) ** 2 + (ys[j] - y0) ** 2
        b = a - 1
        while b >= 0 and (xs[seg[b]] - x0) ** 2 + (ys[seg[b]] - y0) ** 2 > dj:
            seg[b + 1] = seg[b]
            b -= 1
        seg[b + 1] = j


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _safe2(i, xs, ys, nb_ptr, nb_idx):
    """Squared half-distance to seed i's nearest neighbour: pixels closer are surely its own."""
    if nb_ptr[i + 1] == nb_ptr[i]:
        return np.inf
    j = nb_idx[nb_ptr[i]]  # the lists are sorted, nearest first
    return ((xs[j] - xs[i]) ** 2 + (ys[j] - ys[i]) ** 2) / 4.0


@njit(cache=True, inline="always")
def _near_table(i, xs, ys, nb_ptr, nb_idx, reach2, jx, jy):
    """Seed i's neighbour seeds nearer than sqrt(``reach2``) to it, into ``jx``/``jy``.

    Returns how many (the buffers must hold all of seed i's neighbours). Only
    those can own a pixel within sqrt(``reach2``) / 2 of seed i: a seed nearer
    to the pixel than seed i is, is nearer than twice that to seed i.
    """
    m = 0
    for k in range(nb_ptr[i], nb_ptr[i + 1]):
        j = nb_idx[k]
        if (xs[j] - xs[i]) ** 2 + (ys[j] - ys[i]) ** 2 >= reach2:
            break  # the lists are sorted, nearest first: the rest are farther
        jx[m], jy[m] = xs[j], ys[j]
        m += 1
    return m


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _owned(x, y, sx, sy, safe2, jx, jy, m):
    """Is pixel (x, y) at least as close to the seed at (sx, sy) as to each of the m others?

    ``jx``/``jy`` hold the other seeds (from ``_near_table``, with a reach of at
    least twice the pixel's distance to the seed), ``safe2`` is from ``_safe2``.
    All m are compared without a branch: which one decides is unpredictable
    when dots are dense, and a mispredicted branch costs more than the rest.
    """
    d0 = (x - sx) ** 2 + (y - sy) ** 2
    if d0 <= safe2:
        return True
    hits = 0
    for k in range(m):
        hits += (x - jx[k]) ** 2 + (y - jy[k]) ** 2 < d0
    return hits == 0


@njit(cache=True, inline="always")
def _owned_run(y, i, xs, ys, nb_ptr, nb_idx, xa, xb):
    """The pixels x of row y, among xa..xb, that ``_owned`` gives to seed i: a run lo..hi.

    A pixel is nearer neighbour j than seed i on one side of their bisector;
    along a row that is a half-line, so seed i's pixels are one run (empty
    when lo > hi). Pixel d = p - i is nearer j (v = j - i) when 2 d.v > |v|²;
    on integer positions every quantity here is an exact integer. Neighbours
    come nearest first: one at |v|² >= 4 x the row's farthest d² owns none of
    its pixels, nor does any after it.
    """
    xi, yi = xs[i], ys[i]
    dy = y - yi
    far = max((xa - xi) ** 2, (xb - xi) ** 2) + dy * dy
    lo, hi = xa, xb
    for k in range(nb_ptr[i], nb_ptr[i + 1]):
        j = nb_idx[k]
        vx, vy = xs[j] - xi, ys[j] - yi
        D = vx * vx + vy * vy
        if D >= 4 * far:
            break
        c = D - 2 * dy * vy  # seed i keeps the pixels with 2 dx vx <= c
        if vx > 0:
            hi = min(hi, xi + int(math.floor(c / (2 * vx))))
        elif vx < 0:
            lo = max(lo, xi + int(math.ceil(c / (2 * vx))))
        elif c < 0:
            return xa, xa - 1
        if lo > hi:
            break
    return lo, hi


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _observed(rgb, lut, line, S, y, x):
    """Linear RGB at (y, x); on a line pixel (a hair), the skin dimmed by the dot-scale darkening.

    ``line`` holds NaN off lines and the darkening left after an opening that
    wipes out thin lines on them; a (1, 1) array means no line map.
    """
    if line.shape[0] > 1:
        v = line[y, x]
        if v == v:
            return S[0] * (1 - v), S[1] * (1 - v), S[2] * (1 - v)
    return lut[rgb[y, x, 0]], lut[rgb[y, x, 1]], lut[rgb[y, x, 2]]


@njit(cache=True, inline="always")
def _encode(v):
    """sRGB encoding of a linear value (clipped to [0, 1]), as a code / 255.

    ``smpqa.color.linear_to_srgb`` for one value, with its constants.
    """
    v = min(max(v, 0.0), 1.0)
    if v <= _SRGB_KNEE:
        return _SRGB_SLOPE * v
    return (1 + _SRGB_A) * v ** (1 / _SRGB_GAMMA) - _SRGB_A


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _observed_code(rgb, line, o0, o1, o2, y, x):
    """The sRGB codes / 255 at (y, x) of what ``_observed`` gave there (``o0``, ``o1``, ``o2``)."""
    if line.shape[0] > 1:
        v = line[y, x]
        if v == v:
            return _encode(o0), _encode(o1), _encode(o2)
    return rgb[y, x, 0] * (1 / 255), rgb[y, x, 1] * (1 / 255), rgb[y, x, 2] * (1 / 255)


# The columns of ``measure``'s table (see its Returns); a group starts at its name.
M_X, M_Y = 0, 1  # the centre
M_I, M_P = 2, 3  # the darkening's integral and smoothed peak (luminance)
M_MOM = 4  # Mxx, Myy, Mxy: the darkening's central second moments
M_INK = 7  # I_r, I_g, I_b: the darkening's integral per channel
M_SKIN = 10  # S_r, S_g, S_b: the skin at the centre
M_P2 = 13  # the peak smoothed by a Gaussian twice as wide
M_MASK = 14  # mxx, myy, mxy, count: the half-peak mask's moments and pixels
M_NEAR = 18  # I_near, P_near, P2_near, offset: over the skin just around the dot
M_CODE = 22  # J_r, J_g, J_b: the darkening's integral per channel in sRGB codes / 255
M_COLS = 25

_CORE_ITER = 1  # re-centrings of the core's centroid after the first
_CENTRE_PASSES = 4  # most re-centrings of measure's disc (isolated seeds) before the last pass
_SEED_CHUNK = 64  # seeds per parallel task of measure and halo_ratio (they share buffers)


@njit(cache=True)
def _recentre(bd, bx, by, n, fx, fy, r2, iters):
    """The darkening's centroid within ``r2`` (radius²) of (fx, fy), re-found ``iters`` times.

    Each round moves the disc onto the last centroid, as a mass-centre
    refinement does: a hair through the first disc pulls the centroid off
    the dot by its mass there, and the next disc holds less of it. NaN when
    the first disc holds no darkening; a later empty disc keeps the last
    centroid.
    """
    for it in range(iters):
        t = 0.0
        sx = 0.0
        sy = 0.0
        for k in range(n):
            dx = bx[k] - fx
            dy = by[k] - fy
            if dx * dx + dy * dy <= r2:
                t += bd[k]
                sx += bd[k] * bx[k]
                sy += bd[k] * by[k]
        if not (t > 0):
            return (np.nan, np.nan) if it == 0 else (fx, fy)
        fx, fy = sx / t, sy / t
    return fx, fy


@njit(cache=True, inline="always")
def _gauss_line(g, row, n, d0, k1):
    """``g[row, j] = exp(k1 (d0 + j)²)`` for j < n, by recurrence from the peak outwards.

    Neighbouring samples of a Gaussian differ by a factor that itself changes by a constant
    factor, so four exps do instead of n; going outwards from the sample nearest the peak,
    the products shrink towards zero rather than grow from it (no underflow to 0 near
    the peak however far the line reaches).
    """
    jc = min(max(int(math.floor(0.5 - d0)), 0), n - 1)  # the sample nearest the peak
    dc = d0 + jc
    e = math.exp(k1 * dc * dc)
    g[row, jc] = e
    c = math.exp(2.0 * k1)
    r = math.exp(k1 * (2.0 * dc + 1.0))
    v = e
    for j in range(jc + 1, n):
        v *= r
        r *= c
        g[row, j] = v
    r = math.exp(k1 * (1.0 - 2.0 * dc))
    v = e
    for j in range(jc - 1, -1, -1):
        v *= r
        r *= c
        g[row, j] = v


@njit(cache=True, inline="always")
def _peaks_at(bd, bx, by, n, fx, fy, sigma, gx, gy):
    """Darkening weighted by Gaussians of ``sigma`` and 2 ``sigma`` at (fx, fy).

    ``bd`` holds n pixels' darkening at integer offsets ``bx``, ``by`` (shifted by
    one common sub-pixel amount) from a centre; the weights are separable, so a
    line of weights per axis does (``_gauss_line``). ``gx`` and ``gy``
    (2 x at least that extent) are scratch. Returns the weighted sums and the
    sums of the weights: p1, w1, p2, w2.
    """
    k1 = -0.5 / (sigma * sigma)
    x0, y0 = bx[0], by[0]  # n >= 1
    x1, y1 = x0, y0
    for k in range(1, n):
        x0 = min(x0, bx[k])
        y0 = min(y0, by[k])
        x1 = max(x1, bx[k])
        y1 = max(y1, by[k])
    nx = int(x1 - x0 + 0.5) + 1  # a neighbour's cell can cut the disc short
    ny = int(y1 - y0 + 0.5) + 1
    _gauss_line(gx, 0, nx, x0 - fx, k1)
    _gauss_line(gx, 1, nx, x0 - fx, 0.25 * k1)
    _gauss_line(gy, 0, ny, y0 - fy, k1)
    _gauss_line(gy, 1, ny, y0 - fy, 0.25 * k1)
    p1 = w1 = p2 = w2 = 0.0
    for k in range(n):
        jx = int(bx[k] - x0 + 0.5)  # offsets differ by near-integers
        jy = int(by[k] - y0 + 0.5)
        w = gx[0, jx] * gy[0, jy]
        v = gx[1, jx] * gy[1, jy]
        p1 += w * bd[k]
        w1 += w
        p2 += v * bd[k]
        w2 += v
    return p1, w1, p2, w2


_N_BINS = 16  # angular bins of the skin ring's profile
_GLARE_SPREAD = 0.1  # a ring brighter than its median by this much in places: light changes
_BIN_COS = np.cos(2 * np.pi * (np.arange(_N_BINS) + 0.5) / _N_BINS)  # the bins' middles
_BIN_SIN = np.sin(2 * np.pi * (np.arange(_N_BINS) + 0.5) / _N_BINS)


@njit(cache=True)
def _ring_profile(codes, slot, n_slots, m, lut, Sl, spread):
    """The skin ring's luminance per angular bin, over ``Sl``; empty where the ring is flat.

    A bin's value is the median of its samples, and a bin darker than ``Sl`` counts as ``Sl``:
    glare brightens part of a ring, while what darkens part of it is mostly other dots' and
    hairs' edges. An empty bin takes its nearest filled neighbours' mean. The ring is flat when
    no bin is ``spread`` (relative) brighter than ``Sl``. (``measure`` calls this only for a
    ring with a sample whose green is that much brighter than the ring's median green.)
    Sample k lies at the angle 2 pi ``slot[k]`` / ``n_slots``; bin b holds the angles from
    2 pi b / ``_N_BINS`` up to the next bin's.
    """
    if not (Sl > 0):  # black skin (a dark frame): no light to follow
        return np.empty(0)
    prof = np.full(_N_BINS, np.nan)
    vals = np.empty(m)
    sbin = slot[:m] * _N_BINS // n_slots  # (a division per sample: only here, not per ring)
    for b in range(_N_BINS):
        n = 0
        for k in range(m):
            if sbin[k] == b:
                vals[n] = _WR * lut[codes[0, k]] + _WG * lut[codes[1, k]] + _WB * lut[codes[2, k]]
                n += 1
        if n > 0:
            prof[b] = max(np.median(vals[:n]) / Sl, 1.0)
    out = prof.copy()
    for b in range(_N_BINS):
        for d in range(1, _N_BINS // 2 + 1):  # an empty bin: its nearest filled neighbours
            if out[b] == out[b]:
                break
            lo, up = prof[(b - d) % _N_BINS], prof[(b + d) % _N_BINS]
            out[b] = np.nanmean(np.array([lo, up])) if (lo == lo or up == up) else np.nan
    if out.max() - 1.0 < spread:
        return np.empty(0)
    return out


@njit(cache=True, inline="always")
def _skin_factor(prof, dx, dy, R):
    """The skin's luminance at (dx, dy) from the ring's centre, over the ring's median.

    1 for a flat ring (empty ``prof``); else Poisson's integral of the profile over the
    ring of radius ``R`` (the smoothest surface that meets the ring), over the bins' middles
    and normalised by its weights: a weighted mean of the profile.
    """
    if prof.size == 0:
        return 1.0
    r = math.sqrt(dx * dx + dy * dy)
    q = min(r / R, 0.95)
    c, s = (dx / r, dy / r) if r > 0 else (1.0, 0.0)
    q2 = q * q
    acc = 0.0
    wsum = 0.0
    for b in range(_N_BINS):  # normalised: 16 bins are coarse for the kernel near the ring
        w = (1 - q2) / (1 - 2 * q * (c * _BIN_COS[b] + s * _BIN_SIN[b]) + q2)
        acc += w * prof[b]
        wsum += w
    return acc / wsum


@njit(cache=True, inline="always")
def _disc_sums(cx, cy, rgb, lut, line, S, Sl, Sc, prof, R_ring, xi, yi, R, i, xs, ys, nb_ptr,
               nb_idx, H, W, bd, bx, by, codes):
    """Seed i's darkening over its pixels of the disc of radius ``R`` about (cx, cy).

    The skin is ``S`` (luminance ``Sl``, sRGB codes / 255 ``Sc``) times ``_skin_factor``
    about the seed (xi, yi). Fills ``bd``, ``bx``, ``by`` with each pixel's luminance
    darkening and offset from (cx, cy); returns their count, the darkening's sum and first
    moments, the per-channel sums of the darkening and, when ``codes`` is True (else 0),
    the per-channel sums of the darkening in sRGB codes / 255.
    """
    cnt = np.int64(0)  # typed int64 from the start: a literal 0 compiles callees twice
    tot = mx = my = I0 = I1 = I2 = J0 = J1 = J2 = 0.0
    for y in range(max(int(math.ceil(cy - R)), 0), min(int(cy + R), H - 1) + 1):
        dy = y - cy
        half = math.sqrt(max(R * R - dy * dy, 0.0))
        xa, xb = _owned_run(y, i, xs, ys, nb_ptr, nb_idx, max(int(math.ceil(cx - half)), 0),
                            min(int(cx + half), W - 1))
        for x in range(xa, xb + 1):  # this seed's pixels of the row
            dx = x - cx
            o0, o1, o2 = _observed(rgb, lut, line, S, y, x)
            f = _skin_factor(prof, x - xi, y - yi, R_ring)
            D = Sl * f - (_WR * o0 + _WG * o1 + _WB * o2)
            tot += D
            mx += D * dx
            my += D * dy
            I0 += S[0] * f - o0
            I1 += S[1] * f - o1
            I2 += S[2] * f - o2
            if codes:
                c0, c1, c2 = _observed_code(rgb, line, o0, o1, o2, y, x)
                if f == 1.0:
                    J0 += Sc[0] - c0
                    J1 += Sc[1] - c1
                    J2 += Sc[2] - c2
                else:  # the skin under glare: encoded pixel by pixel
                    J0 += _encode(S[0] * f) - c0
                    J1 += _encode(S[1] * f) - c1
                    J2 += _encode(S[2] * f) - c2
            bd[cnt] = D
            bx[cnt] = dx
            by[cnt] = dy
            cnt += 1
    return cnt, tot, mx, my, I0, I1, I2, J0, J1, J2


@njit(cache=True, parallel=True)
def measure(rgb, lut, line, cs, xs, ys, r_half, nb_ptr, nb_idx, t_low, sigma_p, margin, gap):
    """Per-seed photometry and shape by integrating the darkening against the local skin.

    For each seed, the local skin colour is the per-channel median of an annulus
    just outside the dot (pixels of other dots excluded); where part of that
    annulus is brighter than its median by 10 % or more (glare), the skin's
    luminance under the dot follows it (``_ring_profile``, ``_skin_factor``),
    and the colour scales with it. The darkening
    (skin - observed, linear light) is integrated over a disc of radius
    ``r_half + margin`` among the pixels nearer to this seed than to any
    neighbour; the centre is re-found once from that integral's centroid.

    Returns
    -------
    out : (N, M_COLS) float64
        In this order (each group starts at the column of its ``M_*`` name):
        x, y (the centroid of the core's darkening), I_lum, P_lum (darkening smoothed
        by a Gaussian of ``sigma_p`` at that centre), Mxx, Myy, Mxy (central second
        moments / I), I_r, I_g, I_b, S_r, S_g, S_b (the skin at the centre), P2_lum
        (as P_lum with a Gaussian of 2 x ``sigma_p``), and the second moments mxx, myy,
        mxy of the half-peak mask (pixels darkened by at least P_lum / 2) and its pixel
        count; then I, P and P2 over the skin just around the dot (I_near, P_near,
        P2_near) and that skin's offset: the darkening less its mean over the disc's pixels beyond
        ``r_half + gap`` from the centre (no dot there, only the skin's own texture
        and level error, which the wide disc would otherwise integrate), the
        Gaussians normalised by their weight over the whole pixel grid (beyond the
        disc the offset darkening is zero); NaN with fewer than 6 such pixels; last,
        J_r, J_g, J_b: the per-channel integrals of the darkening in sRGB codes / 255
        (skin encoded less observed encoded), which JPEG's rounding of a small dot's
        chroma leaves nearly whole (the linear ones it does not: docs/detection.md).
    npix : (N,) int64
        Pixels integrated.
    """
    H, W = cs.shape
    n = xs.size
    out = np.full((n, M_COLS), np.nan)
    npix = np.zeros(n, np.int64)
    for ch in prange((n + _SEED_CHUNK - 1) // _SEED_CHUNK):
        # Buffers shared by a chunk of seeds, grown to fit the widest of them.
        codes = np.empty((3, 0), np.uint8)
        slot = np.empty(0, np.int64)  # each sample's angle, in steps of pi / n_ang
        flat = np.empty(0)  # the profile of a ring without glare
        count = np.empty(256, np.int32)
        S = np.empty(3)
        Sc = np.empty(3)
        jx = np.empty(0)
        jy = np.empty(0)
        bd = np.empty(0)
        bx = np.empty(0)
        by = np.empty(0)
        gx = np.empty((2, 0))
        gy = np.empty((2, 0))
        for i in range(ch * _SEED_CHUNK, min((ch + 1) * _SEED_CHUNK, n)):
            rh = r_half[i]
            R = rh + margin
            Rs0 = max(R, 2.0 * rh + 2.0)
            xi, yi = xs[i], ys[i]
            safe2 = _safe2(i, xs, ys, nb_ptr, nb_idx)
            # The neighbours that may own an annulus pixel (a sample is within Rs0 + 4).
            if jx.size < nb_ptr[i + 1] - nb_ptr[i]:
                jx, jy = np.empty(nb_ptr[i + 1] - nb_ptr[i]), np.empty(nb_ptr[i + 1] - nb_ptr[i])
            nj = _near_table(i, xs, ys, nb_ptr, nb_idx, 4 * (Rs0 + 4) ** 2, jx, jy)
            # Local skin: median of the annulus [Rs0 + 1, Rs0 + 3], sampled on two circles
            # (~100 samples: as steady as four circles, at half the cost); other dots' pixels
            # and hairs left out. Nearer the dot, blur and JPEG chroma bleed its colour in.
            n_ang = max(16, int(2 * math.pi * Rs0))
            if codes.shape[1] < 2 * n_ang:
                codes, slot = np.empty((3, 2 * n_ang), np.uint8), np.empty(2 * n_ang, np.int64)
            m = np.int64(0)  # (not a literal 0: see _disc_sums)
            top = 0  # the brightest green code
            cd, sd = math.cos(2 * math.pi / n_ang), math.sin(2 * math.pi / n_ang)
            for k in range(2):
                rad = Rs0 + 1 + 2 * k
                ct, st = math.cos(math.pi * k / n_ang), math.sin(math.pi * k / n_ang)
                for j in range(n_ang):
                    x = int(round(xi + rad * ct))
                    y = int(round(yi + rad * st))
                    ct, st = ct * cd - st * sd, st * cd + ct * sd  # the next angle, by rotation
                    if x < 0 or y < 0 or x >= W or y >= H:
                        continue
                    # Other dots' pixels stay out; the annulus reaches past the seed's own
                    # cell when dots are dense, so bare skin of a neighbour's cell counts.
                    if cs[y, x] >= t_low and not _owned(x, y, xi, yi, safe2, jx, jy, nj):
                        continue
                    if line.shape[0] > 1 and line[y, x] == line[y, x]:
                        continue
                    for c in range(3):
                        codes[c, m] = rgb[y, x, c]
                    slot[m] = 2 * j + k
                    top = max(top, codes[1, m])
                    m += 1
            if m < 6:
                continue
            for c in range(3):  # the table rises with the code: the median of codes, looked up
                S[c] = _median_code(codes[c], m, lut, count)
            Sl = _WR * S[0] + _WG * S[1] + _WB * S[2]
            for c in range(3):
                Sc[c] = _encode(S[c])
            # Where the light changes steeply around the dot (glare), the skin under it
            # follows the ring: Poisson's integral of the ring's profile (_ring_profile).
            prof = flat
            if lut[top] >= (1.0 + _GLARE_SPREAD) * S[1]:
                prof = _ring_profile(codes, slot, 2 * n_ang, m, lut, Sl, _GLARE_SPREAD)
            R_ring = Rs0 + 2.0
            cx, cy = float(xi), float(yi)
            e = int(R) + 1  # the disc fits a (2e + 1)² square: the buffers' size
            nb = (2 * e + 1) ** 2
            if bd.size < nb:
                bd, bx, by = np.empty(nb), np.empty(nb), np.empty(nb)
            if gx.shape[1] < 2 * e + 2:
                gx, gy = np.empty((2, 2 * e + 2)), np.empty((2, 2 * e + 2))
            # First pass: re-centre on the darkening's centroid (the seed sits on a pixel).
            # On a large dot's flat top the seed can sit far off-centre and the disc then
            # cuts the dot: the pass is repeated while it moves the centre by over 1 px, for a
            # seed whose nearest neighbour is over 2 (R + 1) px away (in a cluster, repeated
            # passes walk off the dot towards the middle of the seed's cell).
            # Last pass: integral, moments, colour and smoothed peaks about the new centre.
            # Both kinds of pass share one call site: each inlined copy of _disc_sums
            # costs compile time, and a call that is not inlined costs run time.
            moved = last = False  # a seed whose first disc holds no darkening is no dot
            left = _CENTRE_PASSES if safe2 >= (R + 1.0) ** 2 else 1
            while True:
                cnt, tot, mx, my, I0, I1, I2, J0, J1, J2 = _disc_sums(
                    cx, cy, rgb, lut, line, S, Sl, Sc, prof, R_ring, xi, yi, R, i, xs, ys,
                    nb_ptr, nb_idx, H, W, bd, bx, by, last)
                if last:
                    break
                if tot <= 0:
                    if not moved:
                        break
                    last = True
                    continue
                cx += mx / tot
                cy += my / tot
                moved = True
                left -= 1
                if left == 0 or (mx / tot) ** 2 + (my / tot) ** 2 <= 1.0:
                    last = True
            if not last or not (tot > 0):
                continue
            # One pass for the second moments and the core's centroid (its first round).
            Rc2 = (rh + 1.0) ** 2
            mxx = myy = mxy = t0 = sx0 = sy0 = 0.0
            for k in range(cnt):
                mxx += bd[k] * bx[k] * bx[k]
                myy += bd[k] * by[k] * by[k]
                mxy += bd[k] * bx[k] * by[k]
                if bx[k] * bx[k] + by[k] * by[k] <= Rc2:
                    t0 += bd[k]
                    sx0 += bd[k] * bx[k]
                    sy0 += bd[k] * by[k]
            ux = mx / tot
            uy = my / tot
            # The centre from the core alone: the wide disc's rim adds skin noise, not signal
            # (with no darkening in the core, the whole disc's centroid). Its later rounds
            # keep the last centroid when their disc holds no darkening.
            fx, fy = ux, uy
            if t0 > 0:
                fx, fy = sx0 / t0, sy0 / t0
                gx1, gy1 = _recentre(bd, bx, by, cnt, fx, fy, Rc2, _CORE_ITER)
                if gx1 == gx1:
                    fx, fy = gx1, gy1
            out[i, M_X] = cx + fx
            out[i, M_Y] = cy + fy
            # The smoothed peaks about the final centre: skin texture across the wide disc
            # can pull its centroid a pixel off a small dot, and a peak read off-centre is
            # low.
            p1, w1, p2, w2 = _peaks_at(bd, bx, by, cnt, fx, fy, sigma_p, gx, gy)
            P, P2 = p1 / w1, p2 / w2
            # One pass for the skin ring's offset and the half-peak mask's moments.
            ring = 0.0
            nr = 0
            rg2 = (rh + gap) ** 2
            half = 0.5 * P
            nq = 0
            qx = qy = qxx = qyy = qxy = 0.0
            for k in range(cnt):
                if (bx[k] - fx) ** 2 + (by[k] - fy) ** 2 >= rg2:
                    ring += bd[k]
                    nr += 1
                if bd[k] >= half:
                    nq += 1
                    qx += bx[k]
                    qy += by[k]
                    qxx += bx[k] * bx[k]
                    qyy += by[k] * by[k]
                    qxy += bx[k] * by[k]
            if nr >= 6:
                off = ring / nr
                ax = out[i, M_X] - math.floor(out[i, M_X])
                ay = out[i, M_Y] - math.floor(out[i, M_Y])
                out[i, M_NEAR] = tot - off * cnt
                wx1, wx2 = _gauss_sums(ax, sigma_p)
                wy1, wy2 = _gauss_sums(ay, sigma_p)
                out[i, M_NEAR + 1] = (p1 - off * w1) / (wx1 * wy1)
                out[i, M_NEAR + 2] = (p2 - off * w2) / (wx2 * wy2)
                out[i, M_NEAR + 3] = off
            out[i, M_I] = tot
            out[i, M_P] = P
            out[i, M_MOM] = mxx / tot - ux * ux
            out[i, M_MOM + 1] = myy / tot - uy * uy
            out[i, M_MOM + 2] = mxy / tot - ux * uy
            out[i, M_INK] = I0
            out[i, M_INK + 1] = I1
            out[i, M_INK + 2] = I2
            out[i, M_CODE] = J0
            out[i, M_CODE + 1] = J1
            out[i, M_CODE + 2] = J2
            f = _skin_factor(prof, out[i, M_X] - xi, out[i, M_Y] - yi, R_ring)  # at centre
            for c in range(3):
                out[i, M_SKIN + c] = S[c] * f
            out[i, M_P2] = P2
            if nq > 0:  # central moments, + 1/12 for the pixels' unit squares
                qx /= nq
                qy /= nq
                out[i, M_MASK] = qxx / nq - qx * qx + 1 / 12
                out[i, M_MASK + 1] = qyy / nq - qy * qy + 1 / 12
                out[i, M_MASK + 2] = qxy / nq - qx * qy
            out[i, M_MASK + 3] = nq
            npix[i] = cnt
    return out, npix


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _ring_ok(x, y, sx, sy, line, cs, t_low, safe2, jx, jy, nj):
    """May pixel (x, y) stand in a ring around the dot of the seed at (sx, sy)?

    Not when it is darkened and not ``_owned`` by that seed (another dot's), nor
    on a hair.
    """
    if cs[y, x] >= t_low and not _owned(x, y, sx, sy, safe2, jx, jy, nj):
        return False
    return not (line.shape[0] > 1 and line[y, x] == line[y, x])


@njit(cache=True, inline="always")  # a call per pixel costs more than its body
def _mates(x, y, xc, yc, mx, my):
    """Is pixel (x, y) nearer the dot's twin at (mx, my) than the dot at (xc, yc)? (NaN: none)"""
    return (x - mx) ** 2 + (y - my) ** 2 < (x - xc) ** 2 + (y - yc) ** 2


@njit(cache=True, parallel=True)
def halo_ratio(g, line, cs, t_low, xs, ys, r, mate_x, mate_y, seed, own_x, own_y, nb_ptr,
               nb_idx):
    """Mean darkening in the annulus [r + 1, 2r + 1] over that inside r / 2 (linear light).

    ``xs``/``ys``/``r`` describe each dot (refined centre, radius); ``seed`` is
    its index among the seeds ``own_x``/``own_y`` whose neighbour lists decide
    ownership. The skin level is the median over the circle of radius 3r + 3,
    beyond the reach of a halo (one that spreads a radius past the edge is down
    to 1 % at 3r + 2); other dots' and hairs' pixels
    are left out of both the annulus and the circle. The twins of a split pair share their seed:
    ``mate_x``/``mate_y`` hold each one's twin (NaN for a single dot), and
    pixels nearer the twin are left out too.
    """
    H, W = cs.shape
    n = xs.size
    out = np.full(n, np.nan)
    for ch in prange((n + _SEED_CHUNK - 1) // _SEED_CHUNK):
        # Buffers shared by a chunk of dots, grown to fit the widest of them.
        buf = np.empty(0)
        tmp = np.empty(0)
        count = np.empty(_BINS, np.int32)
        jx = np.empty(0)
        jy = np.empty(0)
        for i in range(ch * _SEED_CHUNK, min((ch + 1) * _SEED_CHUNK, n)):
            ri = r[i]
            si = seed[i]
            xc, yc = xs[i], ys[i]
            mx, my = mate_x[i], mate_y[i]
            sx, sy = own_x[si], own_y[si]
            safe2 = _safe2(si, own_x, own_y, nb_ptr, nb_idx)
            # The neighbours that may own a pixel of the annulus or the circle (within
            # 3r + 5 of the centre).
            if jx.size < nb_ptr[si + 1] - nb_ptr[si]:
                jx = np.empty(nb_ptr[si + 1] - nb_ptr[si])
                jy = np.empty(nb_ptr[si + 1] - nb_ptr[si])
            nj = _near_table(si, own_x, own_y, nb_ptr, nb_idx,
                             4 * (math.sqrt((xc - sx) ** 2 + (yc - sy) ** 2) + 3 * ri + 5) ** 2,
                             jx, jy)
            # Skin: pixels sampled on the circle of radius 3r + 3, about a pixel apart (a
            # median of ~40+ samples is as steady as the full annulus; a second circle 2 px
            # out found no more blown-out dots on the presets and cost ~a quarter of the
            # kernel: docs/detection.md, step 8).
            rad = 3 * ri + 3
            n_ang = max(16, int(2 * math.pi * rad))
            if buf.size < n_ang:
                buf, tmp = np.empty(n_ang), np.empty(n_ang)
            nb = 0
            cd, sd = math.cos(2 * math.pi / n_ang), math.sin(2 * math.pi / n_ang)
            ct, st = 1.0, 0.0
            for _ in range(n_ang):
                x = int(round(xc + rad * ct))
                y = int(round(yc + rad * st))
                ct, st = ct * cd - st * sd, st * cd + ct * sd  # the next angle, by rotation
                if (0 <= x < W and 0 <= y < H and not _mates(x, y, xc, yc, mx, my)
                        and _ring_ok(x, y, sx, sy, line, cs, t_low, safe2, jx, jy, nj)):
                    buf[nb] = g[y, x]
                    nb += 1
            if nb < 6:
                continue
            skin = np.float64(_median(buf, nb, count, tmp))  # (float - float32 is float32)
            core = 0.0
            nc = 0
            ring = 0.0
            nr = 0
            rc2 = max(ri / 2, 0.75) ** 2
            r1, r2 = (ri + 1) ** 2, (2 * ri + 1) ** 2
            for y in range(max(int(math.ceil(yc - 2 * ri - 1)), 0),
                           min(int(yc + 2 * ri + 1), H - 1) + 1):
                dy2 = (y - yc) ** 2
                half = math.sqrt(max(r2 - dy2, 0.0))
                for x in range(max(int(math.ceil(xc - half)), 0),
                               min(int(xc + half), W - 1) + 1):
                    d2 = (x - xc) ** 2 + dy2
                    if d2 <= rc2:
                        core += skin - g[y, x]
                        nc += 1
                    elif (r1 <= d2 <= r2 and not _mates(x, y, xc, yc, mx, my)
                          and _ring_ok(x, y, sx, sy, line, cs, t_low, safe2, jx, jy, nj)):
                        ring += skin - g[y, x]
                        nr += 1
            if nc > 0 and nr > 0 and core > 0:
                out[i] = (ring / nr) / (core / nc)
    return out


_TWIN_WEIGH = 2  # steps of twin_split that re-weigh the twins by their masses
_TWIN_STILL = 0.02  # px: twin_split stops once no twin moves further in a step


@njit(cache=True, inline="always")
def _side_sums(cs, x0, y0, w0, x1, y1, w1):
    """``max(cs, 0)``'s sum and first moments over twin 0's side of a pair, within sqrt(w0) + 1.

    Twin 0's side is where |p - (x0, y0)|² - w0 <= |p - (x1, y1)|² - w1: the power line of
    discs of radii² w0 and w1, which passes through the points where they cross.
    """
    H, W = cs.shape
    R = math.sqrt(w0) + 1.0
    tot = 0.0
    mx = 0.0
    my = 0.0
    for py in range(max(int(math.ceil(y0 - R)), 0), min(int(math.floor(y0 + R)), H - 1) + 1):
        for px in range(max(int(math.ceil(x0 - R)), 0), min(int(math.floor(x0 + R)), W - 1) + 1):
            d2 = (px - x0) ** 2 + (py - y0) ** 2
            if d2 > R * R or d2 - w0 > (px - x1) ** 2 + (py - y1) ** 2 - w1:
                continue
            v = float(cs[py, px])  # float64 sums, compiled or not
            if v > 0:
                tot += v
                mx += v * px
                my += v * py
    return tot, mx, my


@njit(cache=True, parallel=True)
def twin_split(cs, xa, ya, xb, yb, r, iters):
    """Both twins of each split pair re-centred on their own parts of it: centroid steps.

    A step takes each twin to the centroid of ``max(cs, 0)`` over the pixels
    within its radius + 1 px on its side of the pair's power line (see
    ``_side_sums``; the bisector for equal radii). The radii start at ``r``
    for both; in the first ``_TWIN_WEIGH`` steps they are re-set from the
    twins' masses M (ra² : rb² = Ma : Mb, ra² + rb² = 2 r², as for two discs
    equally dark), so that an unequal pair is cut where its discs meet, not
    halfway. Later steps keep the radii: re-weighing every step lets a twin
    that reaches a third dot grow without end. At most ``iters`` steps, until
    neither twin moves more than ``_TWIN_STILL`` px; a pair with no darkening
    on one side stays where it was.

    Parameters
    ----------
    cs : (H, W) float32
        Smoothed relative darkening.
    xa, ya, xb, yb : (N,) float64
        The twins' first centres (x = column, y = row), px.
    r : (N,) float64
        The twins' common first radius, px.
    iters : int
        Most steps.

    Returns
    -------
    (N, 4) float64
        The new centres: xa, ya, xb, yb.
    """
    n = xa.size
    out = np.empty((n, 4))
    for i in prange(n):
        ax, ay, bx, by = xa[i], ya[i], xb[i], yb[i]
        wa = wb = r[i] * r[i]
        for step in range(iters):
            ta, mxa, mya = _side_sums(cs, ax, ay, wa, bx, by, wb)
            tb, mxb, myb = _side_sums(cs, bx, by, wb, ax, ay, wa)
            if not (ta > 0 and tb > 0):
                break
            moved = max(abs(mxa / ta - ax), abs(mya / ta - ay), abs(mxb / tb - bx),
                        abs(myb / tb - by))
            ax, ay, bx, by = mxa / ta, mya / ta, mxb / tb, myb / tb
            if step < _TWIN_WEIGH:
                wa, wb = 2 * r[i] * r[i] * ta / (ta + tb), 2 * r[i] * r[i] * tb / (ta + tb)
            elif moved < _TWIN_STILL:
                break
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = ax, ay, bx, by
    return out


@njit(cache=True, parallel=True)
def solve_radius(req2, s2):
    """Disc radius r from r_eq² = r² / (1 - exp(-r² / (2 s²))), the blur variance s² known.

    r_eq² is I / (pi P): the darkening integral over the blurred peak. The
    right side grows monotonically from 2 s² (a point) to r² (no blur), so
    the root is unique; r_eq² <= 2 s² gives 0 (unresolved). With u = r²,
    f(u) = u - r_eq² (1 - exp(-u / 2s²)) is convex with f(0) = 0, so Newton's
    method from u = r_eq² falls monotonically onto the positive root.
    """
    out = np.empty(req2.size)
    for i in prange(req2.size):
        out[i] = _radius(req2[i], s2[i] if s2.size > 1 else s2[0])
    return out


@njit(cache=True, inline="always")
def _radius(q, s):
    """One root of ``solve_radius``: r from r_eq² = q and the blur variance s."""
    if not (q > 2 * s):
        return 0.0
    u = q
    for _ in range(50):
        e = math.exp(-u / (2 * s))
        f = u - q * (1.0 - e)
        fp = 1.0 - q * e / (2 * s)
        if fp <= 0:
            break
        step = f / fp
        u -= step
        if abs(step) <= 1e-12 * q:
            break
    return math.sqrt(max(u, 0.0))


_TAIL_ITERS = 50  # most secant steps of _near_root (3-4 from a nearby start)
_TAIL_TOL = 1e-9  # relative change in r² at which _near_root stops


@njit(cache=True, inline="always")
def _beyond(alpha, beta, tab):
    """A blurred disc's darkening beyond a circle, from the table of ``_disc_tail``.

    ``alpha`` is the disc's radius and ``beta`` the circle's distance past it,
    in units of the blur's standard deviation; the result is in units of the
    blur's variance. Bilinear; past the table's largest disc it grows
    linearly with ``alpha``, as along a straight edge; ``beta`` under the
    table's least counts as that least, and past its largest the darkening is
    0.
    """
    if not (beta < _TAIL_BMAX):
        return 0.0
    return _bilinear_at(tab, alpha / _TAIL_DA, (max(beta, _TAIL_B0) - _TAIL_B0) / _TAIL_DB)


@njit(cache=True, inline="always")
def _bilinear_at(tab, fa, fb):
    """``tab`` at the fractional row ``fa`` and column ``fb`` (>= 0), bilinear.

    Past the last row or column the last cell's plane goes on.
    """
    j = min(int(fb), tab.shape[1] - 2)
    tb = fb - j
    i = min(int(fa), tab.shape[0] - 2)
    ta = fa - i
    c0 = tab[i, j] + tb * (tab[i, j + 1] - tab[i, j])
    c1 = tab[i + 1, j] + tb * (tab[i + 1, j + 1] - tab[i + 1, j])
    return c0 + ta * (c1 - c0)


@njit(cache=True, inline="always")
def _near_model(u, s0, v1, v2, rg, rr, tab):
    """What ``measure`` reads over the near skin of a unit-darkening disc of radius² ``u``.

    The disc is blurred by variance ``s0``; the ring runs from ``rg`` to ``rr``
    (the disc of pixels' radius) and its mean, part of the disc's blurred
    edge, is taken off everything. Returns I_near / pi and the peaks after
    Gaussians of variance ``v1`` and ``v2`` (their weight past ``rr`` is
    not summed). Without a ring (``rg`` not below ``rr``), the disc's own
    integral and peaks.
    """
    i = u
    t = 0.0
    if rg < rr:
        s = math.sqrt(s0)
        r = math.sqrt(u)
        eg = _beyond(r / s, (rg - r) / s, tab) * s0
        t = (eg - _beyond(r / s, (rr - r) / s, tab) * s0) / (math.pi * (rr * rr - rg * rg))
        i = u - eg / math.pi - rg * rg * t
    p1 = -math.expm1(-u / (2 * (s0 + v1))) + t * math.expm1(-rr * rr / (2 * v1))
    p2 = -math.expm1(-u / (2 * (s0 + v2))) + t * math.expm1(-rr * rr / (2 * v2))
    return i, p1, p2


@njit(cache=True, inline="always")
def _near_root(q, s0, v1, v2, rg, rr, tab, u):
    """The radius² whose ``_near_model`` gives I_near / (pi P1) = ``q``, from ``u``.

    The secant method on I_near / pi - q P1, its first step with the slope of
    the model without the ring: the ring holds a few percent of a small dot's
    edge at most, so that slope is nearly right, and a few steps do from a
    nearby ``u``. With ``u`` <= 0, it starts from the root without the ring
    (``_radius``). 0: unresolved (``q`` at or below that model's least,
    2 (s0 + v1)).
    """
    s1 = s0 + v1
    if not (q > 2 * s1):
        return 0.0
    if not (u > 0):
        u = _radius(q, s1) ** 2
        if not (rg < rr):
            return u
    slope = 1.0 - q * math.exp(-u / (2 * s1)) / (2 * s1)
    if not (slope > 0):  # left of that model's minimum: start at its root
        u = _radius(q, s1) ** 2
        slope = 1.0 - q * math.exp(-u / (2 * s1)) / (2 * s1)
    g_last = u_last = 0.0
    for k in range(_TAIL_ITERS):
        i, p1, _ = _near_model(u, s0, v1, v2, rg, rr, tab)
        g = i - q * p1
        if k > 0 and g != g_last:  # then secant steps
            slope = (g - g_last) / (u - u_last)
        if not (slope > 0):
            break
        step = g / slope
        g_last, u_last = g, u
        u -= step
        if not (u > 0):
            return 0.0
        if abs(step) <= _TAIL_TOL * u:
            break
    return u


@njit(cache=True, parallel=True)
def solve_near_radius(q, s0, v1, v2, rings, tab):
    """Disc radii from the near-skin measures, the blur variance ``s0`` known.

    ``q`` is each dot's I_near / (pi P_near) (``measure``), ``rings`` its near
    ring's inner and outer radius (``inf`` for a dot measured without one),
    ``v1`` and ``v2`` the two smoothings' variances, ``tab`` the table of
    ``_disc_tail``. The dot's own blurred edge in the ring is allowed for
    (``_near_model``); ``q`` at or below 2 (s0 + v1) gives 0 (unresolved).
    """
    out = np.empty(q.size)
    for i in prange(q.size):
        out[i] = math.sqrt(_near_root(q[i], s0, v1, v2, rings[i, 0], rings[i, 1], tab, -1.0))
    return out


@njit(cache=True, inline="always")
def _gauss_sums(f, sigma):
    """Sums over all integers k of exp(-(k - f)² / 2 s²) for s = ``sigma`` and 2 ``sigma``.

    A sampled Gaussian's full weight. By Poisson's summation formula, s sqrt(2 pi)
    (1 + 2 sum over m >= 1 of exp(-2 pi² s² m²) cos(2 pi m f)); the terms past
    m = 2 are below 1e-19 of the sum for s >= 0.5 (3e-7 at s = 0.3). Both scales
    share the cosines, and their exps are powers of one another.
    """
    a = 2.0 * (math.pi * sigma) ** 2
    e1 = math.exp(-a)
    e4 = math.exp(-4 * a)
    e16 = e4 * e4 * e4 * e4
    c1 = math.cos(2 * math.pi * f)
    c2 = 2.0 * c1 * c1 - 1.0  # cos(4 pi f)
    root = sigma * math.sqrt(2 * math.pi)
    return (root * (1.0 + 2.0 * (e1 * c1 + e4 * c2)),
            2.0 * root * (1.0 + 2.0 * (e4 * c1 + e16 * c2)))


@njit(cache=True, inline="always")
def _profile(alpha, beta, tab):
    """A blurred disc's darkening at (``alpha``, ``beta``), from ``_disc_profile``'s table.

    Bilinear; 0 past the table's last column, the first column's value before it
    (there the disc's core is flat). ``alpha`` must lie within the table.
    """
    if beta >= _PROF_BMAX:
        return 0.0
    return _bilinear_at(tab, alpha / _PROF_DA, (max(beta, _PROF_B0) - _PROF_B0) / _PROF_DB)


@njit(cache=True)  # per radius tried: inlined, its loop was compiled eight times over
def _disc_misfit(v, rho, n, r, s, tab):
    """Least residual sum of squares of ``v[:n] ~ b - A P(r / s, (rho - r) / s)``, A >= 0.

    ``v`` (the pixels' luminance, less its mean) and ``rho`` (their distances from
    the dot's centre) over n pixels; b and A by linear least squares, and A = 0 when a
    darker disc does not fit better than none.
    """
    a = r / s
    sp = spp = svp = svv = 0.0
    for k in range(n):
        p = _profile(a, (rho[k] - r) / s, tab)
        sp += p
        spp += p * p
        svp += v[k] * p
        svv += v[k] * v[k]
    det = n * spp - sp * sp
    if det <= 1e-12 * n * n:
        return svv
    c = n * svp / det  # the mean of v is 0: its sum drops out
    if c >= 0:
        return svv
    return svv - c * svp


_GOLDEN_ITERS = 14  # golden-section steps over a dot's radius from scratch: 8 px to ~0.01 px
_GOLDEN_WARM = 9  # ... and from the last candidate blur's radius +- _GOLDEN_REACH: to ~0.01 px
_GOLDEN_REACH = 0.5  # px


@njit(cache=True)
def _least_misfit(v, rho, n, s, lo, hi, iters, tab):
    """``_disc_misfit`` at its best radius in [lo, hi], by golden-section search: misfit, radius."""
    g = 0.6180339887498949
    x1 = hi - g * (hi - lo)
    x2 = lo + g * (hi - lo)
    f1 = _disc_misfit(v, rho, n, x1, s, tab)
    f2 = _disc_misfit(v, rho, n, x2, s, tab)
    for _ in range(iters):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = _disc_misfit(v, rho, n, x1, s, tab)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = _disc_misfit(v, rho, n, x2, s, tab)
    return (f1, x1) if f1 <= f2 else (f2, x2)


@njit(cache=True, parallel=True)
def blur_ssr(g, cx, cy, seed, r_win, xs, ys, nb_ptr, nb_idx, s, tab):
    """Each dot's least misfit to a blurred disc, for each candidate blur.

    Dot i's pixels are those within ``r_win[i]`` of its centre (``cx``, ``cy``)
    that its seed ``seed[i]`` owns among the seeds ``xs``/``ys`` (``_owned_run``);
    their luminance ``g`` is fitted by a level less a disc of any radius and
    darkening, blurred by a Gaussian of standard deviation ``s[j]`` (px, the
    pixels' own spread included; ``_disc_misfit``, ``_least_misfit``). The
    radius is searched over 0.2 px to ``r_win[i]``; for the candidates after the
    first, within ``_GOLDEN_REACH`` of the last one's best radius (all of it again
    when the best lies at that bracket's end): give ``s`` in order.

    Returns
    -------
    (N, M) float64
        The residual sums of squares; NaN for a dot with fewer than 6 pixels.
    """
    H, W = g.shape
    n, m = cx.size, s.size
    out = np.full((n, m), np.nan)
    for i in prange(n):
        R = r_win[i]
        e = int(R) + 2
        v = np.empty((2 * e + 1) ** 2)
        rho = np.empty((2 * e + 1) ** 2)
        cnt = 0
        tot = 0.0
        for y in range(max(int(math.ceil(cy[i] - R)), 0), min(int(cy[i] + R), H - 1) + 1):
            dy = y - cy[i]
            half = math.sqrt(max(R * R - dy * dy, 0.0))
            xa, xb = _owned_run(y, seed[i], xs, ys, nb_ptr, nb_idx,
                                max(int(math.ceil(cx[i] - half)), 0), min(int(cx[i] + half), W - 1))
            for x in range(xa, xb + 1):
                v[cnt] = g[y, x]
                rho[cnt] = math.sqrt((x - cx[i]) ** 2 + dy * dy)
                tot += v[cnt]
                cnt += 1
        if cnt < 6:
            continue
        mean = tot / cnt
        for k in range(cnt):
            v[k] -= mean
        r = -1.0  # the last candidate's best radius: the next one's starts near it
        for j in range(m):
            top = min(R, _PROF_AMAX * s[j])
            lo, hi = max(r - _GOLDEN_REACH, 0.2), min(r + _GOLDEN_REACH, top)
            if r > 0 and hi - lo > 0.05:
                f, x = _least_misfit(v, rho, cnt, s[j], lo, hi, _GOLDEN_WARM, tab)
                if (x - lo < 0.02 and lo > 0.2) or (hi - x < 0.02 and hi < top):
                    r = -1.0  # at the bracket's end: search it all
            else:
                r = -1.0
            if r <= 0:
                f, x = _least_misfit(v, rho, cnt, s[j], 0.2, top, _GOLDEN_ITERS, tab)
            out[i, j] = f
            r = x
    return out
