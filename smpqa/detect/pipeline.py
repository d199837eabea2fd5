"""detect_dots: the thin orchestration over the detector's kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .._numbers import is_finite_real
from ..calibrate import check_px_per_mm
from ..color import SRGB8_TO_LINEAR, linear_to_lab, linear_to_srgb, srgb_to_linear
from ..errors import CalibrationError
from ..frame import FRAME_MARGIN_KEY, frame_distance
from ..io import rgb8_view
from . import _disc_profile, _disc_tail, _glare, _hair
from . import _kernels as K
from .params import DetectParams
from .table import DotTable

__all__ = ["detect_dots"]

_SIGMA_P = 1.0  # Gaussian (px) that smooths the darkening before peaks are read
_SIGMA_AA2 = 1.0 / 12.0  # variance of a 1-px edge ramp (pixel area sampling)
_DEFAULT_BLUR_VAR = 0.5  # px²: the blur's variance assumed when too few dots tell it
_RING_GAP = 1.5  # px past the half-peak radius where the skin ring for a dot's size begins
_D_MIN = 1.5  # px: the smallest expected dot diameter used (a smaller one is raised to it)
_OPEN_D_LO = 3.0  # px: the line opening (3x3 cross) runs when no expected dot is narrower
# A would-be twin is one dot with a hair across it when the corridor (half-width px) along
# its major axis stays half as dark as its peak this many px past the twin discs' ends, and
# its middle is darker than the twin centres by more than this factor (_stretched_by_hair).
_TWIN_CORRIDOR = 1.5
_TWIN_RUN_ON = 3.0
_TWIN_DEPTH = 1.06
# ... or when a hair touches it (line pixels within its reach) and, eroded by a disc of this
# fraction of a twin's radius, its shape keeps less than this fraction of the twins'
# separation² (true twins keep 0.3-1.3, median 0.6; a dot with a hair ending on it 0-0.5).
_TWIN_ERODE = 0.55
_TWIN_KEEP = 0.35
# A shape too elongated for a dot is a dot under a hair when its mass beyond the lines is at
# least this many smallest-dot areas (lines and crossings keep under ~0.3, such dots 0.7-2.2).
_UNDER_HAIR_MASS = 1.0
# A seed that is hair seen from its seed pixel, but from its centre has an inscribed radius
# too wide for a line, is a crossing of hairs while its mass beyond the lines is under this
# many smallest-dot areas (_is_hair; such crossings keep -1.2 to 0.6, dots under hairs ~1).
_CROSSING_MASS = 0.5
_CROSSING_WIDER = 1.5  # px past the line width up to which such a seed is weighed so
_TWIN_ITERS = 8  # most centroid steps that re-centre the twins on their sides of a pair (_rows)
_LOPSIDED = 1.6  # a ray this many times the median's length: into a touching partner (_measure)
_MERGE_FILL = 0.85  # see _measure: two overlapping discs fill their moments' ellipse to 0.9-1
_LUM = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance of linear RGB
_KERNEL_P = cv2.getGaussianKernel(9, _SIGMA_P, cv2.CV_32F).ravel()  # as GaussianBlur's
# Columns of K.measure's table, by name.
_X, _Y, _I, _P = K.M_X, K.M_Y, K.M_I, K.M_P
_INK, _SKIN = slice(K.M_INK, K.M_INK + 3), slice(K.M_SKIN, K.M_SKIN + 3)
_CODE = slice(K.M_CODE, K.M_CODE + 3)
_MXX, _MYY, _MXY, _MASK_N = range(K.M_MASK, K.M_MASK + 4)
_NEAR = slice(K.M_NEAR, K.M_NEAR + 4)  # I_near, P_near, P2_near, offset


def _diameter_range_px(px_per_mm, diameter_mm, diameter_px):
    if diameter_px is not None and diameter_mm is not None:
        raise ValueError("give diameter_mm or diameter_px, not both")
    if diameter_mm is not None:
        if px_per_mm is None:
            raise CalibrationError(
                "diameter_mm needs the scale: pass px_per_mm=..., or give diameter_px instead")
        lo, hi = (v * px_per_mm for v in _pair(diameter_mm, "diameter_mm"))
    elif diameter_px is not None:
        lo, hi = _pair(diameter_px, "diameter_px")
    elif px_per_mm is not None:
        lo, hi = 0.15 * px_per_mm, 1.5 * px_per_mm
    else:
        lo, hi = 2.0, 60.0
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"the dot diameter range must be two increasing positive numbers, "
                         f"got {lo:g}..{hi:g} px")
    if hi <= _D_MIN:  # no dot could be reported: say so rather than return an empty table
        if diameter_mm is None and diameter_px is None:
            raise CalibrationError(
                f"at {px_per_mm:g} px/mm even a 1.5 mm dot spans only {hi:g} px, and dots under "
                f"{_D_MIN:g} px cannot be measured; px_per_mm is pixels per mm at the scalp "
                f"(10-40 for a phone macro photo)")
        raise ValueError(f"the largest expected diameter, {hi:g} px, must exceed {_D_MIN:g} px "
                         f"(the smallest dot that can be measured)")
    return max(lo, _D_MIN), hi


def _pair(value, name):
    """``value`` as two floats (smallest, largest), or a TypeError naming ``name``."""
    try:
        lo, hi = value
        return float(lo), float(hi)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of numbers (smallest, largest), "
                        f"got {value!r}") from None


def _skin_level(rgb, block, raw=None, todo=None):
    """The block skin level: the upper quartile of each tile's luminance, then a 3x3 median.

    Given the quartiles ``raw`` of a photo that differs from ``rgb`` only in the tiles
    where ``todo`` is True, only those are measured again. Returns the level and the
    quartiles.
    """
    if raw is None:
        raw = K.block_percentile(rgb, SRGB8_TO_LINEAR, block, 0.75)
    elif todo.any():
        raw = raw.copy()
        K.block_percentile_at(rgb, SRGB8_TO_LINEAR, block, 0.75, todo, raw)
    # A 3x3 median keeps clusters and glare out of the skin level.
    return (cv2.medianBlur(raw, 3) if min(raw.shape) >= 3 else raw), raw


def _contrast_maps(rgb, bg, block, open_lines, line_level):
    # Darkening, its opening (lines narrower than 3 px, hairs, wiped out; not dots), the
    # line map and the smoothing, in one pass: see K.darkening.
    g, cs = np.empty(rgb.shape[:2], np.float32), np.empty(rgb.shape[:2], np.float32)
    line = np.empty(rgb.shape[:2] if open_lines else (1, 1), np.float32)
    K.darkening(rgb, SRGB8_TO_LINEAR, bg, block, _KERNEL_P, open_lines,
                np.float32(line_level), g, cs, line)
    return g, cs, line


def _noise(cs):
    """Pixel-scale noise of the smoothed darkening, from differences of pixels 4 apart.

    Differences cancel the skin's slow variations, which a threshold for
    dot-sized peaks need not fear; MAD keeps the dots themselves out.
    """
    # A grid of pixels every s-th row and column: ~250,000 pairs pin a MAD down to ~0.3 %.
    s = max(3, math.ceil(math.sqrt(cs.size / 250_000)))
    d = (cs[::s, 4::s] - cs[::s, :-4:s]).ravel()
    if d.size < 2:  # narrower than 5 px: no pixel pairs; the contrast floor decides alone
        return 1e-6
    return 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2) + 1e-6


def _seeds(cs, thresh, d_lo, saddle, d_hi):
    xs, ys = K.peaks(cs, max(1, int(0.35 * d_lo)), np.float32(thresh))
    if xs.size < 2:
        return xs, ys
    # Seeds joined by no saddle within d_hi are one dot: the weaker go (no list of pairs).
    keep = K.kept_seeds(cs, xs, ys, float(d_hi), saddle, max(8.0, float(d_hi)))
    return xs[keep], ys[keep]


def _neighbours(xs, ys, reach, nearest_first=True):
    """CSR lists of the seeds within ``reach[i]`` px of each seed i (see ``K.neighbours``)."""
    cell = max(8.0, float(np.median(reach)))
    return K.neighbours(xs.astype(np.float64), ys.astype(np.float64), reach.astype(np.float64),
                        cell, nearest_first)


_BLUR_DOTS = 128  # dots whose profiles the blur fit weighs: enough to pin one number down
_BLUR_SD = np.arange(0.0, 2.41, 0.3)  # px: the blur fit's coarse candidates
_BLUR_FINE = 0.05  # px: its step about the best of them
_BLUR_TRIM = 0.7  # share of the dots whose misfits count at each blur (least trimmed)
_BLUR_ROUND = 1.25  # most elongation of a dot weighed by the blur fit


def _blur_from_profiles(g, m, xs, ys, r_win, good, nb_ptr, nb_idx):
    """Optical blur variance under which the dots' pixels best fit blurred discs.

    Each of up to ``_BLUR_DOTS`` well-measured round dots (``good``) is fitted,
    over its own pixels within ``r_win``, by a skin level less a disc of free
    radius and darkening, blurred by each candidate blur (``K.blur_ssr``). A
    dot's misfit is taken relative to its least over the coarse candidates (so
    each dot weighs alike, whatever its noise), and the blur's cost is the mean
    of the lowest ``_BLUR_TRIM`` of them (least trimmed: a blown-out halo or a
    hair makes a dot fit badly, and such dots would favour more blur). The
    least-cost blur is refined by parabolas, on the coarse candidates and then
    on a finer grid about that. Unlike the ratio of a dot's integral to its
    peaks, the shape of its profile is barely moved by JPEG
    (docs/detection.md, step 6). None with fewer than 5 such dots.
    """
    idx = np.flatnonzero(good)
    if idx.size < 5:
        return None
    idx = np.ascontiguousarray(idx[:: max(1, idx.size // _BLUR_DOTS)])  # one kernel type

    def misfit(sd):
        s_tot = np.sqrt(sd**2 + _SIGMA_AA2)
        return K.blur_ssr(g, m[idx, _X], m[idx, _Y], idx, r_win[idx], xs, ys, nb_ptr, nb_idx,
                          s_tot, _disc_profile.table())

    def cost(res):  # the dots' misfits over their least: the mean of the lower share
        rel = np.sort(np.where(np.isnan(res), np.inf, res / base[:, None] - 1.0), axis=0)
        return rel[: max(1, int(_BLUR_TRIM * rel.shape[0]))].mean(axis=0)

    coarse = misfit(_BLUR_SD)
    base = np.where(np.isnan(coarse), np.inf, coarse).min(axis=1)
    keep = np.isfinite(base) & (base > 0)  # (NaN: too few pixels)
    coarse, base, idx = coarse[keep], base[keep], idx[keep]
    if idx.size < 5:
        return None
    mid = _vertex(_BLUR_SD, cost(coarse))
    fine = max(mid, 2 * _BLUR_FINE) + _BLUR_FINE * np.arange(-2, 3)
    res = misfit(fine)  # (over the dots kept)
    base = np.fmin(base, np.where(np.isnan(res), np.inf, res).min(axis=1))  # nearer the least
    return _vertex(fine, cost(res)) ** 2


def _vertex(x, f):
    """Where a parabola through the least of the evenly spaced ``f`` and its neighbours is least.

    The least of the inner samples and its two neighbours make the parabola; its
    least point is kept within half a step of that sample, and where it does not
    open upwards the least sample itself is returned. Never below 0.
    """
    k = int(np.clip(np.argmin(f), 1, x.size - 2))
    a, b, c = f[k - 1], f[k], f[k + 1]
    curv = a - 2 * b + c
    step = float(np.clip(0.5 * (a - c) / curv, -0.5, 0.5)) if curv > 0 else 0.0
    best = x[np.argmin(f)] if curv <= 0 else x[k] + step * (x[k + 1] - x[k])
    return max(float(best), 0.0)


def detect_dots(image, *, px_per_mm=None, diameter_mm=None, diameter_px=None,
                sensitivity=1.0, params: DetectParams | None = None) -> DotTable:
    """Find every pigment dot in an SMP photo and measure it.

    Parameters
    ----------
    image : str, os.PathLike or numpy.ndarray
        The photo (anything :func:`smpqa.load_image` accepts).
    px_per_mm : float, optional
        Scale at the scalp; when given, ``diameter_mm`` is filled and the
        expected dot sizes default to 0.15-1.5 mm.
    diameter_mm, diameter_px : (float, float), optional
        Expected range of dot diameters (give one of them). Without either,
        0.15-1.5 mm when the scale is known, else 2-60 px.
    sensitivity : float
        Multiplies the detection threshold's inverse: 2 finds fainter dots
        (and more false ones), 0.5 only clear ones.
    params : DetectParams, optional
        Advanced settings.

    Returns
    -------
    DotTable
        One row per dot (see docs/contracts.md); an empty table when none.
        Dots whose centre lies within half the largest expected diameter of
        the photo's frame are not reported: ``meta["frame_margin_px"]``
        holds that margin, which areas counted over must leave out
        (:mod:`smpqa.frame`); a photo narrower than the largest expected
        diameter therefore has none. ``meta["glare_fraction"]`` is the share of
        the photo's area whose glare was taken out (0 when none).
        ``meta["blur_px"]`` is the optical blur (standard deviation, px) the
        sizes are corrected for, and ``meta["blur_source"]`` where it came
        from: ``"given"`` (``DetectParams.blur_px``), ``"dots"`` (read from
        the dots' profiles) or ``"default"`` (fewer than 5 well-measured dots,
        or none: 0.71 px).

    Raises
    ------
    ImageError
        The image cannot be read.
    CalibrationError
        ``px_per_mm`` is not a positive number, ``diameter_mm`` is given
        without it, or at that scale even the default range's largest dot
        (1.5 mm) spans no more than 1.5 px (1 px/mm and less).
    TypeError
        ``diameter_mm`` or ``diameter_px`` is not a pair of numbers.
    ValueError
        Both of them are given, their range is not two increasing positive
        numbers or lies wholly at or under 1.5 px, or ``sensitivity`` is not
        a positive number.

    Notes
    -----
    White glare is first taken out of the photo where it dims the dots: glare
    leaves the skin's chroma unchanged, which tells the skin's own light from
    it (``DetectParams.remove_glare``). Luminance is taken in linear light
    and divided by a robust local skin level, so the threshold is a relative
    darkening, unaffected by uneven light. Seeds are local maxima of the
    lightly smoothed darkening; seeds joined by no saddle are one dot. Each
    dot's darkening (skin - observed) is integrated over its neighbourhood:
    the integral is unchanged by blur and JPEG, so the diameter follows from
    the integral over the peak, corrected for the optical blur that the
    shape of the clearest dots' profiles reveals. See docs/detection.md.

    Examples
    --------
    >>> from smpqa import synth, detect_dots
    >>> photo = synth.render(synth.preset("good_light", width_px=300, height_px=200))
    >>> dots = detect_dots(photo.image, px_per_mm=photo.scene.px_per_mm)
    >>> from smpqa.frame import frame_distance  # dots along the frame are not reported
    >>> t, margin = photo.dots, dots.meta["frame_margin_px"]
    >>> shown = frame_distance(t["x"], t["y"], photo.image.shape[:2]) >= margin
    >>> abs(len(dots) - int(shown.sum())) <= 2
    True
    """
    p = params or DetectParams()
    px_per_mm = None if px_per_mm is None else check_px_per_mm(px_per_mm)
    if not (is_finite_real(sensitivity) and sensitivity > 0):
        raise ValueError(f"sensitivity must be a positive number, got {sensitivity!r}")
    rgb = rgb8_view(image)
    d_lo, d_hi = _diameter_range_px(px_per_mm, diameter_mm, diameter_px)
    # A dot is reported only if even the largest expected disc around its centre lies in the
    # photo: a disc cut by the frame cannot be measured, and dark frame edges look like dots.
    meta = {"params": p, "diameter_range_px": (d_lo, d_hi), "sensitivity": sensitivity,
            FRAME_MARGIN_KEY: d_hi / 2}
    if min(rgb.shape[:2]) < d_hi:  # no centre lies d_hi / 2 from every side of the frame
        return _no_dots(p, px_per_mm, meta)
    block = p.background_block or max(16, int(math.ceil(1.25 * d_hi)))
    # A tile past the photo's sides holds the photo, as one of its size does, and the kernels'
    # tile buffers are sized by the block: no larger, then.
    block = min(block, max(rgb.shape[:2]))
    bg, raw = _skin_level(rgb, block)
    # White glare is taken out of the photo first (_glare): it washes dots out.
    glare = (_glare.find_glare(rgb, SRGB8_TO_LINEAR, bg, block, p.min_snr, math.pi * d_hi**2 / 4)
             if p.remove_glare else None)
    if glare is not None:
        rgb = glare.rgb
        bg, _ = _skin_level(rgb, block, raw, glare.tiles(block))
    meta["glare_fraction"] = 0.0 if glare is None else glare.fraction
    maps = _Maps(rgb, *_contrast_maps(rgb, bg, block, d_lo >= _OPEN_D_LO, 2.0 * p.min_contrast))
    noise = _noise(maps.cs)
    thresh = max(p.min_contrast, p.min_snr * noise) / sensitivity
    meta.update(noise=noise, threshold=thresh)
    xs, ys = _seeds(maps.cs, thresh, d_lo, p.saddle, d_hi)
    if xs.size == 0:
        return _no_dots(p, px_per_mm, meta)
    return _measure(maps, xs, ys, _Setting(p, d_lo, d_hi, thresh, noise, sensitivity, px_per_mm,
                                           glare), meta)


def _no_dots(p: DetectParams, px_per_mm, meta):
    """The empty table, with the blur the sizes would have been corrected for."""
    sb2, source = _blur(p, None)
    meta.update(blur_px=math.sqrt(sb2), blur_source=source)
    meta.setdefault("glare_fraction", 0.0)
    return DotTable.empty(px_per_mm=px_per_mm, meta=meta)


@dataclass(frozen=True, slots=True)
class _Maps:
    """The per-pixel images the measurement reads: the photo and what was made of it."""

    rgb: np.ndarray  # the photo, uint8 (H, W, 3)
    g: np.ndarray  # linear luminance, float32
    cs: np.ndarray  # relative darkening, lines opened away, lightly smoothed
    line: np.ndarray  # opened darkening on line pixels, NaN elsewhere; (1, 1) without opening


@dataclass(frozen=True, slots=True)
class _Setting:
    """What the measurement needs to know about this photo and the caller's settings."""

    params: DetectParams
    d_lo: float  # expected dot diameters, px
    d_hi: float
    thresh: float  # seed threshold (relative darkening)
    noise: float  # pixel noise of the smoothed darkening
    sensitivity: float
    px_per_mm: float | None
    glare: _glare.Glare | None  # the glare taken out of the photo, if any


def _measure(maps: _Maps, xs, ys, st: _Setting, meta):
    """Measure every seed, keep the dots, split merged twins: the DotTable."""
    rgb, g, line, cs = maps.rgb, maps.g, maps.line, maps.cs
    p, d_lo, d_hi, thresh, noise = st.params, st.d_lo, st.d_hi, st.thresh, st.noise
    sensitivity, px_per_mm = st.sensitivity, st.px_per_mm
    rays = K.ray_radius(cs, xs, ys, np.float32(d_hi / 2 + 3))
    margin = 2.5 * math.sqrt(_SIGMA_P**2 + 1.0) + 1.0
    # A dot wider than the margin does not reach a touching partner's centre with its window
    # (r_half + margin): the pair would be measured as one cut-off dot, and not split. Where
    # one ray runs much longer than the median (into the partner), the window reaches halfway.
    r_half = np.where((rays[:, 1] > _LOPSIDED * rays[:, 0]) & (rays[:, 0] > margin),
                      0.5 * (rays[:, 0] + rays[:, 1]), rays[:, 0]).astype(np.float32)
    # A neighbour can own a pixel of seed i's window only if it lies within twice the
    # window's reach (the outer skin annulus of the halo ratio, of a slightly larger disc).
    window = np.maximum(r_half + margin, 3.3 * r_half + 5) + 1
    nb_ptr, nb_idx = _neighbours(xs, ys, 2 * window + 2)
    t_low = np.float32(0.5 * thresh)
    m, npix = K.measure(rgb, SRGB8_TO_LINEAR, line, cs, xs, ys, r_half.astype(np.float64), nb_ptr,
                        nb_idx, t_low, _SIGMA_P, margin, _RING_GAP)
    ok = np.isfinite(m[:, _X]) & (m[:, _I] > 0) & (m[:, _P] > 0) & np.isfinite(m[:, _MXX])
    # Size from the darkening over the skin just around the dot (see K.measure): the far
    # annulus's skin level, off by the skin's texture, would be integrated over the whole disc.
    loc = m[:, _NEAR]
    near = (loc[:, 0] > 0) & (loc[:, 1] > 0) & (loc[:, 2] > 0)  # NaN compares False
    ipp = np.where(near[:, None], loc[:, :2], m[:, [_I, _P]])
    req2 = np.where(ok, ipp[:, 0] / (math.pi * np.maximum(ipp[:, 1], 1e-12)), 0.0)
    # The near ring, which holds a little of the dot's own blurred edge (_disc_tail).
    rings = np.where(near[:, None], r_half[:, None] + np.array([_RING_GAP, margin]), np.inf)
    snr = m[:, _I] / (noise * np.maximum(m[:, _SKIN].mean(1), 1e-6)
                     * np.sqrt(np.maximum(npix, 1)))
    if p.blur_px is not None:
        read = None
    else:  # the blur from round, clear dots' profiles
        lam_s, lam_d = _eigen_sum_diff(m)
        round_ = lam_s + lam_d <= _BLUR_ROUND**2 * np.maximum(lam_s - lam_d, 1e-12)
        read = _blur_from_profiles(g, m, xs, ys, r_half + margin, ok & near & (snr > 10) & round_,
                                   nb_ptr, nb_idx)
    sb2, source = _blur(p, read)
    meta.update(blur_px=math.sqrt(sb2), blur_source=source)
    s2 = np.array([sb2 + _SIGMA_P**2 + _SIGMA_AA2])
    # The near-skin radius is the reported size; the wide disc's decides the core colour and
    # what is too large for a dot, as before: over a blotch wider than the disc (a freckle)
    # the near ring is the blotch itself, and that radius would shrink it into the dot range.
    r_size = K.solve_near_radius(req2, sb2 + _SIGMA_AA2, _SIGMA_P**2, 4 * _SIGMA_P**2, rings,
                                 _disc_tail.table())
    r = K.solve_radius(np.where(ok, m[:, _I] / (math.pi * np.maximum(m[:, _P], 1e-12)), 0.0), s2)
    # Shape from the half-peak mask: far steadier than intensity-weighted moments.
    lam_sum, lam_dif = _eigen_sum_diff(m)
    lam1, lam2 = (lam_sum + lam_dif) / 2, np.maximum((lam_sum - lam_dif) / 2, 1e-6)
    elong = np.sqrt(lam1 / lam2)
    # Ink outside the half-peak disc (a blow-out halo) inflates the integral's radius; the
    # half-peak mask (per-axis variance r²/4 + 1/12 for a disc) is then the better measure.
    r_mask = np.sqrt(np.maximum(2 * (lam_sum - 1 / 6), 0))
    r = np.where(r > 1.2 * r_mask, r_mask, r)
    r_size = np.where(r_size > 1.2 * r_mask, r_mask, r_size)
    # Core colour: skin minus the mean darkening over the disc (the integral is blur-proof).
    area = np.pi * np.maximum(r, 0.5) ** 2
    skin = m[:, _SKIN]
    skin_lum = skin @ _LUM
    core_contrast = m[:, _I] / area / np.maximum(skin_lum, 1e-6)
    # A shape narrower than the smallest dot across its minor axis is a line (a hair).
    minor_d = 4 * np.sqrt(np.maximum(lam2 - 1 / 12, 0))
    # Too small by the near-skin size (the wide one can drown a small dot in skin texture),
    # too large by the wide one.
    ok &= (r_size > 0) & (2 * r_size >= 0.5 * d_lo) & (2 * r <= d_hi)
    ok &= core_contrast >= _contrast_floor(st, m) / sensitivity  # faint blobs: skin, not pigment
    thin = (elong > p.max_elongation) | ((minor_d < d_lo) & (elong >= p.merge_elongation))
    ok &= ~thin | _dot_under_hair(g, skin_lum, m, ok & thin, d_lo, d_hi)
    ok[ok] = ~_is_hair(g, skin_lum[ok], xs[ok], ys[ok], m[ok], d_lo, d_hi)
    # Colours: where glare was taken out, the first share of it is still in the photo (_glare).
    if st.glare is not None:
        skin = np.clip(skin - st.glare.left_at(np.nan_to_num(m[:, _X]),
                                               np.nan_to_num(m[:, _Y]))[:, None], 1e-5, None)
    core = _core_colour(m, skin, area)
    # Twin discs lie (lam1 - lam2)^0.5 px either side of the centre; under 1 px is one dot.
    # Two overlapping discs fill the ellipse of equal moments (pi 4 sqrt(lam1 lam2)) to
    # 0.9-1; a dot with a hair across it, stretched by a thin line, fills 0.5-0.8.
    fill = m[:, _MASK_N] / (4 * np.pi * np.sqrt(lam1 * lam2))
    merged = ok & (elong >= p.merge_elongation) & (lam1 - lam2 >= 1.0) & (fill >= _MERGE_FILL)
    merged[merged] = ~_stretched_by_hair(maps, m[merged], skin_lum[merged], lam1[merged],
                                         lam2[merged])
    rows, src, mate = _rows(cs, m, r_size, elong, merged, skin, core, snr, ok, lam1, lam2)
    seen = frame_distance(rows["x"], rows["y"], cs.shape) >= meta[FRAME_MARGIN_KEY]
    rows, src, mate = {k: v[seen] for k, v in rows.items()}, src[seen], mate[seen]
    rows["halo_ratio"] = K.halo_ratio(g, line, cs, t_low, rows["x"], rows["y"],
                                      rows["diameter_px"] / 2, mate[:, 0], mate[:, 1], src, xs,
                                      ys, nb_ptr, nb_idx)
    if px_per_mm:
        rows["diameter_mm"] = rows["diameter_px"] / px_per_mm
    return DotTable(rows, px_per_mm=px_per_mm, meta=meta)


def _core_colour(m, skin, area):
    """Each dot's core colour (linear RGB): how dark from light, which way from sRGB codes.

    The core is the skin less the mean darkening over the disc (the integral is
    blur-proof). How much it darkens the luminance comes from the integrals in
    linear light, as the darkness criterion needs. The direction of the darkening
    (its hue, which the colour criterion judges) comes from the same integrals
    taken in sRGB codes (``K.measure``'s J), decoded per dot: JPEG flattens a
    small, faint dot's chroma across its block, which keeps the chroma's integral
    in codes nearly whole, but moved from the dark core onto bright skin it weighs
    more in linear light, and neutral pigment read a colour cast of up to 4.8
    (docs/detection.md, "Accuracy by resolution and compression"). ``skin`` is the
    skin the colours are judged against (under glare, with the glare left in the
    photo taken out).
    """
    lin = np.clip(skin - m[:, _INK] / area[:, None], 1e-5, None)
    s_at = m[:, _SKIN]  # the skin the integrals were taken against
    way = s_at - srgb_to_linear(np.clip(linear_to_srgb(s_at) - m[:, _CODE] / area[:, None], 0, 1))
    dy_lin, dy_way = (skin - lin) @ _LUM, way @ _LUM
    ok = (dy_way > 1e-9) & np.isfinite(dy_way)
    t = np.divide(dy_lin, dy_way, out=np.zeros_like(dy_lin), where=ok)
    return np.where(ok[:, None], np.clip(skin - way * t[:, None], 1e-5, None), lin)


def _eigen_sum_diff(m):
    """The sum and the difference of the eigenvalues of the half-peak masks' moments."""
    lam_sum = m[:, _MXX] + m[:, _MYY]
    return lam_sum, np.sqrt(np.maximum((m[:, _MXX] - m[:, _MYY]) ** 2 + 4 * m[:, _MXY] ** 2, 0))


def _blur(p: DetectParams, read):
    """The blur variance (px²) the sizes are corrected for, and where it came from.

    ``read`` is the variance read from the dots (``_blur_from_profiles``), or None.
    """
    if p.blur_px is not None:
        return float(p.blur_px) ** 2, "given"
    if read is None:
        return _DEFAULT_BLUR_VAR, "default"
    return read, "dots"


def _contrast_floor(st: _Setting, m):
    """The least relative darkening of a dot's disc: ``min_contrast``, and more under glare.

    Where glare was taken out, the skin level left is uncertain by the glare estimate's
    scatter, magnified by as much as the glare had shrunk the contrast: a dot must clear
    ``min_snr`` times that.
    """
    p = st.params
    if st.glare is None:
        return p.min_contrast
    x, y = np.nan_to_num(m[:, _X]), np.nan_to_num(m[:, _Y])
    return np.maximum(p.min_contrast, p.min_snr * st.glare.eps * st.glare.gain(x, y))


def _is_hair(g, skin_lum, xs, ys, m, d_lo, d_hi):
    """Which seeds are stubble hairs (their crossings, ends, bundles) rather than dots.

    A seed is hair when, seen both from its seed pixel and from its measured
    centre, the darkening mass beyond the lines crossing it is under 0.8 x the
    area of the smallest expected dot and its inscribed radius at half its
    darkening is at most d_lo / 2 + 0.75 px (``_hair.line_excess``;
    docs/detection.md). A dot under a hair keeps its own mass and width. Seen
    from the centre, the middle of a crossing can be wider than that: a seed
    that is hair from its seed pixel stays hair when its mass from the centre
    is under ``_CROSSING_MASS`` x the smallest dot's area, if it is at most
    ``_CROSSING_WIDER`` px wider than that.

    Without the line opening (d_lo < 3 px), hairs side by side, shallow
    crossings and a hair's end on another are as wide as the smallest dot.
    A seed whose darkening runs on as a ridge, at half its peak, well past its
    own body (``_hair.ridge_runs``) is weighed whatever its width: it is hair
    unless its mass beyond the lines (from its seed or its centre) reaches
    0.8 x the smallest dot's area, or 2 x where the ridge runs on both ways (a
    line passes through it: the mass of a dot under a hair scatters by about
    one smallest-dot area). A dot touching a neighbour makes a one-way ridge.
    """
    area_lo, wide = 0.8 * math.pi * d_lo**2 / 4, d_lo / 2 + 0.75
    reach = float(d_hi / 2 + 3)
    hair = np.ones(xs.size, bool)
    for x, y in ((xs, ys), (m[:, _X], m[:, _Y])):
        i = np.flatnonzero(hair)  # from the centre, only the seeds that looked like hair
        f = _hair.line_excess(g, skin_lum[i], x[i].astype(np.float64), y[i].astype(np.float64),
                              reach, wide)
        hair[i] = f[:, 0] < area_lo  # NaN (not weighed, too wide) is not hair
    # Hair from its seed but too wide to weigh from its centre (the middle of a crossing is
    # wider than a hair, by up to _CROSSING_WIDER px): hair still while its mass is under a
    # fraction of a dot's. (Much wider shapes are dots; the rim correction fails on them.)
    # i and f are the centre pass's seeds and results.
    j = i[np.isnan(f[:, 0]) & (f[:, 1] > wide) & (f[:, 1] <= wide + _CROSSING_WIDER)]
    f = _hair.line_excess(g, skin_lum[j], m[j, _X], m[j, _Y], reach, np.inf)
    hair[j] = f[:, 0] < _CROSSING_MASS * math.pi * d_lo**2 / 4
    if d_lo >= _OPEN_D_LO:  # the line opening took the hairs out of the seeds
        return hair
    i = np.flatnonzero(~hair)
    x, y = xs[i].astype(np.float64), ys[i].astype(np.float64)
    run = _hair.ridge_runs(g, skin_lum[i], x, y, _hair.RIDGE_LEVEL, _hair.RIDGE_RISE, reach)
    k, c = _hair.RIDGE_SPAN
    j = np.flatnonzero(run[:, 0] >= k * run[:, 1] + c)  # NaN: no ridge
    i, x, y, run = i[j], x[j], y[j], run[j]
    mass = np.full(i.size, -np.inf)
    for px, py in ((x, y), (m[i, _X], m[i, _Y])):
        mass = np.fmax(mass, _hair.line_excess(g, skin_lum[i], px, py, reach, np.inf)[:, 0])
    both = run[:, 2] >= run[:, 1] + _hair.RIDGE_BOTH
    hair[i] = ~(mass >= np.where(both, _hair.RIDGE_BOTH_MASS * math.pi * d_lo**2 / 4, area_lo))
    return hair


def _dot_under_hair(g, skin_lum, m, which, d_lo, d_hi):
    """Which of the ``which`` shapes (too thin or elongated for a dot) are dots under a hair.

    A hair across a dot that the line opening leaves (all hairs below 20 px/mm, where there is
    none; the wider ones above) is measured with the dot and stretches its shape. Such a shape
    keeps, beyond the lines crossing it, the darkening mass of a dot: at least
    ``_UNDER_HAIR_MASS`` x the area of the smallest expected dot (``_hair.line_excess`` from
    the measured centre), where a line, its end or a crossing of lines keeps about none.
    """
    i = np.flatnonzero(which)
    f = _hair.line_excess(g, skin_lum[i], m[i, _X], m[i, _Y], float(d_hi / 2 + 3), np.inf)
    out = np.zeros(which.size, bool)
    out[i] = f[:, 0] >= _UNDER_HAIR_MASS * math.pi * d_lo**2 / 4
    return out


def _twin_axes(m, lam1, lam2):
    """Would-be twins' major axes: unit vector (cos, sin), half-separation h, disc radius.

    Two equal discs of radius r, 2h apart, give their half-peak mask the moments
    lam1 - lam2 = h² and lam2 = r² / 4.
    """
    theta = 0.5 * np.arctan2(2 * m[:, _MXY], m[:, _MXX] - m[:, _MYY])
    return (np.cos(theta), np.sin(theta), np.sqrt(np.maximum(lam1 - lam2, 0)),
            2 * np.sqrt(lam2))


def _stretched_by_hair(maps, m, skin_lum, lam1, lam2):
    """Which would-be twins are one dot stretched by a hair (see ``_hair.twin_profile``).

    Along the major axis, the darkening of two overlapping discs ends a disc's
    radius past the twin centres, and their middle is about as dark as those
    centres. A hair across a dot keeps the corridor along it darkened to half
    the peak ``_TWIN_RUN_ON`` px past where twin discs would end, and the middle
    (the dot) is darker than the would-be centres (one on the hair) by a
    factor of more than ``_TWIN_DEPTH``. Both must hold: twins touching a
    third dot run on too, and blurred twins can be darker in the middle.

    A hair that ends on a dot or runs along its side, at an angle to the axis,
    escapes that test. Such a shape is also one dot when the line map has a
    pixel within 2 px of where the twin discs would end and, eroded by a disc
    of ``_TWIN_ERODE`` x a twin's radius (which erases the hair, but only
    shrinks twin discs about their centres), it keeps less than
    ``_TWIN_KEEP`` x the twins' squared half-separation as ``lam1 - lam2``.
    """
    ux, uy, h, r_twin = _twin_axes(m, lam1, lam2)
    end = h + r_twin + _TWIN_RUN_ON
    level = 0.5 * m[:, _P] / np.maximum(skin_lum, 1e-12)
    run, depth = _hair.twin_profile(maps.g, maps.cs, skin_lum, m[:, _X], m[:, _Y], ux, uy, h,
                                    level, _TWIN_CORRIDOR, end + 0.5)
    ero = _hair.twin_erosion(maps.cs, maps.line, m[:, _X], m[:, _Y], level, h + r_twin + 2,
                             _TWIN_ERODE * r_twin)
    hair_part = (ero[:, 1] > 0) & (ero[:, 0] < _TWIN_KEEP * h**2)
    return ((run > end) & (depth > _TWIN_DEPTH)) | hair_part


def _rows(cs, m, r, elong, merged, skin, core, snr, ok, lam1, lam2):
    """Table columns, each row's seed index and its twin's position (NaN for a single dot).

    Merged dots are split along their major axis. The twins start where two equal discs with
    the pair's moments would lie and are then re-centred on their own parts of the pair
    (``K.twin_split``), which follows unequal and crowded pairs.
    """
    idx = np.flatnonzero(ok)
    single = idx[~merged[idx]]
    twin = idx[merged[idx]]
    c, s, h, r_twin = _twin_axes(m[twin], lam1[twin], lam2[twin])
    src = np.concatenate([single, twin, twin])
    ax, ay = m[twin, _X] + h * c, m[twin, _Y] + h * s
    bx, by = m[twin, _X] - h * c, m[twin, _Y] - h * s
    rt = np.concatenate([r_twin, r_twin])
    pair = K.twin_split(cs, ax, ay, bx, by, r_twin, _TWIN_ITERS)
    new = np.concatenate([pair[:, :2], pair[:, 2:]])  # the a twins, then the b twins
    x = np.concatenate([m[single, _X], new[:, 0]])
    y = np.concatenate([m[single, _Y], new[:, 1]])
    nt = twin.size
    mate = np.concatenate([np.full((single.size, 2), np.nan), new[nt:, :2], new[:nt, :2]])
    rad = np.concatenate([r[single], rt])
    skin_lab = linear_to_lab(skin[src])
    core_lab = linear_to_lab(core[src])
    dl = skin_lab[:, 0] - core_lab[:, 0]
    rows = {
        "x": x, "y": y, "diameter_px": 2 * rad, "diameter_mm": np.full(src.size, np.nan),
        "area_px": np.pi * rad**2, "delta_L": dl, "depth": dl / np.maximum(skin_lab[:, 0], 1e-6),
        "core_L": core_lab[:, 0], "core_a": core_lab[:, 1], "core_b": core_lab[:, 2],
        "skin_L": skin_lab[:, 0], "skin_a": skin_lab[:, 1], "skin_b": skin_lab[:, 2],
        "elongation": np.concatenate([elong[single], np.ones(2 * twin.size)]),
        "merged": np.concatenate([np.zeros(single.size, bool), np.ones(2 * twin.size, bool)]),
        "snr": snr[src],
    }
    return rows, src, mate
