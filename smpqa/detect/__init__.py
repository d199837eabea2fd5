"""Dot detection: find and measure every pigment dot in a photo."""

from .. import _numba_cache  # noqa: F401  (first: somewhere to cache the kernels)
from .params import DetectParams
from .pipeline import detect_dots
from .table import COLUMNS, DotTable

__all__ = ["detect_dots", "DetectParams", "DotTable", "COLUMNS"]
