"""Metrics in physical units, one module per criterion."""

from .. import _numba_cache  # noqa: F401  (first: somewhere to cache the kernels)
