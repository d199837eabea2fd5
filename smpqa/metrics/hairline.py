"""Hairline: where the work's front edge lies, how soft, how irregular and how symmetric it is.

The edge is measured by fitting, not smoothing: smoothing a density map by σ
adds about 2.56σ to a measured 10–90 % width, so a ruler-straight "wall" edge
would read as soft. Instead, in bands about 5 mm long along the edge, the dot
positions are fitted by maximum likelihood with an inhomogeneous Poisson
process whose intensity falls across the edge as λ0·Φ((v − v0)/σ): σ is shared
by all bands, the 50 % position v0 and the plateau λ0 belong to each band.
σ maximises the likelihood with the bands' v0 integrated out (see
:func:`_marginal_nll`); the v0 are then each band's most likely position.

The edge is found first: a side of the photo along which a strip at least
3 mm deep is (nearly) bare while the work beyond reaches its level; its rough
course is a straight line through the half-level crossings of a smoothed
density map, and the bands are cut along, and distances measured normal to,
that line, so tilted edges are measured across, not obliquely. Strips and bands
cover only the observed area: the grid's frame margin, where the detector
reports no dot (:mod:`smpqa.frame`), is left out.

Coordinates: photo pixels (x = column, y = row, pixel centres at integers);
millimetres on the scalp have their origin at the photo's outer corner, as in
:mod:`smpqa.synth` (``x_mm = (x + 0.5) / px_per_mm``). For a side, ``u`` runs
along it and ``v`` away from it, into the work (top: u = x, v = y; bottom:
u = x, v = height − y; left: u = y, v = x; right: u = y, v = width − x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import Polynomial
from scipy import optimize
from scipy.special import log_ndtr, ndtr

from ..region import Grid, dot_density
from ._util import finite_or_none

__all__ = ["Hairline", "measure_hairline", "SIDES", "WIDTH_PER_SIGMA"]

#: Sides of the photo an edge can face (where the bare skin lies).
SIDES = ("top", "bottom", "left", "right")
#: 10–90 % width of a Gaussian-CDF fall-off, in units of its σ.
WIDTH_PER_SIGMA = 2.0 * 1.2815515655446004

_BARE_MM = 3.0           # bare skin needed between an edge and its side of the frame
_BARE_MEAN = 0.10        # ... as the strip's mean density over the work's level
_BARE_CHUNK = 0.30       # ... and most 10 mm pieces of the strip below this
_WINDOW_MM = (15.0, 15.0)  # dots used: this far onto the bare skin / into the work
_SIGMA_MM = (0.05, 15.0)   # bounds of the fitted σ; at the upper one the fit has failed
_STEP_MM = 0.05            # lattice of candidate edge positions (dots binned to it)
_MIN_BAND_DOTS = 8
_PLATEAU_MM = 6.0          # work needed in the photo beyond the 50 % line (and >= the width)
_MC_REPS = 12
_MC_SEED = 20240611
_SQRT2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class Hairline:
    """The front edge of the work, measured from dot positions.

    Attributes
    ----------
    found : bool
        Whether the photo shows an edge with bare skin beyond it; when False,
        every measurement is None (or empty) and ``reason`` says why.
    side : str or None
        Side of the photo where the bare skin lies: one of :data:`SIDES`.
    width_mm : float or None
        10–90 % width of the density fall-off, normal to the edge.
    irregularity_mm : float or None
        RMS of the bands' 50 % positions about a smooth (quadratic) course,
        corrected for the fitted degrees of freedom.
    irregularity_floor_mm : float or None
        The same statistic for a perfectly straight edge of the fitted width
        and density (Monte-Carlo): what dot sampling alone produces.
    asymmetry_mm : float or None
        Front view only: the smooth (quadratic) edge's distance from the side
        at 40 % of the frame's length past its centre (larger ``u``: larger x
        for top/bottom, larger y for left/right) minus at 40 % before it;
        positive means the edge sits further back on the larger-``u`` side.
        An overall tilt of the edge counts too: a front view is taken level.
    tilt_deg : float or None
        Overall slope of the edge, atan(dv/du), in degrees.
    contour_px : numpy.ndarray
        (N, 2) x, y (px) of the fitted 50 % line, one point per band.
    band : numpy.ndarray of bool or None
        Cells of the treated region between the fitted 10 % and 90 % points.
    n_dots_used : int
        Dots inside the fitting window.
    reason : str or None
        Why no edge is reported, when ``found`` is False.
    """

    found: bool
    side: str | None = None
    width_mm: float | None = None
    irregularity_mm: float | None = None
    irregularity_floor_mm: float | None = None
    asymmetry_mm: float | None = None
    tilt_deg: float | None = None
    contour_px: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    band: np.ndarray | None = None
    n_dots_used: int = 0
    reason: str | None = None

    def metrics(self) -> dict:
        """The hairline's metrics; ``irregularity_ratio`` is the irregularity over the noise
        floor of a straight edge at this width and density (below 1: ruler-straight)."""
        ratio = None
        if self.irregularity_mm is not None and self.irregularity_floor_mm:
            ratio = self.irregularity_mm / self.irregularity_floor_mm
        return {"width_mm": self.width_mm, "irregularity_mm": self.irregularity_mm,
                "irregularity_floor_mm": self.irregularity_floor_mm,
                "irregularity_ratio": ratio, "asymmetry_mm": self.asymmetry_mm}

    def to_dict(self) -> dict:
        """JSON-safe summary (the contour as a list; the band mask left out)."""
        return {"found": bool(self.found), "side": self.side, **self.metrics(),
                "tilt_deg": self.tilt_deg,
                "contour_px": np.round(np.asarray(self.contour_px, float), 2).tolist(),
                "n_dots_used": int(self.n_dots_used), "reason": self.reason}


# --- frames -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Frame:
    """Along (u) / across (v) millimetre coordinates for one side of the photo.

    ``margin_mm`` is the detector's frame margin: no dot is reported within it,
    so only the photo inset by it is observed (:meth:`inside`).
    """

    side: str
    width_mm: float
    height_mm: float
    margin_mm: float = 0.0

    @property
    def length_mm(self) -> float:
        return self.width_mm if self.side in ("top", "bottom") else self.height_mm

    @property
    def across_mm(self) -> float:
        return self.height_mm if self.side in ("top", "bottom") else self.width_mm

    def uv(self, x_mm, y_mm):
        if self.side == "top":
            return x_mm, y_mm
        if self.side == "bottom":
            return x_mm, self.height_mm - y_mm
        if self.side == "left":
            return y_mm, x_mm
        return y_mm, self.width_mm - x_mm

    def xy(self, u, v):
        if self.side == "top":
            return u, v
        if self.side == "bottom":
            return u, self.height_mm - v
        if self.side == "left":
            return v, u
        return self.width_mm - v, u

    def orient(self, a):
        """A grid array with rows running away from the side and columns along it."""
        a = np.asarray(a)
        if self.side in ("left", "right"):
            a = a.T
        return a[::-1] if self.side in ("bottom", "right") else a

    def inside(self, u, v):
        """Whether points lie in the observed part of the photo."""
        m = self.margin_mm
        return (u >= m) & (u <= self.length_mm - m) & (v >= m) & (v <= self.across_mm - m)


@dataclass(frozen=True, slots=True)
class _Axes:
    """Coordinates along (s) and normal to (t, into the work) a straight line in a frame."""

    u0: float
    v0: float
    angle: float  # radians, atan of the line's dv/du

    def local(self, u, v):
        c, s = math.cos(self.angle), math.sin(self.angle)
        du, dv = np.asarray(u) - self.u0, np.asarray(v) - self.v0
        return du * c + dv * s, dv * c - du * s

    def frame(self, s_, t):
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.u0 + s_ * c - t * s, self.v0 + s_ * s + t * c


def _to_mm(grid: Grid, x, y):
    ppm = grid.px_per_mm
    return (np.asarray(x, float) + 0.5) / ppm, (np.asarray(y, float) + 0.5) / ppm


def _frame(grid: Grid, side: str) -> _Frame:
    h, w = grid.image_shape
    ppm = grid.px_per_mm
    return _Frame(side, w / ppm, h / ppm, grid.margin_px / ppm)


# --- is there an edge, and roughly where? -------------------------------------------------------

def _coarse_density(grid: Grid, x, y):
    """Dots per mm² on ~1 mm cells, smoothed over 1.5 mm."""
    coarse = Grid.for_image(grid.image_shape, grid.px_per_mm, cell_mm=1.0,
                            margin_px=grid.margin_px)
    return coarse, dot_density(coarse, x, y, 1.5)


def _strip_density(fr: _Frame, u, v):
    """Density of the dots within _BARE_MM of the side, in ~10 mm pieces, and the work's level.

    The level is the mean density over the half of the photo away from the
    side: a mean, not a high percentile, so that dense clusters of patchy
    work do not make its thin patches look bare. Both count the observed
    area only: the strip is the first _BARE_MM past the frame margin.
    """
    m = fr.margin_mm
    length = max(fr.length_mm - 2 * m, 1e-9)
    level = np.count_nonzero(v > fr.across_mm / 2) / (length * max(fr.across_mm / 2 - m, 1e-9))
    n = max(1, round(length / 10.0))
    near = v < m + _BARE_MM
    k = np.clip(((u[near] - m) / length * n).astype(np.intp), 0, n - 1)
    dens = np.bincount(k, minlength=n) / (_BARE_MM * length / n)
    return dens / max(level, 1e-12), level


def _find_side(grid: Grid, xm, ym):
    """The side with a bare strip along it (the emptiest such side) and the work's level."""
    best = (None, 0.0, np.inf)
    for side in SIDES:
        fr = _frame(grid, side)
        rel, level = _strip_density(fr, *fr.uv(xm, ym))
        # Every piece, not just the mean, must be bare: a thin patch of patchy work is not an edge.
        bare = rel.mean() < _BARE_MEAN and np.mean(rel < _BARE_CHUNK) >= 0.8
        if bare and level > 0 and rel.mean() < best[2]:
            best = (side, level, rel.mean())
    return best[:2]


def _crossings(fr: _Frame, coarse: Grid, dens, level):
    """Where each column (along the side) first reaches half the level: (u, v) mm."""
    u, v = fr.uv(*_to_mm(coarse, *coarse.centres_px()))
    u_col, v_row = fr.orient(u)[0], fr.orient(v)[:, 0]
    d = np.nan_to_num(fr.orient(dens), nan=0.0)
    above = d >= 0.5 * level
    first = np.argmax(above, axis=0)
    ok = above.any(axis=0) & (first > 0)
    j, f = np.flatnonzero(ok), first[ok]
    d0, d1 = d[f - 1, j], d[f, j]
    frac = (0.5 * level - d0) / (d1 - d0)
    return u_col[j], v_row[f - 1] + frac * (v_row[f] - v_row[f - 1]), ok.mean()


def _rough_line(fr: _Frame, coarse: Grid, dens, level):
    """A straight line through the half-level crossings (robust to a few stray columns)."""
    u, v, share = _crossings(fr, coarse, dens, level)
    if share < 0.5 or u.size < 3:
        return None
    coef = np.polyfit(u, v, 1)
    r = v - np.polyval(coef, u)
    keep = np.abs(r) <= max(3 * 1.4826 * np.median(np.abs(r)), 1.0)
    coef = np.polyfit(u[keep], v[keep], 1)
    uc = fr.length_mm / 2
    return _Axes(uc, float(np.polyval(coef, uc)), math.atan(coef[0]))


# --- the band geometry --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Bands:
    """Dots across the edge (t, mm), sorted by band, and each band's observed area."""

    s_lo: np.ndarray      # (B,) band limits along the line, mm
    s_hi: np.ndarray
    t_edges: np.ndarray   # (K + 1,) cells across the line, mm
    length: np.ndarray    # (B, K) length (mm) of each band's cross-section inside the photo
    t: np.ndarray         # (N,) dots, sorted by band
    bounds: np.ndarray    # (B + 1,) each band's first dot index

    @property
    def n(self):
        return np.diff(self.bounds)

    @property
    def band(self):
        return np.repeat(np.arange(self.n.size), self.n)

    @property
    def s_centres(self):
        return 0.5 * (self.s_lo + self.s_hi)


def _band_limits(fr: _Frame, ax: _Axes, band_mm):
    """Band limits along the stretch of the line inside the photo (at least 3 bands), or None."""
    diag = math.hypot(fr.length_mm, fr.across_mm)
    s = np.arange(-diag, diag, 0.25)
    s = s[fr.inside(*ax.frame(s, np.zeros_like(s)))]
    if s.size < 2 or s[-1] - s[0] < 6.0:
        return None
    n = max(3, round((s[-1] - s[0]) / band_mm))
    return np.linspace(s[0], s[-1], n + 1)


def _cross_lengths(fr: _Frame, ax: _Axes, s_edges, t_edges, step=0.5):
    """Length inside the photo of each band's cross-section at each t cell, mm."""
    width = s_edges[1] - s_edges[0]
    ns = max(2, math.ceil(width / step))
    s = s_edges[:-1, None, None] + (np.arange(ns) + 0.5) * (width / ns)
    tc = 0.5 * (t_edges[1:] + t_edges[:-1])[None, :, None]
    inside = fr.inside(*ax.frame(s, tc))
    return inside.sum(axis=2) * (width / ns)


def _collect(fr: _Frame, ax: _Axes, um, vm, s_edges):
    """Sort the dots inside the window into bands."""
    t_edges = np.arange(-_WINDOW_MM[0], _WINDOW_MM[1] + 1e-9, 0.5)
    s, t = ax.local(um, vm)
    ok = (t >= t_edges[0]) & (t < t_edges[-1]) & (s >= s_edges[0]) & (s < s_edges[-1])
    b = np.clip(np.searchsorted(s_edges, s[ok], side="right") - 1, 0, s_edges.size - 2)
    order = np.argsort(b, kind="stable")
    counts = np.bincount(b, minlength=s_edges.size - 1)
    return _Bands(s_edges[:-1], s_edges[1:], t_edges, _cross_lengths(fr, ax, s_edges, t_edges),
                  t[ok][order], np.concatenate([[0], np.cumsum(counts)]))


def _drop_thin(bd: _Bands) -> _Bands:
    """Drop bands with too few dots to place an edge (e.g. a sliver at the frame's corner)."""
    keep = bd.n >= _MIN_BAND_DOTS
    sel = np.repeat(keep, bd.n)
    return _Bands(bd.s_lo[keep], bd.s_hi[keep], bd.t_edges, bd.length[keep], bd.t[sel],
                  np.concatenate([[0], np.cumsum(bd.n[keep])]))


# --- the maximum-likelihood fit -----------------------------------------------------------------

def _pdf(z):
    """The standard normal density."""
    return np.exp(-0.5 * z * z) / _SQRT2PI


def _band_terms(bd: _Bands, band, sigma, v0):
    """Each band's negative log-likelihood at fixed σ (λ0 profiled) and its v0 derivatives.

    With λ0 at its maximum, n / ∫Φ, a band's likelihood is
    Σ log Φ((t_i − v0)/σ) − n log ∫Φ((t − v0)/σ) dA, up to a constant.
    """
    nb, n = bd.n.size, bd.n
    z = (bd.t - v0[band]) / sigma
    lp = log_ndtr(z)
    mills = np.exp(-0.5 * z * z - lp) / _SQRT2PI  # φ/Φ, stable far onto the bare side
    ze = (bd.t_edges[None, :] - v0[:, None]) / sigma
    cdf, pdf = ndtr(ze), _pdf(ze)
    # ∫Φ(z) dz = zΦ(z) + φ(z): exact over each t cell, however small σ is.
    i0 = np.maximum(sigma * np.sum(bd.length * np.diff(ze * cdf + pdf, axis=1), axis=1), 1e-300)
    i1 = -np.sum(bd.length * np.diff(cdf, axis=1), axis=1) / i0
    i2 = np.sum(bd.length * np.diff(pdf, axis=1), axis=1) / sigma / i0
    f = -np.bincount(band, lp, nb) + n * np.log(i0)
    g = np.bincount(band, mills, nb) / sigma + n * i1
    h = np.bincount(band, mills * (z + mills), nb) / sigma**2 + n * (i2 - i1 * i1)
    return f, g, h


def _newton_v0(bd: _Bands, band, sigma, v0, lo, hi, iters=40):
    """Each band's best v0 at fixed σ, by safeguarded Newton steps from ``v0``; (v0, Σ NLL)."""
    f, g, h = _band_terms(bd, band, sigma, v0)
    cap = max(sigma, 0.25)
    for _ in range(iters):
        step = np.clip(np.where(h > 0, -g / np.where(h > 0, h, 1.0), -np.sign(g) * cap), -cap, cap)
        taken = np.zeros(v0.size)
        for _ in range(8):  # halve the steps that do not lower their band's NLL
            trial = np.clip(v0 + step, lo, hi)
            ft, gt, ht = _band_terms(bd, band, sigma, trial)
            ok = (ft <= f) & (step != 0)
            taken[ok] = trial[ok] - v0[ok]
            v0, f, g, h = (np.where(ok, a, b) for a, b in ((trial, v0), (ft, f), (gt, g), (ht, h)))
            step = np.where(ok, 0.0, step / 2)
            if not step.any():
                break
        if np.max(np.abs(taken)) < 1e-5:
            break
    return v0, float(np.sum(f))


@dataclass(frozen=True, slots=True)
class _Lattice:
    """The bands on a fine lattice across the edge: binned dots and observed lengths."""

    t: np.ndarray        # (M,) lattice centres, mm
    step: float
    hist: np.ndarray     # (B, M) dots per lattice cell
    length: np.ndarray   # (B, M) band cross-section inside the photo, mm
    valid: np.ndarray    # (B, M) cells allowed as a band's edge position
    n_fft: int           # length of the zero-padded FFTs of :func:`_correlate`
    hist_fft: np.ndarray     # (B, n_fft // 2 + 1) their spectra: the same for every σ
    length_fft: np.ndarray

    @property
    def limits(self):
        """Each band's lowest and highest allowed edge position, mm."""
        first = np.argmax(self.valid, axis=1)
        last = self.valid.shape[1] - 1 - np.argmax(self.valid[:, ::-1], axis=1)
        return self.t[first], self.t[last]


def _lattice(bd: _Bands) -> _Lattice:
    """Bin the bands' dots and observed lengths on a ~_STEP_MM lattice across the line."""
    lo, hi = bd.t_edges[0], bd.t_edges[-1]
    k = bd.length.shape[1]
    m = k * max(1, round((hi - lo) / k / _STEP_MM))
    step = (hi - lo) / m
    t = lo + (np.arange(m) + 0.5) * step
    j = np.clip(((bd.t - lo) / step).astype(np.intp), 0, m - 1)
    hist = np.bincount(bd.band * m + j, minlength=bd.n.size * m).reshape(bd.n.size, m)
    length = np.repeat(bd.length, m // k, axis=1)
    # An edge must leave some observed work beyond it: past where the photo ends, the
    # fitted intensity would be all Gaussian tail (and its integral underflow).
    valid = (t >= lo + 1.0) & (t <= np.minimum(hi, _photo_end(t, length))[:, None] - 1.0)
    hist = hist.astype(float)
    n = _fast_len(2 * m - 1)  # see _correlate
    # Bands of the same layout (all of the noise floor's) share one spectrum of lengths.
    same = bool(np.all(length == length[:1]))
    return _Lattice(t, step, hist, length, valid, n, np.fft.rfft(hist, n, axis=1),
                    np.fft.rfft(length[:1] if same else length, n, axis=1))


def _correlate(rows_fft, kernel, lat: _Lattice, sigma):
    """Σ_j rows[b, j] · kernel((t_j − t_m)/σ) for every band b and lattice cell m (by FFT).

    ``rows_fft`` is the rows' spectrum, zero-padded to ``lat.n_fft`` (``lat.hist_fft`` or
    ``lat.length_fft``): it does not depend on σ, so it is computed once per lattice.
    The convolution is circular, of length n_fft >= 2m - 1: of the full linear one
    (3m - 2 long) only the m values kept here are needed, and no other wraps onto them.
    """
    m, n = lat.t.size, lat.n_fft
    d = (np.arange(2 * m - 1) - (m - 1)) * (lat.step / sigma)
    kern = kernel(d)[::-1]
    full = np.fft.irfft(rows_fft * np.fft.rfft(kern, n), n, axis=1)
    return full[:, m - 1:2 * m - 1]


def _fast_len(n):
    """The smallest 2^a 3^b 5^c >= n: FFT lengths with no large prime factor are fast."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35 << max(0, (n - 1) // p35).bit_length()  # times the power of 2 reaching n
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _lattice_nll(lat: _Lattice, n, sigma):
    """Each band's negative log-likelihood (λ0 profiled) for every edge position on the lattice."""
    dots = _correlate(lat.hist_fft, log_ndtr, lat, sigma)
    integ = _correlate(lat.length_fft, ndtr, lat, sigma) * lat.step
    return -dots + n[:, None] * np.log(np.maximum(integ, 1e-300))


def _marginal_nll(bd: _Bands, lat: _Lattice, sigma):
    """Negative log-likelihood of σ with each band's edge position integrated out (flat prior).

    Maximising over the bands' positions instead (profiling) is biased towards
    hard edges: with σ → 0 every band can put its edge just below its first
    dot, and at the few dots per band of sparse work that wins for true widths
    up to ~2 mm. Integrating the positions out removes that reward.
    """
    f = np.where(lat.valid, _lattice_nll(lat, bd.n, sigma), np.inf)
    fmin = f.min(axis=1)
    return float(np.sum(fmin - np.log(np.sum(np.exp(fmin[:, None] - f), axis=1))))


def _modes(bd: _Bands, lat: _Lattice, sigma):
    """Each band's most likely edge position at fixed σ: the lattice's best, polished by Newton."""
    f = np.where(lat.valid, _lattice_nll(lat, bd.n, sigma), np.inf)
    return _newton_v0(bd, bd.band, sigma, lat.t[np.argmin(f, axis=1)], *lat.limits)[0]


def _fit(bd: _Bands):
    """Fit σ (shared) and each band's v0; (σ, v0, λ0), or None when the fall-off is no edge."""
    lat = _lattice(bd)

    def nll(log_sigma):
        return _marginal_nll(bd, lat, math.exp(log_sigma))

    ladder = np.log(np.geomspace(*_SIGMA_MM, 19))
    values = np.array([nll(v) for v in ladder])
    k = int(np.argmin(values))
    if k == ladder.size - 1 or not np.isfinite(values[k]):
        return None  # flatter than any edge: no fall-off inside the window
    span = (ladder[max(k - 1, 0)], ladder[k + 1])
    res = optimize.minimize_scalar(nll, bounds=span, method="bounded", options={"xatol": 0.01})
    sigma = math.exp(res.x if res.fun <= values[k] else ladder[k])
    v0 = _modes(bd, lat, sigma)
    return sigma, v0, _plateau(bd, sigma, v0)


def _photo_end(t, length):
    """Each band's last position across the line (of cells centred at ``t``) inside the photo."""
    return t[length.shape[1] - 1 - np.argmax(length[:, ::-1] > 0, axis=1)]


def _work_reach(bd: _Bands, v0):
    """Median distance (mm) from the bands' 50 % points to where the photo ends on the work side."""
    end = _photo_end(0.5 * (bd.t_edges[1:] + bd.t_edges[:-1]), bd.length)
    return float(np.median(end - v0))


def _plateau(bd: _Bands, sigma, v0):
    """Each band's fitted λ0 (dots per mm²): n / ∫Φ."""
    ze = (bd.t_edges[None, :] - v0[:, None]) / sigma
    integ = sigma * np.sum(bd.length * np.diff(ze * ndtr(ze) + _pdf(ze), axis=1), axis=1)
    return bd.n / integ


# --- irregularity and its floor -----------------------------------------------------------------

def _degree(n_bands):
    """Degree of the smooth course: quadratic (a receding or lopsided edge), less if few bands."""
    return max(0, min(2, n_bands - 2))


def _smooth(s, v0):
    """The edge's smooth course: a polynomial in s (mm along the line)."""
    return Polynomial.fit(s, v0, _degree(s.size))


def _rms_about_smooth(s, v0):
    """RMS of v0 about its smooth course, per remaining degree of freedom (so unbiased)."""
    r = v0 - _smooth(s, v0)(s)
    return math.sqrt(float(np.sum(r * r)) / (v0.size - _degree(s.size) - 1))


def _simulated_straight(rng, n_bands, sigma, lam0, band_mm, t_lo, t_hi):
    """Dots (t only) of _MC_REPS x n_bands rectangular bands across a straight edge at t = 0."""
    nb = _MC_REPS * n_bands
    counts = rng.poisson(lam0 * band_mm * (t_hi - t_lo), nb)
    t = rng.uniform(t_lo, t_hi, counts.sum())
    keep = rng.random(t.size) < ndtr(t / sigma)
    band = np.repeat(np.arange(nb), counts)[keep]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(band, minlength=nb))])
    return _Bands(np.zeros(nb), np.full(nb, band_mm), np.array([t_lo, t_hi]),
                  np.full((nb, 1), band_mm), t[keep], bounds)


def _irregularity_floor(bd: _Bands, sigma, v0, lam0):
    """Irregularity of straight edges of the fitted width and density.

    The same statistic as the measurement, over _MC_REPS simulated edges with
    the measured bands' layout, a fixed seed and σ held at the fitted value.
    The simulated dots are Poisson; real work is laid out more evenly, so its
    straight edges usually read a little below this floor.
    """
    s = bd.s_centres
    band_mm = float(np.median(bd.s_hi - bd.s_lo))
    # Each band's mean extent across the line inside the photo; the frame usually
    # clips the window on the bare side, so the simulated window keeps the work side.
    reach = np.sum(bd.length, axis=1) * np.diff(bd.t_edges)[0] / band_mm
    t_hi = bd.t_edges[-1] - float(np.median(v0))
    t_lo = t_hi - float(np.median(reach))
    sim = _simulated_straight(np.random.default_rng(_MC_SEED), s.size, sigma,
                              float(np.median(lam0)), band_mm, t_lo, t_hi)
    fitted = _modes(sim, _lattice(sim), sigma)
    ms = [_rms_about_smooth(s, row) ** 2 for row in fitted.reshape(_MC_REPS, s.size)]
    return math.sqrt(float(np.mean(ms)))


# --- what the caller gets -----------------------------------------------------------------------

def _asymmetry(fr: _Frame, u, v, band_mm):
    """The edge's v at 40 % of the frame's length past its centre minus 40 % before it.

    ``u``, ``v`` are the bands' 50 % points in the frame; the course through
    them is a quadratic fitted to all of them. Its even part cancels in the
    difference, so this is the overall slope times 0.8 x the length: fitting
    the stretch between the two points alone would follow a kinked edge more
    closely (8 mm of lopsidedness read ~0.4 mm lower here) but, with fewer
    bands and a shorter lever, adds half again to the scatter that the edge's
    wiggle causes.
    """
    lo, hi = 0.1 * fr.length_mm, 0.9 * fr.length_mm
    if u.size < 4 or u.min() > lo + band_mm or u.max() < hi - band_mm:
        return None  # the edge does not reach across the frame: no temples to compare
    course = Polynomial.fit(u, v, 2)
    return float(course(hi) - course(lo))


def _band_mask(grid: Grid, treated, fr: _Frame, ax: _Axes, bd: _Bands, v0, sigma):
    """Treated cells between the fitted 10 % and 90 % points (at least a cell thick).

    Only the cells that can lie in the band are measured: t (mm across the rough line) is
    affine in a cell's row and column, so an estimate from three cells, off by round-off
    only, picks them out of the whole grid with a margin of a micrometre.
    """
    half = max(0.5 * WIDTH_PER_SIGMA * sigma, grid.cell_mm)
    col = (np.arange(grid.shape[1]) + 0.5) * grid.cell_px - 0.5  # as Grid.centres_px
    row = (np.arange(grid.shape[0]) + 0.5) * grid.cell_px - 0.5
    i3, j3 = np.array([0, 0, min(1, row.size - 1)]), np.array([0, min(1, col.size - 1), 0])
    t3 = ax.local(*fr.uv(*_to_mm(grid, col[j3], row[i3])))[1]
    t_j, t_i = t3[1] - t3[0], t3[2] - t3[0]  # per column, per row (0 along a 1-cell axis)
    est = (t3[0] + t_i * np.arange(row.size))[:, None] + t_j * np.arange(col.size)[None, :]
    lo, hi = float(np.min(v0)) - half - 1e-3, float(np.max(v0)) + half + 1e-3
    ii, jj = np.nonzero(treated & (est >= lo) & (est <= hi))
    s, t = ax.local(*fr.uv(*_to_mm(grid, col[jj], row[ii])))
    mask = np.zeros(grid.shape, bool)
    mask[ii, jj] = np.abs(t - np.interp(s, bd.s_centres, v0)) <= half
    return mask


def _report(grid: Grid, treated, fr: _Frame, ax: _Axes, bd: _Bands, fit, view):
    """The measurements of a fitted edge (not found if any comes out non-finite)."""
    sigma, v0, lam0 = fit
    s = bd.s_centres
    u, v = ax.frame(s, v0)
    xm, ym = fr.xy(u, v)
    contour = np.stack([xm * grid.px_per_mm - 0.5, ym * grid.px_per_mm - 0.5], axis=1)
    values = {
        "width_mm": WIDTH_PER_SIGMA * sigma,
        "irregularity_mm": _rms_about_smooth(s, v0),
        "irregularity_floor_mm": _irregularity_floor(bd, sigma, v0, lam0),
        "tilt_deg": math.degrees(math.atan(np.polyfit(u, v, 1)[0])),
    }
    if not all(math.isfinite(val) for val in values.values()):
        return Hairline(False, reason="the edge fit gave no finite width or position")
    band_mm = float(np.median(bd.s_hi - bd.s_lo))
    asym = _asymmetry(fr, u, v, band_mm) if view == "front" else None
    return Hairline(True, fr.side, **{k: float(val) for k, val in values.items()},
                    asymmetry_mm=finite_or_none(asym), contour_px=contour,
                    band=_band_mask(grid, treated, fr, ax, bd, v0, sigma),
                    n_dots_used=int(bd.t.size))


_NO_EDGE = "no hairline edge in the photo"


def _locate(grid: Grid, x, y):
    """The edge's frame and rough line, or the reason there is none."""
    side, level = _find_side(grid, *_to_mm(grid, x, y))
    if side is None:
        return _NO_EDGE
    fr = _frame(grid, side)
    ax = _rough_line(fr, *_coarse_density(grid, x, y), level)
    # A bare strip along a side, but the work never reaches its level beyond it: no edge either.
    return _NO_EDGE if ax is None else (fr, ax)


def _checked(x, y, grid: Grid, treated, view, band_mm):
    """The finite dots and the treated mask as arrays; ValueError for bad arguments."""
    if view not in (None, "front"):
        raise ValueError(f"view must be None or 'front', got {view!r}")
    treated = grid.cell_mask(treated, "treated")
    if not (math.isfinite(band_mm) and band_mm > 0):
        raise ValueError(f"band_mm must be > 0, got {band_mm!r}")
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], treated


def measure_hairline(x, y, grid: Grid, treated, *, view=None, band_mm=5.0) -> Hairline:
    """Find the front edge of the work and measure its width, irregularity and symmetry.

    Parameters
    ----------
    x, y : array_like
        Dot centres, px (x = column).
    grid : smpqa.region.Grid
    treated : (rows, columns) bool array
        The treated region on ``grid`` (see :func:`smpqa.region.treated_region`).
    view : {None, "front"}
        "front" for a photo facing the hairline, the only view in which
        left/right asymmetry is meaningful.
    band_mm : float
        Length along the edge of the bands whose edge positions are fitted.

    Returns
    -------
    Hairline
        ``found`` False (with a ``reason``) when the photo shows no edge with
        bare skin beyond it, or when the edge cannot be fitted.

    Raises
    ------
    ValueError
        For an unknown ``view``, a ``treated`` mask not of the grid's shape
        or a ``band_mm`` that is not positive.

    Examples
    --------
    Random dots below a straight line 15 mm from the top of an 80 x 60 mm photo:

    >>> import numpy as np
    >>> from smpqa.region import Grid
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.uniform(0, 1600, 4000), rng.uniform(300, 1200, 4000)
    >>> grid = Grid.for_image((1200, 1600), px_per_mm=20.0)
    >>> hl = measure_hairline(x, y, grid, np.ones(grid.shape, bool))
    >>> hl.side, hl.width_mm < 1.0, round(float(np.median(hl.contour_px[:, 1])) / 20)
    ('top', True, 15)
    """
    x, y, treated = _checked(x, y, grid, treated, view, band_mm)
    if x.size < 3 * _MIN_BAND_DOTS:
        return Hairline(False, reason="too few dots to look for a hairline")
    located = _locate(grid, x, y)
    if isinstance(located, str):
        return Hairline(False, reason=located)
    fr, ax = located
    s_edges = _band_limits(fr, ax, band_mm)
    if s_edges is None:
        return Hairline(False, reason="the edge crosses too little of the photo to measure")
    bd = _drop_thin(_collect(fr, ax, *fr.uv(*_to_mm(grid, x, y)), s_edges))
    if bd.n.size < 3:
        return Hairline(False, reason="too few dots along the edge to fit it")
    fit = _fit(bd)
    if fit is None:
        return Hairline(False, reason="the density does not fall off like an edge (fit failed)")
    if _work_reach(bd, fit[1]) < max(_PLATEAU_MM, WIDTH_PER_SIGMA * fit[0]):
        return Hairline(False, reason="too little of the work beyond the edge is in the photo "
                                      "to measure its fall-off")
    return _report(grid, treated, fr, ax, bd, fit, view)
