"""Size: how large and how even the pigment discs are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import dot_columns, finite_or_none

__all__ = ["Size", "measure_size"]


@dataclass(frozen=True, slots=True)
class Size:
    """Dot size statistics over the interior's dots.

    Attributes
    ----------
    median_diameter_mm : float or None
    robust_cv_diameter : float or None
        1.4826 x MAD / median of the diameters.
    oversized_share : float or None
        Share of dots wider than twice the median.
    n_dots : int
    """

    median_diameter_mm: float | None
    robust_cv_diameter: float | None
    oversized_share: float | None
    n_dots: int

    def metrics(self) -> dict:
        return {"median_diameter_mm": self.median_diameter_mm,
                "robust_cv_diameter": self.robust_cv_diameter,
                "oversized_share": self.oversized_share}


def measure_size(diameter_mm) -> Size:
    """Median, robust spread and over-size share of dot diameters (mm).

    Parameters
    ----------
    diameter_mm : array_like
        Disc diameters of the dots to judge (the interior's).

    Returns
    -------
    Size
        All None when there are no dots.

    Examples
    --------
    >>> measure_size([0.3, 0.3, 0.3, 0.9]).oversized_share
    0.25
    """
    (d,) = dot_columns(diameter_mm=diameter_mm)
    d = d[np.isfinite(d)]
    if (d < 0).any():
        raise ValueError("diameter_mm holds negative diameters")
    if d.size == 0:
        return Size(None, None, None, 0)
    med = float(np.median(d))
    mad = float(np.median(np.abs(d - med)))
    return Size(finite_or_none(med), finite_or_none(1.4826 * mad / med) if med > 0 else None,
                float(np.mean(d > 2 * med)), int(d.size))
