"""Darkness: how deep the dots are against the skin around them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import dot_columns, finite_or_none

__all__ = ["Darkness", "measure_darkness"]


@dataclass(frozen=True, slots=True)
class Darkness:
    """Dot depth statistics over all dots.

    Attributes
    ----------
    depth : float or None
        Median of (L*skin - L*core) / L*skin: 0 invisible, 1 black.
    depth_iqr : float or None
        Inter-quartile range of the depths (reported).
    delta_L : float or None
        Median L*skin - L*core (reported).
    stubble_depth_ratio : float or None
        ``depth`` over the stubble hairs' depth; None without a stubble depth.
    n_dots : int
    stubble_depth : float or None
        Median depth of the stubble hairs (see :mod:`smpqa.metrics.stubble`).
    n_hairs : int
        Stubble hair segments measured.
    """

    depth: float | None
    depth_iqr: float | None
    delta_L: float | None
    stubble_depth_ratio: float | None
    n_dots: int
    stubble_depth: float | None = None
    n_hairs: int = 0

    def metrics(self) -> dict:
        return {"depth": self.depth, "depth_iqr": self.depth_iqr, "delta_L": self.delta_L,
                "stubble_depth_ratio": self.stubble_depth_ratio,
                "stubble_depth": self.stubble_depth, "n_hairs": self.n_hairs}


def measure_darkness(depth, delta_L, stubble=None) -> Darkness:
    """Median depth (two-sided criterion: too dark above, faded below) and its spread.

    Parameters
    ----------
    depth, delta_L : array_like
        Per-dot columns of a :class:`~smpqa.DotTable`.
    stubble : Stubble, optional
        The stubble hairs' depth (:func:`~smpqa.metrics.stubble.measure_stubble`);
        with one, the dots' depth is also given relative to it.

    Returns
    -------
    Darkness

    Examples
    --------
    >>> measure_darkness([0.3, 0.4, 0.5], [20, 28, 35]).depth
    0.4
    """
    dep, dl = dot_columns(depth=depth, delta_L=delta_L)
    ok = np.isfinite(dep)
    dep = dep[ok]
    hair = None if stubble is None else finite_or_none(stubble.depth)
    n_hairs = 0 if stubble is None else int(stubble.n_hairs)
    if dep.size == 0:
        return Darkness(None, None, None, None, 0, hair, n_hairs)
    q1, q3 = np.percentile(dep, [25, 75])
    med = finite_or_none(np.median(dep))
    ratio = None if med is None or hair is None or hair <= 0 else finite_or_none(med / hair)
    return Darkness(med, finite_or_none(q3 - q1),
                    finite_or_none(np.median(dl[ok])), ratio,
                    int(dep.size), hair, n_hairs)
