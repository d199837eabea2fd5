"""Small helpers shared by the metric modules."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ._grid_kernels import squared_edt

__all__ = ["dot_columns", "finite_or_none", "distance_transform"]


def dot_columns(**columns):
    """Per-dot inputs as float arrays, one row per dot: a ValueError names any that differ.

    Each keyword is a column of shape (n,) or, for a name ending in ``_lab``, (n, 3); all must
    hold the same n dots (NumPy would otherwise broadcast a short one over the rest).

    Examples
    --------
    >>> d, h = dot_columns(depth=[0.3, 0.4], halo_ratio=[0.1, 0.2])
    >>> d.tolist()
    [0.3, 0.4]
    >>> dot_columns(depth=[0.3, 0.4], halo_ratio=[0.1])
    Traceback (most recent call last):
    ...
    ValueError: per-dot inputs differ in length: depth has 2 dots, halo_ratio 1
    """
    out = []
    for name, v in columns.items():
        a = np.asarray(v, float)
        if name.endswith("_lab"):
            a = a.reshape(-1, 3) if a.size == 0 else a
            if a.ndim != 2 or a.shape[1] != 3:
                raise ValueError(f"{name} must be an (n, 3) array of L*a*b*, got shape {a.shape}")
        elif a.ndim != 1:
            raise ValueError(f"{name} must be a 1-d array (one value per dot), got shape "
                             f"{a.shape}")
        out.append(a)
    n = [len(a) for a in out]
    if len(set(n)) > 1:
        first, *rest = zip(columns, n)
        raise ValueError(f"per-dot inputs differ in length: {first[0]} has {first[1]} dots, "
                         + ", ".join(f"{k} {m}" for k, m in rest))
    return out


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
