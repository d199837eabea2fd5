"""How much of a blurred disc's darkening lies beyond a circle about its centre: a table.

A dot's size is read from its darkening over the skin just around it
(docs/detection.md, step 6): the darkening less its mean over a ring that begins
a little past the dot's half-peak radius. The nearer that ring, the less of the
skin's texture the integral takes in, but the more of the dot's own blurred edge
the ring holds. The size model subtracts that edge, which needs the darkening
that a disc of radius ``r`` (unit darkening), blurred by an isotropic Gaussian of
standard deviation ``s``, spreads beyond radius ``rho``. In units of ``s²`` it
depends on ``alpha = r / s`` and ``beta = (rho - r) / s`` alone::

    E(alpha, beta) = 2 pi int_0^alpha t Q1(t, alpha + beta) dt

where ``Q1(t, rho)``, Marcum's Q function, is the chance that a point of the
disc at distance ``t`` from its centre is carried beyond ``rho``
(``scipy.stats.ncx2.sf(rho², 2, t²)``). It is tabulated once
(``python -m smpqa.detect._disc_tail`` writes ``smpqa/data/disc_tail.npy``) on the
grid below; the kernels interpolate it (``_kernels._beyond``).
"""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np

__all__ = ["ALPHA_STEP", "ALPHA_MAX", "BETA_MIN", "BETA_STEP", "BETA_MAX", "tabulate", "table",
           "load", "save"]

ALPHA_STEP, ALPHA_MAX = 0.25, 40.0  # r / s on the table's rows
BETA_MIN, BETA_STEP, BETA_MAX = -2.0, 0.1, 8.0  # (rho - r) / s on its columns
_FILE = "disc_tail.npy"


def _axis(lo, step, hi):
    """A table's grid along one axis: ``lo`` to ``hi`` in steps of ``step``."""
    return lo + np.arange(round((hi - lo) / step) + 1) * step


def _grid():
    return _axis(0.0, ALPHA_STEP, ALPHA_MAX), _axis(BETA_MIN, BETA_STEP, BETA_MAX)


def load(file):
    """The table stored in ``smpqa/data/<file>``, read-only."""
    with importlib.resources.files("smpqa").joinpath("data", file).open("rb") as f:
        tab = np.load(f)
    tab.setflags(write=False)
    return tab


def save(file, tab):
    """Store a table in ``smpqa/data/<file>`` (run from a source checkout)."""
    path = importlib.resources.files("smpqa").joinpath("data", file)
    np.save(str(path), tab)
    print(f"wrote {path}: {tab.shape[0]} x {tab.shape[1]}")


def tabulate(alpha, beta, nodes=96):
    """``E(alpha, beta)`` by Gauss-Legendre quadrature (needs SciPy's ``stats``).

    Parameters
    ----------
    alpha, beta : array_like
        Disc radius and the circle's distance past it, both in units of the
        blur's standard deviation; broadcast together.
    nodes : int
        Quadrature nodes over the part of the disc that can reach the circle.

    Returns
    -------
    numpy.ndarray
        The darkening beyond the circle, in units of the blur's variance.

    Examples
    --------
    >>> float(tabulate(0.0, 1.0))  # no disc
    0.0
    >>> bool(abs(tabulate(40.0, -40.0) - math.pi * 40**2) < 1e-6)  # a circle of radius 0
    True
    """
    from scipy.stats import ncx2

    a, b = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(beta, float))
    x, w = np.polynomial.legendre.leggauss(nodes)
    out = np.zeros(a.shape)
    for idx in np.ndindex(a.shape):
        ai, rho = a[idx], a[idx] + b[idx]
        lo = max(0.0, rho - 12.0)  # points further in stay inside the circle (Q1 < 1e-30)
        if ai <= lo:
            continue
        t = lo + 0.5 * (ai - lo) * (x + 1)
        out[idx] = math.pi * (ai - lo) * np.sum(w * t * ncx2.sf(max(rho, 0.0) ** 2, 2, t * t))
    return out


@functools.lru_cache(maxsize=1)
def table() -> np.ndarray:
    """The table on the module's grid, rows ``alpha``, columns ``beta`` (read-only)."""
    return load(_FILE)


if __name__ == "__main__":
    alpha, beta = _grid()
    save(_FILE, tabulate(alpha[:, None], beta[None, :]))
