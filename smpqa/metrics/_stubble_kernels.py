"""Numba kernels of the stubble-hair measurement: arrays in, arrays out."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["luminance", "ridge_mask", "paint_discs", "edge_spread", "cross_sections", "fit_width"]

_WR, _WG, _WB = 0.2126, 0.7152, 0.0722  # Rec. 709 luminance of linear RGB
_GOLD = 0.6180339887498949
_SQRT2 = math.sqrt(2.0)


@njit(cache=True)
def luminance(rgb, lut):
    """Linear luminance (H, W) float32 of an sRGB uint8 image through a 256-entry table."""
    H, W = rgb.shape[0], rgb.shape[1]
    out = np.empty((H, W), np.float32)
    for y in range(H):
        for x in range(W):
            out[y, x] = (_WR * lut[rgb[y, x, 0]] + _WG * lut[rgb[y, x, 1]]
                         + _WB * lut[rgb[y, x, 2]])
    return out


@njit(cache=True)
def ridge_mask(ys, level, thresh, max_ratio):
    """Pixels on dark lines: Hessian of the smoothed luminance ``ys`` across vs along.

    A pixel is marked (1) when the larger Hessian eigenvalue (curvature across
    a dark line) is at least ``thresh`` times the local skin ``level`` and the
    smaller one is within ``max_ratio`` of it in magnitude (a line, not a
    blob). Border pixels are never marked.
    """
    H, W = ys.shape
    out = np.zeros((H, W), np.uint8)
    for y in range(1, H - 1):
        for x in range(1, W - 1):
            c = ys[y, x]
            dxx = ys[y, x + 1] - 2.0 * c + ys[y, x - 1]
            dyy = ys[y + 1, x] - 2.0 * c + ys[y - 1, x]
            dxy = 0.25 * (ys[y + 1, x + 1] - ys[y + 1, x - 1] - ys[y - 1, x + 1]
                          + ys[y - 1, x - 1])
            half = 0.5 * (dxx + dyy)
            dif = math.sqrt(0.25 * (dxx - dyy) ** 2 + dxy * dxy)
            l1 = half + dif
            l2 = half - dif
            if l1 >= thresh * level[y, x] and abs(l2) <= max_ratio * l1:
                out[y, x] = 1
    return out


@njit(cache=True)
def paint_discs(mask, xs, ys, rs):
    """Set ``mask`` (uint8, in place) to 1 within ``rs[i]`` px of each centre; returns it."""
    H, W = mask.shape
    for i in range(xs.shape[0]):
        r = rs[i]
        r2 = r * r
        y0 = max(int(math.floor(ys[i] - r)), 0)
        y1 = min(int(math.ceil(ys[i] + r)), H - 1)
        x0 = max(int(math.floor(xs[i] - r)), 0)
        x1 = min(int(math.ceil(xs[i] + r)), W - 1)
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                if (x - xs[i]) ** 2 + (y - ys[i]) ** 2 <= r2:
                    mask[y, x] = 1
    return mask


@njit(cache=True)
def _phi(z):
    return 0.5 * (1.0 + math.erf(z / _SQRT2))


# Gauss-Hermite nodes (z >= 0) and weights of a standard normal, 5 points.
_GH_Z = (0.0, 1.3556261799742657, 2.8569700138728056)
_GH_W = (0.5333333333333333, 2 * 0.2220759220056126, 2 * 0.011257411327720693)


@njit(cache=True)
def _disc_profile(p, r, s):
    # A disc of radius r blurred by a Gaussian of sigma s, at distance p from its centre:
    # P(|X| <= r), X ~ N((p, 0), s^2 I). Given the offset along the rim's tangent (z s), the
    # chord across is sqrt(r^2 - z^2 s^2); the tangent offset is integrated by quadrature.
    out = 0.0
    for k in range(3):
        c2 = r * r - (_GH_Z[k] * s) ** 2
        if c2 > 0.0:
            c = math.sqrt(c2)
            far = (c + p) / s  # the far side of the disc: negligible unless near the centre
            out += _GH_W[k] * (_phi((c - p) / s) - (_phi(-far) if far < 6.0 else 0.0))
    return out


@njit(cache=True)
def _edge_sse(s, dist, dark, n, r, A):
    e = 0.0
    for k in range(n):
        e += (dark[k] - A * _disc_profile(dist[k], r, s)) ** 2
    return e


@njit(cache=True)
def edge_spread(lum, busy, xs, ys, r0, s_max):
    """Edge spread (Gaussian sigma, px) of isolated dots' rims, one fit per dot.

    For each dot (centre ``xs, ys``, nominal radius ``r0``): the skin is the
    median luminance of the ring r0 + 3 ... r0 + 5 px, the plateau ``A`` the
    median darkening within max(0.8, r0 - 2) px, the radius the one whose
    disc of darkness ``A`` holds the integrated darkening (blur-proof), and
    the spread the sigma (golden section on [0.1, s_max]) that best fits the
    rim's pixels by a blurred disc. A dot with any ``busy`` pixel (another
    mark) in its window, too close to the tile's edge, or narrower than 2.5
    sigmas (where the 5-point quadrature of the model errs) gives NaN.

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Per dot: spread sigma (px), fitted radius (px), plateau / skin.
    """
    H, W = lum.shape
    n = xs.shape[0]
    out = np.full((n, 3), np.nan)
    for i in range(n):
        R = r0[i] + 5.0
        x0 = int(math.floor(xs[i] - R))
        x1 = int(math.ceil(xs[i] + R))
        y0 = int(math.floor(ys[i] - R))
        y1 = int(math.ceil(ys[i] + R))
        if x0 < 0 or y0 < 0 or x1 >= W or y1 >= H or r0[i] < 1.0:
            continue
        m = (x1 - x0 + 1) * (y1 - y0 + 1)
        dist = np.empty(m)
        val = np.empty(m)
        ring = np.empty(m)
        core = np.empty(m)
        nk = 0
        nr = 0
        nc = 0
        clean = True
        rc = max(0.8, r0[i] - 2.0)
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                p = math.sqrt((x - xs[i]) ** 2 + (y - ys[i]) ** 2)
                if p > R:
                    continue
                if busy[y, x] != 0:
                    clean = False
                v = lum[y, x]
                if p >= r0[i] + 3.0:
                    ring[nr] = v
                    nr += 1
                if p <= rc:
                    core[nc] = v
                    nc += 1
                dist[nk] = p
                val[nk] = v
                nk += 1
        if not clean or nr < 8 or nc < 1:
            continue
        S = np.median(ring[:nr])
        A = S - np.median(core[:nc])
        if S <= 0.0 or A <= 0.05 * S:
            continue
        tot = 0.0
        for k in range(nk):
            if dist[k] <= r0[i] + 3.5:
                tot += S - val[k]
        if tot <= 0.0:
            continue
        r = math.sqrt(tot / (math.pi * A))
        # Rim pixels: within 2.5 px of the edge.
        ne = 0
        for k in range(nk):
            p = dist[k]
            if abs(p - r) <= 2.5:
                dist[ne] = p
                val[ne] = S - val[k]
                ne += 1
        if ne < 8:
            continue
        a, b = 0.1, s_max
        c = b - _GOLD * (b - a)
        d = a + _GOLD * (b - a)
        fc = _edge_sse(c, dist, val, ne, r, A)
        fd = _edge_sse(d, dist, val, ne, r, A)
        for _ in range(14):
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - _GOLD * (b - a)
                fc = _edge_sse(c, dist, val, ne, r, A)
            else:
                a, c, fc = c, d, fd
                d = a + _GOLD * (b - a)
                fd = _edge_sse(d, dist, val, ne, r, A)
        if r < 2.5 * 0.5 * (a + b):
            continue
        out[i, 0] = 0.5 * (a + b)
        out[i, 1] = r
        out[i, 2] = A / S
    return out


@njit(cache=True)
def _line_sse(w, s, dist, dark, weight):
    # Weighted least squares of a line of width w blurred by s, its darkness free.
    sff = 0.0
    sdf = 0.0
    f = np.empty(dist.shape[0])
    for k in range(dist.shape[0]):
        f[k] = _phi((dist[k] + 0.5 * w) / s) - _phi((dist[k] - 0.5 * w) / s)
        sff += weight[k] * f[k] * f[k]
        sdf += weight[k] * dark[k] * f[k]
    if sff <= 0.0:
        return np.inf
    A = sdf / sff
    e = 0.0
    for k in range(dist.shape[0]):
        e += weight[k] * (dark[k] - A * f[k]) ** 2
    return e


@njit(cache=True)
def fit_width(dist, dark, weight, s, w_max):
    """Width (px) of the line whose blurred cross-section best fits ``dark`` at ``dist``.

    The model is ``A * (Phi((d + w/2) / s) - Phi((d - w/2) / s))``, a line of
    width w (px) and darkness A convolved with a Gaussian of sigma ``s``; A
    by weighted linear least squares, w by golden section on [0.02, w_max].
    """
    a, b = 0.02, w_max
    c = b - _GOLD * (b - a)
    d = a + _GOLD * (b - a)
    fc = _line_sse(c, s, dist, dark, weight)
    fd = _line_sse(d, s, dist, dark, weight)
    for _ in range(40):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - _GOLD * (b - a)
            fc = _line_sse(c, s, dist, dark, weight)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLD * (b - a)
            fd = _line_sse(d, s, dist, dark, weight)
    return 0.5 * (a + b)


@njit(cache=True)
def cross_sections(lum, labels, blocked, lab, cx, cy, ux, uy, half_len, reach, clear):
    """Darkening across each line, pixel by pixel, and each line's skin and integral.

    Line i is the segment of label ``lab[i]`` centred at (``cx``, ``cy``) along
    the unit vector (``ux``, ``uy``), ``half_len`` px each way; its pixels
    within ``reach`` px of the axis, 1.5 px short of either end, form its
    cross-section. Pixels that are ``blocked`` (dots) or within ``clear`` px
    of another label's pixel are left out. The skin is the median luminance
    of the outer 3 px on each side; the axis is refined by a fit of the
    darkening's centre (d = a + b t) along the segment.

    Returns
    -------
    info : numpy.ndarray, shape (n, 5)
        Per line: skin (luminance), darkening integrated across the line
        per px of length, skin on the left and on the right, pixels used;
        NaN rows where too few pixels were left.
    dist, dark : numpy.ndarray
        Each used pixel's distance from the refined axis (px) and its
        darkening (skin - luminance).
    owner : numpy.ndarray
        The line (index into ``lab``) of each pixel.
    """
    H, W = lum.shape
    n = lab.shape[0]
    info = np.full((n, 5), np.nan)
    cl = int(math.ceil(clear))
    total = 0
    for i in range(n):
        side = 2.0 * (max(half_len[i], 0.0) + reach) + 3.0
        total += int(side * side)
    dist_all = np.empty(total)
    dark_all = np.empty(total)
    owner = np.empty(total, np.int64)
    used = 0
    for i in range(n):
        L = half_len[i] - 1.5
        if L < 2.0:
            continue
        ext = L + reach + 1.0
        x0 = max(int(math.floor(cx[i] - ext)), 0)
        x1 = min(int(math.ceil(cx[i] + ext)), W - 1)
        y0 = max(int(math.floor(cy[i] - ext)), 0)
        y1 = min(int(math.ceil(cy[i] + ext)), H - 1)
        m = (x1 - x0 + 1) * (y1 - y0 + 1)
        dist = np.empty(m)
        along = np.empty(m)
        val = np.empty(m)
        left = np.empty(m)
        right = np.empty(m)
        nk = 0
        nl = 0
        nr = 0
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                dx = x - cx[i]
                dy = y - cy[i]
                t = dx * ux[i] + dy * uy[i]
                d = -dx * uy[i] + dy * ux[i]
                if abs(t) > L or abs(d) > reach or blocked[y, x] != 0:
                    continue
                other = False
                for yy in range(max(y - cl, 0), min(y + cl, H - 1) + 1):
                    for xx in range(max(x - cl, 0), min(x + cl, W - 1) + 1):
                        q = labels[yy, xx]
                        if q != 0 and q != lab[i]:
                            other = True
                if other:
                    continue
                v = lum[y, x]
                if d <= -reach + 3.0:
                    left[nl] = v
                    nl += 1
                elif d >= reach - 3.0:
                    right[nr] = v
                    nr += 1
                dist[nk] = d
                along[nk] = t
                val[nk] = v
                nk += 1
        if nl < 5 or nr < 5 or nk < 20:
            continue
        SL = np.median(left[:nl])
        SR = np.median(right[:nr])
        S = 0.5 * (SL + SR)
        inner = reach - 3.0
        s0 = 0.0
        cnt = 0
        sw = 0.0
        st = 0.0
        stt = 0.0
        sd = 0.0
        std = 0.0
        for k in range(nk):
            val[k] = S - val[k]
            if abs(dist[k]) < inner:
                s0 += val[k]
                cnt += 1
                wk = max(val[k], 0.0)
                sw += wk
                st += wk * along[k]
                stt += wk * along[k] * along[k]
                sd += wk * dist[k]
                std += wk * along[k] * dist[k]
        if cnt < 10 or s0 <= 0.0 or sw <= 0.0:
            continue
        det = sw * stt - st * st
        slope = (sw * std - st * sd) / det if det > 1e-9 * sw * sw else 0.0
        off = (sd - slope * st) / sw
        if abs(off) > 1.5 or abs(slope) > 0.2:
            continue
        for k in range(nk):
            dist_all[used] = dist[k] - off - slope * along[k]
            dark_all[used] = val[k]
            owner[used] = i
            used += 1
        info[i, 0] = S
        info[i, 1] = s0 / cnt * 2.0 * inner
        info[i, 2] = SL
        info[i, 3] = SR
        info[i, 4] = nk
    return info, dist_all[:used], dark_all[:used], owner[:used]
