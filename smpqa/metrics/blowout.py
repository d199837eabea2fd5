"""Blow-out: ink migration seen as halos around dots and dots merging."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import dot_columns, finite_or_none

__all__ = ["Blowout", "measure_blowout", "HALO_LIMIT"]

#: Halo ratio from which a dot counts as blown out (crisp dots: <= 0.1 at the 95th percentile).
HALO_LIMIT = 0.15


@dataclass(frozen=True, slots=True)
class Blowout:
    """Share of dots with a halo or merged with a neighbour.

    Attributes
    ----------
    blowout_share : float or None
        Dots with halo_ratio >= :data:`HALO_LIMIT` or flagged merged, over all dots.
    halo_share, merged_share : float or None
        The two parts (reported).
    median_halo_ratio : float or None
    n_dots : int
    """

    blowout_share: float | None
    halo_share: float | None
    merged_share: float | None
    median_halo_ratio: float | None
    n_dots: int

    def metrics(self) -> dict:
        return {"blowout_share": self.blowout_share, "halo_share": self.halo_share,
                "merged_share": self.merged_share, "median_halo_ratio": self.median_halo_ratio}


def measure_blowout(halo_ratio, merged) -> Blowout:
    """Blow-out share from the dots' halo ratios and merge flags.

    Parameters
    ----------
    halo_ratio : array_like
        Per-dot halo ratio (NaN where it could not be measured: counts as no halo).
    merged : array_like of bool

    Returns
    -------
    Blowout

    Examples
    --------
    >>> measure_blowout([0.05, 0.3, 0.02, 0.01], [False, False, True, False]).blowout_share
    0.5
    """
    h, m = dot_columns(halo_ratio=halo_ratio, merged=merged)
    m = m.astype(bool)
    if h.size == 0:
        return Blowout(None, None, None, None, 0)
    halo = np.nan_to_num(h, nan=0.0) >= HALO_LIMIT
    med = np.nanmedian(h) if np.isfinite(h).any() else None
    return Blowout(float(np.mean(halo | m)), float(np.mean(halo)), float(np.mean(m)),
                   finite_or_none(med), int(h.size))
