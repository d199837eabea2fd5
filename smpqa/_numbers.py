"""The test of a number given by a caller, shared by the modules that check their arguments."""

from __future__ import annotations

import math
import numbers

__all__ = ["is_finite_real"]


def is_finite_real(v) -> bool:
    """Is ``v`` a finite real number: a Python or NumPy int or float, not a bool?

    Examples
    --------
    >>> import numpy as np
    >>> [is_finite_real(v) for v in (2, 0.5, np.float32(1.5), True, float("nan"), "3")]
    [True, True, True, False, False, False]
    """
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
