"""The test of a number given by a caller, shared by the modules that check their arguments."""

from __future__ import annotations

import math
import numbers

__all__ = ["is_finite_real", "is_integer"]


def is_finite_real(v) -> bool:
    """Is ``v`` a finite real number: a Python or NumPy int or float, not a bool?

    Examples
    --------
    >>> import numpy as np
    >>> [is_finite_real(v) for v in (2, 0.5, np.float32(1.5), True, float("nan"), "3")]
    [True, True, True, False, False, False]
    """
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def is_integer(v) -> bool:
    """Is ``v`` an integer: a Python or NumPy int, not a bool (nor a float such as 3.0)?

    Examples
    --------
    >>> import numpy as np
    >>> [is_integer(v) for v in (3, np.int64(3), 3.0, True)]
    [True, True, False, False]
    """
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)
