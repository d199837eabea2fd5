"""The darkening profile of a blurred disc: a table.

A disc of radius ``r`` (unit darkening), blurred by an isotropic Gaussian of
standard deviation ``s``, darkens a point at distance ``rho`` from its centre by
the chance that the Gaussian about that point falls in the disc::

    P = 1 - Q1(rho / s, r / s) = ncx2.cdf(r² / s², 2, rho² / s²)

(Marcum's Q function, as in ``_disc_tail``). In units of ``s`` it depends on
``alpha = r / s`` and ``beta = (rho - r) / s`` alone; measured from the edge,
``beta`` needs few columns whatever the disc's size. The blur fit compares the
dots' pixels with this profile (``_kernels.blur_ssr``). It is tabulated once
(``python -m smpqa.detect._disc_profile`` writes ``smpqa/data/disc_profile.npy``)
and interpolated by ``_kernels._profile``.
"""

from __future__ import annotations

import functools

import numpy as np

from ._disc_tail import _axis, load, save

__all__ = ["ALPHA_STEP", "ALPHA_MAX", "BETA_MIN", "BETA_STEP", "BETA_MAX", "tabulate", "table"]

ALPHA_STEP, ALPHA_MAX = 0.1, 40.0  # r / s on the table's rows
BETA_MIN, BETA_STEP, BETA_MAX = -8.0, 0.1, 8.0  # (rho - r) / s on its columns
_FILE = "disc_profile.npy"


def _grid():
    return _axis(0.0, ALPHA_STEP, ALPHA_MAX), _axis(BETA_MIN, BETA_STEP, BETA_MAX)


def tabulate(alpha, beta):
    """The profile ``P(alpha, beta)`` (needs SciPy's ``stats``).

    Parameters
    ----------
    alpha, beta : array_like
        Disc radius and the point's distance past the disc's edge, both in
        units of the blur's standard deviation; broadcast together. Points
        "past the centre" (``alpha + beta < 0``) take the centre's value.

    Returns
    -------
    numpy.ndarray
        The darkening at that point, as a fraction of the disc's own.

    Examples
    --------
    >>> float(tabulate(0.0, 1.0))  # no disc
    0.0
    >>> bool(abs(tabulate(30.0, 0.0) - 0.5) < 0.01)  # a wide disc's edge: half
    True
    """
    from scipy.stats import ncx2

    a, b = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(beta, float))
    return ncx2.cdf(a * a, 2, np.maximum(a + b, 0.0) ** 2)


@functools.lru_cache(maxsize=1)
def table() -> np.ndarray:
    """The table on the module's grid, rows ``alpha``, columns ``beta`` (float32, read-only)."""
    return load(_FILE)


if __name__ == "__main__":
    alpha, beta = _grid()
    save(_FILE, tabulate(alpha[:, None], beta[None, :]).astype(np.float32))
