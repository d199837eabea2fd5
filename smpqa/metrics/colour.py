"""Colour: the pigment's own cast, separated from how dark it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls
from skimage.color import deltaE_ciede2000

from ..color import lab_to_linear, linear_to_lab
from ._util import dot_columns, finite_or_none

__all__ = ["Colour", "measure_colour", "cast_delta_e"]

_REFERENCE_DEPTH_L = 0.6  # the pooled dot is compared at L* = 0.6 L*skin


@dataclass(frozen=True, slots=True)
class Colour:
    """Pooled pigment colour cast.

    Attributes
    ----------
    cast_delta_e : float or None
        CIEDE2000 between the pooled dot colour at the reference depth and
        its best fit as skin darkened by a neutral pigment.
    dot_lab, neutral_lab : tuple of float or None
        The pooled dot colour at the reference depth, and its neutral fit.
    n_dots : int
    reason : str or None
        Why the cast could not be measured, when it could not.
    """

    cast_delta_e: float | None
    dot_lab: tuple | None
    neutral_lab: tuple | None
    n_dots: int
    reason: str | None = None

    def metrics(self) -> dict:
        return {"cast_delta_e": self.cast_delta_e}


def cast_delta_e(skin_lin, deficit_lin):
    """ΔE00 of skin - k·deficit at L* = 0.6 L*skin against its neutral-pigment fit.

    Parameters
    ----------
    skin_lin, deficit_lin : array_like, shape (3,)
        Pooled skin colour and pooled darkening, linear RGB.

    Returns
    -------
    (float, numpy.ndarray, numpy.ndarray)
        ΔE00, the dot colour and its fit, both CIE L*a*b*.

    Notes
    -----
    A perfectly neutral pigment still changes the channel ratios dot/skin, so
    the fit allows any u·skin + v·(1, 1, 1) with u, v >= 0 (skin seen through
    a grey filter, plus grey ink). Comparing at a fixed depth keeps near-black
    dots, where Lab is unstable, from dominating.
    """
    S = np.asarray(skin_lin, float)
    D = np.asarray(deficit_lin, float)
    target = _REFERENCE_DEPTH_L * linear_to_lab(S)[0]
    lo, hi = 0.0, float(np.min(S / np.maximum(D, 1e-12)))  # stay inside the gamut
    for _ in range(60):  # L* falls monotonically as k grows
        k = (lo + hi) / 2
        lo, hi = (k, hi) if linear_to_lab(np.clip(S - k * D, 0, 1))[0] > target else (lo, k)
    C = np.clip(S - lo * D, 0, 1)
    coef, _ = nnls(np.stack([S, np.ones(3)], axis=1), C)
    fit = coef[0] * S + coef[1]
    dot_lab, fit_lab = linear_to_lab(C), linear_to_lab(fit)
    return float(deltaE_ciede2000(dot_lab, fit_lab)), dot_lab, fit_lab


def measure_colour(skin_lab, core_lab, area_px, *, min_depth=0.15) -> Colour:
    """Colour cast of the pigment, pooled over all dots (area-weighted).

    Parameters
    ----------
    skin_lab, core_lab : array_like, shape (n, 3)
        Per-dot skin and core colours (CIE L*a*b*), as in a DotTable.
    area_px : array_like, shape (n,)
        Disc areas; each dot's darkening is (skin - core) x area in linear light.
    min_depth : float
        Below this pooled depth the cast is not measured (reason given).

    Returns
    -------
    Colour
    """
    skin, core, area = dot_columns(skin_lab=skin_lab, core_lab=core_lab, area_px=area_px)
    skin, core = lab_to_linear(skin), lab_to_linear(core)
    ok = np.isfinite(skin).all(1) & np.isfinite(core).all(1) & (area > 0)
    if not ok.any():
        return Colour(None, None, None, 0, "no dots to pool")
    w = area[ok][:, None]
    S = (skin[ok] * w).sum(0) / w.sum()
    D = ((skin[ok] - core[ok]) * w).sum(0) / w.sum()
    L_skin = linear_to_lab(S)[0]
    if (L_skin - linear_to_lab(np.clip(S - D, 0, 1))[0]) / L_skin < min_depth:
        # Extrapolating a faint dot to the reference depth multiplies the small chroma
        # errors of JPEG compression (measured: ΔE ~5 for neutral pigment at depth 0.12).
        return Colour(None, None, None, int(ok.sum()),
                      f"the dots are too faint (pooled depth below {min_depth:g}) to judge "
                      f"their colour")
    de, dot_lab, fit_lab = cast_delta_e(S, D)
    return Colour(finite_or_none(de), tuple(np.round(dot_lab, 2).tolist()),
                  tuple(np.round(fit_lab, 2).tolist()), int(ok.sum()))
