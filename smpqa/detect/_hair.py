"""Numba kernel that tells stubble hairs from dots. Arrays in, arrays out.

A hair is a thin dark line; where hairs cross, overlap or run side by side,
their union can survive the detector's line opening and look like a small
dot. What a dot has and a tangle of lines has not is darkening *mass*
beyond what the lines passing through carry: a line crossing a disc of
radius rho about the seed carries about (its mass per unit length) x rho
into it for each crossing of the rim, and those crossings are read on the
rim itself. The kernel measures that excess mass and, as a guard, the
seed's inscribed radius at half its darkening (dots are wide, hairs thin).
A second kernel traces how far a seed's darkening runs on as a ridge: a
bundle of hairs can be as wide as a small dot, but it runs on along them.
A third looks along an elongated dot's major axis, to tell two overlapping
discs from one dot with a hair across it.

Conventions as in ``_kernels``: images are indexed [row, column]; positions
are (x = column, y = row) with pixel centres at integers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels import _BINS, _kth_binned, sort_small

__all__ = ["line_excess", "ridge_runs", "twin_erosion", "twin_profile"]

_N_DIR = 16  # rays around each seed
_RAY_STEP = 1.0  # px between samples along a ray
_RIM_STEP = 0.5  # px between samples along the rim
_RIMS = (2.0, 1.0)  # px past the body's edge: the rims weighed, the first the largest
_BASE_Q = 0.3  # quantile of the rim's samples taken as its bare level
_CHUNK = 256  # seeds per parallel task (they share buffers)
_N_RIDGE = 32  # rays of the ridge test: 16 (22.5 deg apart) slip off a 1-px hair in 3-5 px
RIDGE_LEVEL = 0.5  # a ridge is darkened by at least this fraction of the seed's peak (a hair is)
RIDGE_RISE = 0.2  # a ray whose darkening climbs this much (x peak) has met another dot
RIDGE_SPAN = 1.5, 2.0  # a ridge runs past 1.5 x the median run + 2 px: past a dot's own body
RIDGE_BOTH = 0.5  # px past the median run both ways: a line through the seed, not a neighbour
RIDGE_BOTH_MASS = 2.0  # smallest-dot areas a dot under a hair keeps: scatter is about 1


@njit(cache=True, inline="always")  # called per sample: a call would cost more than its body
def _bilinear(a, x, y):
    """``a`` at (x, y), bilinear; NaN outside."""
    H, W = a.shape
    if not (0.0 <= x <= W - 1 and 0.0 <= y <= H - 1):
        return np.nan
    x0 = min(int(x), max(W - 2, 0))
    y0 = min(int(y), max(H - 2, 0))
    x1 = min(x0 + 1, W - 1)
    y1 = min(y0 + 1, H - 1)
    fx = x - x0
    fy = y - y0
    return ((1 - fy) * ((1 - fx) * a[y0, x0] + fx * a[y0, x1])
            + fy * ((1 - fx) * a[y1, x0] + fx * a[y1, x1]))


@njit(cache=True, inline="always")
def _dark(g, inv, x, y):
    """Relative darkening ``1 - g x inv`` (inv: 1 / skin) at (x, y), bilinear; NaN outside."""
    return 1.0 - _bilinear(g, x, y) * inv


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


@njit(cache=True, inline="always")
def _seed_peak(g, skin, fx, fy):
    """The largest darkening ``1 - g / skin`` of the 3 x 3 pixels about (fx, fy).

    NaN (which fails ``peak > 0``) when the skin is unusable or the point lies
    outside the image.
    """
    H, W = g.shape
    if not (skin > 0 and 0 <= fx <= W - 1 and 0 <= fy <= H - 1):
        return np.nan
    inv = 1.0 / skin
    bx, by = int(round(fx)), int(round(fy))
    peak = -np.inf
    for y in range(max(by - 1, 0), min(by + 2, H)):
        for x in range(max(bx - 1, 0), min(bx + 2, W)):
            peak = max(peak, 1.0 - g[y, x] * inv)
    return peak


@njit(cache=True, inline="always")
def _excess(g, inv, fx, fy, bx, by, body, peak, rim, work, hist, sel):
    """Darkening mass beyond the lines crossing the rim, on rims ``body + _RIMS``: the largest.

    For each rim radius rho, the darkening above the rim's bare level summed
    over the disc, less rho times its integral along the rim, over the peak
    above the bare level (px²). A line along the rim rather than across it
    carries in less than that; a rim nearer the body can miss it. NaN when
    under half the first rim lies in the image. ``rim``, ``work`` (5 x
    len(_RIMS)), ``hist`` (``_BINS`` ints) and ``sel`` (as ``rim``) are scratch.
    """
    H, W = g.shape
    nr = len(_RIMS)
    base, lines, r2, total, count = work[0], work[1], work[2], work[3], work[4]
    for k in range(nr):
        rho = body + _RIMS[k]
        r2[k] = rho * rho
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
            if k == 0:
                return np.nan
            r2[k] = -1.0  # this rim is left out
            continue
        base[k] = _kth_binned(rim, n_v, int(_BASE_Q * n_v), hist, sel)
        tot = 0.0
        for j in range(n_v):
            tot += max(rim[j] - base[k], 0.0)
        lines[k] = tot * 2 * math.pi * rho / n_c
    # One pass over the largest disc: the darkening's sum and pixel count within each rim.
    total[:] = 0.0
    count[:] = 0.0
    e = int(body + _RIMS[0]) + 1
    for y in range(max(by - e, 0), min(by + e + 1, H)):
        for x in range(max(bx - e, 0), min(bx + e + 1, W)):
            d2 = (x - fx) ** 2 + (y - fy) ** 2
            v = 1.0 - g[y, x] * inv
            for k in range(nr):
                if d2 <= r2[k]:
                    total[k] += v
                    count[k] += 1
    best = -np.inf
    for k in range(nr):
        if r2[k] >= 0:
            rho = body + _RIMS[k]
            ex = (total[k] - count[k] * base[k] - lines[k] * rho) / max(peak - base[k], 1e-6)
            best = max(best, ex)
    return best


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
    an area in px² comparable to a dot's. A line running along the rim
    rather than across it (a hair passing a dot) is over-weighed by
    rho² / (rho² - p²) at distance p from the centre; so the excess is also
    read on a rim at b + 1 px, which such a hair may not touch, and the
    larger is kept (a line across the seed carries none at either).

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
    n_rim = max(16, int(2 * math.pi * (reach + _RIMS[0]) / _RIM_STEP)) + 1
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        runs = np.empty(_N_DIR)  # buffers shared by a chunk of seeds
        rim = np.empty(n_rim)
        work = np.empty((5, len(_RIMS)))
        hist = np.empty(_BINS, np.int32)
        sel = np.empty(n_rim)
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
            fx, fy = xs[i], ys[i]
            peak = _seed_peak(g, skin[i], fx, fy)
            if not (peak > 0):
                continue
            inv = 1.0 / skin[i]
            bx, by = int(round(fx)), int(round(fy))
            n_in = 0
            v0 = _dark(g, inv, fx, fy)
            for k in range(_N_DIR):
                r, edge = _run(g, inv, fx, fy, v0, cos[k], sin[k], 0.5 * peak, reach)
                if not edge:
                    runs[n_in] = r
                    n_in += 1
            if n_in < _N_DIR // 2:
                continue
            sort_small(runs, n_in)
            srt = runs[:n_in]
            out[i, 1] = srt[1]
            if srt[1] > wide:
                continue  # as wide as a dot: no need to weigh it
            body = srt[(n_in * 5) // 16]
            out[i, 0] = _excess(g, inv, fx, fy, bx, by, body, peak, rim, work, hist, sel)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def _ridge_run(g, inv, x, y, v0, ux, uy, level, rise, reach):
    """Distance from (x, y) along (ux, uy) while the darkening stays >= ``level``.

    The run also stops (at the last sample) where the darkening climbs more
    than ``rise`` above its lowest value along the ray so far: a new peak,
    another dot. Sub-pixel at a fall below ``level``; ``reach`` when it never
    ends within ``reach``. Also returns whether the image edge came first.
    """
    low = prev = v0
    s = _RAY_STEP
    while s <= reach:
        v = _dark(g, inv, x + s * ux, y + s * uy)
        if v != v:
            return s - _RAY_STEP, True
        if v > low + rise:
            return s - _RAY_STEP, False
        if v < level:
            return s - _RAY_STEP + _RAY_STEP * (prev - level) / max(prev - v, 1e-9), False
        low = min(low, v)
        prev = v
        s += _RAY_STEP
    return reach, False


@njit(cache=True, parallel=True, error_model="numpy")
def ridge_runs(g, skin, xs, ys, frac, rise, reach):
    """How far each seed's darkening runs on as a ridge, one way and both ways.

    The peak is the largest darkening ``1 - g / skin`` of the 3 x 3 pixels
    around the seed. Rays in 32 directions run from the seed, 1 px a step,
    while the darkening stays at or above ``frac`` x peak and never climbs
    more than ``rise`` x peak above its lowest value along the ray so far (at
    most ``reach`` px, and ending at the image edge). A dot's runs are all
    about its radius, and a run into a touching neighbour stops where the
    neighbour's darkening climbs to its own peak. A point on a hair, a bundle
    of hairs or a shallow crossing of them lies on a ridge, along which the
    darkening stays near the peak, without a new peak, far beyond the seed's
    own width; where a line passes through the seed, the ridge runs on both
    ways.

    Parameters
    ----------
    g : (H, W) float32
        Linear luminance.
    skin : (N,) float64
        Each seed's skin luminance.
    xs, ys : (N,) float64
        Seed positions (px; need not be integers).
    frac : float
        Level as a fraction of the peak (0..1).
    rise : float
        Largest climb along a ray, as a fraction of the peak.
    reach : float
        Longest ray, px.

    Returns
    -------
    (N, 3) float64
        The longest run, the median run, and the longest two-way run (the
        shorter of two opposite runs, at its largest over the 16 pairs), in
        px; all 0 when the seed itself is below the level. NaN where the skin
        is unusable, or the seed lies outside the image or is not darker than
        the skin.
    """
    H, W = g.shape
    n = xs.size
    out = np.full((n, 3), np.nan)
    cos = np.cos(2 * np.pi * np.arange(_N_RIDGE) / _N_RIDGE)
    sin = np.sin(2 * np.pi * np.arange(_N_RIDGE) / _N_RIDGE)
    half = _N_RIDGE // 2
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        runs = np.empty(_N_RIDGE)  # a buffer shared by a chunk of seeds
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, n)):
            fx, fy = xs[i], ys[i]
            peak = _seed_peak(g, skin[i], fx, fy)
            if not (peak > 0):
                continue
            inv = 1.0 / skin[i]
            v0 = _dark(g, inv, fx, fy)
            if not (v0 >= frac * peak):  # the seed itself is below the level: no ridge
                out[i, 0] = out[i, 1] = out[i, 2] = 0.0
                continue
            for k in range(_N_RIDGE):
                runs[k] = _ridge_run(g, inv, fx, fy, v0, cos[k], sin[k], frac * peak,
                                     rise * peak, reach)[0]
            two = 0.0
            for k in range(half):
                two = max(two, min(runs[k], runs[k + half]))
            sort_small(runs, _N_RIDGE)
            out[i, 0] = runs[_N_RIDGE - 1]
            out[i, 1] = 0.5 * (runs[half - 1] + runs[half])
            out[i, 2] = two
    return out


_CORRIDOR = 5  # samples across the twin profile's corridor


@njit(cache=True, parallel=True)
def twin_profile(g, cs, skin, xs, ys, ux, uy, h, level, width, reach):
    """Along each elongated dot's major axis: how far it stays dark, and its middle's depth.

    Two overlapping discs end a disc's radius past their centres; a dot with a
    hair across it looks as elongated, but its darkening runs on along the
    hair, and its middle (the dot) is darker than its would-be twin centres
    (one of them on the hair). From (``xs``, ``ys``), the corridor of half-width
    ``width`` px across the axis (``ux``, ``uy``) is sampled every 0.5 px
    along it, both ways, 5 samples across, while its darkest sample's relative
    darkening ``1 - g / skin`` (bilinear) stays at or above ``level``.

    Parameters
    ----------
    g : (H, W) float32
        Linear luminance.
    cs : (H, W) float32
        Smoothed relative darkening.
    skin : (N,) float64
        Each dot's skin luminance.
    xs, ys : (N,) float64
        Centres (px).
    ux, uy : (N,) float64
        Unit vectors along the major axes.
    h : (N,) float64
        Distance (px) from the centre to each would-be twin centre.
    level : (N,) float64
        Relative darkening the corridor must keep.
    width : float
        Half-width of the corridor, px.
    reach : (N,) float64
        Longest run looked for, px.

    Returns
    -------
    run : (N,) float64
        The longer of the two runs (px; up to ``reach``, the last sample that
        kept the level; 0 when the first did not; a run stops at the image edge).
    depth : (N,) float64
        ``cs`` at the centre over its larger value at the two twin centres
        (NaN outside the image or where neither is darkened). Where the skin
        is unusable (not positive), run 0 and depth NaN.
    """
    n = xs.size
    run = np.zeros(n)
    depth = np.full(n, np.nan)
    for i in prange(n):
        if not (skin[i] > 0):
            continue
        inv = 1.0 / skin[i]
        x, y, ax, ay = xs[i], ys[i], ux[i], uy[i]
        for sign in (1.0, -1.0):
            s = 0.5
            while s <= reach[i]:
                best = -np.inf
                for k in range(_CORRIDOR):
                    u = width * (2.0 * k / (_CORRIDOR - 1) - 1.0)
                    v = _dark(g, inv, x + sign * s * ax - u * ay, y + sign * s * ay + u * ax)
                    if v == v:
                        best = max(best, v)
                if not (best >= level[i]):
                    break
                s += 0.5
            run[i] = max(run[i], s - 0.5)
        ends = np.fmax(_bilinear(cs, x + h[i] * ax, y + h[i] * ay),
                       _bilinear(cs, x - h[i] * ax, y - h[i] * ay))  # NaN: outside
        if ends > 0:
            depth[i] = _bilinear(cs, x, y) / ends
    return run, depth


@njit(cache=True, parallel=True)
def twin_erosion(cs, line, xs, ys, level, reach, rho):
    """Each would-be twin's separation once its shape is eroded, and the hair pixels near it.

    The shape is the pixels within ``reach`` px of the centre whose smoothed
    darkening ``cs`` is at least ``level``. Eroding it by a disc of radius
    ``rho`` shrinks two overlapping discs about their own centres, so the
    shape stays as long; a line thinner than ``2 rho`` (a hair ending on a
    dot, or touching its side) is erased, and so is the elongation it lent.

    Parameters
    ----------
    cs : (H, W) float32
        Smoothed relative darkening.
    line : (H, W) or (1, 1) float32
        The line map (``darkening``'s ``line``): finite on hair pixels; (1, 1)
        when there was no line opening.
    xs, ys : (N,) float64
        Centres (px).
    level : (N,) float64
        Darkening that puts a pixel in the shape.
    reach : (N,) float64
        Radius (px) of the disc the shape and the hair pixels are taken from.
    rho : (N,) float64
        Radius (px) of the eroding disc.

    Returns
    -------
    (N, 2) float64
        The eroded shape's ``lam1 - lam2`` (difference of the principal
        second moments, px²; 0 with fewer than two pixels left), and the
        number of line pixels within ``reach`` (0 without a line map).
    """
    H, W = cs.shape
    n = xs.size
    out = np.zeros((n, 2))
    has_line = line.shape[0] == H and line.shape[1] == W
    for i in prange(n):
        x0, y0, R = xs[i], ys[i], reach[i]
        xa, xb = max(int(math.ceil(x0 - R)), 0), min(int(math.floor(x0 + R)), W - 1)
        ya, yb = max(int(math.ceil(y0 - R)), 0), min(int(math.floor(y0 + R)), H - 1)
        if xa > xb or ya > yb:
            continue
        nx = xb - xa + 1
        mask = np.zeros((yb - ya + 1, nx), np.bool_)
        n_line = 0
        for y in range(ya, yb + 1):
            for x in range(xa, xb + 1):
                if (x - x0) ** 2 + (y - y0) ** 2 > R * R:
                    continue
                mask[y - ya, x - xa] = cs[y, x] >= level[i]
                if has_line and line[y, x] == line[y, x]:
                    n_line += 1
        out[i, 1] = n_line
        e = int(rho[i])
        r2 = rho[i] * rho[i]
        cnt = 0
        sx = sy = sxx = syy = sxy = 0.0
        for v in range(mask.shape[0]):
            for u in range(nx):
                kept = mask[v, u]
                for dv in range(-e, e + 1):
                    if not kept:
                        break
                    for du in range(-e, e + 1):
                        if du * du + dv * dv > r2:
                            continue
                        p, q = v + dv, u + du
                        if p < 0 or q < 0 or p >= mask.shape[0] or q >= nx or not mask[p, q]:
                            kept = False
                            break
                if kept:
                    cnt += 1
                    sx += u
                    sy += v
                    sxx += u * u
                    syy += v * v
                    sxy += u * v
        if cnt >= 2:
            mx, my = sx / cnt, sy / cnt
            cxx, cyy, cxy = sxx / cnt - mx * mx, syy / cnt - my * my, sxy / cnt - mx * my
            out[i, 0] = math.sqrt((cxx - cyy) ** 2 + 4 * cxy * cxy)
    return out
