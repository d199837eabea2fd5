"""Colour conversions shared by the simulator and the analysis.

The tattoo model of smpqa lives in *linear* RGB (light adds and multiplies
there), while people judge colour in CIE L*a*b* (D65).  These helpers convert
between sRGB-encoded values, linear RGB and Lab.  Small colour sets go through
:mod:`skimage.color`; whole images go through 8-bit look-up tables.
"""

from __future__ import annotations

import numpy as np
from skimage import color as _skcolor

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "lab_to_linear",
    "linear_to_lab",
    "luminance_to_lightness",
    "lightness_to_luminance",
    "SRGB8_TO_LINEAR",
]

# IEC 61966-2-1 (sRGB). Encoding: 12.92 v up to _SRGB_KNEE, else (1 + a) v^(1/gamma) - a;
# decoding: its inverse, linear up to the code 12.92 x _SRGB_KNEE (the standard's 0.04045).
# The detector's kernels encode single values with the same constants.
_SRGB_KNEE = 0.0031308
_SRGB_CODE_KNEE = 0.04045
_SRGB_SLOPE = 12.92
_SRGB_A = 0.055
_SRGB_GAMMA = 2.4


def srgb_to_linear(v):
    """Decode sRGB values in [0, 1] to linear light (IEC 61966-2-1).

    Parameters
    ----------
    v : array_like
        sRGB-encoded values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Linear-light values in [0, 1], same shape, float64 (float32 stays float32).
    """
    v = np.asarray(v)
    if not np.issubdtype(v.dtype, np.floating):
        v = v.astype(np.float64)
    return np.where(v <= _SRGB_CODE_KNEE, v / _SRGB_SLOPE,
                    ((v + _SRGB_A) / (1 + _SRGB_A)) ** _SRGB_GAMMA).astype(v.dtype)


def linear_to_srgb(v):
    """Encode linear-light values in [0, 1] as sRGB in [0, 1] (values are clipped first).

    Parameters
    ----------
    v : array_like
        Linear-light values.

    Returns
    -------
    numpy.ndarray
        sRGB-encoded values in [0, 1].
    """
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= _SRGB_KNEE, v * _SRGB_SLOPE,
                    (1 + _SRGB_A) * v ** (1 / _SRGB_GAMMA) - _SRGB_A)


def lab_to_linear(lab):
    """Convert CIE L*a*b* (D65) colours to linear RGB.

    Parameters
    ----------
    lab : array_like, shape (..., 3)
        L* in [0, 100], a*, b*.

    Returns
    -------
    numpy.ndarray, shape (..., 3)
        Linear RGB in [0, 1]; out-of-gamut colours are clipped to the gamut.
    """
    lab = np.asarray(lab, dtype=np.float64)
    srgb = _skcolor.lab2rgb(lab.reshape(-1, 1, 3)).reshape(lab.shape)
    return srgb_to_linear(srgb)


def linear_to_lab(rgb):
    """Convert linear RGB colours to CIE L*a*b* (D65).

    Parameters
    ----------
    rgb : array_like, shape (..., 3)
        Linear RGB, nominally in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (..., 3)
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    srgb = linear_to_srgb(rgb)
    return _skcolor.rgb2lab(srgb.reshape(-1, 1, 3)).reshape(rgb.shape)


_EPS = 6 / 29  # CIE L* switches from a cube root to a line at Y = _EPS**3


def luminance_to_lightness(Y):
    """CIE L* (0-100) of relative luminance Y (0-1, D65 white = 1).

    Examples
    --------
    >>> float(luminance_to_lightness(0.18).round(2))
    49.5
    """
    Y = np.asarray(Y, np.float64)
    f = np.where(Y > _EPS**3, np.cbrt(np.maximum(Y, 0)), Y / (3 * _EPS**2) + 4 / 29)
    return 116 * f - 16


def lightness_to_luminance(L):
    """Relative luminance Y (0-1) of CIE L*: the inverse of :func:`luminance_to_lightness`."""
    f = (np.asarray(L, np.float64) + 16.0) / 116.0
    return np.where(f > _EPS, f**3, 3 * _EPS**2 * (f - 4 / 29))


#: Linear value of each 8-bit sRGB code (float32 look-up table, 256 entries).
SRGB8_TO_LINEAR = srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
