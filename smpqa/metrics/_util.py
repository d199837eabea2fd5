"""Small helpers shared by the metric modules."""

from __future__ import annotations

import math

__all__ = ["finite_or_none"]


def finite_or_none(v):
    """A float, or None for None/NaN/inf (results never carry NaN)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
