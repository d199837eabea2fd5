"""Small helpers shared by the metric modules."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ._grid_kernels import squared_edt

__all__ = ["finite_or_none", "distance_transform"]


def finite_or_none(v):
    """A float, or None for None/NaN/inf (results never carry NaN)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def distance_transform(mask):
    """Euclidean distance (cells) from each cell to the nearest zero of ``mask``.

    Equal to ``scipy.ndimage.distance_transform_edt(mask)`` to the last bit,
    three to four times faster (an exact integer kernel); scipy itself
    answers for a mask without zeros, where its result is of no use anyway.

    Examples
    --------
    >>> distance_transform([[1, 1, 0]]).tolist()
    [[2.0, 1.0, 0.0]]
    """
    mask = np.asarray(mask)
    if mask.size == 0 or mask.all() or mask.ndim != 2 or sum(mask.shape) > 46340:
        return ndimage.distance_transform_edt(mask)
    return np.sqrt(squared_edt(mask), dtype=np.float64)
